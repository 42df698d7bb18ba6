//! Test-CustomerKeySetup: how long a local validation takes, and how many requests a remote one
//! makes.
//!
//! Local: a temporary store, two vaults with a key of `CK_BENCH_VERSIONS` versions each
//! (default 50), Exchange Online granted, each key backed up; then `CK_BENCH_RUNS` validations
//! (default 21) through the operation registry with -DataLocation and -BackupPath, every check
//! made (the service principal's permissions proved by a wrap and an unwrap on each vault).
//! Prints the median and the slowest, against the goal of 50 ms.
//!
//! Remote: the same two vaults served by `customer-key serve` in this process, validated once
//! through a remote session (client credentials at the endpoint's token route); prints the
//! calls the endpoint answered for it, by operation (each vault and key read once). Asserts
//! nothing on speed. Run: `cargo bench --bench setup_check`.

use customer_key::serve::{ServeOptions, Server};
use customer_key::{Principal, Session, SessionOptions};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

const EXCHANGE: &str = "00000002-0000-0ff1-ce00-000000000000";
const VAULTS: [(&str, &str); 2] = [
    ("bench-ck-a", "westeurope"),
    ("bench-ck-b", "francecentral"),
];
const GOAL: Duration = Duration::from_millis(50);

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir(label: &str) -> TempDir {
    let mut bytes = [0u8; 8];
    aws_lc_rs::rand::fill(&mut bytes).unwrap();
    let tag: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    TempDir(std::env::temp_dir().join(format!("ck-bench-{label}-{tag}")))
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn call_as(session: &Session, principal: &Principal, op: &str, args: Value) -> Value {
    let text = customer_key::registry()
        .call_json_as(session, principal, op, &args)
        .unwrap_or_else(|e| panic!("{op}: {}", e.message));
    serde_json::from_str(&text).unwrap()
}

/// The two vaults, made and filled by `owner`; the versionless key ids.
fn fill(session: &Session, owner: &Principal, versions: usize, backups: &Path) -> Vec<String> {
    let mut ids = Vec::new();
    for (vault, location) in VAULTS {
        call_as(
            session,
            owner,
            "New-KeyVault",
            json!({"VaultName": vault, "Location": location, "Sku": "Premium", "EnablePurgeProtection": true}),
        );
        let mut id = String::new();
        for _ in 0..versions {
            let key = call_as(
                session,
                owner,
                "Add-KeyVaultKey",
                json!({"VaultName": vault, "Name": "ck-key", "Destination": "HSM", "KeyOps": ["wrapKey", "unwrapKey"]}),
            );
            id = key["Id"].as_str().unwrap().to_string();
        }
        call_as(
            session,
            owner,
            "Set-KeyVaultAccessPolicy",
            json!({"VaultName": vault, "ServicePrincipalName": EXCHANGE, "PermissionsToKeys": ["get", "wrapKey", "unwrapKey"]}),
        );
        call_as(
            session,
            owner,
            "Backup-KeyVaultKey",
            json!({"VaultName": vault, "Name": "ck-key", "OutputFile": backups.join(format!("{vault}-ck-key-1.keybackup"))}),
        );
        ids.push(id.rsplit_once('/').unwrap().0.to_string());
    }
    ids
}

fn local(versions: usize, runs: usize) {
    let dir = temp_dir("setup-local");
    let backups = dir.0.join("backups");
    std::fs::create_dir_all(&backups).unwrap();
    let session = customer_key::open_session(SessionOptions {
        store: Some(dir.0.join("store")),
        user_principal_name: Some("admin@contoso.com".into()),
        ..Default::default()
    })
    .unwrap();
    let admin = Principal::user("admin@contoso.com");
    let made = Instant::now();
    let ids = fill(&session, &admin, versions, &backups);
    println!(
        "setup check, local: 2 vaults, {versions} key versions each, made and backed up in {:.1} s",
        made.elapsed().as_secs_f64()
    );
    let args = json!({"Workload": "Exchange", "AzureKeyIDs": ids, "DataLocation": "EUR", "BackupPath": backups});
    let mut times = Vec::with_capacity(runs);
    let mut summary = String::new();
    for _ in 0..runs {
        let start = Instant::now();
        let rows = call_as(&session, &admin, "Test-CustomerKeySetup", args.clone());
        times.push(start.elapsed());
        summary = rows.as_array().unwrap().last().unwrap()["Detail"]
            .as_str()
            .unwrap()
            .to_string();
    }
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "setup check, local: median {:.1} ms, slowest {:.1} ms over {runs} runs (goal under {} ms: {}); {summary}",
        median.as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
        GOAL.as_millis(),
        if median < GOAL { "met" } else { "NOT met" }
    );
}

/// The endpoint's audited calls since `from`, by operation.
fn served_calls(session: &Session, from: usize) -> Vec<(String, usize)> {
    let log = session.store().audit_log().unwrap();
    let mut counts: Vec<(String, usize)> = Vec::new();
    for (_, _, operation, _, _) in &log[from..] {
        match counts.iter_mut().find(|(op, _)| op == operation) {
            Some((_, n)) => *n += 1,
            None => counts.push((operation.clone(), 1)),
        }
    }
    counts
}

fn remote(versions: usize) {
    let dir = temp_dir("setup-remote");
    let backups = dir.0.join("backups");
    std::fs::create_dir_all(&backups).unwrap();
    let served = Arc::new(
        customer_key::open_session(SessionOptions {
            store: Some(dir.0.join("served")),
            user_principal_name: Some("admin@contoso.com".into()),
            ..Default::default()
        })
        .unwrap(),
    );
    let sp = call_as(
        &served,
        &Principal::user("admin@contoso.com"),
        "New-ServicePrincipal",
        json!({"DisplayName": "bench"}),
    );
    let app = sp["ApplicationId"].as_str().unwrap().to_string();
    // The automation owns the vaults, so that the endpoint's Graph answers it.
    let ids = fill(&served, &Principal::service(&app), versions, &backups);
    let server = Server::start(Arc::clone(&served), ServeOptions::default()).unwrap();
    let port = server.info().port;
    // Read once, by the remote session's client credentials, before anything else runs.
    std::env::set_var("AZURE_TENANT_ID", "customerkey");
    std::env::set_var("AZURE_CLIENT_ID", &app);
    std::env::set_var("AZURE_CLIENT_SECRET", sp["ClientSecret"].as_str().unwrap());
    std::env::set_var("AZURE_AUTHORITY_HOST", format!("https://localhost:{port}"));
    let admin = customer_key::open_session(SessionOptions {
        store: Some(dir.0.join("admin")),
        user_principal_name: Some("remote-admin@contoso.com".into()),
        environment: Some("AzureCloud".into()),
        vault_domain: Some(format!("localhost:{port}")),
        management_endpoint: Some(format!("localhost:{port}")),
        graph_endpoint: Some(format!("localhost:{port}")),
        subscription_id: Some(served.store().subscription_id().to_string()),
        ca_file: Some(PathBuf::from(&server.info().ca_file)),
        ..Default::default()
    })
    .unwrap();
    let ids: Vec<String> = ids
        .iter()
        .map(|id| id.replace(".vault.azure.net", &format!(".localhost:{port}")))
        .collect();
    let from = served.store().audit_log().unwrap().len();
    let start = Instant::now();
    let rows = customer_key::registry()
        .call(
            &admin,
            "Test-CustomerKeySetup",
            &json!({"Workload": "Exchange", "AzureKeyIDs": ids}),
        )
        .unwrap_or_else(|e| panic!("Test-CustomerKeySetup: {}", e.message));
    let took = start.elapsed();
    let calls = served_calls(&served, from);
    let shown: Vec<String> = calls.iter().map(|(op, n)| format!("{op} {n}")).collect();
    println!(
        "setup check, remote (customer-key serve): {:.0} ms; calls the endpoint answered: {} (Graph lookups and tokens are not audited there); {}",
        took.as_secs_f64() * 1e3,
        shown.join(", "),
        rows.as_array().unwrap().last().unwrap()["Detail"].as_str().unwrap()
    );
    for name in [
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_AUTHORITY_HOST",
    ] {
        std::env::remove_var(name);
    }
    drop(admin);
    server.shutdown();
}

fn main() {
    let versions = env_number("CK_BENCH_VERSIONS", 50);
    let runs = env_number("CK_BENCH_RUNS", 21).max(1);
    local(versions, runs);
    remote(versions.min(5));
}
