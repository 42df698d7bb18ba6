//! A served store (the "Azure" side) and a second store whose session's Environment points
//! at it (the admin's side): the remote target's tests run every call over HTTPS.
#![allow(dead_code)]

use crate::serve_common::{tempdir, Endpoint};
use customer_key::{Error, Session, SessionOptions};
use serde_json::{json, Value};
use std::path::PathBuf;

/// The admin's side: its own store, keys in the endpoint's vaults.
pub struct Admin {
    pub dir: tempdir::Dir,
    pub session: Session,
}

impl Admin {
    pub fn call(&self, operation: &str, args: Value) -> Result<Value, Error> {
        customer_key::registry().call(&self.session, operation, &args)
    }
    pub fn ok(&self, operation: &str, args: Value) -> Value {
        self.call(operation, args)
            .unwrap_or_else(|e| panic!("{operation}: {e}"))
    }
    pub fn err(&self, operation: &str, args: Value) -> Error {
        match self.call(operation, args) {
            Ok(v) => panic!("{operation} succeeded: {v}"),
            Err(e) => e,
        }
    }
    /// Every audit row of the admin's store, as text.
    pub fn audit_text(&self) -> String {
        format!("{:?}", self.session.store().audit_log().unwrap())
    }
}

/// Remote options pointing at `ep`, with short retry waits; `access_token` given or not.
pub fn options(ep: &Endpoint, dir: &tempdir::Dir, access_token: Option<String>) -> SessionOptions {
    SessionOptions {
        store: Some(dir.0.join("admin-store")),
        user_principal_name: Some("remote-admin@contoso.com".into()),
        environment: Some("AzureCloud".into()),
        vault_domain: Some(format!("localhost:{}", ep.port)),
        ca_file: Some(PathBuf::from(&ep.server.as_ref().unwrap().info().ca_file)),
        access_token: access_token.map(zeroize::Zeroizing::new),
        retry_delay_milliseconds: Some(20),
        ..Default::default()
    }
}

pub fn admin_with(options: SessionOptions, dir: tempdir::Dir) -> Admin {
    admin_clocked(options, dir, customer_key::time::Clock::system())
}

/// The same with the admin's session on `clock`.
pub fn admin_clocked(
    options: SessionOptions,
    dir: tempdir::Dir,
    clock: customer_key::time::Clock,
) -> Admin {
    let session =
        customer_key::open_session_with_clock(options, clock).expect("remote session opens");
    Admin { dir, session }
}

/// A remote session as `app`: Key Vault's token always, Resource Manager's and Graph's (and
/// the subscription) when `management` says so.
pub fn admin_as(ep: &Endpoint, label: &str, app: &str, secret: &str, management: bool) -> Admin {
    let dir = tempdir::Dir::new(label);
    let vault = ep.token_for(app, secret, "https://vault.azure.net/.default");
    let base = options(ep, &dir, Some(vault));
    let options = if management {
        SessionOptions {
            management_endpoint: Some(format!("localhost:{}", ep.port)),
            graph_endpoint: Some(format!("localhost:{}", ep.port)),
            management_access_token: Some(zeroize::Zeroizing::new(ep.token_for(
                app,
                secret,
                "https://management.azure.com/.default",
            ))),
            graph_access_token: Some(zeroize::Zeroizing::new(ep.token_for(
                app,
                secret,
                "https://graph.microsoft.com/.default",
            ))),
            subscription_id: Some(ep.session.store().subscription_id().to_string()),
            ..base
        }
    } else {
        base
    };
    admin_with(options, dir)
}

/// An admin whose token is that of a new service principal with `permissions` on `vaults`.
pub fn admin_for(
    ep: &Endpoint,
    label: &str,
    vaults: &[&str],
    permissions: &[&str],
) -> (Admin, String) {
    let (app, secret) = ep.principal_with(vaults[0], permissions);
    for v in &vaults[1..] {
        ep.admin(
            "Set-KeyVaultAccessPolicy",
            json!({"VaultName": v, "ServicePrincipalName": app, "PermissionsToKeys": permissions}),
        );
    }
    let token = ep.token(&app, &secret);
    let dir = tempdir::Dir::new(label);
    let o = options(ep, &dir, Some(token));
    (admin_with(o, dir), app)
}

pub const ALL_KEYS: &[&str] = &[
    "get",
    "list",
    "create",
    "update",
    "delete",
    "recover",
    "purge",
    "backup",
    "restore",
    "wrapKey",
    "unwrapKey",
    "encrypt",
    "decrypt",
    "sign",
    "verify",
];

/// A mailbox `ada` on a new DEP named `DEP` over the keys `ids`, with one item, waited for
/// until the workload has encrypted it (its keys reached through the boundary, remote here).
pub fn encrypted_mailbox(admin: &Admin, ids: &[String]) {
    admin.ok(
        "New-DataEncryptionPolicy",
        json!({"Name": "DEP", "AzureKeyIDs": ids}),
    );
    admin.ok(
        "New-Mailbox",
        json!({"Name": "User ada", "Alias": "ada", "PrimarySmtpAddress": "ada@contoso.com", "DataEncryptionPolicy": "DEP"}),
    );
    admin.ok(
        "Add-MailboxItem",
        json!({"Identity": "ada", "Subject": "kept", "Body": "hello"}),
    );
    let start = std::time::Instant::now();
    loop {
        let s = admin.ok("Get-MailboxStatistics", json!({"Identity": "ada"}));
        if s["IsEncrypted"] == json!(true) {
            break;
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(60), "{s}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let items = admin.ok("Get-MailboxItem", json!({"Identity": "ada"}));
    assert_eq!(items[0]["Subject"], "kept");
}
