//! The apply job's batches, driven by hand on a session that runs no job: a batch computed
//! before an item arrived is refused at commit (never leaving the item under a replaced key),
//! and a batch applied twice moves nothing the second time.

mod common;
mod exchange_support;

use common::ADMIN;
use customer_key::exchange::ApplyPolicyKind;
use customer_key::jobs::{self, JobContext, JobKind};
use customer_key::{Session, SessionOptions};
use exchange_support::*;
use serde_json::{json, Value};

fn held(dir: &common::TempDir) -> Session {
    Session::open(
        SessionOptions {
            store: Some(dir.join("store")),
            user_principal_name: Some(ADMIN.into()),
            time_shift_seconds: None,
            ..Default::default()
        },
        Vec::new(),
    )
    .unwrap()
}

fn call(session: &Session, op: &str, args: Value) -> Value {
    customer_key::registry()
        .call(session, op, &args)
        .unwrap_or_else(|e| panic!("{op}: {}", e.message))
}

#[test]
fn a_batch_computed_before_an_item_arrived_is_refused_and_a_repeated_batch_moves_nothing() {
    let t = tenant("exo-job-batches");
    t.policy("DEP");
    t.mailbox("ada", None);
    t.add_item("ada", "first", "1");
    let Tenant { dir, ck, .. } = t;
    drop(ck);
    let s = held(&dir);
    call(
        &s,
        "Set-Mailbox",
        json!({"Identity": "ada", "DataEncryptionPolicy": "DEP"}),
    );
    let job = jobs::list(
        s.store(),
        Some(customer_key::exchange::APPLY_POLICY_KIND),
        None,
    )
    .unwrap()
    .pop()
    .unwrap();
    let ctx = JobContext {
        store: s.store_arc().clone(),
        time_shift: 0,
        remote: None,
    };

    // The batch re-encrypts the mailbox under a new content key; an item arrives meanwhile.
    let batch = ApplyPolicyKind.next_batch(&ctx, &job).unwrap();
    assert_eq!(batch.done, 1);
    call(
        &s,
        "Add-MailboxItem",
        json!({"Identity": "ada", "Subject": "second", "Body": "2"}),
    );
    let e = jobs::with_transaction(s.store(), |tx| (batch.apply)(tx)).unwrap_err();
    assert_eq!(e.code, "MailboxChanged");
    let items = call(&s, "Get-MailboxItem", json!({"Identity": "ada"}));
    assert_eq!(subjects(&items), ["first", "second"]);
    assert_eq!(
        call(&s, "Get-MailboxStatistics", json!({"Identity": "ada"}))["EncryptionState"],
        "Pending"
    );

    // Computed afresh it applies; the same writes applied again change nothing.
    let batch = ApplyPolicyKind.next_batch(&ctx, &job).unwrap();
    let again = ApplyPolicyKind.next_batch(&ctx, &job).unwrap();
    jobs::with_transaction(s.store(), |tx| (batch.apply)(tx)).unwrap();
    jobs::with_transaction(s.store(), |tx| (again.apply)(tx)).unwrap();
    let stats = call(&s, "Get-MailboxStatistics", json!({"Identity": "ada"}));
    assert_eq!(stats["IsEncrypted"], true);
    assert_eq!(
        subjects(&call(&s, "Get-MailboxItem", json!({"Identity": "ada"}))),
        ["first", "second"]
    );
    // Nothing left for the job to do.
    let after = ApplyPolicyKind.next_batch(&ctx, &job).unwrap();
    assert_eq!(after.done, 0);
    assert!(after.finished);
    // The mailbox count was added once, not twice.
    let usage = call(&s, "Get-KeyVaultKeyUsage", json!({"VaultName": VAULT_A}));
    assert_eq!(usage[0]["MailboxesNeedingIt"], 1);
}
