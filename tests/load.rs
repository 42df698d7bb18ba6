//! Load: four processes of four threads each (one session per process, shared by its threads)
//! hammer one store for `CK_LOAD_SECONDS` (10 by default; the benchmark run sets 60) with a mix
//! of key reads, wraps, unwraps, rolls and workload calls (Exchange mailbox items, SharePoint
//! file writes and reads). No call may fail except with ResourceBusy, which the client
//! retries; afterwards the audit table holds exactly one Succeeded row per success each client
//! saw (the read and crypto rows are group-committed and flushed when a session closes), and
//! the objects written are all there. Prints p50/p99 latency per kind and the totals.

mod common;
use common::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "CK_LOAD_CHILD_DIR";
const PROCESS_ENV: &str = "CK_LOAD_CHILD_PROCESS";
const PROCESSES: usize = 4;
const THREADS: usize = 4;
const LOAD_USER: &str = "load@contoso.com";
const VAULT: &str = "load-a";
const VAULT_B: &str = "load-b";
const HOT: &str = "hot";
const ROLL: &str = "roll";
const EXCHANGE: &str = "00000002-0000-0ff1-ce00-000000000000";
const SHAREPOINT: &str = "00000003-0000-0ff1-ce00-000000000000";

/// Each kind of call with its share of the mix (out of 100).
const KINDS: &[(&str, u64)] = &[
    ("read", 25),
    ("wrap", 20),
    ("unwrap", 20),
    ("roll", 3),
    ("mailbox-item", 12),
    ("spo-write", 10),
    ("spo-read", 10),
];

fn mailbox(i: usize) -> String {
    format!("load{i}")
}

fn site(i: usize) -> String {
    format!("https://contoso.sharepoint.com/sites/load{i}")
}

fn seconds() -> f64 {
    std::env::var("CK_LOAD_SECONDS")
        .map(|s| s.parse().expect("CK_LOAD_SECONDS is a number of seconds"))
        .unwrap_or(10.0)
}

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

/// Latencies in buckets 5% wide (bucket b holds 1.05^b microseconds): percentiles within 5%
/// without keeping every sample of a long run.
fn bucket(micros: u64) -> u64 {
    ((micros.max(1) as f64).ln() / 1.05f64.ln()) as u64
}

fn bucket_micros(b: u64) -> f64 {
    1.05f64.powi(b as i32 + 1)
}

/// One client thread: calls until the deadline, retrying ResourceBusy. Returns, per kind,
/// (successes, latency histogram), and the busy retries and errors.
fn client(ck: &Ck, process: usize, thread: usize, deadline: Instant) -> Value {
    let mut rng = [0u8; 8];
    aws_lc_rs::rand::fill(&mut rng).unwrap();
    let mut state = u64::from_le_bytes(rng) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let wrapped = wrap(ck, VAULT, HOT, None, b"load value");
    let version = wrapped["KeyId"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let sealed = wrapped["RawResult"].as_str().unwrap().to_string();
    let mut kinds: BTreeMap<&str, (u64, BTreeMap<u64, u64>)> = BTreeMap::new();
    kinds.entry("wrap").or_default().0 += 1; // the one just made
    let (mut busy, mut errors, mut n) = (0u64, Vec::<String>::new(), 0u64);
    while Instant::now() < deadline {
        n += 1;
        let mut pick = next() % 100;
        let kind = KINDS
            .iter()
            .find(|(_, share)| {
                pick < *share || {
                    pick -= share;
                    false
                }
            })
            .map_or("read", |k| k.0);
        let (operation, args) = match kind {
            "read" => ("Get-KeyVaultKey", json!({"VaultName": VAULT, "Name": HOT})),
            "wrap" => (
                "Invoke-KeyVaultKeyOperation",
                json!({"VaultName": VAULT, "Name": HOT, "Operation": "Wrap", "Algorithm": "RSA-OAEP-256", "ByteArrayValue": b64(b"load value")}),
            ),
            "unwrap" => (
                "Invoke-KeyVaultKeyOperation",
                json!({"VaultName": VAULT, "Name": HOT, "Version": version, "Operation": "Unwrap", "Algorithm": "RSA-OAEP-256", "ByteArrayValue": sealed}),
            ),
            "roll" => ("Add-KeyVaultKey", json!({"VaultName": VAULT, "Name": ROLL})),
            "mailbox-item" => (
                "Add-MailboxItem",
                json!({"Identity": mailbox((next() as usize) % PROCESSES), "Subject": format!("p{process}t{thread}n{n}"), "Body": "load"}),
            ),
            "spo-write" => (
                "Add-SPOFile",
                json!({"Site": site((next() as usize) % PROCESSES), "Name": format!("p{process}t{thread}n{n}.txt"), "Value": "load"}),
            ),
            _ => (
                "Get-SPOFile",
                json!({"Site": site((next() as usize) % PROCESSES), "Name": "hot.txt"}),
            ),
        };
        let started = Instant::now();
        let outcome = loop {
            match ck.call(operation, args.clone()) {
                Err(e) if e.category() == "ResourceBusy" => busy += 1,
                other => break other,
            }
        };
        let micros = started.elapsed().as_micros() as u64;
        match outcome {
            Ok(v) => {
                let ok = match kind {
                    "unwrap" => v["RawResult"] == b64(b"load value"),
                    "spo-read" => v[0]["Value"] == "read me",
                    _ => true,
                };
                if !ok {
                    errors.push(format!("{kind}: wrong answer {v}"));
                }
                let entry = kinds.entry(kind).or_default();
                entry.0 += 1;
                *entry.1.entry(bucket(micros)).or_default() += 1;
            }
            Err(e) => errors.push(format!("{kind}: {} {}", e.category(), e.message())),
        }
    }
    json!({"kinds": kinds.iter().map(|(k, (ok, h))| (k.to_string(), json!({"ok": ok, "histogram": h}))).collect::<serde_json::Map<_, _>>(), "busy": busy, "errors": errors})
}

/// Runs only as a child process: four threads on one session, then the session closes (which
/// flushes its audit rows) and the results go to a file.
#[test]
fn load_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let dir = Path::new(&dir);
    let process: usize = std::env::var(PROCESS_ENV).unwrap().parse().unwrap();
    let ck = Ck::at(&dir.join("store"), LOAD_USER);
    let deadline = Instant::now() + Duration::from_secs_f64(seconds());
    let results: Vec<Value> = std::thread::scope(|s| {
        let ck = &ck;
        let handles: Vec<_> = (0..THREADS)
            .map(|t| s.spawn(move || client(ck, process, t, deadline)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    drop(ck);
    std::fs::write(
        dir.join(format!("results-{process}.json")),
        Value::Array(results).to_string(),
    )
    .unwrap();
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
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let dir = TempDir::new("load");
    let store = dir.join("store");
    set_up(&store);
    let started = Instant::now();
    let children: Vec<_> = (0..PROCESSES)
        .map(|p| {
            Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "load_child", "--test-threads=1"])
                .env(CHILD_ENV, dir.path())
                .env(PROCESS_ENV, p.to_string())
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
