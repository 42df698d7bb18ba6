//! The SharePoint operations through the CLI, one process per call: the registration job
//! enqueued by one process is finished by the runners of the processes that follow.

use crate::common::TempDir;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn cli(store: &Path, args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_customer-key"))
        .arg("--store")
        .arg(store)
        .arg("--upn")
        .arg("admin@contoso.com")
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        json,
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn ok(store: &Path, args: &[&str]) -> Value {
    let (code, json, stderr) = cli(store, args);
    assert_eq!(code, 0, "{args:?}: {stderr}");
    json
}

#[test]
fn register_through_the_cli_and_read_files_back() {
    let dir = TempDir::new("spo-cli");
    let store = dir.join("store");
    let mut versions = Vec::new();
    for (vault, location) in [("cli-spo-a", "westeurope"), ("cli-spo-b", "northeurope")] {
        ok(
            &store,
            &["New-KeyVault", "-VaultName", vault, "-Location", location],
        );
        let key = ok(
            &store,
            &[
                "Add-KeyVaultKey",
                "-VaultName",
                vault,
                "-Name",
                "spo-key",
                "-KeyOps",
                "wrapKey,unwrapKey",
            ],
        );
        versions.push(key["Version"].as_str().unwrap().to_string());
        ok(
            &store,
            &[
                "Set-KeyVaultAccessPolicy",
                "-VaultName",
                vault,
                "-ServicePrincipalName",
                "00000003-0000-0ff1-ce00-000000000000",
                "-PermissionsToKeys",
                "get,wrapKey,unwrapKey",
            ],
        );
    }
    let site = "https://contoso.sharepoint.com/sites/cli";
    ok(&store, &["New-SPOSite", "-Url", site, "-Title", "CLI"]);
    ok(
        &store,
        &[
            "Add-SPOFile",
            "-Site",
            site,
            "-Name",
            "a.txt",
            "-Value",
            "from the CLI",
        ],
    );

    let (code, _, stderr) = cli(
        &store,
        &[
            "Register-SPODataEncryptionPolicy",
            "-PrimaryKeyVaultName",
            "cli-spo-a",
            "-PrimaryKeyName",
            "spo-key",
            "-SecondaryKeyVaultName",
            "cli-spo-b",
            "-SecondaryKeyName",
            "spo-key",
            "-SecondaryKeyVersion",
            &versions[1],
        ],
    );
    assert_ne!(code, 0);
    assert!(stderr.contains("PrimaryKeyVersion"), "{stderr}");

    ok(
        &store,
        &[
            "Register-SPODataEncryptionPolicy",
            "-PrimaryKeyVaultName",
            "cli-spo-a",
            "-PrimaryKeyName",
            "spo-key",
            "-PrimaryKeyVersion",
            &versions[0],
            "-SecondaryKeyVaultName",
            "cli-spo-b",
            "-SecondaryKeyName",
            "spo-key",
            "-SecondaryKeyVersion",
            &versions[1],
        ],
    );
    let mut state = String::new();
    for _ in 0..200 {
        let policy = ok(&store, &["Get-SPODataEncryptionPolicy"]);
        state = policy["State"].as_str().unwrap().to_string();
        if state == "Registered" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(state, "Registered");
    let site_out = ok(&store, &["Get-SPOSite", "-Identity", site]);
    assert_eq!(site_out[0]["Encryption"], "CustomerKey");
    let file = ok(&store, &["Get-SPOFile", "-Site", site, "-Name", "a.txt"]);
    assert_eq!(file[0]["Value"], "from the CLI");
}
