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

use super::http::{empty_response, ok, parse_json, ApiError, HttpResponse};
use super::key_body::{key_bundle, key_item, put_attributes};
use super::key_transfer;
use super::request::{named, VaultRequest};
use engine::vault::model::KeyVaultKeyOut;
use engine::wire::keyvault::{
    DeletedKeyBundle, KeyBundle, KeyCreateParameters, KeyItem, KeyUpdateParameters, ListResult,
};
use hyper::{Method, StatusCode};
use serde_json::{json, Map, Value};

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
    match (method, segments.as_slice()) {
        (&Method::GET, ["keys"]) => ok(list(req, "/keys", Map::new())?),
        (&Method::POST, ["keys", "restore"]) => ok(key_transfer::restore(req, body)?),
        (&Method::POST, ["keys", name, "create"]) => ok(create(req, name, body)?),
        (&Method::PUT, ["keys", name]) => ok(key_transfer::import(req, name, body)?),
        (&Method::DELETE, ["keys", name]) => ok(delete(req, name)?),
        (&Method::GET, ["keys", name, "versions"]) => {
            let path = format!("/keys/{name}/versions");
            ok(list(req, &path, switch(named(name), "IncludeVersions"))?)
        }
        (&Method::POST, ["keys", name, "backup"]) => ok(key_transfer::backup(req, name)?),
        (&Method::POST, ["keys", name, "rotate"]) => {
            req.needs_version("7.3")?;
            ok(rotate(req, name)?)
        }
        (&Method::GET, ["keys", name]) | (&Method::GET, ["keys", name, ""]) => {
            ok(key_bundle(req, &get(req, name, None)?))
        }
        (&Method::GET, ["keys", name, version]) => {
            ok(key_bundle(req, &get(req, name, Some(version))?))
        }
        (&Method::PATCH, ["keys", name]) => ok(update(req, name, None, body)?),
        (&Method::PATCH, ["keys", name, version]) => ok(update(req, name, Some(version), body)?),
        (&Method::POST, ["keys", name, version, op]) => {
            super::key_crypto::crypto_operation(req, name, version, op, body)
        }
        (&Method::POST, ["keys", name, op]) => {
            super::key_crypto::crypto_operation(req, name, "", op, body)
        }
        (&Method::GET, ["deletedkeys"]) => ok(list(
            req,
            "/deletedkeys",
            switch(Map::new(), "InRemovedState"),
        )?),
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

fn first(keys: Vec<KeyVaultKeyOut>) -> Result<KeyVaultKeyOut, ApiError> {
    keys.into_iter()
        .next()
        .ok_or_else(|| ApiError::from(engine::Error::internal("the engine returned no key")))
}

/// One page of `items` with `maxresults` and `$skiptoken` (an offset), and the next page's link.
fn page(
    req: &VaultRequest<'_>,
    path: &str,
    mut items: Vec<KeyItem>,
) -> Result<ListResult<KeyItem>, ApiError> {
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
    let (total, end) = (items.len(), offset.saturating_add(size).min(items.len()));
    items.truncate(end);
    let value = items.split_off(offset.min(end));
    // The spec types nextLink as a string: absent on the last page, never null.
    let next_link = (end < total).then(|| {
        format!(
            "{}{path}?api-version={}&maxresults={size}&$skiptoken={end}",
            req.base, req.api_version
        )
    });
    Ok(ListResult { value, next_link })
}

fn create(req: &VaultRequest<'_>, name: &str, body: &[u8]) -> Result<KeyBundle, ApiError> {
    let input: KeyCreateParameters = parse_json(body)?;
    let mut args = named(name);
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
    put_attributes(&mut args, &input.attributes, input.tags, false)?;
    Ok(key_bundle(req, &req.call("Add-KeyVaultKey", args)?))
}

/// The key version `version` (None or empty: the newest), the hottest read: its KeyBundle is
/// written straight from the engine's result struct.
fn get(
    req: &VaultRequest<'_>,
    name: &str,
    version: Option<&str>,
) -> Result<KeyVaultKeyOut, ApiError> {
    let mut args = named(name);
    if let Some(v) = version.filter(|v| !v.is_empty()) {
        args.insert("Version".into(), json!(v));
    }
    first(req.call("Get-KeyVaultKey", args)?)
}

fn update(
    req: &VaultRequest<'_>,
    name: &str,
    version: Option<&str>,
    body: &[u8],
) -> Result<KeyBundle, ApiError> {
    let input: KeyUpdateParameters = parse_json(body)?;
    let mut args = switch(named(name), "PassThru");
    if let Some(v) = version.filter(|v| !v.is_empty()) {
        args.insert("Version".into(), json!(v));
    }
    if let Some(ops) = input.key_ops {
        args.insert("KeyOps".into(), json!(ops));
    }
    put_attributes(&mut args, &input.attributes, input.tags, true)?;
    let updated: Option<KeyVaultKeyOut> = req.call("Update-KeyVaultKey", args)?;
    Ok(key_bundle(req, &first(updated.into_iter().collect())?))
}

/// A page of what Get-KeyVaultKey lists with `args`: a vault's keys, a key's versions
/// (IncludeVersions), or the deleted keys (InRemovedState).
fn list(
    req: &VaultRequest<'_>,
    path: &str,
    args: Map<String, Value>,
) -> Result<ListResult<KeyItem>, ApiError> {
    let versions = args.contains_key("IncludeVersions");
    let keys: Vec<KeyVaultKeyOut> = req.call("Get-KeyVaultKey", args)?;
    let items = keys.iter().map(|k| key_item(req, k, versions)).collect();
    page(req, path, items)
}

/// `args` with the switch `name` on.
fn switch(mut args: Map<String, Value>, name: &str) -> Map<String, Value> {
    args.insert(name.into(), json!(true));
    args
}

fn delete(req: &VaultRequest<'_>, name: &str) -> Result<DeletedKeyBundle, ApiError> {
    let args = switch(named(name), "PassThru");
    let deleted: Option<KeyVaultKeyOut> = req.call("Remove-KeyVaultKey", args)?;
    Ok(key_bundle(req, &first(deleted.into_iter().collect())?))
}

fn get_deleted(req: &VaultRequest<'_>, name: &str) -> Result<DeletedKeyBundle, ApiError> {
    let found = req.call("Get-KeyVaultKey", switch(named(name), "InRemovedState"))?;
    Ok(key_bundle(req, &first(found)?))
}

fn purge(req: &VaultRequest<'_>, name: &str) -> Result<(), ApiError> {
    let args = switch(named(name), "InRemovedState");
    req.call::<Option<KeyVaultKeyOut>>("Remove-KeyVaultKey", args)
        .map(|_| ())
}

fn recover(req: &VaultRequest<'_>, name: &str) -> Result<KeyBundle, ApiError> {
    let recovered = req.call("Undo-KeyVaultKeyRemoval", named(name))?;
    Ok(key_bundle(req, &recovered))
}

/// A rotation: a new version with the newest version's type, size and operations.
fn rotate(req: &VaultRequest<'_>, name: &str) -> Result<KeyBundle, ApiError> {
    let latest = get(req, name, None)?;
    let mut args = named(name);
    args.insert("KeyType".into(), json!(latest.key_type));
    if latest.key_type.as_deref() == Some("RSA-HSM") {
        args.insert("Destination".into(), json!("HSM"));
    }
    args.insert("Size".into(), json!(latest.key_size));
    args.insert("KeyOps".into(), json!(latest.key.map(|k| k.key_ops)));
    Ok(key_bundle(req, &req.call("Add-KeyVaultKey", args)?))
}
