//! The management plane of the remote target against `customer-key serve` started here:
//! Get-KeyVault, Set- and Remove-KeyVaultAccessPolicy go to the endpoint's Azure Resource
//! Manager routes (`/subscriptions/...`), principals are looked up on its Graph routes
//! (`/v1.0/...`), each with a token for its own audience; an Exchange policy whose service
//! principal's access is removed there locks its mailboxes here.

use crate::remote_common;
use crate::serve_common;

use crate::remote_common::{admin_with, Admin};
use crate::serve_common::Endpoint;
use customer_key::serve::ServeOptions;
use customer_key::SessionOptions;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const ARM_SCOPE: &str = "https://management.azure.com/.default";
const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";
const VAULT_SCOPE: &str = "https://vault.azure.net/.default";

/// Runs an engine operation on the endpoint's store as the service principal `app`.
struct Tokens {
    vault: Option<String>,
    management: Option<String>,
    graph: Option<String>,
}

impl Tokens {
    fn of(ep: &Endpoint, app: &str, secret: &str) -> Tokens {
        Tokens {
            vault: Some(ep.token_for(app, secret, VAULT_SCOPE)),
            management: Some(ep.token_for(app, secret, ARM_SCOPE)),
            graph: Some(ep.token_for(app, secret, GRAPH_SCOPE)),
        }
    }
    fn all(&self) -> Vec<&String> {
        [&self.vault, &self.management, &self.graph]
            .into_iter()
            .flatten()
            .collect()
    }
}

/// A remote session whose ARM and Graph endpoints are the endpoint's `localhost`.
fn management_admin(ep: &Endpoint, label: &str, tokens: &Tokens) -> Admin {
    let dir = serve_common::tempdir::Dir::new(label);
    let options = SessionOptions {
        management_endpoint: Some(format!("localhost:{}", ep.port)),
        graph_endpoint: Some(format!("https://localhost:{}/", ep.port)),
        management_access_token: tokens.management.clone().map(zeroize::Zeroizing::new),
        graph_access_token: tokens.graph.clone().map(zeroize::Zeroizing::new),
        ..remote_common::options(ep, &dir, tokens.vault.clone())
    };
    admin_with(options, dir)
}

fn subscription(ep: &Endpoint) -> String {
    ep.session.store().subscription_id().to_string()
}

/// The endpoint's own view of a vault's policy for `object_id`.
fn served_policy(ep: &Endpoint, vault: &str, object_id: &str) -> Option<Value> {
    let v = ep.admin("Get-KeyVault", json!({ "VaultName": vault }));
    v[0]["AccessPolicies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["ObjectId"] == object_id)
        .cloned()
}

fn object_id_of_service(app: &str) -> String {
    customer_key::crypto::name_guid(&format!("spn:{}", app.to_lowercase()))
}

#[test]
fn vaults_are_read_and_their_access_policies_changed_through_resource_manager_and_graph() {
    const VAULT: &str = "contoso-arm";
    let ep = Endpoint::start("arm", &[], ServeOptions::default());
    let (owner, owner_secret) = ep.service_principal("ck-automation");
    ep.as_principal(
        &owner,
        "New-KeyVault",
        json!({"VaultName": VAULT, "Location": "westeurope", "EnablePurgeProtection": true, "Tag": {"env": "test"}}),
    );
    // More vaults than a listing page holds (10): the subscription's listing has a nextLink.
    for i in 0..11 {
        ep.admin(
            "New-KeyVault",
            json!({"VaultName": format!("contoso-page-{i:02}"), "Location": "northeurope"}),
        );
    }
    let tokens = Tokens::of(&ep, &owner, &owner_secret);
    let admin = management_admin(&ep, "arm-admin", &tokens);
    let sub = subscription(&ep);
    let at = |extra: Value| {
        let mut args = json!({"VaultName": VAULT, "SubscriptionId": sub});
        args.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        args
    };

    // Get-KeyVault by resource group, and without it (found by listing, across pages).
    let by_group = admin.ok(
        "Get-KeyVault",
        at(json!({"ResourceGroupName": "customer-key"})),
    );
    let v = &by_group[0];
    assert_eq!(v["VaultName"], VAULT);
    assert_eq!(v["ResourceGroupName"], "customer-key");
    assert_eq!(v["Location"], "westeurope");
    assert_eq!(v["Sku"], "Standard");
    assert_eq!(v["EnablePurgeProtection"], true);
    assert_eq!(v["EnableSoftDelete"], true);
    assert_eq!(v["SoftDeleteRetentionInDays"], 90);
    assert_eq!(v["Tags"]["env"], "test");
    assert_eq!(
        v["VaultUri"],
        format!("https://{VAULT}.localhost:{}/", ep.port)
    );
    assert_eq!(v["TenantId"], ep.session.store().tenant_id());
    let local = ep.admin("Get-KeyVault", json!({"VaultName": VAULT}));
    assert_eq!(v["ResourceId"], local[0]["ResourceId"]);
    // The creator's policy: every key permission, under its object id.
    let creator = &v["AccessPolicies"][0];
    assert_eq!(creator["ObjectId"], object_id_of_service(&owner));
    assert_eq!(
        creator["PermissionsToKeys"].as_array().unwrap().len(),
        customer_key::vault::model::ALL_KEY_PERMISSIONS.len()
    );
    let listed = admin.ok("Get-KeyVault", at(json!({})));
    assert_eq!(listed[0]["VaultName"], VAULT);
    let last = admin.ok(
        "Get-KeyVault",
        json!({"VaultName": "contoso-page-10", "SubscriptionId": sub}),
    );
    assert_eq!(last[0]["Location"], "northeurope");
    let everything = admin.ok("Get-KeyVault", json!({"SubscriptionId": sub}));
    assert_eq!(everything.as_array().unwrap().len(), 12);
    let in_group = admin.ok(
        "Get-KeyVault",
        json!({"SubscriptionId": sub, "ResourceGroupName": "customer-key"}),
    );
    assert_eq!(in_group.as_array().unwrap().len(), 12);

    // By object id: set, then set again (the principal's permissions are replaced).
    let group = "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
    let shown = admin.ok(
        "Set-KeyVaultAccessPolicy",
        at(json!({"ObjectId": group, "PermissionsToKeys": ["get", "list"], "PassThru": true})),
    );
    assert!(shown["AccessPolicies"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["ObjectId"] == group && p["PermissionsToKeys"] == json!(["get", "list"])));
    admin.ok(
        "Set-KeyVaultAccessPolicy",
        at(json!({"ObjectId": group, "PermissionsToKeys": ["wrapKey"]})),
    );
    let p = served_policy(&ep, VAULT, group).unwrap();
    assert_eq!(p["PermissionsToKeys"], json!(["wrapKey"]));

    // By user principal name, looked up in Graph: the endpoint's policy names the user.
    let carol = customer_key::crypto::name_guid("carol@contoso.com");
    admin.ok(
        "Set-KeyVaultAccessPolicy",
        at(json!({"UserPrincipalName": "carol@contoso.com", "PermissionsToKeys": ["get"]})),
    );
    let p = served_policy(&ep, VAULT, &carol).unwrap();
    assert_eq!(p["DisplayName"], "carol@contoso.com");

    // By service principal (application id), looked up in Graph.
    let (other, other_secret) = ep.service_principal("ck-reader");
    admin.ok(
        "Set-KeyVaultAccessPolicy",
        at(json!({"ServicePrincipalName": other, "PermissionsToKeys": ["get", "list"]})),
    );
    let p = served_policy(&ep, VAULT, &object_id_of_service(&other)).unwrap();
    assert_eq!(p["ApplicationId"], other.as_str());
    let e = admin.err(
        "Set-KeyVaultAccessPolicy",
        at(json!({"ServicePrincipalName": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "PermissionsToKeys": ["get"]})),
    );
    assert_eq!(
        (e.code.as_str(), e.target.as_str()),
        ("PrincipalNotFound", "ServicePrincipalName"),
        "{e}"
    );
    // No principal in an answer that is a success: no request id. Graph's 404 for a user
    // (the endpoint's Graph knows no user principal name over 113 characters) gives one,
    // kept on the error made from it.
    assert!(e.request_id().is_none(), "{e}");
    let e = admin.err(
        "Set-KeyVaultAccessPolicy",
        at(json!({"UserPrincipalName": format!("{}@contoso.com", "n".repeat(110)), "PermissionsToKeys": ["get"]})),
    );
    assert_eq!(e.code, "PrincipalNotFound", "{e}");
    let graph_id = e
        .request_id()
        .map(str::to_string)
        .expect("Graph's x-ms-request-id");
    assert!(
        e.message.contains(&format!("x-ms-request-id: {graph_id}")),
        "{e}"
    );
    assert_eq!(e.envelope()["error"]["requestId"], graph_id.as_str());

    // DisplayName as Az shows it, from Graph's getByIds: "name (application id)" for a
    // service principal, the user principal name for a user; an id Graph does not know stays.
    let named = admin.ok(
        "Get-KeyVault",
        at(json!({"ResourceGroupName": "customer-key"})),
    );
    let display_name = |v: &Value, object_id: &str| {
        v["AccessPolicies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["ObjectId"] == object_id)
            .map(|p| p["DisplayName"].as_str().unwrap().to_string())
    };
    let creator_id = object_id_of_service(&owner);
    assert_eq!(
        display_name(&named[0], &creator_id).unwrap(),
        format!("ck-automation ({owner})")
    );
    assert_eq!(
        display_name(&named[0], &object_id_of_service(&other)).unwrap(),
        format!("ck-reader ({other})")
    );
    assert_eq!(
        display_name(&named[0], &carol).unwrap(),
        "carol@contoso.com"
    );
    assert_eq!(display_name(&named[0], group).unwrap(), group);

    // Remove, by user principal name; a second removal finds nothing.
    admin.ok(
        "Remove-KeyVaultAccessPolicy",
        at(json!({"UserPrincipalName": "carol@contoso.com"})),
    );
    assert!(served_policy(&ep, VAULT, &carol).is_none());
    let e = admin.err(
        "Remove-KeyVaultAccessPolicy",
        at(json!({"UserPrincipalName": "carol@contoso.com"})),
    );
    assert_eq!(
        (e.code.as_str(), e.category()),
        ("AccessPolicyNotFound", "ObjectNotFound")
    );
    let after = admin.ok(
        "Remove-KeyVaultAccessPolicy",
        at(json!({"ObjectId": group, "PassThru": true})),
    );
    assert!(!after["AccessPolicies"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["ObjectId"] == group));

    // ARM's errors with our categories.
    let e = admin.err(
        "Get-KeyVault",
        json!({"VaultName": "contoso-none", "SubscriptionId": sub, "ResourceGroupName": "customer-key"}),
    );
    assert_eq!(
        (e.code.as_str(), e.category()),
        ("ResourceNotFound", "ObjectNotFound"),
        "{e}"
    );
    // Resource Manager's request and correlation ids, in the error and the audit row.
    let request_id = e
        .request_id()
        .map(str::to_string)
        .expect("ARM's x-ms-request-id");
    let correlation_id = e
        .correlation_id()
        .map(str::to_string)
        .expect("ARM's correlation id");
    let ids =
        format!("x-ms-request-id: {request_id}, x-ms-correlation-request-id: {correlation_id}");
    assert!(e.message.ends_with(&format!("({ids})")), "{e}");
    assert_eq!(e.envelope()["error"]["requestId"], request_id.as_str());
    assert_eq!(
        e.envelope()["error"]["correlationId"],
        correlation_id.as_str()
    );
    assert!(
        admin
            .audit_text()
            .contains(&format!("Failed: ResourceNotFound ({ids})")),
        "{}",
        admin.audit_text()
    );
    let e = admin.err(
        "Get-KeyVault",
        at(json!({"ResourceGroupName": "rg-elsewhere"})),
    );
    assert_eq!(e.code, "ResourceGroupNotFound", "{e}");
    let e = admin.err(
        "Get-KeyVault",
        json!({"VaultName": "contoso-none", "SubscriptionId": sub}),
    );
    assert_eq!(e.category(), "ObjectNotFound", "{e}");
    assert!(e.message.contains("-ResourceGroupName"), "{e}");
    let e = admin.err(
        "Get-KeyVault",
        json!({"VaultName": VAULT, "SubscriptionId": "00000000-0000-0000-0000-000000000001"}),
    );
    assert_eq!(e.code, "SubscriptionNotFound", "{e}");
    // No -SubscriptionId and no AZURE_SUBSCRIPTION_ID: the error names both. (A machine that
    // sets the variable for its own Azure work skips this one check.)
    if std::env::var_os("AZURE_SUBSCRIPTION_ID").is_none() {
        let e = admin.err("Get-KeyVault", json!({"VaultName": VAULT}));
        assert_eq!(
            (e.category(), e.target.as_str()),
            ("InvalidArgument", "SubscriptionId")
        );
        assert!(e.message.contains("AZURE_SUBSCRIPTION_ID"), "{e}");
    } else {
        eprintln!("AZURE_SUBSCRIPTION_ID is set here: the missing-subscription check is skipped");
    }
    let e = admin.err("Get-KeyVault", at(json!({"InRemovedState": true})));
    assert_eq!(e.code, "NotSupportedRemotely");

    // A principal that does not own the vault: ARM's 403, and Graph's 403 says -ObjectId.
    let reader_tokens = Tokens::of(&ep, &other, &other_secret);
    let reader = management_admin(&ep, "arm-reader", &reader_tokens);
    // Graph refuses it the directory: the vault still reads, its policies named by object id.
    let unnamed = reader.ok(
        "Get-KeyVault",
        at(json!({"ResourceGroupName": "customer-key"})),
    );
    assert_eq!(display_name(&unnamed[0], &creator_id).unwrap(), creator_id);
    let e = reader.err(
        "Set-KeyVaultAccessPolicy",
        at(json!({"ObjectId": group, "PermissionsToKeys": ["get"]})),
    );
    assert_eq!(
        (e.code.as_str(), e.category()),
        ("AuthorizationFailed", "PermissionDenied"),
        "{e}"
    );
    let e = reader.err(
        "Set-KeyVaultAccessPolicy",
        at(json!({"UserPrincipalName": "dave@contoso.com", "PermissionsToKeys": ["get"]})),
    );
    assert_eq!(e.category(), "PermissionDenied", "{e}");
    assert_eq!(e.target, "UserPrincipalName");
    assert!(e.message.contains("-ObjectId"), "{e}");
    // Reads are anyone's, as the engine's Get-KeyVault is.
    reader.ok(
        "Get-KeyVault",
        at(json!({"ResourceGroupName": "customer-key"})),
    );

    // Tokens are bound to their audience: a Key Vault token is refused by ARM and Graph (and
    // Graph's refusal says -ObjectId), an ARM token by the vaults.
    let crossed = Tokens {
        vault: tokens.management.clone(),
        management: tokens.vault.clone(),
        graph: tokens.vault.clone(),
    };
    let confused = management_admin(&ep, "arm-crossed", &crossed);
    let e = confused.err(
        "Get-KeyVault",
        at(json!({"ResourceGroupName": "customer-key"})),
    );
    assert_eq!(e.category(), "AuthenticationError", "{e}");
    let e = confused.err(
        "Remove-KeyVaultAccessPolicy",
        at(json!({"UserPrincipalName": "carol@contoso.com"})),
    );
    assert_eq!(e.category(), "AuthenticationError", "{e}");
    assert!(e.message.contains("-ObjectId"), "{e}");
    let e = confused.err("Get-KeyVaultKey", json!({"VaultName": VAULT}));
    assert_eq!(e.category(), "AuthenticationError", "{e}");

    // The local engine: the store's subscription and its one resource group, nothing else.
    let e = customer_key::registry()
        .call(
            &ep.session,
            "Get-KeyVault",
            &json!({"VaultName": VAULT, "ResourceGroupName": "rg-elsewhere"}),
        )
        .unwrap_err();
    assert_eq!(e.code, "ResourceGroupNotFound");
    ep.admin(
        "Get-KeyVault",
        json!({"VaultName": VAULT, "ResourceGroupName": "customer-key", "SubscriptionId": sub}),
    );

    // The CLI: endpoints and token files.
    let dir = serve_common::tempdir::Dir::new("arm-cli");
    let write = |name: &str, token: &Option<String>| {
        let path = dir.0.join(name);
        std::fs::write(&path, token.as_deref().unwrap()).unwrap();
        path
    };
    let vault_file = write("vault.txt", &tokens.vault);
    let arm_file = write("arm.txt", &tokens.management);
    let ca = ep.server.as_ref().unwrap().info().ca_file.clone();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_customer-key"))
        .arg("--store")
        .arg(dir.0.join("store"))
        .args(["--environment", "AzureCloud"])
        .args(["--vault-domain", &format!("localhost:{}", ep.port)])
        .args(["--management-endpoint", &format!("localhost:{}", ep.port)])
        .args(["--ca-file", &ca])
        .arg("--access-token-file")
        .arg(&vault_file)
        .arg("--management-access-token-file")
        .arg(&arm_file)
        .args(["Get-KeyVault", "-VaultName", VAULT, "-SubscriptionId", &sub])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(shown[0]["VaultName"], VAULT);

    // The options are checked by name; no token anywhere the admin can see.
    let open = |options: Value| {
        customer_key::Session::open_json(&options, Vec::new(), customer_key::vault::open_azure)
            .map(|_| ())
            .unwrap_err()
    };
    let store = dir.0.join("store2").display().to_string();
    let e = open(json!({"Store": store, "ManagementEndpoint": "localhost:1"}));
    assert_eq!(e.target, "ManagementEndpoint");
    let e = open(
        json!({"Store": store, "Environment": "AzureCloud", "GraphEndpoint": "http://localhost:1"}),
    );
    assert_eq!(e.target, "GraphEndpoint");
    let e =
        open(json!({"Store": store, "Environment": "AzureCloud", "ManagementAccessToken": " "}));
    assert_eq!(e.target, "ManagementAccessToken");
    for text in [
        admin.audit_text(),
        reader.audit_text(),
        confused.audit_text(),
        e.envelope().to_string(),
        stdout.to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
        format!("{:?}", ep.session.store().audit_log().unwrap()),
    ] {
        for t in tokens.all().into_iter().chain(reader_tokens.all()) {
            assert!(!text.contains(t.as_str()), "a token leaked: {text}");
        }
        assert!(!text.contains(&owner_secret) && !text.contains(&other_secret));
    }
}

#[test]
fn an_exchange_policy_locks_its_mailboxes_when_its_access_policy_is_removed_through_arm() {
    let ep = Endpoint::start("arm-exo", &[], ServeOptions::default());
    let (app, secret) = ep.service_principal("exo-rehearsal");
    let vaults = ["contoso-arm-exo-a", "contoso-arm-exo-b"];
    let mut ids = Vec::new();
    for (vault, location) in vaults.iter().zip(["westeurope", "northeurope"]) {
        ep.as_principal(
            &app,
            "New-KeyVault",
            json!({"VaultName": vault, "Location": location, "EnablePurgeProtection": true}),
        );
        ep.as_principal(
            &app,
            "Add-KeyVaultKey",
            json!({"VaultName": vault, "Name": "exo-key", "KeyOps": ["wrapKey", "unwrapKey"]}),
        );
        ids.push(format!(
            "https://{vault}.localhost:{}/keys/exo-key",
            ep.port
        ));
    }
    let tokens = Tokens::of(&ep, &app, &secret);
    let admin = management_admin(&ep, "arm-exo-admin", &tokens);
    let sub = subscription(&ep);
    remote_common::encrypted_mailbox(&admin, &ids);

    // The preview the cmdlet makes before ShouldProcess answers in a remote session, from the
    // store's own references: Exchange's access is what the policy needs.
    let impact = admin.ok(
        "Get-KeyVaultChangeImpact",
        json!({"VaultName": vaults[0], "ServicePrincipalName": "00000002-0000-0ff1-ce00-000000000000"}),
    );
    assert_eq!(impact["InUse"], true, "{impact}");
    assert_eq!(impact["Workload"], "Exchange");
    assert_eq!(impact["MailboxesNeedingIt"], 1, "{impact}");
    let by_key = admin.ok(
        "Get-KeyVaultChangeImpact",
        json!({"VaultName": vaults[1], "Name": "exo-key"}),
    );
    assert_eq!(by_key["InUse"], true, "{by_key}");

    // Revoked through ARM (the session's principal stands for Exchange): unreadable here.
    for v in vaults {
        admin.ok(
            "Remove-KeyVaultAccessPolicy",
            json!({"VaultName": v, "SubscriptionId": sub, "ServicePrincipalName": app}),
        );
    }
    let e = admin.err("Get-MailboxItem", json!({"Identity": "ada"}));
    assert_eq!(e.category(), "PermissionDenied", "{e}");
    // Access back on one vault, by object id: readable again.
    admin.ok(
        "Set-KeyVaultAccessPolicy",
        json!({"VaultName": vaults[0], "SubscriptionId": sub, "ResourceGroupName": "customer-key", "ObjectId": object_id_of_service(&app), "PermissionsToKeys": ["get", "wrapKey", "unwrapKey"]}),
    );
    let items = admin.ok("Get-MailboxItem", json!({"Identity": "ada"}));
    assert_eq!(items[0]["Subject"], "kept");
    // The policy set by object id names the service principal, as one set by application id.
    let p = served_policy(&ep, vaults[0], &object_id_of_service(&app)).unwrap();
    assert_eq!(p["ApplicationId"], app.as_str());
}

#[test]
fn resource_manager_throttling_is_waited_out_or_reported_as_limits_exceeded() {
    const VAULT: &str = "contoso-arm-throttle";
    let setup = |label: &str, without_retry_after: bool| {
        let ep = Endpoint::start(
            label,
            &[],
            ServeOptions {
                throttle: Some(2),
                throttle_without_retry_after: without_retry_after,
                ..ServeOptions::default()
            },
        );
        let (owner, secret) = ep.service_principal("ck-automation");
        ep.as_principal(
            &owner,
            "New-KeyVault",
            json!({"VaultName": VAULT, "Location": "westeurope"}),
        );
        let tokens = Tokens::of(&ep, &owner, &secret);
        (ep, tokens)
    };
    let (ep, tokens) = setup("arm-throttle", false);
    let args = json!({"VaultName": VAULT, "SubscriptionId": subscription(&ep), "ResourceGroupName": "customer-key"});
    // No Graph token, so each Get-KeyVault is one ARM request; the third is over the limit.
    let no_graph = Tokens {
        graph: None,
        ..tokens
    };
    let admin = management_admin(&ep, "arm-throttle-admin", &no_graph);
    admin.ok("Get-KeyVault", args.clone());
    admin.ok("Get-KeyVault", args.clone());
    // ARM's 429 with Retry-After (whole seconds, up to the window's end): waited out.
    let start = Instant::now();
    let v = admin.ok("Get-KeyVault", args.clone());
    let waited = start.elapsed();
    assert_eq!(v[0]["VaultName"], VAULT);
    assert!(waited >= Duration::from_millis(900), "{waited:?}");
    println!("throttled Get-KeyVault succeeded after {waited:?} (Retry-After honoured)");

    // Without Retry-After and few retries: the backoff, then ARM's code as LimitsExceeded.
    let (quiet, tokens) = setup("arm-throttle-quiet", true);
    let args = json!({"VaultName": VAULT, "SubscriptionId": subscription(&quiet), "ResourceGroupName": "customer-key"});
    let dir = serve_common::tempdir::Dir::new("arm-throttle-quiet-admin");
    let options = SessionOptions {
        management_endpoint: Some(format!("localhost:{}", quiet.port)),
        management_access_token: tokens.management.clone().map(zeroize::Zeroizing::new),
        max_retries: Some(2),
        ..remote_common::options(&quiet, &dir, tokens.vault.clone())
    };
    let admin = admin_with(options, dir);
    admin.ok("Get-KeyVault", args.clone());
    admin.ok("Get-KeyVault", args.clone());
    let start = Instant::now();
    let e = admin.err("Get-KeyVault", args);
    assert_eq!(
        (e.code.as_str(), e.category()),
        ("SubscriptionRequestsThrottled", "LimitsExceeded"),
        "{e}"
    );
    assert!(start.elapsed() < Duration::from_secs(5));
}
