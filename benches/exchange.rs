//! Set-DataEncryptionPolicy -Refresh over many mailboxes, until every mailbox reports the new
//! DataEncryptionPolicyID.
//!
//! On a temporary store: two vaults and keys, a policy, `CK_BENCH_SCALE` mailboxes (default
//! 10,000, the CI-short run; 100,000 is the long run the figure is for; a
//! comma-separated list runs several scales in one process, e.g. `10000,100000`) created in
//! bulk through the Rust API, each with one item and already encrypted under the policy. Then
//! a key roll and the refresh through the operation registry (the cmdlet's code), and the
//! background job, timed until it is Completed and every mailbox reports the new revision.
//! Prints mailboxes/s and the process's peak RSS (VmHWM) after each scale; asserts nothing on
//! speed. Run: `cargo bench --bench exchange`.

use customer_key::{Session, SessionOptions};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const EXCHANGE: &str = "00000002-0000-0ff1-ce00-000000000000";

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
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn run(n: usize) {
    let mut bytes = [0u8; 8];
    aws_lc_rs::rand::fill(&mut bytes).unwrap();
    let tag: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let dir = TempDir(std::env::temp_dir().join(format!("ck-bench-exchange-{tag}")));
    let session = customer_key::open_session(SessionOptions {
        store: Some(dir.0.join("store")),
        user_principal_name: Some("admin@contoso.com".into()),
        time_shift_seconds: None,
        ..Default::default()
    })
    .unwrap();
    let mut ids = Vec::new();
    for (vault, location) in [
        ("bench-exo-a", "westeurope"),
        ("bench-exo-b", "northeurope"),
    ] {
        call(
            &session,
            "New-KeyVault",
            json!({"VaultName": vault, "Location": location, "EnablePurgeProtection": true}),
        );
        call(
            &session,
            "Add-KeyVaultKey",
            json!({"VaultName": vault, "Name": "exo-key", "KeyOps": ["wrapKey", "unwrapKey"]}),
        );
        call(
            &session,
            "Set-KeyVaultAccessPolicy",
            json!({"VaultName": vault, "ServicePrincipalName": EXCHANGE, "PermissionsToKeys": ["get", "wrapKey", "unwrapKey"]}),
        );
        ids.push(format!("https://{vault}.vault.azure.net/keys/exo-key"));
    }
    call(
        &session,
        "New-DataEncryptionPolicy",
        json!({"Name": "BENCH", "AzureKeyIDs": ids}),
    );
    let created = Instant::now();
    customer_key::exchange::bulk::create_mailboxes(&session, "bench", n, Some("BENCH")).unwrap();
    let create_s = created.elapsed().as_secs_f64();
    call(
        &session,
        "Add-KeyVaultKey",
        json!({"VaultName": "bench-exo-a", "Name": "exo-key", "KeyOps": ["wrapKey", "unwrapKey"]}),
    );

    let started = Instant::now();
    let new_id = call(
        &session,
        "Set-DataEncryptionPolicy",
        json!({"Identity": "BENCH", "Refresh": true}),
    )["DataEncryptionPolicyID"]
        .as_str()
        .unwrap()
        .to_string();
    loop {
        let jobs = customer_key::jobs::list(
            session.store(),
            Some(customer_key::exchange::APPLY_POLICY_KIND),
            None,
        )
        .unwrap();
        if jobs
            .last()
            .is_some_and(|j| j.state == customer_key::jobs::JobState::Completed)
        {
            break;
        }
        assert!(
            jobs.last()
                .is_none_or(|j| j.state != customer_key::jobs::JobState::Failed),
            "the refresh job failed: {:?}",
            jobs.last().and_then(|j| j.last_error.clone())
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let seconds = started.elapsed().as_secs_f64();
    // Every mailbox reports the new revision: its key references count them all.
    let usage = call(
        &session,
        "Get-KeyVaultKeyUsage",
        json!({"VaultName": "bench-exo-a", "Name": "exo-key"}),
    );
    let on_new: i64 = usage.as_array().unwrap().last().unwrap()["MailboxesNeedingIt"]
        .as_i64()
        .unwrap();
    assert_eq!(on_new, n as i64, "not every mailbox reports {new_id}");
    let sample = call(
        &session,
        "Get-MailboxStatistics",
        json!({"Identity": format!("bench{}", n / 2)}),
    );
    assert_eq!(sample["DataEncryptionPolicyID"], new_id);
    println!(
        "Refresh over {n:>7} mailboxes  {seconds:>7.2} s  {:>9.0} mailboxes/s  peak RSS {:>7.1} MiB  (bulk creation {create_s:.2} s)",
        n as f64 / seconds,
        peak_rss_mib()
    );
}

fn main() {
    let scales: Vec<usize> = std::env::var("CK_BENCH_SCALE")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| vec![10_000]);
    for n in scales {
        run(n);
    }
}
