//! The CLI: same operation and parameter names as the cmdlets, JSON on stdout, the error
//! envelope on stderr with a non-zero exit code, and the operation list from the same table.

use crate::common::TempDir;
use std::process::Command;

fn cli(store: &std::path::Path, args: &[&str]) -> (i32, serde_json::Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_customer-key"))
        .arg("--store")
        .arg(store)
        .arg("--upn")
        .arg("admin@contoso.com")
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let json = if stdout.trim().is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&stdout).unwrap_or(serde_json::Value::String(stdout))
    };
    (
        out.status.code().unwrap_or(-1),
        json,
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn operations_run_with_cmdlet_parameter_names_and_typed_values() {
    let dir = TempDir::new("cli");
    let store = dir.join("store");
    let (code, vault, _) = cli(
        &store,
        &[
            "New-KeyVault",
            "-VaultName",
            "vault-a",
            "-Location",
            "westeurope",
            "-SoftDeleteRetentionInDays",
            "30",
            "-Tag",
            "owner=alice,env=prod",
            "-EnablePurgeProtection",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(vault["SoftDeleteRetentionInDays"], 30);
    assert_eq!(vault["EnablePurgeProtection"], true);
    assert_eq!(vault["Tags"]["env"], "prod");
    assert_eq!(
        vault["AccessPolicies"][0]["DisplayName"],
        "admin@contoso.com"
    );
    let (code, key, _) = cli(
        &store,
        &[
            "Add-KeyVaultKey",
            "-VaultName",
            "vault-a",
            "-Name",
            "k",
            "-KeyOps",
            "wrapKey,unwrapKey",
            "-Disable",
            "-Expires",
            "2099-01-01T00:00:00Z",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(
        key["Key"]["KeyOps"],
        serde_json::json!(["wrapKey", "unwrapKey"])
    );
    assert_eq!(key["Enabled"], false);
    assert_eq!(key["Expires"], "2099-01-01T00:00:00Z");
    // Parameter names are case-insensitive, as in PowerShell; a bool takes true/false.
    let (code, _, _) = cli(
        &store,
        &[
            "update-keyvaultkey",
            "-vaultname",
            "vault-a",
            "-name",
            "k",
            "-Enable",
            "true",
        ],
    );
    assert_eq!(code, 0);
    // A relative -OutputFile is resolved against the current directory.
    let out = Command::new(env!("CARGO_BIN_EXE_customer-key"))
        .current_dir(dir.path())
        .args([
            "--store",
            store.to_str().unwrap(),
            "--upn",
            "admin@contoso.com",
            "Backup-KeyVaultKey",
            "-VaultName",
            "vault-a",
            "-Name",
            "k",
            "-OutputFile",
            "k.keybackup",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.join("k.keybackup").exists());
}

#[test]
fn errors_go_to_stderr_as_the_envelope_with_the_status_as_exit_code() {
    let dir = TempDir::new("cli-err");
    let store = dir.join("store");
    cli(
        &store,
        &[
            "New-KeyVault",
            "-VaultName",
            "vault-a",
            "-Location",
            "westeurope",
        ],
    );
    let (code, stdout, stderr) = cli(
        &store,
        &[
            "Get-KeyVaultKey",
            "-VaultName",
            "vault-a",
            "-Name",
            "missing",
        ],
    );
    assert_eq!(code, 2);
    assert!(stdout.is_null());
    let envelope: serde_json::Value = serde_json::from_str(stderr.trim()).unwrap();
    assert_eq!(envelope["error"]["code"], "KeyNotFound");
    assert_eq!(envelope["error"]["category"], "ObjectNotFound");
    let (code, _, stderr) = cli(
        &store,
        &[
            "Add-KeyVaultKey",
            "-VaultName",
            "vault-a",
            "-Name",
            "k",
            "-Size",
            "big",
        ],
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("Size"));
    let (code, _, stderr) = cli(
        &store,
        &["Add-KeyVaultKey", "-VaultName", "vault-a", "-Colour", "red"],
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("Colour"));
    let (code, _, _) = cli(&store, &["Frobnicate-Key"]);
    assert_eq!(code, 1);
    // A parameter given twice is an error, not "the last one wins".
    let (code, _, stderr) = cli(
        &store,
        &[
            "Get-KeyVaultKey",
            "-VaultName",
            "vault-a",
            "-Name",
            "x",
            "-Name",
            "y",
        ],
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("twice"));
    // A password is read from a file with @, so it stays off the command line.
    let pw = dir.join("pw.txt");
    std::fs::write(&pw, "not-the-password\n").unwrap();
    let key = dir.join("k.der");
    std::fs::write(&key, [0x30u8, 0x03, 0x02, 0x01, 0x00]).unwrap();
    let (code, _, stderr) = cli(
        &store,
        &[
            "Add-KeyVaultKey",
            "-VaultName",
            "vault-a",
            "-Name",
            "k",
            "-KeyFilePath",
            key.to_str().unwrap(),
            "-KeyFilePassword",
            &format!("@{}", pw.display()),
        ],
    );
    assert_eq!(code, 1);
    assert!(
        stderr.contains("KeyFilePassword") && !stderr.contains("not-the-password"),
        "{stderr}"
    );
}

#[test]
fn list_and_describe_come_from_the_operation_table() {
    let out = Command::new(env!("CARGO_BIN_EXE_customer-key"))
        .arg("--list")
        .output()
        .unwrap();
    let listed = String::from_utf8(out.stdout).unwrap();
    let names: Vec<&str> = listed
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    let table: Vec<&str> = customer_key::registry()
        .operations()
        .iter()
        .map(|o| o.name)
        .collect();
    assert_eq!(names, table);
    let out = Command::new(env!("CARGO_BIN_EXE_customer-key"))
        .arg("--describe")
        .output()
        .unwrap();
    let described: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(described, customer_key::registry().describe());
}
