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
//!
//! Then the multi-workload policy, on a store of its own: `CK_BENCH_SCALE` user mailboxes
//! without a mailbox policy (each with one item, under the Microsoft-managed key) and 1,000
//! Teams chat messages. Set-M365DataAtRestEncryptionPolicyAssignment is timed until its job is
//! Completed (each mailbox gets a new content key and its item is re-encrypted; the chat kind's
//! key is rewrapped), then a key roll and Set-M365DataAtRestEncryptionPolicy -Refresh (each
//! content key rewrapped). Prints items/s (mailboxes plus the chat kind) and peak RSS for each.

use customer_key::{Session, SessionOptions};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const EXCHANGE: &str = "00000002-0000-0ff1-ce00-000000000000";
const M365: &str = "c066d759-24ae-40e7-a56f-027002b5d3e4";
const CHAT_MESSAGES: usize = 1_000;

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

/// A session on a fresh store with two vaults, a key in each, and `service` granted get,
/// wrapKey and unwrapKey on both; returns the versionless key ids.
fn tenant(label: &str, service: &str) -> (TempDir, Session, Vec<String>) {
    let mut bytes = [0u8; 8];
    aws_lc_rs::rand::fill(&mut bytes).unwrap();
    let tag: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let dir = TempDir(std::env::temp_dir().join(format!("ck-bench-{label}-{tag}")));
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
            json!({"VaultName": vault, "ServicePrincipalName": service, "PermissionsToKeys": ["get", "wrapKey", "unwrapKey"]}),
        );
        ids.push(format!("https://{vault}.vault.azure.net/keys/exo-key"));
    }
    (dir, session, ids)
}

/// Waits until the newest apply job is Completed; panics if it failed.
fn wait_for_apply_job(session: &Session) -> customer_key::jobs::JobRecord {
    loop {
        let jobs = customer_key::jobs::list(
            session.store(),
            Some(customer_key::exchange::APPLY_POLICY_KIND),
            None,
        )
        .unwrap();
        if let Some(j) = jobs
            .last()
            .filter(|j| j.state == customer_key::jobs::JobState::Completed)
        {
            return j.clone();
        }
        assert!(
            jobs.last()
                .is_none_or(|j| j.state != customer_key::jobs::JobState::Failed),
            "the apply job failed: {:?}",
            jobs.last().and_then(|j| j.last_error.clone())
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Rolls the key in the first vault, then refreshes `policy` with `set_cmdlet` (through the
/// registry) and times it until the apply job is Completed: the new DataEncryptionPolicyID,
/// the job, and the seconds.
fn roll_and_refresh(
    session: &Session,
    set_cmdlet: &str,
    policy: &str,
) -> (String, customer_key::jobs::JobRecord, f64) {
    call(
        session,
        "Add-KeyVaultKey",
        json!({"VaultName": "bench-exo-a", "Name": "exo-key", "KeyOps": ["wrapKey", "unwrapKey"]}),
    );
    let started = Instant::now();
    let new_id = call(
        session,
        set_cmdlet,
        json!({"Identity": policy, "Refresh": true}),
    )["DataEncryptionPolicyID"]
        .as_str()
        .unwrap()
        .to_string();
    let job = wait_for_apply_job(session);
    (new_id, job, started.elapsed().as_secs_f64())
}

fn run(n: usize) {
    let (_dir, session, ids) = tenant("exchange", EXCHANGE);
    call(
        &session,
        "New-DataEncryptionPolicy",
        json!({"Name": "BENCH", "AzureKeyIDs": ids}),
    );
    let created = Instant::now();
    customer_key::exchange::bulk::create_mailboxes(&session, "bench", n, Some("BENCH")).unwrap();
    let create_s = created.elapsed().as_secs_f64();
    let (new_id, _, seconds) = roll_and_refresh(&session, "Set-DataEncryptionPolicy", "BENCH");
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

/// The multi-workload policy's assignment, then its refresh, over `n` mailboxes without a
/// mailbox policy and the chat messages.
fn run_multi_workload(n: usize) {
    let (_dir, session, ids) = tenant("m365", M365);
    call(
        &session,
        "New-M365DataAtRestEncryptionPolicy",
        json!({"Name": "BENCH-M365", "AzureKeyIDs": ids}),
    );
    customer_key::exchange::bulk::create_mailboxes(&session, "bench", n, None).unwrap();
    for i in 0..CHAT_MESSAGES {
        call(
            &session,
            "Add-M365DataItem",
            json!({"Workload": "TeamsChat", "Subject": format!("chat {i}"), "Body": "a message"}),
        );
    }
    let items = n + 1;
    let started = Instant::now();
    call(
        &session,
        "Set-M365DataAtRestEncryptionPolicyAssignment",
        json!({"DataEncryptionPolicy": "BENCH-M365"}),
    );
    let job = wait_for_apply_job(&session);
    let assign_s = started.elapsed().as_secs_f64();
    assert_eq!(
        job.done, items as u64,
        "the assignment moved {} of {items}",
        job.done
    );
    let assigned = call(
        &session,
        "Get-M365DataAtRestEncryptionPolicyAssignment",
        json!({}),
    );
    assert_eq!(assigned["State"], "Assigned", "{assigned}");
    println!(
        "Multi-workload assignment over {n:>7} mailboxes + {CHAT_MESSAGES} chat messages  {assign_s:>7.2} s  {:>9.0} items/s  peak RSS {:>7.1} MiB",
        items as f64 / assign_s,
        peak_rss_mib()
    );

    let (new_id, job, refresh_s) =
        roll_and_refresh(&session, "Set-M365DataAtRestEncryptionPolicy", "BENCH-M365");
    assert_eq!(
        job.done, items as u64,
        "the refresh moved {} of {items}",
        job.done
    );
    let sample = call(
        &session,
        "Get-MailboxStatistics",
        json!({"Identity": format!("bench{}", n / 2)}),
    );
    assert_eq!(sample["DataEncryptionPolicyID"], new_id);
    println!(
        "Multi-workload refresh    over {n:>7} mailboxes + {CHAT_MESSAGES} chat messages  {refresh_s:>7.2} s  {:>9.0} items/s  peak RSS {:>7.1} MiB",
        items as f64 / refresh_s,
        peak_rss_mib()
    );
}

fn main() {
    let scales: Vec<usize> = std::env::var("CK_BENCH_SCALE")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| vec![10_000]);
    for &n in &scales {
        run(n);
    }
    for &n in &scales {
        run_multi_workload(n);
    }
}
