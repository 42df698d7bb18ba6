//! Tokens for the remote target: client credentials from the environment (AZURE_* with
//! AZURE_AUTHORITY_HOST at the endpoint's token route) for Key Vault, Azure Resource Manager
//! and Microsoft Graph, the cache, expiry, the one refresh
//! on a 401, a revoked service principal; no token or secret in errors or the audit table.
//! One test: the environment variables are the process's. The endpoint and the admin's sessions
//! share a manual clock, which the test moves past a token's life instead of waiting it out.

mod remote_common;
mod serve_common;

use customer_key::serve::{ServeOptions, Server};
use customer_key::time::ManualClock;
use remote_common::{admin_clocked, admin_with};
use serde_json::json;
use serve_common::Endpoint;
use std::sync::Arc;
use std::time::Duration;

const VAULT: &str = "contoso-identity";

#[test]
fn client_credentials_are_fetched_cached_refreshed_and_never_shown() {
    let clock = ManualClock::new();
    let mut ep = Endpoint::start_clocked(
        "remote-identity",
        &[VAULT],
        ServeOptions {
            token_lifetime_seconds: 3600,
            ..ServeOptions::default()
        },
        clock.clock(),
    );
    ep.admin("Add-KeyVaultKey", json!({"VaultName": VAULT, "Name": "k1"}));
    let (app, secret) = ep.principal_with(VAULT, &["get", "list"]);
    // SAFETY (of the test): the only test of this binary, so nothing reads the environment
    // while it is changed.
    std::env::set_var("AZURE_TENANT_ID", "customerkey");
    std::env::set_var("AZURE_CLIENT_ID", &app);
    std::env::set_var("AZURE_CLIENT_SECRET", &secret);
    std::env::set_var(
        "AZURE_AUTHORITY_HOST",
        format!("https://localhost:{}", ep.port),
    );
    let dir = serve_common::tempdir::Dir::new("remote-identity-admin");
    let admin = admin_clocked(remote_common::options(&ep, &dir, None), dir, clock.clock());
    let get = || admin.call("Get-KeyVaultKey", json!({"VaultName": VAULT, "Name": "k1"}));
    get().expect("a token from the client credentials");
    get().expect("the cached token");

    // The same client credentials for Azure Resource Manager and Microsoft Graph, each scope's
    // token fetched and cached on its own: the service principal owns a vault (so Graph lets it
    // read the directory), grants a user access by user principal name and reads the policy
    // back with Graph's display names.
    const OWN_VAULT: &str = "contoso-identity-own";
    customer_key::registry()
        .call_json_as(
            &ep.session,
            &customer_key::Principal::service(&app),
            "New-KeyVault",
            &json!({"VaultName": OWN_VAULT, "Location": "westeurope"}),
        )
        .expect("the service principal creates its vault");
    let management_dir = serve_common::tempdir::Dir::new("remote-identity-management");
    let management = admin_with(
        customer_key::SessionOptions {
            management_endpoint: Some(format!("localhost:{}", ep.port)),
            graph_endpoint: Some(format!("localhost:{}", ep.port)),
            ..remote_common::options(&ep, &management_dir, None)
        },
        management_dir,
    );
    let at = json!({
        "VaultName": OWN_VAULT,
        "SubscriptionId": ep.session.store().subscription_id(),
        "ResourceGroupName": "customer-key",
    });
    let mut grant = at.clone();
    grant["UserPrincipalName"] = json!("dave@contoso.com");
    grant["PermissionsToKeys"] = json!(["get", "wrapKey"]);
    management
        .call("Set-KeyVaultAccessPolicy", grant)
        .expect("Graph and ARM tokens from the client credentials");
    let vault = management
        .call("Get-KeyVault", at.clone())
        .expect("the cached ARM token");
    let names: Vec<&str> = vault[0]["AccessPolicies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["DisplayName"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"dave@contoso.com"), "{names:?}");
    assert!(
        names.contains(&format!("automation ({app})").as_str()),
        "{names:?}"
    );

    // Past the token's life (an hour on both sides' clocks): a new one is fetched.
    clock.advance(Duration::from_secs(3601));
    get().expect("a token fetched again after expiry");

    // The endpoint restarted (its tokens are forgotten) while ours is still fresh: the 401's
    // challenge (authority and resource at the endpoint, checked against the vault's domain)
    // leads to one new token, and the call succeeds.
    let listen = std::net::SocketAddr::from(([127, 0, 0, 1], ep.port));
    ep.server.take().unwrap().shutdown();
    ep.server = Some(
        Server::start(
            Arc::clone(&ep.session),
            ServeOptions {
                listen,
                token_lifetime_seconds: 3600,
                ..ServeOptions::default()
            },
        )
        .unwrap(),
    );
    get().expect("refreshed once after the 401");

    // A given token cannot be refreshed: once the endpoint forgets it, the 401 is the answer.
    let token = ep.token(&app, &secret);
    let given_dir = serve_common::tempdir::Dir::new("remote-identity-given");
    let given = admin_with(
        remote_common::options(&ep, &given_dir, Some(token.clone())),
        given_dir,
    );
    given
        .call("Get-KeyVaultKey", json!({"VaultName": VAULT, "Name": "k1"}))
        .unwrap();

    // The service principal removed there: its secret and tokens stop working.
    ep.admin("Remove-ServicePrincipal", json!({"ApplicationId": app}));
    let e = given
        .call("Get-KeyVaultKey", json!({"VaultName": VAULT, "Name": "k1"}))
        .unwrap_err();
    assert_eq!(e.category(), "AuthenticationError", "{e}");
    let e = get().unwrap_err();
    assert_eq!(e.category(), "AuthenticationError", "{e}");
    assert!(
        e.message.contains("invalid_client") || e.message.contains("refused"),
        "{e}"
    );

    // No token or secret anywhere the admin can see.
    for text in [
        e.envelope().to_string(),
        admin.audit_text(),
        management.audit_text(),
        given.audit_text(),
        format!("{:?}", admin.session.info()),
    ] {
        assert!(!text.contains(&secret), "the client secret leaked: {text}");
        assert!(!text.contains(&token), "a token leaked: {text}");
    }
    for name in [
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_AUTHORITY_HOST",
    ] {
        std::env::remove_var(name);
    }
}
