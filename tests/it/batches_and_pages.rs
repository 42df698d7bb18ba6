//! ck_call's two forms for long work (src/operations/paging.rs): a listing read in pages, and a
//! batch of inputs in one call whose items are calls of their own (each validated, checked,
//! audited and answered alone, in order), refused whole where the operation does not take one.

use crate::common::{Ck, TempDir};
use serde_json::{json, Value};

const ADMIN: &str = "admin@contoso.com";

fn store_with_mailboxes(tag: &str, count: usize) -> (TempDir, Ck) {
    let dir = TempDir::new(tag);
    let ck = Ck::at(&dir.join("s"), ADMIN);
    for i in 0..count {
        let alias = format!("mbx{i}");
        ck.ok(
            "New-Mailbox",
            json!({"Name": alias, "Alias": alias, "PrimarySmtpAddress": format!("{alias}@contoso.com")}),
        );
    }
    (dir, ck)
}

fn names(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_listing_read_in_pages_gives_every_item_once_in_order() {
    let (_dir, ck) = store_with_mailboxes("pages", 5);
    let whole = names(&ck.ok("Get-Mailbox", json!({})));
    assert_eq!(whole.len(), 5);

    let mut paged = Vec::new();
    let mut after = Value::Null;
    let mut pages = 0;
    loop {
        let page = ck.ok("Get-Mailbox", json!({"$Page": {"Size": 2, "After": after}}));
        pages += 1;
        let items = names(&page["Items"]);
        assert!(items.len() <= 2, "a page of 2 held {}", items.len());
        paged.extend(items);
        after = page["NextPage"].clone();
        if after.is_null() {
            break;
        }
        assert!(after.is_string(), "NextPage is a token or null: {page}");
    }
    assert_eq!(pages, 3);
    assert_eq!(paged, whole);

    // A page exactly as large as the rest ends the listing: no empty page after it.
    let page = ck.ok("Get-Mailbox", json!({"$Page": {"Size": 5}}));
    assert_eq!(names(&page["Items"]), whole);
    assert!(page["NextPage"].is_null());
    // One mailbox by name is a page of one.
    let page = ck.ok(
        "Get-Mailbox",
        json!({"Identity": "mbx3", "$Page": {"Size": 2}}),
    );
    assert_eq!(names(&page["Items"]), ["mbx3"]);
    assert!(page["NextPage"].is_null());
}

#[test]
fn a_bad_page_request_names_what_is_wrong() {
    let (_dir, ck) = store_with_mailboxes("bad-pages", 1);
    for (request, target) in [
        (json!({"Size": 0}), "$Page.Size"),
        (json!({"Size": "ten"}), "$Page.Size"),
        (json!({"Size": 2, "After": "not-a-token"}), "$Page.After"),
        (json!({"Size": 2, "After": 4}), "$Page.After"),
        (json!({"Size": 2, "Next": "1"}), "$Page"),
    ] {
        let e = ck.err("Get-Mailbox", json!({ "$Page": request }));
        assert_eq!(e.code(), "BadParameter", "{request}: {e:?}");
        assert_eq!(e.error["target"], target, "{request}: {e:?}");
    }
    // An operation that does not page says so rather than ignore the request.
    let e = ck.err("Get-KeyVault", json!({"$Page": {"Size": 2}}));
    assert_eq!(e.error["target"], "$Page");
    assert!(
        e.message().contains("does not give its results in pages"),
        "{e:?}"
    );
}

#[test]
fn a_batch_answers_each_item_in_order_and_audits_each() {
    let (dir, ck) = store_with_mailboxes("batch", 3);
    let answers = ck.ok(
        "Get-MailboxStatistics",
        json!([
            {"Identity": "mbx0"},
            {"Identity": "nobody"},
            {"Identity": "mbx2"},
            {},
            {"Identity": "mbx1", "Colour": "red"},
            {"Identity": "mbx1"},
        ]),
    );
    let answers = answers.as_array().unwrap();
    assert_eq!(answers.len(), 6);
    assert_eq!(answers[0]["Status"], 0);
    assert_eq!(answers[0]["Result"]["DisplayName"], "mbx0");
    assert_ne!(answers[1]["Status"], 0);
    assert_eq!(answers[1]["Error"]["error"]["code"], "MailboxNotFound");
    assert_eq!(answers[2]["Result"]["DisplayName"], "mbx2");
    // A missing mandatory parameter and an unknown one fail that item only, naming it.
    assert_eq!(answers[3]["Error"]["error"]["code"], "BadParameter");
    assert_eq!(answers[3]["Error"]["error"]["target"], "Identity");
    assert_eq!(answers[4]["Error"]["error"]["target"], "Colour");
    assert_eq!(answers[5]["Result"]["DisplayName"], "mbx1");
    // The same answer as the one-call form gives.
    assert_eq!(
        answers[5]["Result"],
        ck.ok("Get-MailboxStatistics", json!({"Identity": "mbx1"}))
    );
    drop(ck);
    let db = rusqlite::Connection::open(dir.join("s").join("store.db")).unwrap();
    let rows: Vec<(String, String)> = db
        .prepare("SELECT target, result FROM audit WHERE operation = 'Get-MailboxStatistics' ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        rows.len(),
        7,
        "one row per item and one for the single call: {rows:?}"
    );
    assert_eq!(rows[0], ("mbx0".to_string(), "Succeeded".to_string()));
    assert!(rows[1].1.starts_with("Failed: MailboxNotFound"), "{rows:?}");
}

#[test]
fn a_batch_is_refused_whole_where_the_operation_takes_none() {
    let (_dir, ck) = store_with_mailboxes("batch-refused", 1);
    // A change never comes in a batch: each needs its own ShouldProcess.
    let e = ck.err(
        "New-Mailbox",
        json!([{"Name": "a", "Alias": "a", "PrimarySmtpAddress": "a@contoso.com"}]),
    );
    assert_eq!(e.code(), "BadParameter");
    assert_eq!(e.error["target"], "arguments_json");
    assert_eq!(ck.ok("Get-Mailbox", json!({})).as_array().unwrap().len(), 1);
    // Too many items: nothing runs.
    let many: Vec<Value> = (0..10_001).map(|_| json!({"Identity": "mbx0"})).collect();
    let e = ck.err("Get-MailboxStatistics", Value::Array(many));
    assert_eq!(e.error["target"], "arguments_json");
    assert!(e.message().contains("at most 10000"), "{e:?}");
    // An empty batch is an empty answer.
    assert_eq!(ck.ok("Get-MailboxStatistics", json!([])), json!([]));
}

#[test]
fn ck_describe_marks_the_operations_that_batch_or_page() {
    let registry = customer_key::registry().describe();
    let flag = |name: &str, field: &str| {
        registry["Operations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|op| op["Name"] == name)
            .map(|op| op[field].clone())
            .unwrap()
    };
    assert_eq!(flag("Get-MailboxStatistics", "Batch"), true);
    assert_eq!(flag("Get-Mailbox", "Pages"), true);
    assert_eq!(flag("Get-Mailbox", "Batch"), false);
    assert_eq!(flag("New-Mailbox", "Batch"), false);
}
