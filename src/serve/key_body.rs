//! Key Vault's key bodies ([`engine::wire::keyvault`]) from the engine's keys, shared by the key
//! routes (`keys`) and the routes that move a key in or out whole (`key_transfer`): the
//! KeyBundle and KeyItem (deleted or not) with the fields of the request's api-version, and the
//! attributes and tags a request body sets.

use super::http::ApiError;
use super::request::VaultRequest;
use engine::store::vaults::Tags;
use engine::vault::model::KeyVaultKeyOut;
use engine::wire::keyvault::{Deletion, JsonWebKey, KeyAttributes, KeyBundle, KeyItem};
use serde_json::{json, Map, Value};

/// 9999-12-31T23:59:59Z, the latest time Key Vault takes.
const MAX_UNIX_TIME: i64 = 253_402_300_799;

pub(super) fn unix(iso: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(iso)
        .ok()
        .map(|t| t.timestamp())
}

/// The engine's standard base64 as JWK's base64url.
fn url_b64(standard: &str) -> String {
    engine::wire::to_base64url(&engine::b64::decode(standard).unwrap_or_default())
}

fn attributes(req: &VaultRequest<'_>, out: &KeyVaultKeyOut) -> KeyAttributes {
    let (a, shape) = (&out.attributes, req.shape());
    KeyAttributes {
        enabled: Some(a.enabled),
        created: unix(&a.created),
        updated: unix(&a.updated),
        recovery_level: Some(a.recovery_level.clone()),
        recoverable_days: shape.recoverable_days.then_some(a.recoverable_days),
        exportable: shape.exportable.then_some(false),
        nbf: a.not_before.as_deref().and_then(unix),
        exp: a.expires.as_deref().and_then(unix),
        hsm_platform: None,
    }
}

fn tags(out: &KeyVaultKeyOut) -> Option<Tags> {
    Some(out.tags.clone()).filter(|t| !t.is_empty())
}

/// A KeyBundle from an engine key; its kid points where the request was sent.
pub(super) fn key_bundle(req: &VaultRequest<'_>, out: &KeyVaultKeyOut) -> KeyBundle {
    // The engine's keys always carry their JWK (only an Azure vault's listing has none).
    let jwk = out.key.as_ref();
    KeyBundle {
        key: JsonWebKey {
            kid: Some(req.kid(&out.name, out.version.as_deref())),
            kty: jwk.map(|k| k.kty.clone()),
            key_ops: jwk.map(|k| k.key_ops.clone()),
            n: jwk.map(|k| url_b64(&k.n)),
            e: jwk.map(|k| url_b64(&k.e)),
            ..JsonWebKey::default()
        },
        attributes: attributes(req, out),
        tags: tags(out),
        deletion: deletion(req, out),
        ..KeyBundle::default()
    }
}

/// A listing's KeyItem; `with_version`: its kid names the version.
pub(super) fn key_item(
    req: &VaultRequest<'_>,
    out: &KeyVaultKeyOut,
    with_version: bool,
) -> KeyItem {
    let version = with_version.then(|| out.version.as_deref().unwrap_or_default());
    KeyItem {
        kid: Some(req.kid(&out.name, version)),
        attributes: attributes(req, out),
        tags: tags(out),
        deletion: deletion(req, out),
        ..KeyItem::default()
    }
}

/// What makes a KeyBundle a DeletedKeyBundle, a KeyItem a DeletedKeyItem: none for a key in
/// use.
fn deletion(req: &VaultRequest<'_>, out: &KeyVaultKeyOut) -> Deletion {
    let Some(deleted) = &out.deleted_date else {
        return Deletion::default();
    };
    Deletion {
        recovery_id: Some(format!("{}/deletedkeys/{}", req.base, out.name)),
        deleted_date: unix(deleted),
        scheduled_purge_date: out.scheduled_purge_date.as_deref().and_then(unix),
    }
}

fn iso_time(field: &str, t: i64) -> Result<String, ApiError> {
    if !(0..=MAX_UNIX_TIME).contains(&t) {
        return Err(ApiError::bad_parameter(format!(
            "Property '{field}': must be unix seconds between 1970 and 9999"
        )));
    }
    Ok(engine::time::iso_from_unix(t))
}

/// The arguments of a request body's attributes and tags (create, import, update).
pub(super) fn put_attributes(
    args: &mut Map<String, Value>,
    attributes: &Option<KeyAttributes>,
    tags: Option<Tags>,
    for_update: bool,
) -> Result<(), ApiError> {
    if let Some(t) = tags {
        args.insert("Tag".into(), json!(t));
    }
    let Some(a) = attributes else { return Ok(()) };
    if a.exportable == Some(true) {
        return Err(ApiError::bad_parameter(
            "Property 'attributes.exportable': keys of this vault are not exportable",
        ));
    }
    if let Some(nbf) = a.nbf {
        args.insert("NotBefore".into(), json!(iso_time("attributes.nbf", nbf)?));
    }
    if let Some(exp) = a.exp {
        args.insert("Expires".into(), json!(iso_time("attributes.exp", exp)?));
    }
    match (a.enabled, for_update) {
        (Some(e), true) => {
            args.insert("Enable".into(), json!(e));
        }
        (Some(false), false) => {
            args.insert("Disable".into(), json!(true));
        }
        _ => {}
    }
    Ok(())
}
