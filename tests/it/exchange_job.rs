//! The apply job's batches, driven by hand on a session that runs no job: a batch computed
//! before an item arrived is refused at commit (never leaving the item under a replaced key),
//! and a batch applied twice moves nothing the second time.

use crate::common;

use crate::common::ADMIN;
use crate::exchange_support::*;
use customer_key::exchange::ApplyPolicyKind;
use customer_key::jobs::{self, JobContext, JobKind};
use customer_key::{Session, SessionOptions};
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
        customer_key::vault::open_azure,
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
    let ctx = JobContext::new(s.store_arc().clone(), s.clock().clone(), 0, None);

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

fn policy(session: &Session, name: &str) -> Value {
    call(
        session,
        "Get-DataEncryptionPolicy",
        json!({"Identity": name}),
    )[0]
    .clone()
}

fn rewrap(p: &Value) -> (String, i64, i64, i64, Value) {
    (
        p["RewrapState"].as_str().unwrap().to_string(),
        p["PercentComplete"].as_i64().unwrap(),
        p["MailboxesDone"].as_i64().unwrap(),
        p["MailboxesTotal"].as_i64().unwrap(),
        p["JobState"].clone(),
    )
}

/// What Set-CkDataEncryptionPolicy -Refresh -Wait polls: the policy says how far its mailboxes
/// are under the current revision (from the mailboxes themselves, batch by batch), and whether
/// the rewrap's job stopped, so that the wait ends either way.
#[test]
fn the_policy_shows_the_rewrap_after_a_refresh_until_every_mailbox_is_under_it() {
    let t = tenant("exo-job-rewrap-progress");
    t.policy("DEP");
    let empty = t.policy("EMPTY");
    // Every new field is there from the start: nothing to rewrap, no job.
    assert_eq!(rewrap(&empty), ("Done".into(), 100, 0, 0, Value::Null));
    assert_eq!(empty["LastError"], Value::Null);
    for alias in ["ada", "bob"] {
        t.mailbox(alias, Some("DEP"));
        t.add_item(alias, "Q3", "figures");
    }
    // A mail user holds no content key yet: not counted.
    t.ck.ok(
        "New-MailUser",
        json!({"Name": "Cy", "Alias": "cy", "PrimarySmtpAddress": "cy@contoso.com", "DataEncryptionPolicy": "DEP"}),
    );
    let first = t
        .ck
        .ok("Get-DataEncryptionPolicy", json!({"Identity": "DEP"}))[0]["DataEncryptionPolicyID"]
        .as_str()
        .unwrap()
        .to_string();
    t.wait_encrypted_under("ada", &first);
    t.wait_encrypted_under("bob", &first);
    let Tenant { dir, ck, .. } = t;
    drop(ck);
    let s = held(&dir);
    let ctx = JobContext::new(s.store_arc().clone(), s.clock().clone(), 0, None);
    assert_eq!(rewrap(&policy(&s, "DEP")).0, "Done");

    // The refresh returns at once: nothing moved yet, the job Queued.
    let refreshed = call(
        &s,
        "Set-DataEncryptionPolicy",
        json!({"Identity": "DEP", "Refresh": true}),
    );
    assert_eq!(
        rewrap(&refreshed),
        ("Rewrapping".into(), 0, 0, 2, json!("Queued"))
    );
    assert_eq!(refreshed["MailboxCount"], 3);
    // Polled by its Guid, as -Wait does; a revision id finds it too.
    let by_guid = call(
        &s,
        "Get-DataEncryptionPolicy",
        json!({"Identity": refreshed["Guid"]}),
    );
    assert_eq!(rewrap(&by_guid[0]), rewrap(&refreshed));
    let by_old_id = policy(&s, &first);
    assert_eq!(by_old_id["Name"], "DEP");

    // Once the job's batch is in, every mailbox is under the new revision.
    let job = jobs::list(
        s.store(),
        Some(customer_key::exchange::APPLY_POLICY_KIND),
        None,
    )
    .unwrap()
    .pop()
    .unwrap();
    assert_eq!(job.payload["Revision"], refreshed["DataEncryptionPolicyID"]);
    let batch = ApplyPolicyKind.next_batch(&ctx, &job).unwrap();
    jobs::with_transaction(s.store(), |tx| (batch.apply)(tx)).unwrap();
    let done = policy(&s, "DEP");
    assert_eq!(rewrap(&done).0, "Done");
    assert_eq!(
        (
            done["PercentComplete"].clone(),
            done["MailboxesDone"].clone()
        ),
        (json!(100), json!(2))
    );
    assert_eq!(done["LastError"], Value::Null);

    // A rewrap whose job was cancelled (or failed) is Stopped, with mailboxes left: -Wait ends.
    let again = call(
        &s,
        "Set-DataEncryptionPolicy",
        json!({"Identity": "DEP", "Refresh": true}),
    );
    let job = jobs::list(
        s.store(),
        Some(customer_key::exchange::APPLY_POLICY_KIND),
        None,
    )
    .unwrap()
    .pop()
    .unwrap();
    assert_eq!(job.payload["Revision"], again["DataEncryptionPolicyID"]);
    assert!(jobs::cancel(s.store(), job.id, 0).unwrap());
    assert_eq!(
        rewrap(&policy(&s, "DEP")),
        ("Stopped".into(), 0, 0, 2, json!("Cancelled"))
    );
    // A new refresh starts over, under its own job: the stopped one no longer counts.
    call(
        &s,
        "Set-DataEncryptionPolicy",
        json!({"Identity": "DEP", "Refresh": true}),
    );
    assert_eq!(
        rewrap(&policy(&s, "DEP")),
        ("Rewrapping".into(), 0, 0, 2, json!("Queued"))
    );
    // A refresh with no mailbox enqueues no job: the policy's old jobs are not its.
    call(
        &s,
        "Set-DataEncryptionPolicy",
        json!({"Identity": "EMPTY", "Refresh": true}),
    );
    assert_eq!(
        rewrap(&policy(&s, "EMPTY")),
        ("Done".into(), 100, 0, 0, Value::Null)
    );
}

/// The Exchange cmdlets' -Wait polls one object, named by a property of what the cmdlet returned:
/// the poll exists, only reads, takes those parameters, and needs no other.
#[test]
fn the_exchange_waits_poll_one_object_by_what_the_cmdlet_returned() {
    let registry = customer_key::registry();
    let described = registry.describe();
    let operations = described["Operations"].as_array().unwrap();
    let find = |name: &str| {
        operations
            .iter()
            .find(|o| o["Name"] == name)
            .unwrap_or_else(|| panic!("{name} is not in the registry"))
    };
    let expected = [
        (
            "Set-DataEncryptionPolicy",
            "Get-DataEncryptionPolicy",
            "Guid",
            "RewrapState",
        ),
        (
            "New-MoveRequest",
            "Get-MoveRequestStatistics",
            "ExchangeGuid",
            "Status",
        ),
    ];
    for (name, poll, property, state) in expected {
        let wait = &find(name)["PowerShell"]["Wait"];
        assert_eq!(wait["Poll"], poll, "{name}");
        assert_eq!(wait["StateProperty"], state, "{name}");
        assert_eq!(
            wait["PollParameters"],
            json!([{"Parameter": "Identity", "Property": property}]),
            "{name}"
        );
    }
    for op in operations {
        let wait = &op["PowerShell"]["Wait"];
        if wait.is_null() {
            continue;
        }
        let poll = find(wait["Poll"].as_str().unwrap());
        assert_eq!(
            poll["StateChanging"], false,
            "{}: the poll only reads",
            op["Name"]
        );
        let given: Vec<&str> = wait["PollParameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["Parameter"].as_str().unwrap())
            .collect();
        let parameters = poll["Parameters"].as_array().unwrap();
        for name in &given {
            assert!(
                parameters.iter().any(|p| p["Name"] == *name),
                "{}: the poll has no parameter {name}",
                op["Name"]
            );
        }
        for p in parameters.iter().filter(|p| p["Mandatory"] == true) {
            assert!(
                given.contains(&p["Name"].as_str().unwrap()),
                "{}: the poll needs {}",
                op["Name"],
                p["Name"]
            );
        }
    }
}
