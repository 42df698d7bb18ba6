//! The service principals' half of the matrix: each workload's onboarding call (where the
//! service checks its own permissions) and its everyday calls (where it uses the key), for
//! every key permission withheld in turn.

use super::{all_but, judge};
use crate::common::*;
use customer_key::vault::model::ALL_KEY_PERMISSIONS;
use serde_json::{json, Value};
use std::path::Path;

/// A workload's onboarding call, made by the admin, in which the workload's service principal
/// checks its own permissions on the vaults (as the service does when a policy or key is set).
/// The multi-workload policy's service (M365DataAtRestEncryption) needs what Exchange's does.
struct ServiceCase {
    workload: &'static str,
    application_id: &'static str,
    /// What the service principal needs (customer-key-facts.md: Exchange and SharePoint get,
    /// wrapKey, unwrapKey; AIP get, decrypt, sign).
    needs: &'static [&'static str],
    key_ops: &'static [&'static str],
    call: fn(&Ck, &[Value]) -> Result<Value, CallError>,
}

const SERVICE_CASES: &[ServiceCase] = &[
    ServiceCase {
        workload: "Exchange New-DataEncryptionPolicy",
        application_id: "00000002-0000-0ff1-ce00-000000000000",
        needs: &["get", "wrapKey", "unwrapKey"],
        key_ops: &["wrapKey", "unwrapKey"],
        call: |ck, keys| {
            let ids: Vec<&Value> = keys.iter().map(|k| &k["Id"]).collect();
            ck.call(
                "New-DataEncryptionPolicy",
                json!({"Name": "DEP-matrix", "AzureKeyIDs": ids}),
            )
        },
    },
    ServiceCase {
        workload: "SharePoint Register-SPODataEncryptionPolicy",
        application_id: "00000003-0000-0ff1-ce00-000000000000",
        needs: &["get", "wrapKey", "unwrapKey"],
        key_ops: &["wrapKey", "unwrapKey"],
        call: |ck, keys| {
            ck.call(
                "Register-SPODataEncryptionPolicy",
                json!({
                    "PrimaryKeyVaultName": keys[0]["VaultName"], "PrimaryKeyName": keys[0]["Name"], "PrimaryKeyVersion": keys[0]["Version"],
                    "SecondaryKeyVaultName": keys[1]["VaultName"], "SecondaryKeyName": keys[1]["Name"], "SecondaryKeyVersion": keys[1]["Version"],
                }),
            )
        },
    },
    ServiceCase {
        workload: "AIP Use-AipServiceKeyVaultKey",
        application_id: "00000012-0000-0000-c000-000000000000",
        needs: &["get", "decrypt", "sign"],
        key_ops: &["decrypt", "sign", "encrypt", "verify"],
        call: |ck, keys| {
            ck.call(
                "Use-AipServiceKeyVaultKey",
                json!({"KeyVaultKeyUrl": keys[0]["Id"]}),
            )
        },
    },
    ServiceCase {
        workload: "MultiWorkload New-M365DataAtRestEncryptionPolicy",
        application_id: "c066d759-24ae-40e7-a56f-027002b5d3e4",
        needs: &["get", "wrapKey", "unwrapKey"],
        key_ops: &["wrapKey", "unwrapKey"],
        call: |ck, keys| {
            let ids: Vec<&Value> = keys.iter().map(|k| &k["Id"]).collect();
            ck.call(
                "New-M365DataAtRestEncryptionPolicy",
                json!({"Name": "M365-matrix", "AzureKeyIDs": ids}),
            )
        },
    },
];

/// A fresh tenant (the onboarding calls are once per tenant) with two recoverable vaults, a key
/// in each, and the service principal granted `permissions` on both; then the workload's call.
fn service_cell(
    s: &ServiceCase,
    key_file: &Path,
    permissions: &[&str],
) -> Result<Value, CallError> {
    let (_dir, ck, keys) = tenant(s, key_file, permissions);
    (s.call)(&ck, &keys)
}

fn tenant(s: &ServiceCase, key_file: &Path, permissions: &[&str]) -> (TempDir, Ck, Vec<Value>) {
    let dir = TempDir::new("matrix-service");
    let ck = Ck::at(&dir.join("store"), ADMIN);
    let mut keys = Vec::new();
    for (vault, location) in VAULTS {
        ck.ok(
            "New-KeyVault",
            json!({"VaultName": vault, "Location": location, "EnablePurgeProtection": true}),
        );
        let mut key = ck.ok(
            "Add-KeyVaultKey",
            json!({"VaultName": vault, "Name": "workload-key", "KeyFilePath": key_file, "KeyOps": s.key_ops}),
        );
        key["VaultName"] = json!(vault);
        keys.push(key);
        grant(&ck, s.application_id, vault, permissions);
    }
    (dir, ck, keys)
}

const VAULTS: [(&str, &str); 2] = [("matrix-a", "westeurope"), ("matrix-b", "northeurope")];

fn grant(ck: &Ck, application_id: &str, vault: &str, permissions: &[&str]) {
    ck.ok(
        "Set-KeyVaultAccessPolicy",
        json!({"VaultName": vault, "ServicePrincipalName": application_id, "PermissionsToKeys": permissions}),
    );
}

fn key_file(dir: &TempDir) -> std::path::PathBuf {
    let key_file = dir.join("import.der");
    let material = customer_key::crypto::generate_rsa(2048).unwrap();
    std::fs::write(&key_file, material.pkcs8.expose()).unwrap();
    key_file
}

#[test]
fn every_service_principal_needs_exactly_its_documented_permissions() {
    let dir = TempDir::new("matrix-key");
    let key_file = key_file(&dir);
    let mut cells = 0;
    let mut mismatches = Vec::new();
    for s in SERVICE_CASES {
        for &permission in ALL_KEY_PERMISSIONS {
            let label = format!(
                "{} as {} without {permission}",
                s.workload, s.application_id
            );
            let outcome = service_cell(s, &key_file, &all_but(permission));
            cells += 1;
            mismatches.extend(judge(
                &label,
                Some(permission),
                s.needs.contains(&permission),
                outcome,
            ));
        }
        let label = format!(
            "{} as {} with only {:?}",
            s.workload, s.application_id, s.needs
        );
        cells += 1;
        mismatches.extend(judge(
            &label,
            None,
            false,
            service_cell(s, &key_file, s.needs),
        ));
    }
    println!(
        "permission matrix (service principals): {} workloads x ({} permissions + only-required) = {cells} cells, {} mismatches",
        SERVICE_CASES.len(),
        ALL_KEY_PERMISSIONS.len(),
        mismatches.len()
    );
    for m in &mismatches {
        println!("  mismatch: {m}");
    }
    assert!(mismatches.is_empty(), "{} mismatches", mismatches.len());
}

/// A workload's everyday call: the key operation the service performs with the tenant's key,
/// which needs the one permission of that REST call (unwrapkey, sign, decrypt).
struct UseCase {
    call: &'static str,
    needs: &'static [&'static str],
    run: fn(&Ck, &Path, usize) -> Result<Value, CallError>,
}

/// Per workload (the index in SERVICE_CASES): what the tenant needs after onboarding, and the
/// calls that use the key.
struct DataCase {
    service: usize,
    prepare: fn(&Ck, &Path),
    uses: &'static [UseCase],
}

const SITE: &str = "https://contoso.sharepoint.com/sites/matrix";

const DATA_CASES: &[DataCase] = &[
    DataCase {
        service: 0,
        prepare: |ck, _| {
            ck.ok("New-Mailbox", json!({"Name": "M", "Alias": "m", "PrimarySmtpAddress": "m@contoso.com", "DataEncryptionPolicy": "DEP-matrix"}));
            ck.ok(
                "Add-MailboxItem",
                json!({"Identity": "m", "Subject": "first", "Body": "first"}),
            );
        },
        uses: &[
            UseCase {
                call: "Add-MailboxItem",
                needs: &["unwrapKey"],
                run: |ck, _, n| {
                    ck.call(
                        "Add-MailboxItem",
                        json!({"Identity": "m", "Subject": format!("s{n}"), "Body": "b"}),
                    )
                },
            },
            UseCase {
                call: "Get-MailboxItem",
                needs: &["unwrapKey"],
                run: |ck, _, _| ck.call("Get-MailboxItem", json!({"Identity": "m"})),
            },
        ],
    },
    DataCase {
        service: 1,
        prepare: |ck, _| {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            while ck.ok("Get-SPODataEncryptionPolicy", json!({}))["State"] != "Registered" {
                assert!(std::time::Instant::now() < deadline, "not Registered");
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            ck.ok("New-SPOSite", json!({"Url": SITE, "Title": "Matrix"}));
            ck.ok(
                "Add-SPOFile",
                json!({"Site": SITE, "Name": "first.txt", "Value": "first"}),
            );
        },
        uses: &[
            UseCase {
                call: "Add-SPOFile",
                needs: &["unwrapKey"],
                run: |ck, _, n| {
                    ck.call(
                        "Add-SPOFile",
                        json!({"Site": SITE, "Name": format!("f{n}.txt"), "Value": "v"}),
                    )
                },
            },
            UseCase {
                call: "Get-SPOFile",
                needs: &["unwrapKey"],
                run: |ck, _, _| ck.call("Get-SPOFile", json!({"Site": SITE, "Name": "first.txt"})),
            },
        ],
    },
    DataCase {
        service: 2,
        prepare: |ck, dir| {
            let byok: Vec<Value> = ck
                .ok("Get-AipServiceKeys", json!({}))
                .as_array()
                .unwrap()
                .iter()
                .filter(|k| k["Publickey"].is_string())
                .cloned()
                .collect();
            ck.ok(
                "Set-AipServiceKeyProperties",
                json!({"KeyIdentifier": byok[0]["KeyIdentifier"], "Active": true, "Force": true}),
            );
            ck.ok(
                "Protect-AipContent",
                json!({"Value": "first", "OutputFile": dir.join("first.ckaip")}),
            );
        },
        uses: &[
            UseCase {
                call: "Protect-AipContent",
                needs: &["sign"],
                run: |ck, dir, n| {
                    ck.call(
                        "Protect-AipContent",
                        json!({"Value": "v", "OutputFile": dir.join(format!("p{n}.ckaip"))}),
                    )
                },
            },
            UseCase {
                call: "Unprotect-AipContent",
                needs: &["decrypt"],
                run: |ck, dir, _| {
                    ck.call(
                        "Unprotect-AipContent",
                        json!({"InputFile": dir.join("first.ckaip")}),
                    )
                },
            },
        ],
    },
    DataCase {
        service: 3,
        prepare: |ck, _| {
            ck.ok(
                "Set-M365DataAtRestEncryptionPolicyAssignment",
                json!({"DataEncryptionPolicy": "M365-matrix"}),
            );
            ck.ok(
                "Add-M365DataItem",
                json!({"Workload": "TeamsChat", "Subject": "first", "Body": "first"}),
            );
        },
        uses: &[
            UseCase {
                call: "Add-M365DataItem",
                needs: &["unwrapKey"],
                run: |ck, _, n| {
                    ck.call(
                        "Add-M365DataItem",
                        json!({"Workload": "TeamsChat", "Subject": format!("s{n}"), "Body": "b"}),
                    )
                },
            },
            UseCase {
                call: "Get-M365DataItem",
                needs: &["unwrapKey"],
                run: |ck, _, _| ck.call("Get-M365DataItem", json!({})),
            },
        ],
    },
];

#[test]
fn every_workload_call_needs_exactly_the_permission_of_its_key_operation() {
    let dir = TempDir::new("matrix-use");
    let key_file = key_file(&dir);
    let mut cells = 0;
    let mut mismatches = Vec::new();
    for d in DATA_CASES {
        let s = &SERVICE_CASES[d.service];
        let (tenant_dir, ck, keys) = tenant(s, &key_file, s.needs);
        (s.call)(&ck, &keys).expect("onboarding with the documented permissions");
        (d.prepare)(&ck, tenant_dir.path());
        drop(ck);
        for u in d.uses {
            let grants = ALL_KEY_PERMISSIONS
                .iter()
                .map(|p| (Some(*p), all_but(p)))
                .chain([(None, u.needs.to_vec())]);
            for (missing, permissions) in grants {
                let admin = Ck::at(&tenant_dir.join("store"), ADMIN);
                for (vault, _) in VAULTS {
                    grant(&admin, s.application_id, vault, &permissions);
                }
                drop(admin);
                // A new session: nothing the service unwrapped under the old grant is reused.
                let ck = Ck::at(&tenant_dir.join("store"), ADMIN);
                cells += 1;
                let refused = missing.is_some_and(|p| u.needs.contains(&p));
                let label = match missing {
                    Some(p) => format!("{} as {} without {p}", u.call, s.application_id),
                    None => format!("{} as {} with only {:?}", u.call, s.application_id, u.needs),
                };
                mismatches.extend(judge(
                    &label,
                    missing,
                    refused,
                    (u.run)(&ck, tenant_dir.path(), cells),
                ));
            }
        }
    }
    println!(
        "permission matrix (workload calls): {} calls x ({} permissions + only-required) = {cells} cells, {} mismatches",
        DATA_CASES.iter().map(|d| d.uses.len()).sum::<usize>(),
        ALL_KEY_PERMISSIONS.len(),
        mismatches.len()
    );
    for m in &mismatches {
        println!("  mismatch: {m}");
    }
    assert!(mismatches.is_empty(), "{} mismatches", mismatches.len());
}
