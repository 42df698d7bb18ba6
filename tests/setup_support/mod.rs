//! Shared set-up for the setup check's tests: two vaults in two unpaired regions with an HSM
//! key each and a workload's service principal granted, and reading the rows back.
#![allow(dead_code)]

use crate::common::{Ck, TempDir, ADMIN};
use serde_json::{json, Value};

pub const A: &str = "contoso-ck-a";
pub const B: &str = "contoso-ck-b";
pub const EXO: &str = "00000002-0000-0ff1-ce00-000000000000";
pub const SPO: &str = "00000003-0000-0ff1-ce00-000000000000";
pub const MDEP: &str = "c066d759-24ae-40e7-a56f-027002b5d3e4";
pub const SERVICE: [&str; 3] = ["get", "wrapKey", "unwrapKey"];

pub struct Pair {
    pub dir: TempDir,
    pub ck: Ck,
    /// Versionless ids of the keys in A and B.
    pub ids: Vec<String>,
}

pub fn versionless(id: &str) -> String {
    id.rsplit_once('/')
        .map(|(head, _)| head.to_string())
        .unwrap()
}

pub fn grant(ck: &Ck, vault: &str, app: &str, permissions: &[&str]) {
    ck.ok(
        "Set-KeyVaultAccessPolicy",
        json!({"VaultName": vault, "ServicePrincipalName": app, "PermissionsToKeys": permissions}),
    );
}

pub fn add_key(ck: &Ck, vault: &str, name: &str, extra: Value) -> Value {
    let mut args = json!({"VaultName": vault, "Name": name, "Destination": "HSM", "KeyOps": ["wrapKey", "unwrapKey"]});
    args.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    ck.ok("Add-KeyVaultKey", args)
}

/// Two Premium vaults with purge protection (westeurope and francecentral unless `vault_b`
/// says otherwise), an HSM key in each, the service principal `app` granted what it needs.
pub fn pair_with(tag: &str, vault_a: Value, vault_b: Value, app: &str) -> Pair {
    let dir = TempDir::new(tag);
    let ck = Ck::at(&dir.join("store"), ADMIN);
    let mut ids = Vec::new();
    for (name, location, extra) in [(A, "westeurope", vault_a), (B, "francecentral", vault_b)] {
        let mut args = json!({"VaultName": name, "Location": location, "Sku": "Premium", "EnablePurgeProtection": true});
        args.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        // A Standard vault holds software keys only.
        let destination = if args["Sku"] == "Standard" {
            "Software"
        } else {
            "HSM"
        };
        ck.ok("New-KeyVault", args);
        let key = add_key(&ck, name, "ck-key", json!({"Destination": destination}));
        ids.push(versionless(key["Id"].as_str().unwrap()));
        grant(&ck, name, app, &SERVICE);
    }
    Pair { dir, ck, ids }
}

pub fn pair(tag: &str) -> Pair {
    pair_with(tag, json!({}), json!({}), EXO)
}

pub fn run(ck: &Ck, args: Value) -> Vec<Value> {
    ck.ok("Test-CustomerKeySetup", args)
        .as_array()
        .cloned()
        .unwrap()
}

impl Pair {
    pub fn check(&self, extra: Value) -> Vec<Value> {
        let mut args = json!({"Workload": "Exchange", "AzureKeyIDs": self.ids});
        args.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        run(&self.ck, args)
    }
}

/// The row of `check` whose target contains `target`.
pub fn row<'a>(rows: &'a [Value], check: &str, target: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["Check"] == check && r["Target"].as_str().unwrap().contains(target))
        .unwrap_or_else(|| panic!("no {check} row for {target}: {rows:#?}"))
}

pub fn assert_status(rows: &[Value], check: &str, target: &str, expected: &str) -> Value {
    let r = row(rows, check, target).clone();
    assert_eq!(r["Status"], expected, "{check} {target}: {r:#}");
    if expected == "Pass" || expected == "NotChecked" {
        assert!(r["Remediation"].is_null(), "{r:#}");
    } else {
        assert!(
            r["Remediation"].is_string() && r["Detail"].as_str().unwrap().len() > 10,
            "{r:#}"
        );
    }
    r
}
