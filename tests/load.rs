//! Load: four processes of four threads each (one session per process, shared by its threads)
//! hammer one store for `CK_LOAD_SECONDS` (10 by default; the benchmark run sets 60) with a mix
//! of key reads, wraps, unwraps, rolls and workload calls (Exchange mailbox items, SharePoint
//! file writes and reads). No call may fail except with ResourceBusy, which the client
//! retries; afterwards the audit table holds exactly one Succeeded row per success each client
//! saw (the read and crypto rows are group-committed and flushed when a session closes), and
//! the objects written are all there. Prints p50/p99 latency per kind and the totals. The load
//! processes are `ck-test-child load` (tests/children).

mod common;
mod load_support;
use common::*;
use load_support::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn set_up(store: &Path) {
    let ck = Ck::at(store, ADMIN);
    let mut exo = Vec::new();
    let mut spo = Vec::new();
    for (vault, location) in [(VAULT, "westeurope"), (VAULT_B, "northeurope")] {
        ck.ok(
            "New-KeyVault",
            json!({"VaultName": vault, "Location": location, "EnablePurgeProtection": true}),
        );
        for (parameter, principal, permissions) in [
            ("UserPrincipalName", LOAD_USER, json!(["all"])),
            (
                "ServicePrincipalName",
                EXCHANGE,
                json!(["get", "wrapKey", "unwrapKey"]),
            ),
            (
                "ServicePrincipalName",
                SHAREPOINT,
                json!(["get", "wrapKey", "unwrapKey"]),
            ),
        ] {
            ck.ok(
                "Set-KeyVaultAccessPolicy",
                json!({"VaultName": vault, parameter: principal, "PermissionsToKeys": permissions}),
            );
        }
        let ops = json!(["wrapKey", "unwrapKey"]);
        exo.push(
            ck.ok(
                "Add-KeyVaultKey",
                json!({"VaultName": vault, "Name": "exo", "KeyOps": ops}),
            )["Id"]
                .clone(),
        );
        spo.push(
            ck.ok(
                "Add-KeyVaultKey",
                json!({"VaultName": vault, "Name": "spo", "KeyOps": ops}),
            )["Version"]
                .clone(),
        );
    }
    ck.ok("Add-KeyVaultKey", json!({"VaultName": VAULT, "Name": HOT}));
    ck.ok("Add-KeyVaultKey", json!({"VaultName": VAULT, "Name": ROLL}));
    ck.ok(
        "New-DataEncryptionPolicy",
        json!({"Name": "DEP-load", "AzureKeyIDs": exo}),
    );
    ck.ok(
        "Register-SPODataEncryptionPolicy",
        json!({"PrimaryKeyVaultName": VAULT, "PrimaryKeyName": "spo", "PrimaryKeyVersion": spo[0],
               "SecondaryKeyVaultName": VAULT_B, "SecondaryKeyName": "spo", "SecondaryKeyVersion": spo[1]}),
    );
    for i in 0..PROCESSES {
        let alias = mailbox(i);
        ck.ok(
            "New-Mailbox",
            json!({"Name": alias, "Alias": alias, "PrimarySmtpAddress": format!("{alias}@contoso.com"), "DataEncryptionPolicy": "DEP-load"}),
        );
        ck.ok("New-SPOSite", json!({"Url": site(i), "Title": alias}));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while ck.ok("Get-SPODataEncryptionPolicy", json!({}))["State"] != "Registered" {
        assert!(
            Instant::now() < deadline,
            "the SharePoint policy did not register"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    for i in 0..PROCESSES {
        ck.ok(
            "Add-SPOFile",
            json!({"Site": site(i), "Name": "hot.txt", "Value": "read me"}),
        );
    }
}

fn percentile(histogram: &BTreeMap<u64, u64>, p: f64) -> f64 {
    let total: u64 = histogram.values().sum();
    let rank = ((total as f64) * p).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (b, n) in histogram {
        seen += n;
        if seen >= rank {
            return bucket_micros(*b) / 1000.0;
        }
    }
    0.0
}

#[test]
fn four_processes_of_four_threads_lose_nothing_under_load() {
    let dir = TempDir::new("load");
    let store = dir.join("store");
    set_up(&store);
    let started = Instant::now();
    let children: Vec<_> = (0..PROCESSES)
        .map(|p| {
            Command::new(env!("CARGO_BIN_EXE_ck-test-child"))
                .arg("load")
                .arg(dir.path())
                .arg(p.to_string())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "a load process failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let elapsed = started.elapsed().as_secs_f64();

    let mut ok: BTreeMap<String, u64> = BTreeMap::new();
    let mut histograms: BTreeMap<String, BTreeMap<u64, u64>> = BTreeMap::new();
    let (mut busy, mut errors) = (0u64, Vec::new());
    for p in 0..PROCESSES {
        let text = std::fs::read_to_string(dir.join(&format!("results-{p}.json"))).unwrap();
        for thread in serde_json::from_str::<Value>(&text)
            .unwrap()
            .as_array()
            .unwrap()
        {
            busy += thread["busy"].as_u64().unwrap();
            errors.extend(
                thread["errors"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e.to_string()),
            );
            for (kind, r) in thread["kinds"].as_object().unwrap() {
                *ok.entry(kind.clone()).or_default() += r["ok"].as_u64().unwrap();
                let h = histograms.entry(kind.clone()).or_default();
                for (b, n) in r["histogram"].as_object().unwrap() {
                    *h.entry(b.parse().unwrap()).or_default() += n.as_u64().unwrap();
                }
            }
        }
    }
    let total: u64 = ok.values().sum();
    println!(
        "load: {PROCESSES} processes x {THREADS} threads, {:.1} s: {total} calls succeeded ({:.0}/s), {busy} ResourceBusy retried, {} errors",
        elapsed,
        total as f64 / elapsed,
        errors.len()
    );
    for (kind, h) in &histograms {
        println!(
            "  {kind:<13} {:>8} ok   p50 {:>8.2} ms   p99 {:>8.2} ms",
            ok[kind],
            percentile(h, 0.50),
            percentile(h, 0.99)
        );
    }
    for e in errors.iter().take(10) {
        println!("  error: {e}");
    }

    // What the clients saw succeed, against the audit table and the objects.
    let db = rusqlite::Connection::open(store.join("store.db")).unwrap();
    db.busy_timeout(Duration::from_secs(10)).unwrap();
    let rows = |operation: &str, result: &str| -> u64 {
        db.query_row(
            "SELECT COUNT(*) FROM audit WHERE principal = ?1 AND operation = ?2 AND result LIKE ?3",
            rusqlite::params![LOAD_USER, operation, result],
            |r| r.get::<_, i64>(0),
        )
        .unwrap() as u64
    };
    let count =
        |sql: &str| -> u64 { db.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap() as u64 };
    let seen = |kind: &str| ok.get(kind).copied().unwrap_or(0);
    let checks = [
        (
            "read audit rows",
            seen("read"),
            rows("Get-KeyVaultKey", "Succeeded"),
        ),
        (
            "wrap audit rows",
            seen("wrap"),
            rows("Invoke-KeyVaultKeyOperation", "Succeeded: Wrap %"),
        ),
        (
            "unwrap audit rows",
            seen("unwrap"),
            rows("Invoke-KeyVaultKeyOperation", "Succeeded: Unwrap %"),
        ),
        (
            "roll audit rows",
            seen("roll"),
            rows("Add-KeyVaultKey", "Succeeded%"),
        ),
        (
            "mailbox item audit rows",
            seen("mailbox-item"),
            rows("Add-MailboxItem", "Succeeded%"),
        ),
        (
            "SharePoint write audit rows",
            seen("spo-write"),
            rows("Add-SPOFile", "Succeeded%"),
        ),
        (
            "SharePoint read audit rows",
            seen("spo-read"),
            rows("Get-SPOFile", "Succeeded%"),
        ),
        (
            "versions of the rolled key",
            seen("roll") + 1,
            count("SELECT COUNT(*) FROM key_versions WHERE vault = 'load-a' AND name = 'roll'"),
        ),
    ];
    let mut mismatches = Vec::new();
    let compared = checks.len() + 1;
    for (what, clients, store_count) in checks {
        if clients != store_count {
            mismatches.push(format!(
                "{what}: clients saw {clients}, the store has {store_count}"
            ));
        }
    }
    drop(db);
    let ck = Ck::at(&store, ADMIN);
    let items: u64 = (0..PROCESSES)
        .map(|i| {
            ck.ok("Get-MailboxStatistics", json!({"Identity": mailbox(i)}))["ItemCount"]
                .as_u64()
                .unwrap()
        })
        .sum();
    if items != seen("mailbox-item") {
        mismatches.push(format!(
            "mailbox items: clients added {}, the mailboxes hold {items}",
            seen("mailbox-item")
        ));
    }
    println!(
        "load: {compared} audit and object counts compared, {} mismatches",
        mismatches.len()
    );
    for m in &mismatches {
        println!("  mismatch: {m}");
    }
    assert!(errors.is_empty(), "{} calls failed", errors.len());
    assert!(mismatches.is_empty(), "{mismatches:?}");
    for (kind, _) in KINDS {
        assert!(
            seen(kind) > 0,
            "no {kind} call succeeded: the mix did not run"
        );
    }
}
