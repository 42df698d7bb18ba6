//! The parent's side: after each kill, the store is reopened and checked against the journal.
//!
//! - Whole: every acknowledged call is there (its key version wraps and unwraps, its mailbox,
//!   site or key is found, its mailbox item, SharePoint file and protected item read back as
//!   written), and a call in flight at the kill is there whole or not at all.
//! - Audit and objects agree: for every state-changing operation, the workload principal's
//!   Succeeded audit rows number at least the acknowledged calls and at most those plus the
//!   calls in flight (a row without an intent, or an acknowledged call without its row, is a
//!   violation); and the rolled key's versions, the workload's mailboxes and its sites number
//!   exactly their creating operations' Succeeded rows (an object without its row or a row
//!   without its object is half-applied).
//! - Structure: SQLite's integrity and foreign-key checks pass, no key lacks versions.
//! - Background jobs (DEP refreshes, SharePoint rolls) the child left resume in the new session
//!   and complete; none fails; the SharePoint policy returns to Registered; exactly one AIP key
//!   is Active.

use crate::common::{b64, take_json, CallError, Ck, TempDir, ADMIN};
use crate::shared::{Setup, CRASH_USER, CYCLE_STEPS};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

#[derive(Default)]
pub struct Tally {
    pub kills: u64,
    pub in_flight: u64,
    pub acknowledged: u64,
    pub checks: u64,
    pub violations: Vec<String>,
    /// Per operation: calls acknowledged, and calls in flight at a kill.
    pub acked_by_op: BTreeMap<String, u64>,
    pub in_flight_by_op: BTreeMap<String, u64>,
    /// Every acknowledged item, file and protected item, for the final sweep.
    readable: Vec<Value>,
    failed_jobs: BTreeSet<String>,
    /// What the previous trial left: the SharePoint policy's primary key version and the
    /// Active AIP key (a trial that acknowledges no change must leave these or its in-flight
    /// change).
    spo_primary: Option<Value>,
    aip_active: Option<Value>,
    /// Operations whose audit rows already disagreed (the counts are cumulative: reported once).
    audit_disagreed: BTreeSet<String>,
}

/// One journaled call: its intent and, if it came back before the kill, its outcome.
struct Call {
    intent: Value,
    outcome: Option<Value>,
}

impl Call {
    fn kind(&self) -> &str {
        self.intent["kind"].as_str().unwrap_or("")
    }
    fn ok(&self) -> Option<&Value> {
        self.outcome
            .as_ref()
            .filter(|o| o["phase"] == "ok")
            .map(|o| &o["result"])
    }
    fn in_flight(&self) -> bool {
        self.outcome.is_none()
    }
}

/// Reads a journal. A last line cut by the kill is an intent never acted on (the call starts
/// only once its intent is on disk), so it is dropped.
fn read_journal(path: &Path) -> Vec<Call> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut calls: Vec<Call> = Vec::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if v["phase"] == "intent" {
            calls.push(Call {
                intent: v,
                outcome: None,
            });
        } else if let Some(c) = calls.last_mut() {
            assert_eq!(c.intent["seq"], v["seq"], "outcomes follow their intents");
            c.outcome = Some(v);
        }
    }
    calls
}

fn db(store: &Path) -> rusqlite::Connection {
    let db = rusqlite::Connection::open(store.join("store.db")).unwrap();
    db.busy_timeout(Duration::from_secs(10)).unwrap();
    db
}

/// Waits until no job is Queued or Running and the SharePoint policy is Registered, with `ck`
/// (a session, so a job runner) open. Returns the failed jobs, or why it gave up.
pub fn wait_for_jobs(store: &Path, ck: &Ck, limit: Duration) -> Result<Vec<String>, String> {
    let _runner = ck;
    let deadline = Instant::now() + limit;
    let db = db(store);
    loop {
        let (open, spo_state): (i64, String) = db
            .query_row(
                "SELECT (SELECT COUNT(*) FROM jobs WHERE state IN ('Queued', 'Running')),
                        COALESCE((SELECT state FROM spo_policy), 'Registered')",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        if open == 0 && spo_state == "Registered" {
            let mut stmt = db
                .prepare(
                    "SELECT id, kind, COALESCE(last_error, '') FROM jobs WHERE state = 'Failed'",
                )
                .unwrap();
            let failed = stmt
                .query_map([], |r| {
                    Ok(format!(
                        "job {} ({}) failed: {}",
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?
                    ))
                })
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            return Ok(failed);
        }
        if Instant::now() > deadline {
            return Err(format!(
                "background work did not finish within {limit:?}: {open} jobs open, SharePoint policy {spo_state}"
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Operations the registry marks state-changing: their audit row is written in their own
/// transaction, so it is there exactly when the change is.
fn state_changing_operations() -> BTreeSet<String> {
    let mut out = std::ptr::null_mut();
    // SAFETY: `out` is a local pointer that ck_describe writes and take_json releases.
    assert_eq!(unsafe { customer_key::ffi::ck_describe(&mut out) }, 0);
    // SAFETY: written by ck_describe just above, released once here.
    let described = unsafe { take_json(out) };
    described["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["StateChanging"] == true)
        .map(|o| o["Name"].as_str().unwrap().to_string())
        .collect()
}

fn count(db: &rusqlite::Connection, sql: &str, params: &[&dyn rusqlite::ToSql]) -> i64 {
    db.query_row(sql, params, |r| r.get(0)).unwrap()
}

fn structure(store: &Path, tally: &mut Tally) {
    let db = db(store);
    let integrity: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    let foreign: i64 = count(&db, "SELECT COUNT(*) FROM pragma_foreign_key_check", &[]);
    let versionless = count(
        &db,
        "SELECT COUNT(*) FROM keys k WHERE NOT EXISTS
            (SELECT 1 FROM key_versions v WHERE v.vault = k.vault AND v.name = k.name)",
        &[],
    );
    tally.checks += 3;
    if integrity != "ok" {
        tally
            .violations
            .push(format!("integrity_check: {integrity}"));
    }
    if foreign != 0 {
        tally
            .violations
            .push(format!("{foreign} rows break a foreign key"));
    }
    if versionless != 0 {
        tally
            .violations
            .push(format!("{versionless} keys without a version"));
    }
}

/// The audit table against the journals, and the objects against the audit table.
fn audit_agreement(store: &Path, tally: &mut Tally) {
    let s = Setup::default();
    let db = db(store);
    for op in state_changing_operations() {
        let rows = count(
            &db,
            "SELECT COUNT(*) FROM audit WHERE principal = ?1 AND operation = ?2 AND (result = 'Succeeded' OR result LIKE 'Succeeded:%')",
            &[&CRASH_USER, &op],
        ) as u64;
        let acked = tally.acked_by_op.get(&op).copied().unwrap_or(0);
        let in_flight = tally.in_flight_by_op.get(&op).copied().unwrap_or(0);
        tally.checks += 1;
        if (rows < acked || rows > acked + in_flight) && tally.audit_disagreed.insert(op.clone()) {
            tally.violations.push(format!(
                "{op}: {rows} Succeeded audit rows for {acked} acknowledged calls and {in_flight} in flight"
            ));
        }
    }
    let target = format!("{}/{}", s.vault_a, s.roll_key);
    let agree = [
        (
            "versions of the rolled key",
            count(&db, "SELECT COUNT(*) FROM key_versions WHERE vault = ?1 AND name = ?2", &[&s.vault_a, &s.roll_key]),
            count(&db, "SELECT COUNT(*) FROM audit WHERE operation = 'Add-KeyVaultKey' AND target = ?1 AND (result = 'Succeeded' OR result LIKE 'Succeeded:%')", &[&target]),
        ),
        (
            "the workload's mailboxes",
            count(&db, "SELECT COUNT(*) FROM exo_mailboxes WHERE alias LIKE 'mt%'", &[]),
            count(&db, "SELECT COUNT(*) FROM audit WHERE operation = 'New-Mailbox' AND principal = ?1 AND (result = 'Succeeded' OR result LIKE 'Succeeded:%')", &[&CRASH_USER]),
        ),
        (
            "the workload's sites",
            count(&db, "SELECT COUNT(*) FROM spo_sites WHERE url LIKE '%/sites/ct%'", &[]),
            count(&db, "SELECT COUNT(*) FROM audit WHERE operation = 'New-SPOSite' AND principal = ?1 AND (result = 'Succeeded' OR result LIKE 'Succeeded:%')", &[&CRASH_USER]),
        ),
    ];
    for (what, objects, rows) in agree {
        tally.checks += 1;
        if objects != rows {
            tally.violations.push(format!(
                "{what}: {objects} objects but {rows} Succeeded audit rows"
            ));
        }
    }
}

fn round_trip(ck: &Ck, vault: &str, name: &str, version: &str) -> Result<(), String> {
    let args = |op: &str, value: &str| json!({"VaultName": vault, "Name": name, "Version": version, "Operation": op, "Algorithm": "RSA-OAEP-256", "ByteArrayValue": value});
    let wrapped = ck
        .call(
            "Invoke-KeyVaultKeyOperation",
            args("Wrap", &b64(b"crash check")),
        )
        .map_err(|e| e.message().to_string())?;
    let opened = ck
        .call(
            "Invoke-KeyVaultKeyOperation",
            args("Unwrap", wrapped["RawResult"].as_str().unwrap_or("")),
        )
        .map_err(|e| e.message().to_string())?;
    (opened["RawResult"] == b64(b"crash check"))
        .then_some(())
        .ok_or_else(|| "unwrapped to something else".into())
}

/// Whether an item, file or protected item reads back as written: Ok(true) as written,
/// Ok(false) absent, Err when present but different (half-written) or unreadable.
fn reads_back(ck: &Ck, intent: &Value) -> Result<bool, String> {
    let note = &intent["note"];
    let absent = |e: &CallError| e.category() == "ObjectNotFound";
    match intent["kind"].as_str().unwrap_or("") {
        // A mailbox's item, or an item of tenant data: once, with its body, or not at all.
        "item" | "m365-item" => {
            let items = if intent["kind"] == "item" {
                ck.call("Get-MailboxItem", json!({"Identity": note["mailbox"]}))
            } else {
                ck.call("Get-M365DataItem", json!({"Workload": note["workload"]}))
            }
            .map_err(|e| e.message().to_string())?;
            let found: Vec<&Value> = items
                .as_array()
                .unwrap()
                .iter()
                .filter(|i| i["Subject"] == note["subject"])
                .collect();
            match found.as_slice() {
                [] => Ok(false),
                [one] if one["Body"] == note["body"] => Ok(true),
                _ => Err(format!("{} copies, or a different body", found.len())),
            }
        }
        "file" => match ck.call(
            "Get-SPOFile",
            json!({"Site": note["site"], "Name": note["name"]}),
        ) {
            Ok(files) if files[0]["Value"] == note["value"] => Ok(true),
            Ok(files) => Err(format!("reads {}", files[0]["Value"])),
            Err(e) if absent(&e) => Ok(false),
            Err(e) => Err(e.message().to_string()),
        },
        "protect" => {
            if !Path::new(note["file"].as_str().unwrap()).exists() {
                return Ok(false);
            }
            let opened = ck
                .call("Unprotect-AipContent", json!({"InputFile": note["file"]}))
                .map_err(|e| format!("{} {}", e.category(), e.message()))?;
            (opened["Value"] == note["text"])
                .then_some(true)
                .ok_or_else(|| format!("opens to {}", opened["Value"]))
        }
        other => panic!("no read-back check for {other}"),
    }
}

/// Where a backup/restore cycle's key should be after `steps` steps: Active, Deleted, Absent.
fn cycle_state(steps: usize) -> &'static str {
    match steps {
        0 => "Absent",
        n => match CYCLE_STEPS[n - 1] {
            "remove" => "Deleted",
            "purge" => "Absent",
            _ => "Active",
        },
    }
}

fn cycle_actual(ck: &Ck, vault: &str, name: &str) -> &'static str {
    if ck
        .call("Get-KeyVaultKey", json!({"VaultName": vault, "Name": name}))
        .is_ok()
    {
        "Active"
    } else if ck
        .call(
            "Get-KeyVaultKey",
            json!({"VaultName": vault, "Name": name, "InRemovedState": true}),
        )
        .is_ok()
    {
        "Deleted"
    } else {
        "Absent"
    }
}

pub fn check_trial(dir: &TempDir, trial: u64, tally: &mut Tally) {
    let s = Setup::default();
    let store = dir.join("store");
    let calls = read_journal(&dir.join(&format!("journal-{trial}.jsonl")));
    let violation =
        |tally: &mut Tally, what: String| tally.violations.push(format!("trial {trial}: {what}"));
    for c in &calls {
        let op = c.intent["op"].as_str().unwrap().to_string();
        if c.ok().is_some() {
            tally.acknowledged += 1;
            *tally.acked_by_op.entry(op).or_default() += 1;
        } else if c.in_flight() {
            tally.in_flight += 1;
            *tally.in_flight_by_op.entry(op).or_default() += 1;
        }
    }
    structure(&store, tally);
    audit_agreement(&store, tally);

    let ck = Ck::at(&store, ADMIN);
    match wait_for_jobs(&store, &ck, Duration::from_secs(60)) {
        Ok(failed) => {
            for f in failed {
                if tally.failed_jobs.insert(f.clone()) {
                    violation(tally, f);
                }
            }
        }
        Err(why) => violation(tally, why),
    }
    tally.checks += 1;

    let mut cycle_steps: BTreeMap<String, (usize, bool)> = BTreeMap::new();
    let mut spo_expected: Vec<Value> = tally.spo_primary.iter().cloned().collect();
    let mut aip_expected: Vec<Value> = tally.aip_active.iter().cloned().collect();
    for c in &calls {
        let note = &c.intent["note"];
        match c.kind() {
            "roll" => {
                if let Some(key) = c.ok() {
                    tally.checks += 1;
                    if let Err(e) =
                        round_trip(&ck, s.vault_a, s.roll_key, key["Version"].as_str().unwrap())
                    {
                        violation(tally, format!("acknowledged roll {}: {e}", key["Version"]));
                    }
                }
            }
            "cycle" => {
                let entry = cycle_steps
                    .entry(note["key"].as_str().unwrap().into())
                    .or_default();
                if c.ok().is_some() {
                    entry.0 += 1;
                } else if c.in_flight() {
                    entry.1 = true;
                }
            }
            "mailbox" | "assign" if c.ok().is_some() => {
                // Created with its policy, or assigned it; a later assignment only adds one.
                tally.checks += 1;
                match ck.call("Get-Mailbox", json!({"Identity": note["alias"]})) {
                    Ok(m)
                        if note["policy"].is_null()
                            || m[0]["DataEncryptionPolicy"] == note["policy"] => {}
                    Ok(m) => violation(
                        tally,
                        format!(
                            "acknowledged {} {}: policy {}",
                            c.kind(),
                            note["alias"],
                            m[0]["DataEncryptionPolicy"]
                        ),
                    ),
                    Err(e) => violation(
                        tally,
                        format!(
                            "acknowledged {} {}: {}",
                            c.kind(),
                            note["alias"],
                            e.message()
                        ),
                    ),
                }
            }
            "item" | "m365-item" | "file" | "protect" => {
                let acked = c.ok().is_some();
                if !acked && !c.in_flight() {
                    continue;
                }
                tally.checks += 1;
                match reads_back(&ck, &c.intent) {
                    Ok(true) => {}
                    Ok(false) if !acked => {}
                    Ok(false) => violation(
                        tally,
                        format!("acknowledged {} is missing: {note}", c.kind()),
                    ),
                    Err(e) => violation(tally, format!("{} {note} half-applied: {e}", c.kind())),
                }
                if acked {
                    tally.readable.push(c.intent.clone());
                }
            }
            "site" if c.ok().is_some() => {
                tally.checks += 1;
                if let Err(e) = ck.call("Get-SPOSite", json!({"Identity": note["url"]})) {
                    violation(
                        tally,
                        format!("acknowledged site {}: {}", note["url"], e.message()),
                    );
                }
            }
            "spo-roll" => {
                if c.ok().is_some() {
                    spo_expected = vec![note["version"].clone()];
                } else if c.in_flight() {
                    spo_expected.push(note["version"].clone());
                }
            }
            "aip-activate" => {
                if c.ok().is_some() {
                    aip_expected = vec![note["key"].clone()];
                } else if c.in_flight() {
                    aip_expected.push(note["key"].clone());
                }
            }
            _ => {}
        }
    }
    for (name, (steps, in_flight)) in cycle_steps {
        let actual = cycle_actual(&ck, s.vault_c, &name);
        let mut allowed = vec![cycle_state(steps)];
        if in_flight {
            allowed.push(cycle_state(steps + 1));
        }
        tally.checks += 1;
        if !allowed.contains(&actual) {
            violation(
                tally,
                format!("key {name} after {steps} acknowledged steps is {actual}, not {allowed:?}"),
            );
        }
    }
    let policy = ck.ok("Get-SPODataEncryptionPolicy", json!({}));
    let uri = policy["PrimaryKeyVaultUri"]
        .as_str()
        .unwrap_or("")
        .to_string();
    tally.spo_primary = uri.rsplit('/').next().map(|v| json!(v));
    if !spo_expected.is_empty() {
        tally.checks += 1;
        if !spo_expected
            .iter()
            .any(|v| uri.ends_with(v.as_str().unwrap()))
        {
            violation(
                tally,
                format!("SharePoint primary key {uri} is none of the rolls {spo_expected:?}"),
            );
        }
    }
    tally.checks += 1;
    let keys = ck.ok("Get-AipServiceKeys", json!({}));
    let active: Vec<&Value> = keys
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["Status"] == "Active")
        .collect();
    tally.aip_active = active.first().map(|k| k["KeyIdentifier"].clone());
    match active.as_slice() {
        [one] if aip_expected.is_empty() || aip_expected.contains(&one["KeyIdentifier"]) => {}
        _ => violation(
            tally,
            format!(
                "Active AIP keys {:?}, expected one of {aip_expected:?}; the trial's AIP calls: {:?}",
                active.iter().map(|k| &k["KeyIdentifier"]).collect::<Vec<_>>(),
                calls
                    .iter()
                    .filter(|c| c.kind().starts_with("aip"))
                    .map(|c| format!("{} {} -> {}", c.intent["op"], c.intent["args"], c.outcome.as_ref().map_or("in flight".to_string(), |o| o.to_string())))
                    .collect::<Vec<_>>()
            ),
        ),
    }
}

/// After the last trial: everything acknowledged in any trial still reads back.
pub fn check_all(dir: &TempDir, tally: &mut Tally) {
    let ck = Ck::at(&dir.join("store"), ADMIN);
    let readable = std::mem::take(&mut tally.readable);
    for intent in &readable {
        tally.checks += 1;
        match reads_back(&ck, intent) {
            Ok(true) => {}
            Ok(false) => tally.violations.push(format!(
                "at the end, acknowledged {} is missing: {}",
                intent["kind"], intent["note"]
            )),
            Err(e) => tally.violations.push(format!(
                "at the end, {} {}: {e}",
                intent["kind"], intent["note"]
            )),
        }
    }
}
