//! SharePoint key rolls at scale: register the customer keys over N sites, then roll the
//! primary key, timing each from the operation's call until Get-SPODataEncryptionPolicy shows
//! State Registered, and printing sites/s and the process's peak RSS (VmHWM) after each.
//!
//! Sites are created in bulk through the Rust API (`sharepoint::sites::new_sites`, 10,000 per
//! transaction); registration and the roll run the operations and the job kind the cmdlets
//! use, on the session's job runner. Runs at 10,000 sites, then at `CK_BENCH_SCALE` sites
//! when that is larger (the long run: `CK_BENCH_SCALE=100000 cargo bench --bench sharepoint`).
//! Peak RSS is the process's high-water mark, so a flat figure from the 10,000-site run to the
//! larger one shows memory does not grow with the count. This is a benchmark, not a test:
//! nothing asserts on speed.

use customer_key::operations::Context;
use customer_key::sharepoint::sites::{new_sites, NewSite};
use customer_key::{Session, SessionOptions};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const SHAREPOINT: &str = "00000003-0000-0ff1-ce00-000000000000";
const CHUNK: usize = 10_000;

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

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn wait_registered(session: &Session) -> Duration {
    let started = Instant::now();
    loop {
        let p = call(session, "Get-SPODataEncryptionPolicy", json!({}));
        if p["State"] == "Registered" {
            return started.elapsed();
        }
        assert!(p["LastError"].is_null(), "the job failed: {p}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn run(sites: usize) {
    let mut bytes = [0u8; 8];
    aws_lc_rs::rand::fill(&mut bytes).unwrap();
    let tag: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let dir = TempDir(std::env::temp_dir().join(format!("ck-bench-spo-{tag}")));
    let session = customer_key::open_session(SessionOptions {
        store: Some(dir.0.join("store")),
        user_principal_name: Some("admin@contoso.com".into()),
        time_shift_seconds: None,
        ..Default::default()
    })
    .expect("store opens");
    let mut versions = Vec::new();
    for (vault, location) in [
        ("bench-spo-a", "westeurope"),
        ("bench-spo-b", "northeurope"),
    ] {
        call(
            &session,
            "New-KeyVault",
            json!({"VaultName": vault, "Location": location}),
        );
        let key = call(
            &session,
            "Add-KeyVaultKey",
            json!({"VaultName": vault, "Name": "spo-key", "KeyOps": ["wrapKey", "unwrapKey"]}),
        );
        versions.push(key["Version"].as_str().unwrap().to_string());
        call(
            &session,
            "Set-KeyVaultAccessPolicy",
            json!({"VaultName": vault, "ServicePrincipalName": SHAREPOINT, "PermissionsToKeys": ["get", "wrapKey", "unwrapKey"]}),
        );
    }

    let started = Instant::now();
    let ctx = Context::new(session.store_arc(), session.principal(), 0, "New-SPOSite");
    for start in (0..sites).step_by(CHUNK) {
        let chunk: Vec<NewSite> = (start..(start + CHUNK).min(sites))
            .map(|i| NewSite {
                url: format!("https://contoso.sharepoint.com/sites/s{i:06}"),
                title: format!("Site {i}"),
                owner: None,
            })
            .collect();
        new_sites(&ctx, &chunk).expect("sites are created");
    }
    let created = started.elapsed();
    println!(
        "{sites:>7} sites  create (bulk API)  {:>7.2} s  {:>9.0} sites/s  peak RSS {:>6.1} MiB",
        created.as_secs_f64(),
        sites as f64 / created.as_secs_f64(),
        peak_rss_mib()
    );

    let started = Instant::now();
    call(
        &session,
        "Register-SPODataEncryptionPolicy",
        json!({
            "PrimaryKeyVaultName": "bench-spo-a", "PrimaryKeyName": "spo-key", "PrimaryKeyVersion": versions[0],
            "SecondaryKeyVaultName": "bench-spo-b", "SecondaryKeyName": "spo-key", "SecondaryKeyVersion": versions[1],
        }),
    );
    wait_registered(&session);
    let registered = started.elapsed();
    println!(
        "{sites:>7} sites  register           {:>7.2} s  {:>9.0} sites/s  peak RSS {:>6.1} MiB",
        registered.as_secs_f64(),
        sites as f64 / registered.as_secs_f64(),
        peak_rss_mib()
    );

    let new_version = call(
        &session,
        "Add-KeyVaultKey",
        json!({"VaultName": "bench-spo-a", "Name": "spo-key", "KeyOps": ["wrapKey", "unwrapKey"]}),
    )["Version"]
        .as_str()
        .unwrap()
        .to_string();
    let started = Instant::now();
    call(
        &session,
        "Update-SPODataEncryptionPolicy",
        json!({"KeyType": "Primary", "KeyVaultName": "bench-spo-a", "KeyName": "spo-key", "KeyVersion": new_version}),
    );
    wait_registered(&session);
    let rolled = started.elapsed();
    println!(
        "{sites:>7} sites  roll primary       {:>7.2} s  {:>9.0} sites/s  peak RSS {:>6.1} MiB",
        rolled.as_secs_f64(),
        sites as f64 / rolled.as_secs_f64(),
        peak_rss_mib()
    );
}

fn main() {
    let scale: usize = std::env::var("CK_BENCH_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    println!(
        "SharePoint key hierarchy: register, then roll the primary key (2 cores, release build)"
    );
    run(10_000.min(scale));
    if scale > 10_000 {
        run(scale);
    }
}
