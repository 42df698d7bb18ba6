//! Crash trials: a child process (`ck-test-child crash-workload`, tests/children) runs a random
//! workload over every area (key rolls, backup/restore cycles, DEP assignments and refreshes,
//! mailbox items, SharePoint sites, files and key rolls, AIP re-keys and protected items),
//! journaling each call (see `workload.rs`); the parent kills it with SIGKILL at a random moment,
//! reopens the store and checks the invariants (see `invariants`). Trials run on one store one
//! after another, so each starts from what the kills before it left.
//!
//! `CK_CRASH_TRIALS` sets the number of trials (20 by default, 100 in the benchmark run);
//! `CK_CRASH_SEED` replays a run (the seed is printed).

#[path = "../common/mod.rs"]
mod common;
mod invariants;
mod shared;

use common::{Ck, TempDir, ADMIN};
use serde_json::json;
use shared::{Setup, CRASH_USER, KEY_FILE};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const EXCHANGE: &str = "00000002-0000-0ff1-ce00-000000000000";
const SHAREPOINT: &str = "00000003-0000-0ff1-ce00-000000000000";
const AIP: &str = "00000012-0000-0000-c000-000000000000";
const M365: &str = "c066d759-24ae-40e7-a56f-027002b5d3e4";

/// The store every trial works on: three vaults, a DEP over two keys, a multi-workload policy
/// over the same keys assigned to the tenant, a registered SharePoint policy, a BYOK AIP tenant
/// key, and the workload's principal granted every key permission.
fn set_up(store: &Path) {
    let s = Setup::default();
    let ck = Ck::at(store, ADMIN);
    for (vault, location, protected) in [
        (s.vault_a, "westeurope", true),
        (s.vault_b, "northeurope", true),
        (s.vault_c, "westeurope", false),
    ] {
        ck.ok(
            "New-KeyVault",
            json!({"VaultName": vault, "Location": location, "EnablePurgeProtection": protected}),
        );
        let grants: [(&str, &str, &[&str]); 5] = [
            ("UserPrincipalName", CRASH_USER, &["all"]),
            (
                "ServicePrincipalName",
                EXCHANGE,
                &["get", "wrapKey", "unwrapKey"],
            ),
            (
                "ServicePrincipalName",
                SHAREPOINT,
                &["get", "wrapKey", "unwrapKey"],
            ),
            ("ServicePrincipalName", AIP, &["get", "decrypt", "sign"]),
            (
                "ServicePrincipalName",
                M365,
                &["get", "wrapKey", "unwrapKey"],
            ),
        ];
        for (parameter, principal, permissions) in grants {
            ck.ok(
                "Set-KeyVaultAccessPolicy",
                json!({"VaultName": vault, parameter: principal, "PermissionsToKeys": permissions}),
            );
        }
    }
    let wrap_ops = json!(["wrapKey", "unwrapKey"]);
    let add = |vault: &str, name: &str, ops: &serde_json::Value| {
        let mut args = json!({"VaultName": vault, "Name": name});
        if !ops.is_null() {
            args["KeyOps"] = ops.clone();
        }
        ck.ok("Add-KeyVaultKey", args)
    };
    add(s.vault_a, s.roll_key, &serde_json::Value::Null);
    let exo: Vec<_> = [s.vault_a, s.vault_b]
        .iter()
        .map(|v| add(v, s.exo_key, &wrap_ops)["Id"].clone())
        .collect();
    ck.ok(
        "New-DataEncryptionPolicy",
        json!({"Name": s.dep, "AzureKeyIDs": exo}),
    );
    ck.ok(
        "New-M365DataAtRestEncryptionPolicy",
        json!({"Name": s.m365_dep, "AzureKeyIDs": exo}),
    );
    ck.ok(
        "Set-M365DataAtRestEncryptionPolicyAssignment",
        json!({"DataEncryptionPolicy": s.m365_dep}),
    );
    ck.ok(
        "New-Mailbox",
        json!({"Name": "Base", "Alias": s.base_mailbox, "PrimarySmtpAddress": "base@contoso.com", "DataEncryptionPolicy": s.dep}),
    );
    let spo: Vec<_> = [s.vault_a, s.vault_b]
        .iter()
        .map(|v| add(v, s.spo_key, &wrap_ops)["Version"].clone())
        .collect();
    ck.ok(
        "Register-SPODataEncryptionPolicy",
        json!({
            "PrimaryKeyVaultName": s.vault_a, "PrimaryKeyName": s.spo_key, "PrimaryKeyVersion": spo[0],
            "SecondaryKeyVaultName": s.vault_b, "SecondaryKeyName": s.spo_key, "SecondaryKeyVersion": spo[1],
        }),
    );
    ck.ok("New-SPOSite", json!({"Url": s.base_site, "Title": "Base"}));
    let aip = add(s.vault_a, s.aip_key, &serde_json::Value::Null);
    let used = ck.ok(
        "Use-AipServiceKeyVaultKey",
        json!({"KeyVaultKeyUrl": aip["Id"]}),
    );
    ck.ok(
        "Set-AipServiceKeyProperties",
        json!({"KeyIdentifier": used["KeyIdentifier"], "Active": true, "Force": true}),
    );
    invariants::wait_for_jobs(store, &ck, Duration::from_secs(60)).expect("set-up jobs finish");
}

fn base_seed() -> u64 {
    match std::env::var("CK_CRASH_SEED") {
        Ok(s) => s.parse().expect("CK_CRASH_SEED is a number"),
        Err(_) => {
            let mut bytes = [0u8; 8];
            aws_lc_rs::rand::fill(&mut bytes).unwrap();
            u64::from_le_bytes(bytes)
        }
    }
}

#[test]
fn crash_trials_leave_every_acknowledged_operation_whole() {
    let trials: u64 = std::env::var("CK_CRASH_TRIALS")
        .map(|t| t.parse().expect("CK_CRASH_TRIALS is a number"))
        .unwrap_or(20);
    let seed = base_seed();
    println!("crash trials: {trials} trials, seed {seed} (CK_CRASH_SEED={seed} replays them)");
    let dir = TempDir::new("crash");
    let store = dir.join("store");
    set_up(&store);
    let material = customer_key::crypto::generate_rsa(2048).unwrap();
    std::fs::write(dir.join(KEY_FILE), material.pkcs8.expose()).unwrap();
    let mut rng = shared::Rng::new(seed);
    let mut tally = invariants::Tally::default();
    let started = Instant::now();
    for trial in 0..trials {
        let child_seed = rng.next();
        let mut child = Command::new(env!("CARGO_BIN_EXE_ck-test-child"))
            .arg("crash-workload")
            .arg(dir.path())
            .args([trial.to_string(), child_seed.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // From a quarter of a second (the child has just opened the store) to two seconds in.
        let delay = Duration::from_millis(250 + rng.below(1750));
        std::thread::sleep(delay);
        let alive = child.try_wait().unwrap().is_none();
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        if alive {
            tally.kills += 1;
        }
        invariants::check_trial(&dir, trial, &mut tally);
    }
    invariants::check_all(&dir, &mut tally);
    println!(
        "crash trials: {trials} trials, {} kills ({} mid-call), {} operations acknowledged, {} checks, {} violations, {:.1} s",
        tally.kills,
        tally.in_flight,
        tally.acknowledged,
        tally.checks,
        tally.violations.len(),
        started.elapsed().as_secs_f64()
    );
    for (op, acked) in &tally.acked_by_op {
        let in_flight = tally.in_flight_by_op.get(op).copied().unwrap_or(0);
        println!("  {op:<32} {acked:>5} acknowledged {in_flight:>4} in flight at a kill");
    }
    for v in &tally.violations {
        println!("  violation: {v}");
    }
    assert!(
        tally.kills > 0 && tally.acknowledged > 0,
        "the children ran no workload: {} kills, {} operations acknowledged",
        tally.kills,
        tally.acknowledged
    );
    assert!(
        tally.violations.is_empty(),
        "{} violations (seed {seed})",
        tally.violations.len()
    );
}
