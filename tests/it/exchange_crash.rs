//! kill -9 in the middle of a refresh over 5,000 mailboxes: a new session finishes the job,
//! every mailbox reports the new revision and reads, none is lost, none is moved twice (the
//! job's committed count is exactly the mailbox count). The killed process is
//! `ck-test-child exchange-refresh` (tests/children).

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
    let mut child = Reaped(
        std::process::Command::new(env!("CARGO_BIN_EXE_ck-test-child"))
            .arg("exchange-refresh")
            .arg(dir.join("store"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    let killed_at = loop {
        let jobs = customer_key::jobs::list(
            watch.store(),
            Some(customer_key::exchange::APPLY_POLICY_KIND),
            None,
        )
        .unwrap();
        if let Some(job) = jobs.last() {
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
    let after_kill = customer_key::jobs::list(
        watch.store(),
        Some(customer_key::exchange::APPLY_POLICY_KIND),
        None,
    )
    .unwrap();
    let job = after_kill.last().unwrap().clone();
    assert!(job.done >= killed_at);
    assert!(
        job.done < MAILBOXES as u64,
        "the kill landed after the job finished ({} done); the test proves nothing",
        job.done
    );
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
    let finished = wait_until(|| {
        let j = customer_key::jobs::get(watch.store(), job.id)
            .unwrap()
            .unwrap();
        (j.state == customer_key::jobs::JobState::Completed).then_some(j)
    });
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
