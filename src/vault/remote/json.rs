//! Key Vault's JSON as our types: KeyBundle and DeletedKeyBundle as the engine's key output,
//! key ids, base64url, attributes.

use crate::error::{Error, Result};
use crate::store::vaults::Tags;
use crate::vault::model::{JsonWebKeyOut, KeyAttributesOut, KeyVaultKeyOut};
use base64::Engine as _;
use serde_json::{json, Map, Value};

const URL_SAFE: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub fn to_base64url(bytes: &[u8]) -> String {
    URL_SAFE.encode(bytes)
}

/// Key Vault's base64url (padded or not, standard alphabet tolerated).
pub fn from_base64url(field: &str, text: &str, target: &str) -> Result<Vec<u8>> {
    let trimmed = text.trim_end_matches('=');
    URL_SAFE
        .decode(trimmed)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(trimmed))
        .map_err(|_| unexpected(&format!("its '{field}' is not base64url"), target))
}

pub(crate) fn unexpected(why: &str, target: &str) -> Error {
    Error::new(
        crate::CkStatus::Unavailable,
        "UnexpectedResponse",
        format!("Key Vault's answer is not as documented: {why}"),
        target,
    )
}

/// (name, version) from a kid `https://{vault}.{domain}/keys/{name}[/{version}]`.
pub fn split_kid(kid: &str) -> Option<(String, Option<String>)> {
    let path = kid.strip_prefix("https://")?.split_once('/')?.1;
    let mut parts = path.split('/');
    if parts.next()? != "keys" {
        return None;
    }
    let name = parts.next().filter(|n| !n.is_empty())?.to_string();
    let version = parts.next().filter(|v| !v.is_empty()).map(str::to_string);
    Some((name, version))
}

pub(crate) fn iso(v: &Value) -> Option<String> {
    v.as_i64().map(crate::time::iso_from_unix)
}

pub fn tags_of(v: &Value) -> Tags {
    v.as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// The RSA public key of a JWK: (modulus, exponent), big-endian.
pub fn public_key_of(jwk: &Value, target: &str) -> Result<(Vec<u8>, Vec<u8>)> {
    let n = jwk["n"]
        .as_str()
        .ok_or_else(|| unexpected("the key has no modulus (n)", target))?;
    let e = jwk["e"]
        .as_str()
        .ok_or_else(|| unexpected("the key has no exponent (e)", target))?;
    Ok((
        from_base64url("n", n, target)?,
        from_base64url("e", e, target)?,
    ))
}

/// Bits of a big-endian modulus.
pub fn modulus_bits(n: &[u8]) -> i64 {
    let significant = n.iter().skip_while(|b| **b == 0).count();
    (significant * 8) as i64
}

/// A KeyBundle or DeletedKeyBundle as our key output.
pub fn key_out(vault_name: &str, bundle: &Value, target: &str) -> Result<KeyVaultKeyOut> {
    let jwk = &bundle["key"];
    let kid = jwk["kid"]
        .as_str()
        .ok_or_else(|| unexpected("the key has no kid", target))?;
    let (name, version) =
        split_kid(kid).ok_or_else(|| unexpected("the key's kid is not a key id", target))?;
    let (n, e) = public_key_of(jwk, target)?;
    let key_ops: Vec<String> = jwk["key_ops"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|o| o.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let kty = jwk["kty"].as_str().unwrap_or("RSA").to_string();
    let mut out = key_of(vault_name, kid, name, version, bundle);
    out.key = Some(JsonWebKeyOut {
        kid: kid.to_string(),
        kty: kty.clone(),
        key_ops: key_ops.clone(),
        n: crate::b64::encode(&n),
        e: crate::b64::encode(&e),
    });
    out.key_type = Some(kty);
    out.key_size = Some(modulus_bits(&n));
    out.attributes.key_ops = Some(key_ops);
    Ok(out)
}

/// A listing's item (KeyItem, DeletedKeyItem) as our key output: what the item carries, as
/// Get-AzKeyVaultKey's identity items; the key itself, its type, size and operations, which
/// listings do not carry, are None, and so is the version when the kid names none (the keys
/// of a vault, as against the versions of a key).
pub fn key_item_out(vault_name: &str, item: &Value, target: &str) -> Result<KeyVaultKeyOut> {
    let kid = item["kid"]
        .as_str()
        .ok_or_else(|| unexpected("a listed key has no kid", target))?;
    let (name, version) =
        split_kid(kid).ok_or_else(|| unexpected("a listed kid is not a key id", target))?;
    Ok(key_of(vault_name, kid, name, version, item))
}

/// What a key bundle and a listing's item share: the key's identity, attributes, tags and
/// deletion dates; the key material and its operations are the bundle's to add.
fn key_of(
    vault_name: &str,
    kid: &str,
    name: String,
    version: Option<String>,
    body: &Value,
) -> KeyVaultKeyOut {
    let attributes = &body["attributes"];
    let level = attributes["recoveryLevel"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let days = attributes["recoverableDays"].as_i64().unwrap_or(0);
    let enabled = attributes["enabled"].as_bool().unwrap_or(true);
    let created = iso(&attributes["created"]).unwrap_or_default();
    let updated = iso(&attributes["updated"]).unwrap_or_default();
    KeyVaultKeyOut {
        vault_name: vault_name.to_string(),
        name,
        version,
        id: kid.to_string(),
        enabled,
        expires: iso(&attributes["exp"]),
        not_before: iso(&attributes["nbf"]),
        created: created.clone(),
        updated: updated.clone(),
        recovery_level: level.clone(),
        recoverable_days: days,
        tags: tags_of(&body["tags"]),
        key: None,
        key_type: None,
        key_size: None,
        attributes: KeyAttributesOut {
            enabled,
            not_before: iso(&attributes["nbf"]),
            expires: iso(&attributes["exp"]),
            created,
            updated,
            recovery_level: level,
            recoverable_days: days,
            exportable: attributes["exportable"].as_bool().unwrap_or(false),
            key_ops: None,
        },
        deleted_date: iso(&body["deletedDate"]),
        scheduled_purge_date: iso(&body["scheduledPurgeDate"]),
    }
}

pub(crate) fn attributes_json(enabled: Option<bool>, nbf: Option<i64>, exp: Option<i64>) -> Value {
    let mut a = Map::new();
    if let Some(e) = enabled {
        a.insert("enabled".into(), json!(e));
    }
    if let Some(n) = nbf {
        a.insert("nbf".into(), json!(n));
    }
    if let Some(x) = exp {
        a.insert("exp".into(), json!(x));
    }
    Value::Object(a)
}
