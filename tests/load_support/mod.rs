//! What tests/load.rs shares with its load processes (tests/children/child.rs): the names the
//! set-up makes, the mix of calls, and a load process's client threads.
#![allow(dead_code)]

use crate::common::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

pub const PROCESSES: usize = 4;
pub const THREADS: usize = 4;
pub const LOAD_USER: &str = "load@contoso.com";
pub const VAULT: &str = "load-a";
pub const VAULT_B: &str = "load-b";
pub const HOT: &str = "hot";
pub const ROLL: &str = "roll";
pub const EXCHANGE: &str = "00000002-0000-0ff1-ce00-000000000000";
pub const SHAREPOINT: &str = "00000003-0000-0ff1-ce00-000000000000";

/// Each kind of call with its share of the mix (out of 100).
pub const KINDS: &[(&str, u64)] = &[
    ("read", 25),
    ("wrap", 20),
    ("unwrap", 20),
    ("roll", 3),
    ("mailbox-item", 12),
    ("spo-write", 10),
    ("spo-read", 10),
];

pub fn mailbox(i: usize) -> String {
    format!("load{i}")
}

pub fn site(i: usize) -> String {
    format!("https://contoso.sharepoint.com/sites/load{i}")
}

pub fn seconds() -> f64 {
    std::env::var("CK_LOAD_SECONDS")
        .map(|s| s.parse().expect("CK_LOAD_SECONDS is a number of seconds"))
        .unwrap_or(10.0)
}

/// Latencies in buckets 5% wide (bucket b holds 1.05^b microseconds): percentiles within 5%
/// without keeping every sample of a long run.
pub fn bucket(micros: u64) -> u64 {
    ((micros.max(1) as f64).ln() / 1.05f64.ln()) as u64
}

pub fn bucket_micros(b: u64) -> f64 {
    1.05f64.powi(b as i32 + 1)
}

/// One client thread: calls until the deadline, retrying ResourceBusy. Returns, per kind,
/// (successes, latency histogram), and the busy retries and errors.
pub fn client(ck: &Ck, process: usize, thread: usize, deadline: Instant) -> Value {
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

/// One load process (`ck-test-child load <dir> <process>`): four threads on one session, then
/// the session closes (which flushes its audit rows) and the results go to a file.
pub fn run_process(dir: &Path, process: usize) {
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
