//! Throughput of Azure Information Protection content protection, in both topologies.
//!
//! On a temporary store: protects and then unprotects `CK_BENCH_SCALE` items (default 1,000;
//! 10,000 is the CI-short run, 100,000 the long run) of 1 KiB each, first with the tenant's
//! Microsoft-managed key (engine-held: the private key is unsealed and parsed on each sign and
//! decrypt), then with a BYOK key (every sign and decrypt goes through the vault boundary as the
//! AIP service principal, with its permission and key state checks and audit rows). Also times
//! one TPD export and import (PBKDF2-HMAC-SHA256 at 600,000 iterations each way). Calls go
//! through the operation registry, as `ck_call` dispatches them. Prints figures; asserts
//! nothing on speed. Run: `cargo bench --bench aip`.

use customer_key::{Session, SessionOptions};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Instant;

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn call(session: &Session, op: &str, args: Value) -> Value {
    customer_key::registry()
        .call(session, op, &args)
        .unwrap_or_else(|e| panic!("{op}: {}", e.message))
}

fn rate(label: &str, n: usize, started: Instant) {
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{label:<40} {n:>7} items  {seconds:>8.2} s  {:>9.0} items/s",
        n as f64 / seconds
    );
}

fn protect_and_open(session: &Session, dir: &Path, topology: &str, n: usize) {
    let text = "x".repeat(1024);
    let started = Instant::now();
    let mut files = Vec::with_capacity(n);
    for i in 0..n {
        let file = dir.join(format!("{topology}-{i}.ckaip"));
        call(
            session,
            "Protect-AipContent",
            json!({"Value": text, "OutputFile": file}),
        );
        files.push(file);
    }
    rate(&format!("Protect-AipContent ({topology})"), n, started);
    let started = Instant::now();
    for file in &files {
        let opened = call(session, "Unprotect-AipContent", json!({"InputFile": file}));
        assert_eq!(opened["Value"].as_str().map(str::len), Some(1024));
    }
    rate(&format!("Unprotect-AipContent ({topology})"), n, started);
    for file in files {
        let _ = std::fs::remove_file(file);
    }
}

fn main() {
    let n: usize = std::env::var("CK_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000);
    let mut bytes = [0u8; 8];
    aws_lc_rs::rand::fill(&mut bytes).unwrap();
    let tag: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let dir = TempDir(std::env::temp_dir().join(format!("ck-bench-aip-{tag}")));
    std::fs::create_dir_all(&dir.0).unwrap();
    let session = customer_key::open_session(SessionOptions {
        store: Some(dir.0.join("store")),
        user_principal_name: Some("bench@contoso.com".into()),
        time_shift_seconds: None,
        ..Default::default()
    })
    .unwrap();
    println!("AIP content protection, 1 KiB items, one thread, RSA-2048 tenant keys");

    protect_and_open(&session, &dir.0, "Microsoft-managed", n);

    let tpd = dir.0.join("bench.tpd");
    let started = Instant::now();
    call(
        &session,
        "Export-AipServiceTpd",
        json!({"OutputFile": tpd, "ProtectionPassword": "benchmark password"}),
    );
    rate("Export-AipServiceTpd (PBKDF2 600,000)", 1, started);
    let started = Instant::now();
    let e = customer_key::registry()
        .call(
            &session,
            "Import-AipServiceTpd",
            &json!({"TpdFile": tpd, "ProtectionPassword": "benchmark password"}),
        )
        .unwrap_err();
    assert_eq!(e.category(), "ResourceExists");
    rate("Import-AipServiceTpd (derive, open)", 1, started);

    call(
        &session,
        "New-KeyVault",
        json!({"VaultName": "bench-aip", "Location": "westeurope", "EnablePurgeProtection": true}),
    );
    call(
        &session,
        "Set-KeyVaultAccessPolicy",
        json!({"VaultName": "bench-aip", "ServicePrincipalName": customer_key::aip::AIP_APP_ID, "PermissionsToKeys": ["get", "decrypt", "sign"]}),
    );
    let key = call(
        &session,
        "Add-KeyVaultKey",
        json!({"VaultName": "bench-aip", "Name": "tenant-key"}),
    );
    let added = call(
        &session,
        "Use-AipServiceKeyVaultKey",
        json!({"KeyVaultKeyUrl": key["Id"]}),
    );
    call(
        &session,
        "Set-AipServiceKeyProperties",
        json!({"KeyIdentifier": added["KeyIdentifier"], "Active": true}),
    );
    protect_and_open(&session, &dir.0, "BYOK", n);
}
