//! The keys REST operations of Key Vault (api-versions 2016-10-01 to 2025-07-01) mapped onto
//! the engine's operations, run through the registry as the token's principal: access
//! policies, validation and audit are the same as for the cmdlets. Bodies in the spec's shapes
//! (KeyBundle, DeletedKeyBundle, KeyListResult, KeyOperationResult, BackupKeyResult), with the
//! fields of the request's api-version ([`BodyShape`]).
//!
//! What differs between the versions, for what this endpoint answers (RSA keys; no release
//! policy, rotation policy, random bytes or attestation, which are 404 in every version):
//! - `attributes.recoverableDays` is 7.1 and later (with the CustomizedRecoverable levels;
//!   `recoveryLevel`, in every version, is written as the vault has it: the spec models it as
//!   an extensible string, so a vault with a customized retention says so in 7.0 as well);
//! - `attributes.exportable` is 7.3 and later (with key release);
//! - `POST /keys/{name}/rotate` is 7.3 and later: before, 400 BadParameter naming the version;
//! - `attributes.hsmPlatform` (7.5), `attestation` (7.6), `release_policy` (7.3) and `managed`
//!   are never written: this endpoint has no HSM platform, attestation, release policy or
//!   certificate-managed keys.
//!
//! Request bodies are read the same in every version: a field an older version did not define
//! (`public_exponent`, `attributes.exportable`) is checked as the newest version checks it.

use super::http::{empty_response, json_response, parse_json, ApiError, HttpResponse};
use super::key_body::{
    attributes, key_bundle, name_of, put_attributes, put_tags, tags, unix_of, AttributesIn,
};
use super::key_transfer;
use super::request::VaultRequest;
use engine::vault::model::KeyVaultKeyOut;
use hyper::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Key Vault's page size limit for list operations.
const MAX_PAGE: usize = 25;

/// Whether the request only reads the store (the audit row goes through the store's batching
/// writer, which never waits): every GET, and the key operations (wrap, unwrap, encrypt,
/// decrypt, sign, verify).
pub fn answers_without_writing(method: &Method, path: &str) -> bool {
    if method == Method::GET {
        return true;
    }
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let op = match segments.as_slice() {
        ["keys", _, _, op] | ["keys", _, op] => *op,
        _ => return false,
    };
    method == Method::POST && super::key_crypto::is_key_operation(op)
}

/// Routes `method path` (the path after the host) of a vault request.
pub fn handle(
    req: &VaultRequest<'_>,
    method: &Method,
    path: &str,
    body: &[u8],
) -> Result<HttpResponse, ApiError> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let ok = |v: Value| Ok(json_response(StatusCode::OK, &v));
    match (method, segments.as_slice()) {
        (&Method::GET, ["keys"]) => ok(list_keys(req)?),
        (&Method::POST, ["keys", "restore"]) => ok(key_transfer::restore(req, body)?),
        (&Method::POST, ["keys", name, "create"]) => ok(create(req, name, body)?),
        (&Method::PUT, ["keys", name]) => ok(key_transfer::import(req, name, body)?),
        (&Method::DELETE, ["keys", name]) => ok(delete(req, name)?),
        (&Method::GET, ["keys", name, "versions"]) => ok(list_versions(req, name)?),
        (&Method::POST, ["keys", name, "backup"]) => ok(key_transfer::backup(req, name)?),
        (&Method::POST, ["keys", name, "rotate"]) => {
            req.needs_version("7.3")?;
            ok(rotate(req, name)?)
        }
        (&Method::GET, ["keys", name]) | (&Method::GET, ["keys", name, ""]) => get(req, name, None),
        (&Method::GET, ["keys", name, version]) => get(req, name, Some(version)),
        (&Method::PATCH, ["keys", name]) => ok(update(req, name, None, body)?),
        (&Method::PATCH, ["keys", name, version]) => ok(update(req, name, Some(version), body)?),
        (&Method::POST, ["keys", name, version, op]) => ok(super::key_crypto::crypto_operation(
            req, name, version, op, body,
        )?),
        (&Method::POST, ["keys", name, op]) => ok(super::key_crypto::crypto_operation(
            req, name, "", op, body,
        )?),
        (&Method::GET, ["deletedkeys"]) => ok(list_deleted(req)?),
        (&Method::GET, ["deletedkeys", name]) => ok(get_deleted(req, name)?),
        (&Method::DELETE, ["deletedkeys", name]) => {
            purge(req, name)?;
            Ok(empty_response(StatusCode::NO_CONTENT))
        }
        (&Method::POST, ["deletedkeys", name, "recover"]) => ok(recover(req, name)?),
        _ => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("{method} {path} is not an operation of this endpoint"),
        )),
    }
}

fn deleted_fields(req: &VaultRequest<'_>, out: &Value, into: &mut Value) {
    into["recoveryId"] = json!(format!("{}/deletedkeys/{}", req.base, name_of(out)));
    into["deletedDate"] = json!(unix_of(&out["DeletedDate"]));
    into["scheduledPurgeDate"] = json!(unix_of(&out["ScheduledPurgeDate"]));
}

fn deleted_bundle(req: &VaultRequest<'_>, out: &Value) -> Value {
    let mut bundle = key_bundle(req, out);
    deleted_fields(req, out, &mut bundle);
    bundle
}

fn key_item(req: &VaultRequest<'_>, out: &Value, with_version: bool) -> Value {
    let version = with_version.then(|| out["Version"].as_str().unwrap_or_default());
    let mut item =
        json!({"kid": req.kid(name_of(out), version), "attributes": attributes(out, req.shape())});
    if let Some(t) = tags(out) {
        item["tags"] = t;
    }
    item
}

fn first(value: Value) -> Result<Value, ApiError> {
    match value {
        Value::Array(mut items) if !items.is_empty() => Ok(items.swap_remove(0)),
        _ => Err(ApiError::from(engine::Error::internal(
            "the engine returned no key",
        ))),
    }
}

/// One page of `items` with `maxresults` and `$skiptoken` (an offset), and the next page's link.
fn page(req: &VaultRequest<'_>, path: &str, items: Vec<Value>) -> Result<Value, ApiError> {
    let param = |name: &str| {
        req.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let size = match param("maxresults") {
        None | Some("") => MAX_PAGE,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_parameter(format!(
                    "Parameter 'maxresults': must be a whole number from 1 to {MAX_PAGE}"
                )))
            }
        },
    };
    let offset = match param("$skiptoken") {
        None | Some("") => 0,
        Some(v) => v.parse::<usize>().map_err(|_| {
            ApiError::bad_parameter("Parameter '$skiptoken': is not a token this endpoint issued")
        })?,
    };
    let end = offset.saturating_add(size).min(items.len());
    let value: Vec<Value> = items
        .get(offset.min(items.len())..end)
        .unwrap_or_default()
        .to_vec();
    let next = (end < items.len()).then(|| {
        format!(
            "{}{path}?api-version={}&maxresults={size}&$skiptoken={end}",
            req.base, req.api_version
        )
    });
    // The spec types nextLink as a string: absent on the last page, never null.
    let mut result = json!({ "value": value });
    if let Some(next) = next {
        result["nextLink"] = json!(next);
    }
    Ok(result)
}

#[derive(Deserialize)]
struct CreateKeyIn {
    kty: String,
    key_size: Option<i64>,
    key_ops: Option<Vec<String>>,
    attributes: Option<AttributesIn>,
    tags: Option<BTreeMap<String, String>>,
    public_exponent: Option<i64>,
    crv: Option<String>,
}

fn create(req: &VaultRequest<'_>, name: &str, body: &[u8]) -> Result<Value, ApiError> {
    let input: CreateKeyIn = parse_json(body)?;
    let mut args = Map::new();
    args.insert("Name".into(), json!(name));
    match input.kty.as_str() {
        "RSA" => {}
        "RSA-HSM" => {
            args.insert("Destination".into(), json!("HSM"));
        }
        other => {
            return Err(ApiError::bad_parameter(format!(
                "Property 'kty': '{}' is not supported by this vault; RSA and RSA-HSM are",
                other.chars().take(16).collect::<String>()
            )))
        }
    }
    args.insert("KeyType".into(), json!(input.kty));
    if input.crv.is_some() {
        return Err(ApiError::bad_parameter(
            "Property 'crv': applies to EC keys only",
        ));
    }
    if input.public_exponent.is_some_and(|e| e != 65537) {
        return Err(ApiError::bad_parameter(
            "Property 'public_exponent': only 65537 is supported",
        ));
    }
    if let Some(size) = input.key_size {
        args.insert("Size".into(), json!(size));
    }
    if let Some(ops) = input.key_ops {
        args.insert("KeyOps".into(), json!(ops));
    }
    put_attributes(&mut args, &input.attributes, false)?;
    put_tags(&mut args, input.tags);
    let out = req.call("Add-KeyVaultKey", args)?;
    Ok(key_bundle(req, &out))
}

/// The hottest read: its KeyBundle is written straight from the engine's result struct.
fn get(
    req: &VaultRequest<'_>,
    name: &str,
    version: Option<&str>,
) -> Result<HttpResponse, ApiError> {
    let mut args = Map::new();
    args.insert("Name".into(), json!(name));
    if let Some(v) = version.filter(|v| !v.is_empty()) {
        args.insert("Version".into(), json!(v));
    }
    args.insert("VaultName".into(), json!(req.vault));
    let found = engine::registry()
        .call_typed_as::<Vec<KeyVaultKeyOut>>(
            req.session,
            req.principal,
            "Get-KeyVaultKey",
            &Value::Object(args),
        )
        .map_err(ApiError::from)?;
    match found {
        Ok(keys) => {
            let key = keys.first().ok_or_else(|| {
                ApiError::from(engine::Error::internal("the engine returned no key"))
            })?;
            Ok(json_response(
                StatusCode::OK,
                &super::key_bundle::KeyBundleBody::of(req.base, key, req.shape()),
            ))
        }
        Err(value) => Ok(json_response(
            StatusCode::OK,
            &key_bundle(req, &first(value)?),
        )),
    }
}

#[derive(Deserialize)]
struct UpdateKeyIn {
    key_ops: Option<Vec<String>>,
    attributes: Option<AttributesIn>,
    tags: Option<BTreeMap<String, String>>,
}

fn update(
    req: &VaultRequest<'_>,
    name: &str,
    version: Option<&str>,
    body: &[u8],
) -> Result<Value, ApiError> {
    let input: UpdateKeyIn = parse_json(body)?;
    let mut args = Map::new();
    args.insert("Name".into(), json!(name));
    args.insert("PassThru".into(), json!(true));
    if let Some(v) = version.filter(|v| !v.is_empty()) {
        args.insert("Version".into(), json!(v));
    }
    if let Some(ops) = input.key_ops {
        args.insert("KeyOps".into(), json!(ops));
    }
    put_attributes(&mut args, &input.attributes, true)?;
    put_tags(&mut args, input.tags);
    Ok(key_bundle(req, &req.call("Update-KeyVaultKey", args)?))
}

fn list_versions(req: &VaultRequest<'_>, name: &str) -> Result<Value, ApiError> {
    let mut args = Map::new();
    args.insert("Name".into(), json!(name));
    args.insert("IncludeVersions".into(), json!(true));
    let versions = req.call("Get-KeyVaultKey", args)?;
    let items = versions
        .as_array()
        .map(|v| v.iter().map(|k| key_item(req, k, true)).collect())
        .unwrap_or_default();
    page(req, &format!("/keys/{name}/versions"), items)
}

fn list_keys(req: &VaultRequest<'_>) -> Result<Value, ApiError> {
    let keys = req.call("Get-KeyVaultKey", Map::new())?;
    let items = keys
        .as_array()
        .map(|v| v.iter().map(|k| key_item(req, k, false)).collect())
        .unwrap_or_default();
    page(req, "/keys", items)
}

fn delete(req: &VaultRequest<'_>, name: &str) -> Result<Value, ApiError> {
    let mut args = Map::new();
    args.insert("Name".into(), json!(name));
    args.insert("PassThru".into(), json!(true));
    Ok(deleted_bundle(req, &req.call("Remove-KeyVaultKey", args)?))
}

fn get_deleted(req: &VaultRequest<'_>, name: &str) -> Result<Value, ApiError> {
    let mut args = Map::new();
    args.insert("Name".into(), json!(name));
    args.insert("InRemovedState".into(), json!(true));
    Ok(deleted_bundle(
        req,
        &first(req.call("Get-KeyVaultKey", args)?)?,
    ))
}

fn list_deleted(req: &VaultRequest<'_>) -> Result<Value, ApiError> {
    let mut args = Map::new();
    args.insert("InRemovedState".into(), json!(true));
    let keys = req.call("Get-KeyVaultKey", args)?;
    let items = keys
        .as_array()
        .map(|v| {
            v.iter()
                .map(|k| {
                    let mut item = key_item(req, k, false);
                    deleted_fields(req, k, &mut item);
                    item
                })
                .collect()
        })
        .unwrap_or_default();
    page(req, "/deletedkeys", items)
}

fn purge(req: &VaultRequest<'_>, name: &str) -> Result<(), ApiError> {
    let mut args = Map::new();
    args.insert("Name".into(), json!(name));
    args.insert("InRemovedState".into(), json!(true));
    req.call("Remove-KeyVaultKey", args).map(|_| ())
}

fn recover(req: &VaultRequest<'_>, name: &str) -> Result<Value, ApiError> {
    let mut args = Map::new();
    args.insert("Name".into(), json!(name));
    Ok(key_bundle(req, &req.call("Undo-KeyVaultKeyRemoval", args)?))
}

/// A rotation: a new version with the newest version's type, size and operations.
fn rotate(req: &VaultRequest<'_>, name: &str) -> Result<Value, ApiError> {
    let mut get_args = Map::new();
    get_args.insert("Name".into(), json!(name));
    let latest = first(req.call("Get-KeyVaultKey", get_args)?)?;
    let mut args = Map::new();
    args.insert("Name".into(), json!(name));
    args.insert("KeyType".into(), latest["KeyType"].clone());
    if latest["KeyType"] == "RSA-HSM" {
        args.insert("Destination".into(), json!("HSM"));
    }
    args.insert("Size".into(), latest["KeySize"].clone());
    args.insert("KeyOps".into(), latest["Key"]["KeyOps"].clone());
    Ok(key_bundle(req, &req.call("Add-KeyVaultKey", args)?))
}
