//! What the SharePoint tests share: two vaults with a key each that SharePoint's service
//! principal may use, sites with files, and waiting for the policy to reach a state.
#![allow(dead_code)]

use crate::common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

pub const SHAREPOINT: &str = "00000003-0000-0ff1-ce00-000000000000";
pub const VAULT_A: &str = "contoso-spo-a";
pub const VAULT_B: &str = "contoso-spo-b";
pub const KEY: &str = "spo-key";

/// Small batches with a pause, so a roll of a few thousand sites lasts long enough to be
/// watched and interrupted. Read when a job is enqueued; every test of a binary sets the same.
pub fn pace_batches(batch_size: u32, pause_ms: u32) {
    std::env::set_var("CUSTOMER_KEY_SPO_BATCH_SIZE", batch_size.to_string());
    std::env::set_var("CUSTOMER_KEY_SPO_BATCH_PAUSE_MS", pause_ms.to_string());
}

pub fn site_url(i: usize) -> String {
    format!("https://contoso.sharepoint.com/sites/site{i:05}")
}

pub fn file_text(i: usize) -> String {
    format!("Quarterly figures of site {i}")
}

/// Adds a version of `key` in `vault` and returns its version id.
pub fn add_key(ck: &Ck, vault: &str, key: &str) -> String {
    let k = ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": vault, "Name": key, "Destination": "Software", "KeyOps": ["wrapKey", "unwrapKey"]}),
    );
    k["Version"].as_str().unwrap().to_string()
}

pub fn grant_sharepoint(ck: &Ck, vault: &str) {
    ck.ok(
        "Set-KeyVaultAccessPolicy",
        json!({"VaultName": vault, "ServicePrincipalName": SHAREPOINT, "PermissionsToKeys": ["get", "wrapKey", "unwrapKey"]}),
    );
}

pub fn revoke_sharepoint(ck: &Ck, vault: &str) {
    ck.ok(
        "Remove-KeyVaultAccessPolicy",
        json!({"VaultName": vault, "ServicePrincipalName": SHAREPOINT}),
    );
}

pub struct Tenant {
    pub dir: TempDir,
    pub ck: Ck,
    pub version_a: String,
    pub version_b: String,
}

/// Two vaults in two regions with a key each, SharePoint granted on both, `sites` sites of
/// which every `file_every`-th has a file.
pub fn tenant(tag: &str, sites: usize, file_every: usize) -> Tenant {
    let (dir, ck) = store_with_vaults(tag, &[(VAULT_A, "westeurope"), (VAULT_B, "northeurope")]);
    let version_a = add_key(&ck, VAULT_A, KEY);
    let version_b = add_key(&ck, VAULT_B, KEY);
    grant_sharepoint(&ck, VAULT_A);
    grant_sharepoint(&ck, VAULT_B);
    for i in 0..sites {
        ck.ok(
            "New-SPOSite",
            json!({"Url": site_url(i), "Title": format!("Site {i}")}),
        );
        if i % file_every == 0 {
            ck.ok(
                "Add-SPOFile",
                json!({"Site": site_url(i), "Name": "figures.txt", "Value": file_text(i)}),
            );
        }
    }
    Tenant {
        dir,
        ck,
        version_a,
        version_b,
    }
}

pub fn register_args(version_a: &str, version_b: &str) -> Value {
    json!({
        "PrimaryKeyVaultName": VAULT_A, "PrimaryKeyName": KEY, "PrimaryKeyVersion": version_a,
        "SecondaryKeyVaultName": VAULT_B, "SecondaryKeyName": KEY, "SecondaryKeyVersion": version_b,
    })
}

pub fn policy(ck: &Ck) -> Value {
    ck.ok("Get-SPODataEncryptionPolicy", json!({}))
}

/// Polls the policy until it is Registered, returning every answer seen on the way. Fails
/// after `limit` instead of hanging.
pub fn wait_registered(ck: &Ck, limit: Duration) -> Vec<Value> {
    let deadline = Instant::now() + limit;
    let mut seen = Vec::new();
    loop {
        let p = policy(ck);
        let done = p["State"] == "Registered";
        seen.push(p);
        if done {
            return seen;
        }
        assert!(
            Instant::now() < deadline,
            "the policy did not reach Registered: {}",
            seen.last().unwrap()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Every file of the sites given reads back as written.
pub fn assert_files_readable(ck: &Ck, sites: usize, file_every: usize) {
    for i in (0..sites).step_by(file_every) {
        let files = ck.ok(
            "Get-SPOFile",
            json!({"Site": site_url(i), "Name": "figures.txt"}),
        );
        assert_eq!(files[0]["Value"], file_text(i), "site {i}");
    }
}
