//! The remote target against `customer-key serve` started here: every key operation of a
//! session whose Environment is AzureCloud and VaultDomain the endpoint goes over HTTPS to
//! the endpoint's store, with Key Vault's paging, errors, throttling and tokens.

use crate::remote_common;
use crate::serve_common;

use crate::remote_common::{admin_for, ALL_KEYS};
use crate::serve_common::Endpoint;
use customer_key::serve::ServeOptions;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const VAULT: &str = "contoso-remote";

#[test]
fn every_key_operation_goes_to_the_vault_and_answers_as_the_local_engine_does() {
    let ep = Endpoint::start("remote-ops", &[VAULT], ServeOptions::default());
    let (admin, _) = admin_for(&ep, "remote-ops-admin", &[VAULT], ALL_KEYS);
    let prefix = format!("https://{VAULT}.localhost:{}/keys/k1/", ep.port);

    let created = admin.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": VAULT, "Name": "k1", "Size": 3072, "Tag": {"owner": "alice"}}),
    );
    assert!(
        created["Id"].as_str().unwrap().starts_with(&prefix),
        "{created}"
    );
    assert_eq!(created["KeySize"], 3072);
    assert_eq!(created["Tags"]["owner"], "alice");
    // The key is in the endpoint's store, not in the admin's.
    let there = ep.admin("Get-KeyVaultKey", json!({"VaultName": VAULT, "Name": "k1"}));
    assert_eq!(there[0]["Version"], created["Version"]);
    assert_eq!(there[0]["Key"]["N"], created["Key"]["N"]);

    let rolled = admin.ok("Add-KeyVaultKey", json!({"VaultName": VAULT, "Name": "k1"}));
    let versions = admin.ok(
        "Get-KeyVaultKey",
        json!({"VaultName": VAULT, "Name": "k1", "IncludeVersions": true}),
    );
    let listed: Vec<&Value> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| &v["Version"])
        .collect();
    assert_eq!(listed, [&created["Version"], &rolled["Version"]]);
    let one = admin.ok(
        "Get-KeyVaultKey",
        json!({"VaultName": VAULT, "Name": "k1", "Version": created["Version"]}),
    );
    assert_eq!(one[0]["KeySize"], 3072);

    let updated = admin.ok(
        "Update-KeyVaultKey",
        json!({"VaultName": VAULT, "Name": "k1", "Version": created["Version"], "Enable": false, "PassThru": true}),
    );
    assert_eq!(updated["Enabled"], false);
    let newest = admin.ok("Get-KeyVaultKey", json!({"VaultName": VAULT, "Name": "k1"}));
    assert_eq!(newest[0]["Enabled"], true);
    // The service enforces key state: the disabled version refuses to wrap.
    let e = admin.err(
        "Invoke-KeyVaultKeyOperation",
        json!({"VaultName": VAULT, "Name": "k1", "Version": created["Version"], "Operation": "Wrap", "Algorithm": "RSA-OAEP-256", "ByteArrayValue": "AAECAw=="}),
    );
    assert_eq!(e.category(), "PermissionDenied", "{e}");

    let value = "c2VjcmV0LWtleS1tYXRlcmlhbC0zMi1ieXRlcyEhISE=";
    let wrapped = admin.ok(
        "Invoke-KeyVaultKeyOperation",
        json!({"VaultName": VAULT, "Name": "k1", "Operation": "Wrap", "Algorithm": "RSA-OAEP-256", "ByteArrayValue": value}),
    );
    assert_eq!(wrapped["KeyId"], rolled["Id"]);
    let unwrapped = admin.ok(
        "Invoke-KeyVaultKeyOperation",
        json!({"VaultName": VAULT, "Name": "k1", "Version": rolled["Version"], "Operation": "Unwrap", "Algorithm": "RSA-OAEP-256", "ByteArrayValue": wrapped["RawResult"]}),
    );
    assert_eq!(unwrapped["RawResult"], value);

    let digest = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    let signed = admin.ok(
        "Invoke-KeyVaultKeySignature",
        json!({"VaultName": VAULT, "Name": "k1", "Operation": "Sign", "Algorithm": "RS256", "Digest": digest}),
    );
    let verified = admin.ok(
        "Invoke-KeyVaultKeySignature",
        json!({"VaultName": VAULT, "Name": "k1", "Operation": "Verify", "Algorithm": "RS256", "Digest": digest, "Signature": signed["Signature"]}),
    );
    assert_eq!(verified["IsValid"], true);

    // Backup: the service's opaque blob, in the file given.
    let file = admin.dir.0.join("k1.keybackup");
    let backup = admin.ok(
        "Backup-KeyVaultKey",
        json!({"VaultName": VAULT, "Name": "k1", "OutputFile": file}),
    );
    assert_eq!(backup["OutputFile"], file.display().to_string());
    let blob = std::fs::read(&file).unwrap();
    assert!(!blob.is_empty());

    let deleted = admin.ok(
        "Remove-KeyVaultKey",
        json!({"VaultName": VAULT, "Name": "k1", "PassThru": true}),
    );
    assert!(deleted["ScheduledPurgeDate"].is_string(), "{deleted}");
    let e = admin.err("Get-KeyVaultKey", json!({"VaultName": VAULT, "Name": "k1"}));
    assert_eq!(e.category(), "ObjectNotFound");
    let removed = admin.ok(
        "Get-KeyVaultKey",
        json!({"VaultName": VAULT, "InRemovedState": true}),
    );
    assert_eq!(removed[0]["Name"], "k1");
    admin.ok(
        "Undo-KeyVaultKeyRemoval",
        json!({"VaultName": VAULT, "Name": "k1"}),
    );
    admin.ok("Get-KeyVaultKey", json!({"VaultName": VAULT, "Name": "k1"}));

    // Restore needs the name free, also of deleted keys: delete, purge, restore.
    admin.ok(
        "Remove-KeyVaultKey",
        json!({"VaultName": VAULT, "Name": "k1"}),
    );
    admin.ok(
        "Remove-KeyVaultKey",
        json!({"VaultName": VAULT, "Name": "k1", "InRemovedState": true}),
    );
    let e = admin.err(
        "Get-KeyVaultKey",
        json!({"VaultName": VAULT, "Name": "k1", "InRemovedState": true}),
    );
    assert_eq!(e.category(), "ObjectNotFound");
    let restored = admin.ok(
        "Restore-KeyVaultKey",
        json!({"VaultName": VAULT, "InputFile": file}),
    );
    assert_eq!(restored["Name"], "k1");
    assert_eq!(restored["Key"]["N"], rolled["Key"]["N"]);
    // Restoring over the key that is back again: the service's conflict.
    let e = admin.err(
        "Restore-KeyVaultKey",
        json!({"VaultName": VAULT, "InputFile": file}),
    );
    assert_eq!(e.category(), "ResourceExists", "{e}");

    // The audit of the admin's store records the calls; the local store has no key.
    let audit = admin.audit_text();
    assert!(audit.contains("in Azure"), "{audit}");
    let e = admin.err(
        "New-KeyVault",
        json!({"VaultName": "x1", "Location": "westeurope"}),
    );
    assert_eq!(e.code, "NotSupportedRemotely");
}

#[test]
fn a_local_backup_is_refused_by_a_remote_vault_and_a_vault_backup_by_the_local_store() {
    let ep = Endpoint::start("remote-backups", &[VAULT], ServeOptions::default());
    let dir = serve_common::tempdir::Dir::new("remote-backups-admin");
    let remote_options = |token| remote_common::options(&ep, &dir, Some(token));
    // First the admin's store on its own (Environment Local): a vault, a key, a backup.
    let local_file = dir.0.join("local.keybackup");
    let mut local_options = remote_options(String::new());
    local_options.environment = None;
    local_options.vault_domain = None;
    local_options.ca_file = None;
    local_options.access_token = None;
    local_options.retry_delay_milliseconds = None;
    {
        let local = customer_key::open_session(local_options).unwrap();
        let call = |op: &str, args: Value| customer_key::registry().call(&local, op, &args);
        call(
            "New-KeyVault",
            json!({"VaultName": "local-v", "Location": "westeurope"}),
        )
        .unwrap();
        call(
            "Add-KeyVaultKey",
            json!({"VaultName": "local-v", "Name": "k2"}),
        )
        .unwrap();
        call(
            "Backup-KeyVaultKey",
            json!({"VaultName": "local-v", "Name": "k2", "OutputFile": local_file}),
        )
        .unwrap();
    }
    let (app, secret) = ep.principal_with(VAULT, ALL_KEYS);
    let admin = remote_common::admin_with(
        remote_options(ep.token(&app, &secret)),
        serve_common::tempdir::Dir::new("unused"),
    );
    let e = admin.err(
        "Restore-KeyVaultKey",
        json!({"VaultName": VAULT, "InputFile": local_file}),
    );
    assert_eq!(e.target, "InputFile");
    assert!(e.message.contains("never into an Azure vault"), "{e}");
    admin.ok("Add-KeyVaultKey", json!({"VaultName": VAULT, "Name": "k1"}));
    let remote_file = dir.0.join("remote.keybackup");
    admin.ok(
        "Backup-KeyVaultKey",
        json!({"VaultName": VAULT, "Name": "k1", "OutputFile": remote_file}),
    );
    drop(admin);
    // The reverse: the vault's blob given to a local store (the endpoint's blob is its own
    // store's format, refused as another store's; a real vault's is not ours at all).
    let mut again = remote_options(String::new());
    again.environment = None;
    again.vault_domain = None;
    again.ca_file = None;
    again.access_token = None;
    again.retry_delay_milliseconds = None;
    let local = customer_key::open_session(again).unwrap();
    let restore = |file: &std::path::Path| {
        customer_key::registry()
            .call(
                &local,
                "Restore-KeyVaultKey",
                &json!({"VaultName": "local-v", "InputFile": file}),
            )
            .unwrap_err()
    };
    let e = restore(&remote_file);
    assert!(
        e.message.contains("made by another CustomerKey store"),
        "{e}"
    );
    let azure_like = dir.0.join("azure.keybackup");
    std::fs::write(&azure_like, b"\x26\x01opaque-azure-key-vault-backup-blob").unwrap();
    let e = restore(&azure_like);
    assert!(
        e.message.contains("restores only into an Azure vault"),
        "{e}"
    );
}

#[test]
fn listings_follow_next_link_across_pages() {
    let ep = Endpoint::start("remote-pages", &[VAULT], ServeOptions::default());
    // More than the endpoint's page (25), made on its own engine for speed.
    for i in 0..30 {
        ep.admin(
            "Add-KeyVaultKey",
            json!({"VaultName": VAULT, "Name": format!("k{i:02}")}),
        );
    }
    for _ in 0..27 {
        ep.admin(
            "Add-KeyVaultKey",
            json!({"VaultName": VAULT, "Name": "k00"}),
        );
    }
    let (admin, _) = admin_for(&ep, "remote-pages-admin", &[VAULT], &["get", "list"]);
    // The requests the endpoint answered, from its audit: one row per keys request.
    let requests = || {
        ep.session
            .store()
            .audit_log()
            .unwrap()
            .iter()
            .filter(|row| row.2 == "Get-KeyVaultKey")
            .count()
    };
    let before = requests();
    let keys = admin.ok("Get-KeyVaultKey", json!({"VaultName": VAULT}));
    assert_eq!(keys.as_array().unwrap().len(), 30);
    // One request per page (25 keys a page), none per key: as Az lists.
    assert_eq!(requests() - before, 2, "requests for a listing of 30 keys");
    // The listing's items carry what Key Vault lists: no key material, type or size, and no
    // version (a vault's listing names none); the property names are those of a key.
    let first = &keys[0];
    assert_eq!(first["Name"], "k00");
    assert_eq!(
        first["Id"],
        format!("https://{VAULT}.localhost:{}/keys/k00", ep.port)
    );
    for absent in ["Key", "KeyType", "KeySize", "Version"] {
        assert!(first[absent].is_null(), "{absent}: {first}");
    }
    assert!(first["Attributes"]["KeyOps"].is_null(), "{first}");
    assert_eq!(first["Enabled"], true);
    assert!(first["Created"].is_string() && first["Updated"].is_string());
    assert_eq!(first["RecoveryLevel"], "Recoverable+Purgeable");
    assert_eq!(first["RecoverableDays"], 90);

    let before = requests();
    let versions = admin.ok(
        "Get-KeyVaultKey",
        json!({"VaultName": VAULT, "Name": "k00", "IncludeVersions": true}),
    );
    assert_eq!(versions.as_array().unwrap().len(), 28);
    assert_eq!(
        requests() - before,
        2,
        "requests for a listing of 28 versions"
    );
    assert!(versions
        .as_array()
        .unwrap()
        .iter()
        .all(|v| v["Version"].as_str().is_some_and(|v| v.len() == 32) && v["Key"].is_null()));

    // One key asked for by name: one request, with its public key.
    let before = requests();
    let one = admin.ok(
        "Get-KeyVaultKey",
        json!({"VaultName": VAULT, "Name": "k01"}),
    );
    assert_eq!(requests() - before, 1);
    assert_eq!(one[0]["Key"]["E"], "AQAB");
    assert_eq!(one[0]["KeySize"], 2048);
    assert_eq!(one[0]["KeyType"], "RSA");
}

#[test]
fn key_vault_errors_keep_their_code_and_get_our_category() {
    let ep = Endpoint::start("remote-errors", &[VAULT], ServeOptions::default());
    ep.admin("Add-KeyVaultKey", json!({"VaultName": VAULT, "Name": "k1"}));
    let (reader, _) = admin_for(&ep, "remote-errors-reader", &[VAULT], &["get"]);
    let e = reader.err(
        "Get-KeyVaultKey",
        json!({"VaultName": VAULT, "Name": "nope"}),
    );
    assert_eq!(
        (e.code.as_str(), e.category()),
        ("KeyNotFound", "ObjectNotFound")
    );
    let e = reader.err("Add-KeyVaultKey", json!({"VaultName": VAULT, "Name": "k2"}));
    assert_eq!(
        (e.code.as_str(), e.category()),
        ("Forbidden", "PermissionDenied")
    );
    assert!(e.message.contains("create"), "{e}");
    // 401: a token the endpoint never issued; a given token cannot be refreshed.
    let dir = serve_common::tempdir::Dir::new("remote-errors-bad-token");
    let o = remote_common::options(&ep, &dir, Some("not-a-token".into()));
    let stranger = remote_common::admin_with(o, dir);
    let e = stranger.err("Get-KeyVaultKey", json!({"VaultName": VAULT, "Name": "k1"}));
    assert_eq!(e.category(), "AuthenticationError", "{e}");
    assert!(!e.message.contains("not-a-token") && !e.to_string().contains("not-a-token"));
    assert!(!stranger.audit_text().contains("not-a-token"));
    // A vault the endpoint does not serve: its 404 (VaultNotFound or similar).
    let e = reader.err(
        "Get-KeyVaultKey",
        json!({"VaultName": "no-such-vault", "Name": "k1"}),
    );
    assert!(
        [
            "ObjectNotFound",
            "PermissionDenied",
            "AuthenticationError",
            "ConnectionError"
        ]
        .contains(&e.category()),
        "{e}"
    );
    // Bad input is ours, before any request.
    let e = reader.err(
        "Get-KeyVaultKey",
        json!({"VaultName": VAULT, "Name": "k1", "Version": "nothex"}),
    );
    assert_eq!(e.target, "Version");
}

#[test]
fn throttling_is_retried_after_the_services_wait_or_with_backoff_then_reported() {
    let ep = Endpoint::start(
        "remote-throttle",
        &[VAULT],
        ServeOptions {
            throttle: Some(3),
            ..ServeOptions::default()
        },
    );
    ep.admin("Add-KeyVaultKey", json!({"VaultName": VAULT, "Name": "k1"}));
    let (admin, _) = admin_for(&ep, "remote-throttle-admin", &[VAULT], &["get"]);
    for _ in 0..3 {
        admin.ok("Get-KeyVaultKey", json!({"VaultName": VAULT, "Name": "k1"}));
    }
    // The fourth request is throttled with Retry-After (whole seconds, up to the window's
    // end): the client waits that long (its own backoff is 20 ms here) and then succeeds.
    let start = Instant::now();
    admin.ok("Get-KeyVaultKey", json!({"VaultName": VAULT, "Name": "k1"}));
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(900), "{waited:?}");
    println!("throttled call succeeded after {waited:?} (Retry-After honoured)");

    // Without Retry-After and with few retries: the backoff (20, 40, 80 ms) and then the
    // service's 429 as LimitsExceeded.
    let quiet = Endpoint::start(
        "remote-throttle-quiet",
        &[VAULT],
        ServeOptions {
            throttle: Some(1),
            throttle_without_retry_after: true,
            ..ServeOptions::default()
        },
    );
    quiet.admin("Add-KeyVaultKey", json!({"VaultName": VAULT, "Name": "k1"}));
    let (app, secret) = quiet.principal_with(VAULT, &["get"]);
    let token = quiet.token(&app, &secret);
    let dir = serve_common::tempdir::Dir::new("remote-throttle-quiet-admin");
    let mut o = remote_common::options(&quiet, &dir, Some(token));
    o.max_retries = Some(3);
    let admin = remote_common::admin_with(o, dir);
    admin.ok("Get-KeyVaultKey", json!({"VaultName": VAULT, "Name": "k1"}));
    let start = Instant::now();
    let e = admin.err("Get-KeyVaultKey", json!({"VaultName": VAULT, "Name": "k1"}));
    let waited = start.elapsed();
    assert_eq!(
        (e.code.as_str(), e.category()),
        ("Throttled", "LimitsExceeded")
    );
    assert!(e.message.contains("after the retries"), "{e}");
    // 20 + 40 + 80 ms, each within a fifth either way.
    assert!(waited >= Duration::from_millis(112), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
}

#[test]
fn an_exchange_policy_with_keys_behind_the_endpoint_locks_its_mailboxes_when_access_is_revoked() {
    let ep = Endpoint::start("remote-exo", &[], ServeOptions::default());
    let vaults = ["contoso-exo-a", "contoso-exo-b"];
    let ids = ep.key_pair_for_policy(vaults);
    let (admin, app) = admin_for(
        &ep,
        "remote-exo-admin",
        &vaults,
        &["get", "wrapKey", "unwrapKey", "update"],
    );
    // The workload's code is unchanged: it reaches the keys through the boundary, remote now.
    remote_common::encrypted_mailbox(&admin, &ids);
    // The endpoint saw the workload's unwraps.
    let served_audit = format!("{:?}", ep.session.store().audit_log().unwrap());
    assert!(served_audit.contains("Unwrap"), "{served_audit}");

    // A mailbox moved to the policy later: the background job re-encrypts it, reaching the
    // keys behind the endpoint too.
    admin.ok(
        "New-Mailbox",
        json!({"Name": "User bob", "Alias": "bob", "PrimarySmtpAddress": "bob@contoso.com"}),
    );
    admin.ok(
        "Add-MailboxItem",
        json!({"Identity": "bob", "Subject": "moved", "Body": "hi"}),
    );
    admin.ok(
        "Set-Mailbox",
        json!({"Identity": "bob", "DataEncryptionPolicy": "DEP"}),
    );
    let start = Instant::now();
    loop {
        let s = admin.ok("Get-MailboxStatistics", json!({"Identity": "bob"}));
        if s["IsEncrypted"] == json!(true) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the job did not finish: {s}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let items = admin.ok("Get-MailboxItem", json!({"Identity": "bob"}));
    assert_eq!(items[0]["Subject"], "moved");

    // The policy's keys are protected as the engine protects its own: not disabled or deleted
    // in Azure without -Force.
    let e = admin.err(
        "Update-KeyVaultKey",
        json!({"VaultName": vaults[0], "Name": "exo-key", "Enable": false}),
    );
    assert_eq!(e.code, "KeyInUse", "{e}");
    let e = admin.err(
        "Remove-KeyVaultKey",
        json!({"VaultName": vaults[1], "Name": "exo-key"}),
    );
    assert_eq!(e.code, "KeyInUse", "{e}");
    let tagged = admin.ok(
        "Update-KeyVaultKey",
        json!({"VaultName": vaults[0], "Name": "exo-key", "Tag": {"dep": "DEP"}, "PassThru": true}),
    );
    assert_eq!(tagged["Tags"]["dep"], "DEP");

    // Revoked there: unreadable here.
    for v in vaults {
        ep.admin(
            "Remove-KeyVaultAccessPolicy",
            json!({"VaultName": v, "ServicePrincipalName": app}),
        );
    }
    let e = admin.err("Get-MailboxItem", json!({"Identity": "ada"}));
    assert_eq!(e.category(), "PermissionDenied", "{e}");
    // Access back on one vault: readable again.
    ep.admin(
        "Set-KeyVaultAccessPolicy",
        json!({"VaultName": vaults[0], "ServicePrincipalName": app, "PermissionsToKeys": ["get", "wrapKey", "unwrapKey"]}),
    );
    let items = admin.ok("Get-MailboxItem", json!({"Identity": "ada"}));
    assert_eq!(items[0]["Subject"], "kept");
}

#[test]
fn the_options_are_checked_and_the_cli_reaches_the_vault_with_a_token_from_a_file() {
    let ep = Endpoint::start("remote-cli", &[VAULT], ServeOptions::default());
    ep.admin("Add-KeyVaultKey", json!({"VaultName": VAULT, "Name": "k1"}));
    let (app, secret) = ep.principal_with(VAULT, &["get"]);
    let token = ep.token(&app, &secret);
    let dir = serve_common::tempdir::Dir::new("remote-cli-admin");
    let token_file = dir.0.join("token.txt");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    let ca = ep.server.as_ref().unwrap().info().ca_file.clone();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_customer-key"))
        .arg("--store")
        .arg(dir.0.join("store"))
        .args(["--environment", "AzureCloud"])
        .args(["--vault-domain", &format!("localhost:{}", ep.port)])
        .args(["--ca-file", &ca])
        .arg("--access-token-file")
        .arg(&token_file)
        .args(["Get-KeyVaultKey", "-VaultName", VAULT, "-Name", "k1"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let keys: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(keys[0]["Name"], "k1");
    assert!(!stdout.contains(&token));

    // ck_open's JSON: remote options only with an Azure Environment, each checked by name.
    let open = |options: Value| {
        customer_key::Session::open_json(&options, Vec::new(), customer_key::vault::open_azure)
            .map(|_| ())
            .unwrap_err()
    };
    let store = dir.0.join("store2").display().to_string();
    let e = open(json!({"Store": store, "VaultDomain": "localhost:1"}));
    assert_eq!(e.target, "VaultDomain");
    let e = open(json!({"Store": store, "Environment": "Mars"}));
    assert_eq!(e.target, "Environment");
    assert!(e.message.contains("AzureUSGovernment"), "{e}");
    let e = open(json!({"Store": store, "Environment": "AzureCloud", "VaultDomain": "bad domain"}));
    assert_eq!(e.target, "VaultDomain");
    let e = open(json!({"Store": store, "Environment": "AzureCloud", "ApiVersion": "7.6/../x"}));
    assert_eq!(e.target, "ApiVersion");
    let e = open(json!({"Store": store, "Environment": "AzureCloud", "CaFile": "relative.pem"}));
    assert_eq!(e.target, "CaFile");
    let e = open(json!({"Store": store, "Environment": "AzureCloud", "AccessToken": "  "}));
    assert_eq!(e.target, "AccessToken");
    let e = open(json!({"Store": store, "MaxRetries": 3}));
    assert_eq!(e.target, "MaxRetries");
    let e = open(json!({"Store": store, "GraphAccessToken": "t"}));
    assert_eq!(e.target, "GraphAccessToken");
    assert!(e.message.contains("only with an Azure Environment"), "{e}");
}

/// A GUID in its usual text form (the endpoint's request ids).
fn is_guid(id: &str) -> bool {
    id.len() == 36
        && id.char_indices().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

#[test]
fn a_failed_call_keeps_the_services_request_id_in_its_error_and_its_audit_row() {
    let ep = Endpoint::start("remote-request-id", &[VAULT], ServeOptions::default());
    let (admin, _) = admin_for(&ep, "remote-request-id-admin", &[VAULT], ALL_KEYS);
    // The endpoint gives every answer an x-ms-request-id of its own.
    let mut ids = Vec::new();
    for _ in 0..2 {
        let e = admin.err(
            "Get-KeyVaultKey",
            json!({"VaultName": VAULT, "Name": "missing"}),
        );
        assert_eq!(
            (e.code.as_str(), e.category()),
            ("KeyNotFound", "ObjectNotFound"),
            "{e}"
        );
        let id = e
            .request_id()
            .map(str::to_string)
            .expect("the 404's x-ms-request-id");
        assert!(is_guid(&id), "{id}");
        let envelope = e.envelope();
        assert_eq!(envelope["error"]["requestId"], id.as_str());
        assert!(
            envelope["error"].get("correlationId").is_none(),
            "{envelope}"
        );
        let message = envelope["error"]["message"].as_str().unwrap();
        assert!(
            message.ends_with(&format!("(x-ms-request-id: {id})")),
            "{message}"
        );
        assert!(
            admin
                .audit_text()
                .contains(&format!("Failed: KeyNotFound (x-ms-request-id: {id})")),
            "{}",
            admin.audit_text()
        );
        ids.push(id);
    }
    assert_ne!(ids[0], ids[1], "one id per request");
    // A success has no error, and a local failure (no answer) no request id.
    admin.ok("Add-KeyVaultKey", json!({"VaultName": VAULT, "Name": "k1"}));
    let e = admin.err(
        "Get-KeyVaultKey",
        json!({"VaultName": "Not_A_Vault!", "Name": "k1"}),
    );
    assert!(e.request_id().is_none(), "{e}");
    assert!(e.envelope()["error"].get("requestId").is_none());
}

#[test]
fn a_multi_workload_policy_with_keys_behind_the_endpoint_protects_tenant_data_until_access_is_revoked(
) {
    let ep = Endpoint::start("remote-m365", &[], ServeOptions::default());
    let vaults = ["contoso-m365-a", "contoso-m365-b"];
    let ids = ep.key_pair_for_policy(vaults);
    let (admin, app) = admin_for(
        &ep,
        "remote-m365-admin",
        &vaults,
        &["get", "wrapKey", "unwrapKey"],
    );
    let policy = admin.ok(
        "New-M365DataAtRestEncryptionPolicy",
        json!({"Name": "M365-R", "AzureKeyIDs": ids}),
    );
    let revision = policy["DataEncryptionPolicyID"].clone();
    admin.ok(
        "Set-M365DataAtRestEncryptionPolicyAssignment",
        json!({"DataEncryptionPolicy": "M365-R"}),
    );
    let start = Instant::now();
    while admin.ok("Get-M365DataAtRestEncryptionPolicyAssignment", json!({}))["State"] != "Assigned"
    {
        assert!(start.elapsed() < Duration::from_secs(60), "not assigned");
        std::thread::sleep(Duration::from_millis(20));
    }
    let added = admin.ok(
        "Add-M365DataItem",
        json!({"Workload": "TeamsChat", "Subject": "kept", "Body": "hello"}),
    );
    assert_eq!(added["DataEncryptionPolicyID"], revision);
    // Revoked in the vaults: unreadable here; back on one vault: readable again.
    for v in vaults {
        ep.admin(
            "Remove-KeyVaultAccessPolicy",
            json!({"VaultName": v, "ServicePrincipalName": app}),
        );
    }
    let e = admin.err("Get-M365DataItem", json!({}));
    assert_eq!(e.category(), "PermissionDenied", "{e}");
    ep.admin(
        "Set-KeyVaultAccessPolicy",
        json!({"VaultName": vaults[1], "ServicePrincipalName": app, "PermissionsToKeys": ["get", "wrapKey", "unwrapKey"]}),
    );
    let items = admin.ok("Get-M365DataItem", json!({}));
    assert_eq!(items[0]["Body"], "hello");
}
