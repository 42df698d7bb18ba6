//! kill -9 in the middle of a refresh over 5,000 mailboxes: a new session finishes the job,
//! every mailbox reports the new revision and reads, none is lost, none is moved twice (the
//! job's committed count is exactly the mailbox count). The killed process is
//! `ck-test-child exchange-refresh` (tests/children). The same for the multi-workload policy's
//! assignment, then its refresh, over 5,000 mailboxes without a mailbox policy and the tenant
//! data (`ck-test-child m365-assign` and `m365-refresh`).

use crate::common;

use crate::common::{Ck, ADMIN};
use crate::exchange_support::*;
use customer_key::{Session, SessionOptions};
use serde_json::json;
use std::time::{Duration, Instant};

const MAILBOXES: usize = 5000;

/// The child process, killed and reaped on every path out of the test.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn observer(dir: &common::TempDir) -> Session {
    // No job kinds: this session watches the job without working on it.
    Session::open(
        SessionOptions {
            store: Some(dir.join("store")),
            user_principal_name: Some(ADMIN.into()),
            time_shift_seconds: None,
            ..Default::default()
        },
        Vec::new(),
        customer_key::vault::open_azure,
    )
    .unwrap()
}

/// Runs `ck-test-child <role> <store>`, kills it (SIGKILL) once the apply job newer than
/// `after_job` has committed a batch, and returns that job as the kill left it.
fn kill_mid_job(
    watch: &Session,
    dir: &common::TempDir,
    role: &str,
    after_job: i64,
) -> customer_key::jobs::JobRecord {
    let mut child = Reaped(
        std::process::Command::new(env!("CARGO_BIN_EXE_ck-test-child"))
            .arg(role)
            .arg(dir.join("store"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let apply_jobs = || {
        customer_key::jobs::list(
            watch.store(),
            Some(customer_key::exchange::APPLY_POLICY_KIND),
            None,
        )
        .unwrap()
        .into_iter()
        .filter(|j| j.id > after_job)
        .collect::<Vec<_>>()
    };
    let started = Instant::now();
    let killed_at = loop {
        if let Some(job) = apply_jobs().last() {
            if job.done > 0 {
                child.0.kill().unwrap(); // SIGKILL
                child.0.wait().unwrap();
                break job.done;
            }
        }
        if started.elapsed() > Duration::from_secs(120) {
            panic!("the child never made progress");
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let job = apply_jobs().last().unwrap().clone();
    assert!(job.done >= killed_at);
    assert!(
        job.done < job.total,
        "the kill landed after the job finished ({} done); the test proves nothing",
        job.done
    );
    job
}

/// Waits until job `id` is Completed (a new session's runner resumes it).
fn completed(watch: &Session, id: i64) -> customer_key::jobs::JobRecord {
    wait_until(|| {
        let j = customer_key::jobs::get(watch.store(), id).unwrap().unwrap();
        (j.state == customer_key::jobs::JobState::Completed).then_some(j)
    })
}

#[test]
fn kill_9_mid_refresh_of_5000_mailboxes_then_a_new_session_finishes_it() {
    let t = tenant("exo-crash");
    let first = t.policy("DEP-C")["DataEncryptionPolicyID"]
        .as_str()
        .unwrap()
        .to_string();
    t.ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": VAULT_A, "Name": "exo-key", "KeyOps": ["wrapKey", "unwrapKey"]}),
    );
    let Tenant { dir, ck, .. } = t;
    drop(ck);
    {
        let bulk = observer(&dir);
        customer_key::exchange::bulk::create_mailboxes(&bulk, "crash", MAILBOXES, Some("DEP-C"))
            .unwrap();
    }

    let watch = observer(&dir);
    let job = kill_mid_job(&watch, &dir, "exchange-refresh", 0);
    assert_eq!(job.total, MAILBOXES as u64);
    let second = customer_key::registry()
        .call(
            &watch,
            "Get-DataEncryptionPolicy",
            &json!({"Identity": "DEP-C"}),
        )
        .unwrap()[0]["DataEncryptionPolicyID"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(second, first);

    // A new session resumes the job.
    let ck = Ck::at(&dir.join("store"), ADMIN);
    let finished = completed(&watch, job.id);
    assert_eq!(
        finished.done, MAILBOXES as u64,
        "each mailbox moved exactly once"
    );
    let usage = ck.ok(
        "Get-KeyVaultKeyUsage",
        json!({"VaultName": VAULT_A, "Name": "exo-key"}),
    );
    let needing: Vec<i64> = usage
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["MailboxesNeedingIt"].as_i64().unwrap())
        .collect();
    assert_eq!(needing, [0, MAILBOXES as i64], "{usage}");
    let all = ck.ok("Get-Mailbox", json!({}));
    assert_eq!(all.as_array().unwrap().len(), MAILBOXES);
    for i in 0..MAILBOXES {
        let alias = format!("crash{i}");
        let s = ck.ok("Get-MailboxStatistics", json!({"Identity": alias}));
        assert_eq!(s["DataEncryptionPolicyID"], second, "{alias}");
        assert_eq!(s["ItemCount"], 1);
        let items = ck.ok("Get-MailboxItem", json!({"Identity": alias}));
        assert_eq!(items[0]["Subject"], alias);
    }
}

const M365: &str = "c066d759-24ae-40e7-a56f-027002b5d3e4";

#[test]
fn kill_9_mid_multi_workload_assignment_and_refresh_then_new_sessions_finish_them() {
    let t = tenant("m365-crash");
    for vault in [VAULT_A, VAULT_B] {
        t.ck.ok(
            "Set-KeyVaultAccessPolicy",
            json!({"VaultName": vault, "ServicePrincipalName": M365, "PermissionsToKeys": ["get", "wrapKey", "unwrapKey"]}),
        );
    }
    let first = t.ck.ok(
        "New-M365DataAtRestEncryptionPolicy",
        json!({"Name": "M365-C", "AzureKeyIDs": [t.key_a, t.key_b]}),
    )["DataEncryptionPolicyID"]
        .as_str()
        .unwrap()
        .to_string();
    t.ck.ok(
        "Add-M365DataItem",
        json!({"Workload": "TeamsChat", "Subject": "chat", "Body": "before the crash"}),
    );
    let Tenant { dir, ck, .. } = t;
    drop(ck);
    {
        let bulk = observer(&dir);
        customer_key::exchange::bulk::create_mailboxes(&bulk, "crash", MAILBOXES, None).unwrap();
    }
    let watch = observer(&dir);
    let covered = MAILBOXES as u64 + 1;

    // The assignment, killed mid-way, finished by a new session.
    let job = kill_mid_job(&watch, &dir, "m365-assign", 0);
    assert_eq!(job.total, covered);
    {
        let _ck = Ck::at(&dir.join("store"), ADMIN);
        assert_eq!(
            completed(&watch, job.id).done,
            covered,
            "each item moved exactly once"
        );
    }
    let under = |ck: &Ck, revision: &str| {
        for i in (0..MAILBOXES).step_by(97) {
            let alias = format!("crash{i}");
            let s = ck.ok("Get-MailboxStatistics", json!({"Identity": alias}));
            assert_eq!(s["DataEncryptionPolicyID"], revision, "{alias}");
            assert_eq!(
                ck.ok("Get-MailboxItem", json!({"Identity": alias}))[0]["Subject"],
                alias
            );
        }
        let chat = ck.ok("Get-M365DataItem", json!({}));
        assert_eq!(chat[0]["Body"], "before the crash");
        assert_eq!(chat[0]["DataEncryptionPolicyID"], revision);
        let a = ck.ok("Get-M365DataAtRestEncryptionPolicyAssignment", json!({}));
        assert_eq!(a["State"], "Assigned", "{a}");
        assert_eq!(a["ItemsDone"], covered);
    };
    under(&Ck::at(&dir.join("store"), ADMIN), &first);

    // A roll and -Refresh, killed mid-way, finished by a new session.
    {
        let ck = Ck::at(&dir.join("store"), ADMIN);
        ck.ok(
            "Add-KeyVaultKey",
            json!({"VaultName": VAULT_A, "Name": "exo-key", "KeyOps": ["wrapKey", "unwrapKey"]}),
        );
    }
    let refresh = kill_mid_job(&watch, &dir, "m365-refresh", job.id);
    assert_eq!(refresh.total, covered);
    let ck = Ck::at(&dir.join("store"), ADMIN);
    assert_eq!(
        completed(&watch, refresh.id).done,
        covered,
        "each item moved exactly once"
    );
    let second = ck.ok(
        "Get-M365DataAtRestEncryptionPolicy",
        json!({"Identity": "M365-C"}),
    )[0]["DataEncryptionPolicyID"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(second, first);
    under(&ck, &second);
}
