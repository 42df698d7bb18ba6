//! EncryptionState while an assignment is worked on: Pending before the job picks the mailbox
//! up, Encrypting while the job runs (IsEncrypted false, the old DataEncryptionPolicyID), then
//! Encrypted with the policy's ID. The job kinds are wrapped so each batch waits first: the
//! running state lasts long enough to be seen without racing the job.

use crate::common::ADMIN;
use crate::exchange_support::*;
use customer_key::jobs::{Batch, JobContext, JobKind, JobRecord};
use customer_key::{Session, SessionOptions};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A job kind that waits before each batch of the kind it wraps.
struct Paced {
    inner: Arc<dyn JobKind>,
    pause: Duration,
}

impl JobKind for Paced {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn next_batch(&self, ctx: &JobContext, job: &JobRecord) -> customer_key::Result<Batch> {
        std::thread::sleep(self.pause);
        self.inner.next_batch(ctx, job)
    }
}

fn call(session: &Session, op: &str, args: Value) -> Value {
    customer_key::registry()
        .call(session, op, &args)
        .unwrap_or_else(|e| panic!("{op}: {}", e.message))
}

#[test]
fn an_assignment_is_pending_then_encrypting_then_encrypted() {
    let t = tenant("exo-states");
    let dep = t.policy("DEP-S");
    let id = dep["DataEncryptionPolicyID"].as_str().unwrap().to_string();
    let store = t.dir.join("store");
    drop(t.ck);

    let paced: Vec<Arc<dyn JobKind>> = customer_key::registry::job_kinds()
        .into_iter()
        .map(|inner| {
            Arc::new(Paced {
                inner,
                pause: Duration::from_millis(400),
            }) as Arc<dyn JobKind>
        })
        .collect();
    let session = Session::open(
        SessionOptions {
            store: Some(store),
            user_principal_name: Some(ADMIN.into()),
            time_shift_seconds: None,
            ..Default::default()
        },
        paced,
        customer_key::vault::open_azure,
    )
    .unwrap();
    call(
        &session,
        "New-Mailbox",
        json!({"Name": "Eve", "Alias": "eve", "PrimarySmtpAddress": "eve@contoso.com", "DataEncryptionPolicy": "DEP-S"}),
    );
    call(
        &session,
        "Add-MailboxItem",
        json!({"Identity": "eve", "Subject": "s", "Body": "b"}),
    );

    let mut states = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let last = loop {
        let s = call(
            &session,
            "Get-MailboxStatistics",
            json!({"Identity": "eve"}),
        );
        let state = s["EncryptionState"].as_str().unwrap().to_string();
        if state == "Encrypted" {
            break s;
        }
        assert!(
            state == "Pending" || state == "Encrypting",
            "unexpected state before the job finished: {s}"
        );
        assert_eq!(s["IsEncrypted"], false, "{s}");
        assert_ne!(s["DataEncryptionPolicyID"], json!(id), "{s}");
        states.insert(state);
        assert!(Instant::now() < deadline, "never Encrypted: {s}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        states.contains("Encrypting"),
        "the running job was never seen: {states:?}"
    );
    assert_eq!(last["IsEncrypted"], true);
    assert_eq!(last["DataEncryptionPolicyID"], json!(id));
    let items = call(&session, "Get-MailboxItem", json!({"Identity": "eve"}));
    assert_eq!(items[0]["Body"], "b");
}
