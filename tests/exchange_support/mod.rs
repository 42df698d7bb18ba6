//! Shared set-up for the Exchange tests: two vaults with a key each, the Exchange service
//! principal's permissions, and waiting for the background job.
#![allow(dead_code)]

use crate::common::{CallError, Ck, TempDir, ADMIN};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

pub const EXCHANGE: &str = "00000002-0000-0ff1-ce00-000000000000";
pub const VAULT_A: &str = "contoso-exo-a";
pub const VAULT_B: &str = "contoso-exo-b";

pub struct Tenant {
    pub dir: TempDir,
    pub ck: Ck,
    /// Versionless key ids of the two keys.
    pub key_a: String,
    pub key_b: String,
}

pub fn versionless(id: &str) -> String {
    let mut parts: Vec<&str> = id.trim_end_matches('/').split('/').collect();
    if parts.len() == 6 {
        parts.pop();
    }
    parts.join("/")
}

pub fn grant(ck: &Ck, vault: &str) {
    ck.ok(
        "Set-KeyVaultAccessPolicy",
        json!({"VaultName": vault, "ServicePrincipalName": EXCHANGE, "PermissionsToKeys": ["get", "wrapKey", "unwrapKey"]}),
    );
}

pub fn revoke(ck: &Ck, vault: &str) {
    ck.ok(
        "Remove-KeyVaultAccessPolicy",
        json!({"VaultName": vault, "ServicePrincipalName": EXCHANGE}),
    );
}

pub fn tenant(tag: &str) -> Tenant {
    let dir = TempDir::new(tag);
    let ck = Ck::at(&dir.join("store"), ADMIN);
    let mut ids = Vec::new();
    for (vault, location) in [(VAULT_A, "westeurope"), (VAULT_B, "northeurope")] {
        ck.ok(
            "New-KeyVault",
            json!({"VaultName": vault, "Location": location, "EnablePurgeProtection": true}),
        );
        let key = ck.ok(
            "Add-KeyVaultKey",
            json!({"VaultName": vault, "Name": "exo-key", "KeyOps": ["wrapKey", "unwrapKey"]}),
        );
        ids.push(versionless(key["Id"].as_str().unwrap()));
        grant(&ck, vault);
    }
    Tenant {
        dir,
        ck,
        key_a: ids[0].clone(),
        key_b: ids[1].clone(),
    }
}

impl Tenant {
    pub fn policy(&self, name: &str) -> Value {
        self.ck.ok(
            "New-DataEncryptionPolicy",
            json!({"Name": name, "AzureKeyIDs": [self.key_a, self.key_b]}),
        )
    }

    pub fn mailbox(&self, alias: &str, policy: Option<&str>) -> Value {
        let mut args = json!({"Name": format!("User {alias}"), "Alias": alias, "PrimarySmtpAddress": format!("{alias}@contoso.com")});
        if let Some(p) = policy {
            args["DataEncryptionPolicy"] = json!(p);
        }
        self.ck.ok("New-Mailbox", args)
    }

    pub fn stats(&self, identity: &str) -> Value {
        self.ck
            .ok("Get-MailboxStatistics", json!({"Identity": identity}))
    }

    pub fn items(&self, identity: &str) -> Result<Value, CallError> {
        self.ck
            .call("Get-MailboxItem", json!({"Identity": identity}))
    }

    pub fn add_item(&self, identity: &str, subject: &str, body: &str) {
        self.ck.ok(
            "Add-MailboxItem",
            json!({"Identity": identity, "Subject": subject, "Body": body}),
        );
    }

    /// Waits until the mailbox reports the given policy revision id and IsEncrypted.
    pub fn wait_encrypted_under(&self, identity: &str, id: &str) -> Value {
        wait_until(|| {
            let s = self.stats(identity);
            (s["IsEncrypted"] == json!(true) && s["DataEncryptionPolicyID"] == json!(id))
                .then_some(s)
        })
    }
}

/// Polls until `check` gives a value; the job finishes in seconds, so a minute means it is stuck.
pub fn wait_until<T>(mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the background job did not finish within a minute"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn subjects(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["Subject"].as_str().unwrap().to_string())
        .collect()
}
