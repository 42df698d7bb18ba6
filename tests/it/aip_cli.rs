//! The AIP operations from the CLI: cmdlet parameter names, a bool for -Active, a password from
//! a file, JSON on stdout and the error envelope with its status as the exit code.

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
    let json = serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null);
    (
        out.status.code().unwrap_or(-1),
        json,
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn protect_unprotect_export_and_a_refusal_from_the_command_line() {
    let dir = TempDir::new("aip-cli");
    let store = dir.join("store");
    let doc = dir.join("memo.ckaip");
    let doc = doc.to_str().unwrap();
    let (code, protected, stderr) = cli(
        &store,
        &[
            "Protect-AipContent",
            "-Value",
            "memo text",
            "-OutputFile",
            doc,
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let key = protected["KeyIdentifier"].as_str().unwrap().to_string();
    let (code, opened, _) = cli(&store, &["Unprotect-AipContent", "-InputFile", doc]);
    assert_eq!(code, 0);
    assert_eq!(opened["Value"], "memo text");
    assert_eq!(opened["KeyIdentifier"], key.as_str());

    let (code, lifecycle, _) = cli(&store, &["Get-AipServiceTenantKeyLifecycle"]);
    assert_eq!(code, 0);
    assert_eq!(lifecycle["Topology"], "Microsoft-managed");
    assert_eq!(lifecycle["ActiveKeyIdentifier"], key.as_str());

    let password = dir.join("password.txt");
    std::fs::write(&password, "a password from a file\n").unwrap();
    let tpd = dir.join("t.tpd");
    let (code, exported, stderr) = cli(
        &store,
        &[
            "Export-AipServiceTpd",
            "-OutputFile",
            tpd.to_str().unwrap(),
            "-ProtectionPassword",
            &format!("@{}", password.display()),
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(exported["KeyIdentifiers"][0], key.as_str());

    let (code, _, stderr) = cli(
        &store,
        &[
            "Set-AipServiceKeyProperties",
            "-KeyIdentifier",
            &key,
            "-Active",
            "false",
        ],
    );
    assert_eq!(code, 1);
    let envelope: serde_json::Value = serde_json::from_str(&stderr).unwrap();
    assert_eq!(envelope["error"]["category"], "InvalidArgument");
    assert!(envelope["error"]["message"]
        .as_str()
        .unwrap()
        .contains("cannot be archived directly"));
}
