//! What the AIP integration tests share: a tenant with a vault the AIP service principal may
//! use, BYOK keys in it, and protect/unprotect through the C ABI.
#![allow(dead_code)]

use crate::common::{CallError, Ck, TempDir, ADMIN};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

pub const AIP: &str = "00000012-0000-0000-c000-000000000000";
pub const VAULT: &str = "contoso-aip";
pub const PASSWORD: &str = "correct horse battery staple";

/// A store with one recoverable vault (soft delete, purge protection) on which the AIP
/// service principal holds get, decrypt and sign.
pub fn tenant(tag: &str) -> (TempDir, Ck) {
    let dir = TempDir::new(tag);
    let ck = Ck::at(&dir.join("store"), ADMIN);
    vault(&ck, VAULT, true);
    (dir, ck)
}

pub fn vault(ck: &Ck, name: &str, purge_protection: bool) {
    ck.ok(
        "New-KeyVault",
        json!({"VaultName": name, "Location": "westeurope", "EnablePurgeProtection": purge_protection}),
    );
    grant(ck, name);
}

pub fn grant(ck: &Ck, vault: &str) {
    ck.ok(
        "Set-KeyVaultAccessPolicy",
        json!({"VaultName": vault, "ServicePrincipalName": AIP, "PermissionsToKeys": ["get", "decrypt", "sign"]}),
    );
}

pub fn revoke(ck: &Ck, vault: &str) {
    ck.ok(
        "Remove-KeyVaultAccessPolicy",
        json!({"VaultName": vault, "ServicePrincipalName": AIP}),
    );
}

/// Adds a key (or a new version of it) and returns its versioned URL.
pub fn vault_key(ck: &Ck, vault: &str, name: &str) -> String {
    let key = ck.ok("Add-KeyVaultKey", json!({"VaultName": vault, "Name": name}));
    key["Id"].as_str().unwrap().to_string()
}

pub fn keys(ck: &Ck) -> Vec<Value> {
    ck.ok("Get-AipServiceKeys", json!({}))
        .as_array()
        .unwrap()
        .clone()
}

pub fn active(ck: &Ck) -> Value {
    let all = keys(ck);
    let active: Vec<&Value> = all.iter().filter(|k| k["Status"] == "Active").collect();
    assert_eq!(active.len(), 1, "exactly one Active key: {all:?}");
    active[0].clone()
}

pub fn id(key: &Value) -> String {
    key["KeyIdentifier"].as_str().unwrap().to_string()
}

/// Adds a BYOK key with Use-AipServiceKeyVaultKey and makes it Active; returns its identifier.
pub fn use_and_activate(ck: &Ck, url: &str) -> String {
    let added = ck.ok("Use-AipServiceKeyVaultKey", json!({"KeyVaultKeyUrl": url}));
    assert_eq!(added["Status"], "Archived");
    activate(ck, &id(&added));
    id(&added)
}

pub fn activate(ck: &Ck, key_identifier: &str) -> Value {
    ck.ok(
        "Set-AipServiceKeyProperties",
        json!({"KeyIdentifier": key_identifier, "Active": true, "Force": true}),
    )
}

/// Protects `text` into a new file of `dir`; returns the file and the key that protected it.
pub fn protect(ck: &Ck, dir: &TempDir, text: &str) -> (PathBuf, String) {
    let file = dir.join(&format!(
        "doc-{}.ckaip",
        customer_key::crypto::new_version_id().unwrap()
    ));
    let out = ck.ok(
        "Protect-AipContent",
        json!({"Value": text, "OutputFile": file}),
    );
    assert_eq!(out["OutputFile"], json!(file));
    (file, out["KeyIdentifier"].as_str().unwrap().to_string())
}

pub fn try_protect(ck: &Ck, dir: &TempDir, text: &str) -> Result<Value, CallError> {
    let file = dir.join(&format!(
        "doc-{}.ckaip",
        customer_key::crypto::new_version_id().unwrap()
    ));
    ck.call(
        "Protect-AipContent",
        json!({"Value": text, "OutputFile": file}),
    )
}

pub fn unprotect(ck: &Ck, file: &Path) -> Result<String, CallError> {
    ck.call("Unprotect-AipContent", json!({"InputFile": file}))
        .map(|v| v["Value"].as_str().unwrap().to_string())
}

pub fn lifecycle(ck: &Ck) -> (String, Vec<Value>) {
    let l = ck.ok("Get-AipServiceTenantKeyLifecycle", json!({}));
    (
        l["Topology"].as_str().unwrap().to_string(),
        l["Operations"].as_array().unwrap().clone(),
    )
}

pub fn cell<'a>(operations: &'a [Value], name: &str) -> &'a Value {
    operations
        .iter()
        .find(|o| o["Operation"] == name)
        .unwrap_or_else(|| panic!("no {name} row in {operations:?}"))
}

pub fn export(ck: &Ck, file: &Path, key_identifier: Option<&str>) -> Result<Value, CallError> {
    let mut args = json!({"OutputFile": file, "ProtectionPassword": PASSWORD});
    if let Some(k) = key_identifier {
        args["KeyIdentifier"] = json!(k);
    }
    ck.call("Export-AipServiceTpd", args)
}

pub fn import(ck: &Ck, file: &Path, password: &str) -> Result<Value, CallError> {
    ck.call(
        "Import-AipServiceTpd",
        json!({"TpdFile": file, "ProtectionPassword": password}),
    )
}
