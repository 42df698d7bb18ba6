//! The permission matrix: every key operation of the registry (ck_describe) against every key
//! permission. A principal holding every permission but one is refused (PermissionDenied, the
//! message naming `keys/<permission>`) exactly when the REST API requires that permission, and
//! one holding only the required permissions succeeds. The workloads' onboarding calls are
//! checked the same way for each service principal (Exchange, SharePoint, AIP). Prints the
//! matrix size and every mismatch (goal: 0).
//!
//! The table below is the one place saying what each operation needs; an operation of the
//! KeyVault area in the registry but not in the table fails the test, so none slips by.

mod services;
use crate::common::*;
use customer_key::vault::model::ALL_KEY_PERMISSIONS;
use serde_json::{json, Value};
use std::cell::Cell;
use std::path::PathBuf;

/// One way of calling a key operation and the permission Key Vault's REST API requires for it
/// (keyvault-keys-7.6.openapi.json: "This operation requires the keys/... permission"; backup
/// from Azure's key permission list, where the spec says nothing).
struct KeyCase {
    operation: &'static str,
    case: &'static str,
    rest: &'static str,
    needs: &'static [&'static str],
}

const fn case(
    operation: &'static str,
    case: &'static str,
    rest: &'static str,
    needs: &'static [&'static str],
) -> KeyCase {
    KeyCase {
        operation,
        case,
        rest,
        needs,
    }
}

#[rustfmt::skip]
const KEY_CASES: &[KeyCase] = &[
    case("Add-KeyVaultKey", "create", "POST /keys/{name}/create", &["create"]),
    case("Add-KeyVaultKey", "import", "PUT /keys/{name}", &["import"]),
    case("Get-KeyVaultKey", "get", "GET /keys/{name}/{version}", &["get"]),
    case("Get-KeyVaultKey", "list", "GET /keys", &["list"]),
    case("Get-KeyVaultKey", "versions", "GET /keys/{name}/versions", &["list"]),
    case("Get-KeyVaultKey", "get deleted", "GET /deletedkeys/{name}", &["get"]),
    case("Get-KeyVaultKey", "list deleted", "GET /deletedkeys", &["list"]),
    case("Update-KeyVaultKey", "update", "PATCH /keys/{name}/{version}", &["update"]),
    case("Remove-KeyVaultKey", "delete", "DELETE /keys/{name}", &["delete"]),
    case("Remove-KeyVaultKey", "purge", "DELETE /deletedkeys/{name}", &["purge"]),
    case("Undo-KeyVaultKeyRemoval", "recover", "POST /deletedkeys/{name}/recover", &["recover"]),
    case("Backup-KeyVaultKey", "backup", "POST /keys/{name}/backup", &["backup"]),
    case("Restore-KeyVaultKey", "restore", "POST /keys/restore", &["restore"]),
    case("Invoke-KeyVaultKeyOperation", "Encrypt", "POST /keys/{name}/{version}/encrypt", &["encrypt"]),
    case("Invoke-KeyVaultKeyOperation", "Decrypt", "POST /keys/{name}/{version}/decrypt", &["decrypt"]),
    case("Invoke-KeyVaultKeyOperation", "Wrap", "POST /keys/{name}/{version}/wrapkey", &["wrapKey"]),
    case("Invoke-KeyVaultKeyOperation", "Unwrap", "POST /keys/{name}/{version}/unwrapkey", &["unwrapKey"]),
    case("Invoke-KeyVaultKeySignature", "Sign", "POST /keys/{name}/{version}/sign", &["sign"]),
    case("Invoke-KeyVaultKeySignature", "Verify", "POST /keys/{name}/{version}/verify", &["verify"]),
    // A project extension that reads a key's metadata (who uses which version): as GET /keys.
    case("Get-KeyVaultKeyUsage", "usage", "GET /keys/{name}/{version} (extension)", &["get"]),
    // The -WhatIf preview, another reading of key metadata (the vault's owner may also ask).
    case("Get-KeyVaultChangeImpact", "impact", "GET /keys/{name}/{version} (extension)", &["get"]),
];

/// Operations of the KeyVault area that need no key permission: Azure's control plane, where
/// the vault's owner acts (Key Vault's access policies do not apply to it).
const VAULT_PLANE: &[(&str, &str)] = &[
    (
        "New-KeyVault",
        "creates a vault: its creator becomes the owner",
    ),
    ("Get-KeyVault", "control plane read"),
    ("Remove-KeyVault", "owner only"),
    ("Undo-KeyVaultRemoval", "owner only"),
    ("Set-KeyVaultAccessPolicy", "owner only"),
    ("Remove-KeyVaultAccessPolicy", "owner only"),
    ("Set-KeyVault", "owner only (an outage rehearsal)"),
    ("Update-KeyVault", "owner only"),
    (
        "New-RoleAssignment",
        "owner only (Azure: Owner or User Access Administrator)",
    ),
    ("Get-RoleAssignment", "control plane read"),
    ("Remove-RoleAssignment", "owner only"),
];

const VAULT: &str = "matrix-vault";
const FIXED: &str = "fixed";
const PROBE: &str = "probe@contoso.com";

/// Operation names of one registry area, read through the C ABI's ck_describe.
fn registry_operations(area: &str) -> Vec<String> {
    let mut out = std::ptr::null_mut();
    // SAFETY: `out` is a local pointer; ck_describe writes a string released by take_json.
    let status = unsafe { customer_key::ffi::ck_describe(&mut out) };
    assert_eq!(status, 0);
    // SAFETY: written by ck_describe above, released once here.
    let described = unsafe { take_json(out) };
    described["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["Area"] == area)
        .map(|o| o["Name"].as_str().unwrap().to_string())
        .collect()
}

/// Everything a cell needs prepared by the vault's owner before the probe calls.
struct Fixture {
    dir: TempDir,
    admin: Ck,
    key_file: PathBuf,
    serial: Cell<usize>,
    ciphertext: String,
    wrapped: String,
    signature: String,
}

const DIGEST: [u8; 32] = [7u8; 32];

impl Fixture {
    fn new() -> Fixture {
        let (dir, admin) = store_with_vaults("matrix", &[(VAULT, "westeurope")]);
        let key_file = dir.join("import.der");
        let material = customer_key::crypto::generate_rsa(2048).unwrap();
        std::fs::write(&key_file, material.pkcs8.expose()).unwrap();
        admin.ok(
            "Add-KeyVaultKey",
            json!({"VaultName": VAULT, "Name": FIXED, "KeyFilePath": key_file}),
        );
        let crypt = |operation: &str| {
            admin.ok(
                "Invoke-KeyVaultKeyOperation",
                json!({"VaultName": VAULT, "Name": FIXED, "Operation": operation, "Algorithm": "RSA-OAEP-256", "ByteArrayValue": b64(b"matrix value")}),
            )["RawResult"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let (ciphertext, wrapped) = (crypt("Encrypt"), crypt("Wrap"));
        let signature = admin.ok(
            "Invoke-KeyVaultKeySignature",
            json!({"VaultName": VAULT, "Name": FIXED, "Operation": "Sign", "Algorithm": "RS256", "Digest": b64(&DIGEST)}),
        )["Signature"]
            .as_str()
            .unwrap()
            .to_string();
        Fixture {
            dir,
            admin,
            key_file,
            serial: Cell::new(0),
            ciphertext,
            wrapped,
            signature,
        }
    }

    /// A name no cell used before.
    fn fresh(&self, prefix: &str) -> String {
        self.serial.set(self.serial.get() + 1);
        format!("{prefix}{}", self.serial.get())
    }

    /// A new key, imported by the owner (fast: no key generation).
    fn imported(&self, prefix: &str) -> String {
        let name = self.fresh(prefix);
        self.admin.ok(
            "Add-KeyVaultKey",
            json!({"VaultName": VAULT, "Name": name, "KeyFilePath": self.key_file}),
        );
        name
    }

    /// A new key, soft-deleted by the owner.
    fn deleted(&self, prefix: &str) -> String {
        let name = self.imported(prefix);
        self.admin.ok(
            "Remove-KeyVaultKey",
            json!({"VaultName": VAULT, "Name": name}),
        );
        name
    }

    /// Prepares the state the case acts on and returns the probe's arguments.
    fn arguments(&self, c: &KeyCase) -> Value {
        let crypto = |operation: &str, value: &str| json!({"VaultName": VAULT, "Name": FIXED, "Operation": operation, "Algorithm": "RSA-OAEP-256", "ByteArrayValue": value});
        match (c.operation, c.case) {
            ("Add-KeyVaultKey", "create") => json!({"VaultName": VAULT, "Name": self.fresh("c")}),
            ("Add-KeyVaultKey", "import") => {
                json!({"VaultName": VAULT, "Name": self.fresh("i"), "KeyFilePath": self.key_file})
            }
            ("Get-KeyVaultKey", "get") => json!({"VaultName": VAULT, "Name": FIXED}),
            ("Get-KeyVaultKey", "list") => json!({"VaultName": VAULT}),
            ("Get-KeyVaultKey", "versions") => {
                json!({"VaultName": VAULT, "Name": FIXED, "IncludeVersions": true})
            }
            ("Get-KeyVaultKey", "get deleted") => {
                json!({"VaultName": VAULT, "Name": self.deleted("gd"), "InRemovedState": true})
            }
            ("Get-KeyVaultKey", "list deleted") => {
                self.deleted("ld");
                json!({"VaultName": VAULT, "InRemovedState": true})
            }
            ("Update-KeyVaultKey", _) => {
                json!({"VaultName": VAULT, "Name": FIXED, "Tag": {"cell": self.fresh("t")}})
            }
            ("Remove-KeyVaultKey", "delete") => {
                json!({"VaultName": VAULT, "Name": self.imported("r")})
            }
            ("Remove-KeyVaultKey", "purge") => {
                json!({"VaultName": VAULT, "Name": self.deleted("p"), "InRemovedState": true})
            }
            ("Undo-KeyVaultKeyRemoval", _) => {
                json!({"VaultName": VAULT, "Name": self.deleted("u")})
            }
            ("Backup-KeyVaultKey", _) => {
                json!({"VaultName": VAULT, "Name": FIXED, "OutputFile": self.dir.join(&self.fresh("b"))})
            }
            ("Restore-KeyVaultKey", _) => {
                // A backup of a key then purged, so the restore has a free name to land on.
                let name = self.imported("s");
                let file = self.dir.join(&format!("{name}.backup"));
                let admin = &self.admin;
                admin.ok(
                    "Backup-KeyVaultKey",
                    json!({"VaultName": VAULT, "Name": name, "OutputFile": file}),
                );
                admin.ok(
                    "Remove-KeyVaultKey",
                    json!({"VaultName": VAULT, "Name": name}),
                );
                admin.ok(
                    "Remove-KeyVaultKey",
                    json!({"VaultName": VAULT, "Name": name, "InRemovedState": true}),
                );
                json!({"VaultName": VAULT, "InputFile": file})
            }
            ("Invoke-KeyVaultKeyOperation", "Encrypt") => crypto("Encrypt", &b64(b"probe")),
            ("Invoke-KeyVaultKeyOperation", "Decrypt") => crypto("Decrypt", &self.ciphertext),
            ("Invoke-KeyVaultKeyOperation", "Wrap") => crypto("Wrap", &b64(b"probe")),
            ("Invoke-KeyVaultKeyOperation", "Unwrap") => crypto("Unwrap", &self.wrapped),
            ("Invoke-KeyVaultKeySignature", "Sign") => {
                json!({"VaultName": VAULT, "Name": FIXED, "Operation": "Sign", "Algorithm": "RS256", "Digest": b64(&DIGEST)})
            }
            ("Invoke-KeyVaultKeySignature", "Verify") => {
                json!({"VaultName": VAULT, "Name": FIXED, "Operation": "Verify", "Algorithm": "RS256", "Digest": b64(&DIGEST), "Signature": self.signature})
            }
            ("Get-KeyVaultKeyUsage" | "Get-KeyVaultChangeImpact", _) => {
                json!({"VaultName": VAULT, "Name": FIXED})
            }
            (operation, case) => panic!("no arguments for {operation} ({case})"),
        }
    }

    fn grant(&self, principal_parameter: &str, principal: &str, vault: &str, permissions: &[&str]) {
        self.admin.ok(
            "Set-KeyVaultAccessPolicy",
            json!({"VaultName": vault, principal_parameter: principal, "PermissionsToKeys": permissions}),
        );
    }
}

fn all_but(permission: &str) -> Vec<&'static str> {
    ALL_KEY_PERMISSIONS
        .iter()
        .copied()
        .filter(|p| *p != permission)
        .collect()
}

/// Compares one call's outcome with what its grant should give; returns the mismatch, if any.
fn judge(
    label: &str,
    missing: Option<&str>,
    refused_expected: bool,
    outcome: Result<Value, CallError>,
) -> Option<String> {
    match (outcome, refused_expected) {
        (Ok(_), false) => None,
        (Ok(v), true) => {
            let shown: String = v.to_string().chars().take(160).collect();
            Some(format!(
                "{label}: succeeded without keys/{} ({shown}...)",
                missing.unwrap_or("?")
            ))
        }
        (Err(e), true) => {
            let named = format!("keys/{}", missing.unwrap_or_default());
            (e.category() != "PermissionDenied" || !e.message().contains(&named)).then(|| {
                format!(
                    "{label}: refused, but not as PermissionDenied naming {named}: {} {}",
                    e.category(),
                    e.message()
                )
            })
        }
        (Err(e), false) => Some(format!(
            "{label}: refused though allowed: {} {}",
            e.category(),
            e.message()
        )),
    }
}

#[test]
fn every_key_operation_needs_exactly_the_permission_the_rest_api_requires() {
    // The table covers the registry's KeyVault area exactly.
    let registry = registry_operations("KeyVault");
    let mut uncovered = Vec::new();
    for name in &registry {
        let in_table = KEY_CASES.iter().any(|c| c.operation == name)
            || VAULT_PLANE.iter().any(|(n, _)| n == name);
        if !in_table {
            uncovered.push(name.clone());
        }
    }
    assert!(
        uncovered.is_empty(),
        "KeyVault operations missing from the permission table: {uncovered:?}; add each to KEY_CASES with the permission the REST API requires, or to VAULT_PLANE"
    );
    for name in KEY_CASES
        .iter()
        .map(|c| c.operation)
        .chain(VAULT_PLANE.iter().map(|(n, _)| *n))
    {
        assert!(
            registry.iter().any(|r| r == name),
            "{name} is in the table but not in the registry"
        );
    }

    let fx = Fixture::new();
    let probe = Ck::at(&fx.dir.join("store"), PROBE);
    let mut cells = 0;
    let mut mismatches = Vec::new();
    for c in KEY_CASES {
        for &permission in ALL_KEY_PERMISSIONS {
            fx.grant("UserPrincipalName", PROBE, VAULT, &all_but(permission));
            let args = fx.arguments(c);
            let label = format!(
                "{} ({}, {}) without {permission}",
                c.operation, c.case, c.rest
            );
            let refused = c.needs.contains(&permission);
            cells += 1;
            mismatches.extend(judge(
                &label,
                Some(permission),
                refused,
                probe.call(c.operation, args),
            ));
        }
        fx.grant("UserPrincipalName", PROBE, VAULT, c.needs);
        let args = fx.arguments(c);
        let label = format!("{} ({}) with only {:?}", c.operation, c.case, c.needs);
        cells += 1;
        mismatches.extend(judge(&label, None, false, probe.call(c.operation, args)));
    }
    println!(
        "permission matrix (key operations): {} cases x ({} permissions + only-required) = {cells} cells, {} mismatches",
        KEY_CASES.len(),
        ALL_KEY_PERMISSIONS.len(),
        mismatches.len()
    );
    for m in &mismatches {
        println!("  mismatch: {m}");
    }
    assert!(mismatches.is_empty(), "{} mismatches", mismatches.len());
}
