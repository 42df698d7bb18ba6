//! Key Vault's key bodies as JSON values, shared by the key routes (`keys`) and the routes that
//! move a key in or out whole (`key_transfer`): the KeyBundle and its attributes from an engine
//! key, and the attributes and tags a request body sets.

use super::http::{std_b64_to_url, ApiError};
use super::request::{kid_at, BodyShape, VaultRequest};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// 9999-12-31T23:59:59Z, the latest time Key Vault takes.
const MAX_UNIX_TIME: i64 = 253_402_300_799;

pub(super) fn unix_of(iso: &Value) -> Option<i64> {
    iso.as_str()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.timestamp())
}

pub(super) fn attributes(out: &Value, shape: BodyShape) -> Value {
    let a = &out["Attributes"];
    let mut attrs = json!({
        "enabled": a["Enabled"],
        "created": unix_of(&a["Created"]),
        "updated": unix_of(&a["Updated"]),
        "recoveryLevel": a["RecoveryLevel"],
    });
    if shape.recoverable_days {
        attrs["recoverableDays"] = a["RecoverableDays"].clone();
    }
    if shape.exportable {
        attrs["exportable"] = json!(false);
    }
    if let Some(nbf) = unix_of(&a["NotBefore"]) {
        attrs["nbf"] = json!(nbf);
    }
    if let Some(exp) = unix_of(&a["Expires"]) {
        attrs["exp"] = json!(exp);
    }
    attrs
}

pub(super) fn tags(out: &Value) -> Option<Value> {
    out["Tags"]
        .as_object()
        .filter(|t| !t.is_empty())
        .map(|t| Value::Object(t.clone()))
}

pub(super) fn name_of(out: &Value) -> &str {
    out["Name"].as_str().unwrap_or_default()
}

/// A KeyBundle from an engine key (CustomerKey.KeyVaultKey).
pub(super) fn key_bundle(req: &VaultRequest<'_>, out: &Value) -> Value {
    key_bundle_at(req.base, out, req.shape())
}

pub(super) fn key_bundle_at(base: &str, out: &Value, shape: BodyShape) -> Value {
    let kid = kid_at(base, name_of(out), out["Version"].as_str());
    let mut bundle = json!({
        "key": {
            "kid": kid,
            "kty": out["Key"]["Kty"],
            "key_ops": out["Key"]["KeyOps"],
            "n": std_b64_to_url(&out["Key"]["N"]),
            "e": std_b64_to_url(&out["Key"]["E"]),
        },
        "attributes": attributes(out, shape),
    });
    if let Some(t) = tags(out) {
        bundle["tags"] = t;
    }
    bundle
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct AttributesIn {
    enabled: Option<bool>,
    nbf: Option<i64>,
    exp: Option<i64>,
    exportable: Option<bool>,
}

fn iso_time(field: &str, t: i64) -> Result<String, ApiError> {
    if !(0..=MAX_UNIX_TIME).contains(&t) {
        return Err(ApiError::bad_parameter(format!(
            "Property '{field}': must be unix seconds between 1970 and 9999"
        )));
    }
    Ok(engine::time::iso_from_unix(t))
}

pub(super) fn put_attributes(
    args: &mut Map<String, Value>,
    attributes: &Option<AttributesIn>,
    for_update: bool,
) -> Result<(), ApiError> {
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

pub(super) fn put_tags(args: &mut Map<String, Value>, tags: Option<BTreeMap<String, String>>) {
    if let Some(t) = tags {
        args.insert("Tag".into(), json!(t));
    }
}
