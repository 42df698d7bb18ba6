//! Azure RBAC vaults end to end, through the remote target against `customer-key serve`
//! started here: Test-CustomerKeySetup reads the vaults' permission model from the endpoint's
//! Resource Manager routes and the Exchange service principal's role assignments from its
//! Microsoft.Authorization routes (fails without the role, passes once it is assigned through
//! a PUT of a role assignment, says that access policies are ignored); and the data plane of
//! an RBAC vault authorizes by role: a principal without one is refused wrapKey with Key
//! Vault's 403, with Key Vault Crypto Service Encryption User it wraps, and an access policy
//! changes nothing.

use crate::remote_common::{admin_as, Admin};
use crate::serve_common::{Endpoint, Response};
use base64::Engine;
use customer_key::serve::ServeOptions;
use serde_json::{json, Value};

const A: &str = "contoso-rbac-a";
const B: &str = "contoso-rbac-b";
const EXO: &str = "00000002-0000-0ff1-ce00-000000000000";
const SERVICE_ROLE: &str = "e147488a-f6f5-4113-8e2d-b22465e65bf6";
const AUTHORIZATION_API: &str = "api-version=2022-04-01";

/// The endpoint's store with two RBAC vaults an automation principal created (it assigns
/// itself Key Vault Crypto Officer to make their keys: in RBAC mode the creator gets no access
/// policy), an HSM key in each, and an access policy for Exchange Online that RBAC ignores.
fn served_rbac_pair() -> (Endpoint, String, String) {
    let ep = Endpoint::start("setup-rbac", &[], ServeOptions::default());
    let (owner, secret) = ep.service_principal("ck-automation");
    for (vault, location) in [(A, "westeurope"), (B, "francecentral")] {
        let v = ep.as_principal(
            &owner,
            "New-KeyVault",
            json!({"VaultName": vault, "Location": location, "Sku": "Premium", "EnablePurgeProtection": true, "EnableRbacAuthorization": true}),
        );
        assert_eq!(v["EnableRbacAuthorization"], json!(true), "{v}");
        assert_eq!(v["AccessPolicies"], json!([]), "{v}");
        let refused = customer_key::registry()
            .call_json_as(
                &ep.session,
                &customer_key::Principal::service(&owner),
                "Add-KeyVaultKey",
                &json!({"VaultName": vault, "Name": "ck-key"}),
            )
            .unwrap_err();
        assert_eq!(refused.code, "ForbiddenByRbac", "{refused:?}");
        assert!(
            refused
                .message
                .contains("Microsoft.KeyVault/vaults/keys/create/action"),
            "{refused:?}"
        );
        ep.as_principal(
            &owner,
            "New-RoleAssignment",
            json!({"ApplicationId": owner, "RoleDefinitionName": "Key Vault Crypto Officer", "Scope": v["ResourceId"]}),
        );
        ep.as_principal(
            &owner,
            "Add-KeyVaultKey",
            json!({"VaultName": vault, "Name": "ck-key", "Destination": "HSM", "KeyOps": ["wrapKey", "unwrapKey"]}),
        );
        ep.as_principal(
            &owner,
            "Set-KeyVaultAccessPolicy",
            json!({"VaultName": vault, "ServicePrincipalName": EXO, "PermissionsToKeys": ["get", "wrapKey", "unwrapKey"]}),
        );
    }
    (ep, owner, secret)
}

fn check(admin: &Admin, ep: &Endpoint) -> Vec<Value> {
    let ids: Vec<String> = [A, B]
        .iter()
        .map(|v| format!("https://{v}.localhost:{}/keys/ck-key", ep.port))
        .collect();
    admin
        .ok(
            "Test-CustomerKeySetup",
            json!({"Workload": "Exchange", "AzureKeyIDs": ids}),
        )
        .as_array()
        .cloned()
        .unwrap()
}

fn row<'a>(rows: &'a [Value], check: &str, target: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["Check"] == check && r["Target"].as_str().unwrap().contains(target))
        .unwrap_or_else(|| panic!("no {check} row for {target}: {rows:#?}"))
}

fn text(v: &Value, field: &str) -> String {
    v[field].as_str().unwrap_or_default().to_string()
}

fn vault_id(ep: &Endpoint, vault: &str) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/customer-key/providers/Microsoft.KeyVault/vaults/{vault}",
        ep.session.store().subscription_id()
    )
}

/// A Resource Manager request with a management token.
fn arm(ep: &Endpoint, token: &str, method: &str, path: &str, body: Option<Value>) -> Response {
    let auth = format!("Bearer {token}");
    let mut headers = vec![("authorization", auth.as_str())];
    if body.is_some() {
        headers.push(("content-type", "application/json"));
    }
    ep.send(
        "localhost",
        method,
        path,
        &headers,
        body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
    )
}

/// PUTs a role assignment of `role` to the principal `object_id` at the vault's scope.
fn assign(
    ep: &Endpoint,
    token: &str,
    vault: &str,
    name: &str,
    object_id: &str,
    role: &str,
) -> Response {
    let subscription = ep.session.store().subscription_id().to_string();
    arm(
        ep,
        token,
        "PUT",
        &format!(
            "{}/providers/Microsoft.Authorization/roleAssignments/{name}?{AUTHORIZATION_API}",
            vault_id(ep, vault)
        ),
        Some(json!({"properties": {
            "roleDefinitionId": format!("/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{role}"),
            "principalId": object_id,
            "principalType": "ServicePrincipal",
        }})),
    )
}

/// The object id Graph gives a service principal, asked as Az asks it.
fn graph_object_id(ep: &Endpoint, token: &str, app: &str) -> String {
    let r = ep.send(
        "localhost",
        "GET",
        &format!("/v1.0/servicePrincipals?$filter=appId%20eq%20'{app}'"),
        &[("authorization", &format!("Bearer {token}"))],
        Vec::new(),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["value"][0]["id"].as_str().unwrap().to_string()
}

#[test]
fn rbac_vaults_are_judged_by_role_assignments_read_from_resource_manager() {
    let (ep, owner, secret) = served_rbac_pair();
    let admin = admin_as(&ep, "setup-rbac-admin", &owner, &secret, true);
    // Resource Manager shows the permission model the engine keeps.
    let listed = admin.ok("Get-KeyVault", json!({"VaultName": A}));
    let listed = if listed.is_array() {
        listed[0].clone()
    } else {
        listed
    };
    assert_eq!(listed["EnableRbacAuthorization"], json!(true), "{listed}");

    // No role for Exchange Online: both checks fail, with New-AzRoleAssignment as the fix,
    // and the access policy it has is said to be ignored.
    let rows = check(&admin, &ep);
    for vault in [A, B] {
        let model = row(&rows, "PermissionModel", vault);
        assert_eq!(model["Status"], "Fail", "{model:#}");
        assert!(text(model, "Detail").contains("ignored"), "{model:#}");
        let access = row(&rows, "ServicePrincipalAccess", vault);
        assert_eq!(access["Status"], "Fail", "{access:#}");
        for r in [model, access] {
            let fix = text(r, "Remediation");
            assert!(
                fix.contains("New-AzRoleAssignment")
                    && fix.contains(EXO)
                    && fix.contains("Key Vault Crypto Service Encryption User")
                    && fix.contains(&vault_id(&ep, vault)),
                "{r:#}"
            );
            let ck = text(r, "RemediationCk");
            assert!(ck.contains("New-CkRoleAssignment"), "{r:#}");
        }
    }

    // The fix, as New-AzRoleAssignment sends it: a PUT at the vault's scope.
    let management = ep.token_for(&owner, &secret, "https://management.azure.com/.default");
    let graph = ep.token_for(&owner, &secret, "https://graph.microsoft.com/.default");
    let exo = graph_object_id(&ep, &graph, EXO);
    let names = [
        "7a1d6c1e-2b3c-4d5e-8f90-a1b2c3d4e5f6",
        "8b2e7d2f-3c4d-4e6f-9a01-b2c3d4e5f6a7",
    ];
    {
        let (vault, name) = (A, names[0]);
        let created = assign(&ep, &management, vault, name, &exo, SERVICE_ROLE);
        assert_eq!(created.status, 201, "{:?}", created.body);
        assert_eq!(created.body["name"], json!(name));
        assert_eq!(created.body["properties"]["principalId"], json!(exo));
        assert_eq!(
            created.body["properties"]["principalType"],
            json!("ServicePrincipal")
        );
        assert_eq!(
            created.body["properties"]["scope"],
            json!(vault_id(&ep, vault))
        );
        // The same PUT again is the same assignment; another role under its name is refused.
        let again = assign(&ep, &management, vault, name, &exo, SERVICE_ROLE);
        assert_eq!(again.status, 200, "{:?}", again.body);
        let changed = assign(
            &ep,
            &management,
            vault,
            name,
            &exo,
            "21090545-7ca7-4776-b22c-e363652d74d2",
        );
        assert_eq!(changed.status, 400, "{:?}", changed.body);
    }
    // The other vault's fix as its RemediationCk gives it, run through the remote target.
    let assigned = admin.ok(
        "New-RoleAssignment",
        json!({"ApplicationId": EXO, "RoleDefinitionName": "Key Vault Crypto Service Encryption User", "Scope": vault_id(&ep, B), "RoleAssignmentName": names[1]}),
    );
    assert_eq!(assigned["ObjectId"], json!(exo), "{assigned}");
    assert_eq!(assigned["RoleDefinitionId"], SERVICE_ROLE, "{assigned}");
    assert_eq!(assigned["ObjectType"], "ServicePrincipal", "{assigned}");
    let read = admin.ok(
        "Get-RoleAssignment",
        json!({"Scope": vault_id(&ep, B), "ApplicationId": EXO}),
    );
    assert_eq!(read.as_array().unwrap().len(), 1, "{read}");
    assert_eq!(
        read[0]["RoleDefinitionName"],
        "Key Vault Crypto Service Encryption User"
    );
    // Read back as the setup check and Get-AzRoleAssignment ask.
    let listing = arm(
        &ep,
        &management,
        "GET",
        &format!(
            "{}/providers/Microsoft.Authorization/roleAssignments?$filter=atScope()%20and%20assignedTo('{exo}')&{AUTHORIZATION_API}",
            vault_id(&ep, A)
        ),
        None,
    );
    assert_eq!(listing.status, 200, "{:?}", listing.body);
    let found = listing.body["value"].as_array().unwrap();
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0]["properties"]["roleDefinitionId"]
        .as_str()
        .unwrap()
        .ends_with(SERVICE_ROLE));

    // With the role: access passes; the model warns that the access policy is ignored.
    let rows = check(&admin, &ep);
    for vault in [A, B] {
        let access = row(&rows, "ServicePrincipalAccess", vault);
        assert_eq!(access["Status"], "Pass", "{access:#}");
        let model = row(&rows, "PermissionModel", vault);
        assert_eq!(model["Status"], "Warning", "{model:#}");
        assert!(text(model, "Detail").contains("ignored"), "{model:#}");
        assert!(
            text(model, "Remediation").contains("Remove-AzKeyVaultAccessPolicy"),
            "{model:#}"
        );
    }
    // Without the ignored policies, the model passes too.
    for vault in [A, B] {
        ep.as_principal(
            &owner,
            "Remove-KeyVaultAccessPolicy",
            json!({"VaultName": vault, "ServicePrincipalName": EXO}),
        );
    }
    let rows = check(&admin, &ep);
    for vault in [A, B] {
        for check in ["PermissionModel", "ServicePrincipalAccess"] {
            let r = row(&rows, check, vault);
            assert_eq!(r["Status"], "Pass", "{r:#}");
        }
    }

    // Exchange Online's own check reads its roles too: a policy over the two keys is made.
    let ids: Vec<String> = [A, B]
        .iter()
        .map(|v| format!("https://{v}.localhost:{}/keys/ck-key", ep.port))
        .collect();
    admin.ok(
        "New-DataEncryptionPolicy",
        json!({"Name": "DEP", "AzureKeyIDs": ids}),
    );

    // A DELETE of the assignment takes the access away again.
    let deleted = arm(
        &ep,
        &management,
        "DELETE",
        &format!(
            "{}/providers/Microsoft.Authorization/roleAssignments/{}?{AUTHORIZATION_API}",
            vault_id(&ep, A),
            names[0]
        ),
        None,
    );
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    let rows = check(&admin, &ep);
    assert_eq!(row(&rows, "ServicePrincipalAccess", A)["Status"], "Fail");
    assert_eq!(row(&rows, "ServicePrincipalAccess", B)["Status"], "Pass");
    let refused = admin.err(
        "New-DataEncryptionPolicy",
        json!({"Name": "DEP2", "AzureKeyIDs": ids}),
    );
    assert!(
        refused.message.contains(EXO) && refused.message.contains(A),
        "{refused:?}"
    );

    // Remove-RoleAssignment and Update-KeyVault through the remote target too.
    let removed = admin.ok(
        "Remove-RoleAssignment",
        json!({"ApplicationId": EXO, "RoleDefinitionName": "Key Vault Crypto Service Encryption User", "Scope": vault_id(&ep, B)}),
    );
    assert_eq!(removed["RoleAssignmentName"], names[1], "{removed}");
    let gone = admin.ok(
        "Get-RoleAssignment",
        json!({"Scope": vault_id(&ep, B), "ApplicationId": EXO}),
    );
    assert_eq!(gone, json!([]));
    let updated = admin.ok(
        "Update-KeyVault",
        json!({"VaultName": B, "EnableRbacAuthorization": false}),
    );
    assert_eq!(
        updated["EnableRbacAuthorization"],
        json!(false),
        "{updated}"
    );
    let v = ep.admin("Get-KeyVault", json!({"VaultName": B}));
    assert_eq!(v[0]["EnableRbacAuthorization"], json!(false), "{v}");
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[test]
fn the_data_plane_of_an_rbac_vault_authorizes_by_role() {
    let (ep, owner, secret) = served_rbac_pair();
    let management = ep.token_for(&owner, &secret, "https://management.azure.com/.default");
    // An application with an access policy for wrapKey, which the RBAC vault ignores.
    let sp = ep.admin("New-ServicePrincipal", json!({"DisplayName": "wrapper"}));
    let app = sp["ApplicationId"].as_str().unwrap().to_string();
    let app_secret = sp["ClientSecret"].as_str().unwrap().to_string();
    ep.as_principal(
        &owner,
        "Set-KeyVaultAccessPolicy",
        json!({"VaultName": A, "ServicePrincipalName": app, "PermissionsToKeys": ["get", "wrapKey", "unwrapKey", "encrypt"]}),
    );
    let token = ep.token(&app, &app_secret);
    let wrap = |token: &str| {
        ep.call(
            A,
            token,
            "POST",
            "/keys/ck-key/wrapkey",
            Some(json!({"alg": "RSA-OAEP-256", "value": b64url(&[7u8; 32])})),
        )
    };
    let refused = wrap(&token);
    assert_eq!(refused.status, 403, "{:?}", refused.body);
    assert_eq!(refused.error_code(), "Forbidden", "{:?}", refused.body);
    assert_eq!(
        refused.inner_code(),
        "ForbiddenByRbac",
        "{:?}",
        refused.body
    );
    assert!(
        refused
            .message()
            .contains("Microsoft.KeyVault/vaults/keys/wrap/action"),
        "{:?}",
        refused.body
    );

    // Only the vault's owner may assign roles (Resource Manager's 403 otherwise).
    let app_management = ep.token_for(&app, &app_secret, "https://management.azure.com/.default");
    let object_id =
        customer_key::vault::roles::object_id_of(&customer_key::Principal::service(&app));
    let name = "9c3f8e30-4d5e-4f70-8b12-c3d4e5f6a7b8";
    let denied = assign(&ep, &app_management, A, name, &object_id, SERVICE_ROLE);
    assert_eq!(denied.status, 403, "{:?}", denied.body);
    assert_eq!(
        denied.error_code(),
        "AuthorizationFailed",
        "{:?}",
        denied.body
    );

    // With Key Vault Crypto Service Encryption User it wraps, and still may not encrypt.
    let created = assign(&ep, &management, A, name, &object_id, SERVICE_ROLE);
    assert_eq!(created.status, 201, "{:?}", created.body);
    let wrapped = wrap(&token);
    assert_eq!(wrapped.status, 200, "{:?}", wrapped.body);
    let encrypt = ep.call(
        A,
        &token,
        "POST",
        "/keys/ck-key/encrypt",
        Some(json!({"alg": "RSA-OAEP-256", "value": b64url(&[7u8; 32])})),
    );
    assert_eq!(encrypt.status, 403, "{:?}", encrypt.body);
    assert_eq!(encrypt.inner_code(), "ForbiddenByRbac");

    // Back to access policies (a PATCH of the vault): the policy decides again, and the role
    // is kept but ignored (a policy without wrapKey refuses the wrap its role would allow).
    let patched = arm(
        &ep,
        &management,
        "PATCH",
        &format!("{}?api-version=2023-07-01", vault_id(&ep, A)),
        Some(json!({"properties": {"enableRbacAuthorization": false}})),
    );
    assert_eq!(patched.status, 200, "{:?}", patched.body);
    assert_eq!(
        patched.body["properties"]["enableRbacAuthorization"],
        json!(false)
    );
    assert_eq!(wrap(&token).status, 200, "the policy has wrapKey");
    ep.as_principal(
        &owner,
        "Set-KeyVaultAccessPolicy",
        json!({"VaultName": A, "ServicePrincipalName": app, "PermissionsToKeys": ["get"]}),
    );
    let refused = wrap(&token);
    assert_eq!(refused.status, 403, "{:?}", refused.body);
    assert_eq!(refused.inner_code(), "AccessDenied", "{:?}", refused.body);

    // A vault made through Resource Manager's PUT with api-version 2026-02-01 and no
    // enableRbacAuthorization is an RBAC vault (Key Vault's new default); GET shows it.
    let put = arm(
        &ep,
        &management,
        "PUT",
        &format!(
            "{}?api-version=2026-02-01",
            vault_id(&ep, "contoso-rbac-new")
        ),
        Some(
            json!({"location": "westeurope", "properties": {"tenantId": ep.session.store().tenant_id(), "sku": {"family": "A", "name": "standard"}}}),
        ),
    );
    assert_eq!(put.status, 201, "{:?}", put.body);
    let got = arm(
        &ep,
        &management,
        "GET",
        &format!(
            "{}?api-version=2026-02-01",
            vault_id(&ep, "contoso-rbac-new")
        ),
        None,
    );
    assert_eq!(got.status, 200, "{:?}", got.body);
    assert_eq!(
        got.body["properties"]["enableRbacAuthorization"],
        json!(true)
    );
    assert_eq!(got.body["properties"]["accessPolicies"], json!([]));
}
