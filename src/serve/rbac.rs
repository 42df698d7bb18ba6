//! Azure RBAC on the endpoint: the vault writes that set a vault's permission model (`PUT` and
//! `PATCH` of `Microsoft.KeyVault/vaults/{name}` with `properties.enableRbacAuthorization`), and
//! `Microsoft.Authorization` at a scope of the store's subscription: `GET`, `PUT` and `DELETE
//! {scope}/providers/Microsoft.Authorization/roleAssignments[/{name}]` (with `$filter=principalId
//! eq '{id}'`, `assignedTo('{id}')` and `atScope()`, as Get-AzRoleAssignment and the setup
//! check send them) and `GET {scope}/providers/Microsoft.Authorization/roleDefinitions[/{id}]`
//! (with `$filter=roleName eq '{name}'`, as New-AzRoleAssignment -RoleDefinitionName asks).
//!
//! Role assignments are the engine's (New-, Get- and Remove-RoleAssignment, run as the token's
//! principal), kept at a vault's scope: a PUT at another scope is refused, and a listing at the
//! subscription or the resource group gives the assignments of the vaults below it (none with
//! `atScope()`). Only a vault's owner may write them (Azure: Owner or User Access
//! Administrator); anyone signed in may read them. The data plane then authorizes an RBAC
//! vault's keys by these assignments: that is the engine's access check on every key call.

use super::http::{json_response, parse_json, ApiError, HttpResponse};
use super::State;
use engine::identity::Principal;
use engine::vault::roles::{RoleDefinition, ROLE_DEFINITIONS};
use hyper::{Method, StatusCode};
use serde_json::{json, Map, Value};

/// The api-versions of `Microsoft.Authorization` this endpoint answers.
pub const AUTHORIZATION_API_VERSIONS: &[&str] = &["2020-04-01-preview", "2022-04-01"];
/// From this `Microsoft.KeyVault` api-version on (its dates compare as text), a vault created
/// without `enableRbacAuthorization` uses Azure RBAC (Key Vault's new default).
const RBAC_DEFAULT_SINCE: &str = "2026-02-01";
const RESOURCE_GROUP: &str = engine::vault::model::LOCAL_RESOURCE_GROUP;

fn arm_error(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(status, code, message)
}

/// An engine operation as the token's principal; its errors as ARM's.
fn call(
    state: &State,
    principal: &Principal,
    operation: &str,
    args: Value,
    scope: &str,
    action: &str,
) -> Result<Value, ApiError> {
    let text = engine::registry()
        .call_json_as(&state.session, principal, operation, &args)
        .map_err(|e| engine_error(principal, e, scope, action))?;
    serde_json::from_str(&text)
        .map_err(|_| ApiError::from(engine::Error::internal("result decoding")))
}

fn engine_error(principal: &Principal, e: engine::Error, scope: &str, action: &str) -> ApiError {
    use engine::CkStatus;
    match e.status {
        CkStatus::NotFound => arm_error(StatusCode::NOT_FOUND, &e.code, e.message),
        CkStatus::Forbidden => arm_error(
            StatusCode::FORBIDDEN,
            "AuthorizationFailed",
            format!(
                "The client '{}' with object id '{}' does not have authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. ({})",
                principal.name(),
                engine::vault::roles::object_id_of(principal),
                e.message
            ),
        ),
        CkStatus::InvalidArgument | CkStatus::InvalidOperation => {
            arm_error(StatusCode::BAD_REQUEST, "BadRequest", e.message)
        }
        CkStatus::Conflict => arm_error(StatusCode::CONFLICT, &e.code, e.message),
        CkStatus::Busy => arm_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            e.message,
        ),
        _ => arm_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            e.message,
        ),
    }
}

fn vault_id(state: &State, name: &str) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/{RESOURCE_GROUP}/providers/Microsoft.KeyVault/vaults/{name}",
        state.session.store().subscription_id()
    )
}

/// `PUT .../vaults/{name}`: creates the vault (New-KeyVault) or updates what may change of it
/// (Update-KeyVault: the permission model, purge protection). The engine's vault output, and
/// whether it was created.
pub(super) fn put_vault(
    state: &State,
    principal: &Principal,
    name: &str,
    api_version: &str,
    body: &[u8],
) -> Result<(Value, bool), ApiError> {
    let resource: Value = parse_json(body)?;
    let p = &resource["properties"];
    if p["accessPolicies"]
        .as_array()
        .is_some_and(|a| !a.is_empty())
    {
        return Err(arm_error(StatusCode::BAD_REQUEST, "BadRequest", "This endpoint sets access policies through PUT .../vaults/{name}/accessPolicies/{add|replace|remove}, not in the vault's PUT: send properties.accessPolicies empty"));
    }
    let id = vault_id(state, name);
    let existing = engine::registry().call_json_as(
        &state.session,
        principal,
        "Get-KeyVault",
        &json!({"VaultName": name}),
    );
    match existing {
        Err(e) if e.code == "VaultNotFound" => {
            let location = resource["location"].as_str().ok_or_else(|| {
                arm_error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "A new vault needs its location",
                )
            })?;
            let mut args = Map::new();
            args.insert("VaultName".into(), json!(name));
            args.insert("Location".into(), json!(location));
            if let Some(sku) = p["sku"]["name"].as_str() {
                let sku = if sku.eq_ignore_ascii_case("premium") {
                    "Premium"
                } else {
                    "Standard"
                };
                args.insert("Sku".into(), json!(sku));
            }
            if let Some(days) = p["softDeleteRetentionInDays"].as_i64() {
                args.insert("SoftDeleteRetentionInDays".into(), json!(days));
            }
            if p["enablePurgeProtection"].as_bool() == Some(true) {
                args.insert("EnablePurgeProtection".into(), json!(true));
            }
            if p["enableSoftDelete"].as_bool() == Some(false) {
                args.insert("DisableSoftDelete".into(), json!(true));
            }
            if let Some(tags) = resource["tags"].as_object().filter(|t| !t.is_empty()) {
                args.insert("Tag".into(), Value::Object(tags.clone()));
            }
            let rbac = p["enableRbacAuthorization"]
                .as_bool()
                .unwrap_or(api_version >= RBAC_DEFAULT_SINCE);
            if rbac {
                args.insert("EnableRbacAuthorization".into(), json!(true));
            }
            let created = call(
                state,
                principal,
                "New-KeyVault",
                Value::Object(args),
                &id,
                "Microsoft.KeyVault/vaults/write",
            )?;
            Ok((created, true))
        }
        Err(e) => Err(engine_error(
            principal,
            e,
            &id,
            "Microsoft.KeyVault/vaults/read",
        )),
        Ok(text) => {
            let current: Value = serde_json::from_str(&text)
                .map_err(|_| ApiError::from(engine::Error::internal("result decoding")))?;
            Ok((update(state, principal, name, &current[0], p)?, false))
        }
    }
}

/// `PATCH .../vaults/{name}`: what may change of a vault (the permission model, purge
/// protection); other properties given are refused rather than silently kept.
pub(super) fn patch_vault(
    state: &State,
    principal: &Principal,
    name: &str,
    body: &[u8],
) -> Result<Value, ApiError> {
    let patch: Value = parse_json(body)?;
    let p = &patch["properties"];
    const PATCHABLE: &[&str] = &["enableRbacAuthorization", "enablePurgeProtection"];
    if let Some(other) = p
        .as_object()
        .into_iter()
        .flat_map(|o| o.keys())
        .find(|k| !PATCHABLE.contains(&k.as_str()))
    {
        return Err(arm_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("This endpoint's PATCH changes enableRbacAuthorization and enablePurgeProtection only, not '{other}'"),
        ));
    }
    let current = call(
        state,
        principal,
        "Get-KeyVault",
        json!({"VaultName": name}),
        &vault_id(state, name),
        "Microsoft.KeyVault/vaults/read",
    )?;
    update(state, principal, name, &current[0], p)
}

/// Update-KeyVault with what `properties` changes of the current vault (nothing: the vault).
fn update(
    state: &State,
    principal: &Principal,
    name: &str,
    current: &Value,
    properties: &Value,
) -> Result<Value, ApiError> {
    let mut args = Map::new();
    args.insert("VaultName".into(), json!(name));
    if let Some(rbac) = properties["enableRbacAuthorization"].as_bool() {
        if current["EnableRbacAuthorization"].as_bool() != Some(rbac) {
            args.insert("EnableRbacAuthorization".into(), json!(rbac));
        }
    }
    match properties["enablePurgeProtection"].as_bool() {
        Some(true) if current["EnablePurgeProtection"] != json!(true) => {
            args.insert("EnablePurgeProtection".into(), json!(true));
        }
        Some(false) if current["EnablePurgeProtection"] == json!(true) => {
            return Err(arm_error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "Purge protection cannot be turned off once on",
            ))
        }
        _ => {}
    }
    if args.len() == 1 {
        return Ok(current.clone());
    }
    call(
        state,
        principal,
        "Update-KeyVault",
        Value::Object(args),
        &vault_id(state, name),
        "Microsoft.KeyVault/vaults/write",
    )
}

/// Where a `Microsoft.Authorization` path points.
enum Scope {
    /// The subscription or its resource group: the vaults below it.
    Above(String),
    Vault {
        id: String,
    },
}

impl Scope {
    fn id(&self) -> &str {
        match self {
            Scope::Above(id) | Scope::Vault { id } => id,
        }
    }
}

fn parse_scope(state: &State, s: &[&str]) -> Result<Scope, ApiError> {
    let is = |i: usize, word: &str| s.get(i).is_some_and(|w| w.eq_ignore_ascii_case(word));
    let subscription = state.session.store().subscription_id();
    if !(is(0, "subscriptions") && is(1, subscription)) {
        return Err(arm_error(
            StatusCode::NOT_FOUND,
            "SubscriptionNotFound",
            format!(
                "The subscription '{}' could not be found.",
                s.get(1).unwrap_or(&"")
            ),
        ));
    }
    let id = format!("/{}", s.join("/"));
    match s.len() {
        2 => return Ok(Scope::Above(id)),
        4 | 8 if !(is(2, "resourceGroups") && is(3, RESOURCE_GROUP)) => {
            return Err(arm_error(
                StatusCode::NOT_FOUND,
                "ResourceGroupNotFound",
                format!("Resource group '{}' could not be found.", s[3]),
            ))
        }
        4 => return Ok(Scope::Above(id)),
        8 if is(4, "providers") && is(5, "Microsoft.KeyVault") && is(6, "vaults") => {
            return Ok(Scope::Vault {
                id: vault_id(state, s[7]),
            })
        }
        _ => {}
    }
    Err(arm_error(
        StatusCode::BAD_REQUEST,
        "InvalidScope",
        format!("The scope '{id}' is not one this endpoint keeps role assignments for: the subscription, resource group '{RESOURCE_GROUP}' or a vault's resource id"),
    ))
}

/// A role assignment (the engine's output) as ARM's resource.
fn assignment_resource(state: &State, a: &Value) -> Value {
    let subscription = state.session.store().subscription_id();
    let role = a["RoleDefinitionId"].as_str().unwrap_or_default();
    json!({
        "id": a["RoleAssignmentId"],
        "name": a["RoleAssignmentName"],
        "type": "Microsoft.Authorization/roleAssignments",
        "properties": {
            "roleDefinitionId": format!("/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{role}"),
            "principalId": a["ObjectId"],
            "principalType": a["ObjectType"],
            "scope": a["Scope"],
            "condition": null,
            "conditionVersion": null,
        },
    })
}

fn definition_resource(state: &State, r: &RoleDefinition) -> Value {
    json!({
        "id": r.resource_id(state.session.store().subscription_id()),
        "name": r.id,
        "type": "Microsoft.Authorization/roleDefinitions",
        "properties": {
            "roleName": r.name,
            "type": "BuiltInRole",
            "assignableScopes": ["/"],
            "permissions": [{"actions": [], "notActions": [], "dataActions": r.data_actions, "notDataActions": []}],
        },
    })
}

/// The quoted value of `name eq '...'` or `name('...')` in an OData filter.
fn quoted_after<'a>(filter: &'a str, head: &str) -> Option<&'a str> {
    let lower = filter.to_ascii_lowercase();
    let at = lower.find(&head.to_ascii_lowercase())? + head.len();
    let rest = filter[at..].trim_start();
    let rest = rest.strip_prefix('\'')?;
    rest.split('\'').next()
}

/// What a listing's `$filter` asks: (principal object id, only at the scope itself).
fn assignment_filter(filter: Option<&str>) -> Result<(Option<String>, bool), ApiError> {
    let Some(filter) = filter.map(str::trim).filter(|f| !f.is_empty()) else {
        return Ok((None, false));
    };
    let mut principal = None;
    let mut at_scope = false;
    for clause in filter.split(" and ").map(str::trim) {
        let lower = clause.to_ascii_lowercase();
        if lower == "atscope()" {
            at_scope = true;
        } else if lower.starts_with("principalid eq") {
            principal = quoted_after(clause, "principalId eq").map(str::to_string);
        } else if lower.starts_with("assignedto(") {
            // No groups here: what is assigned to a principal is what names it.
            principal = quoted_after(clause, "assignedTo(").map(str::to_string);
        } else {
            return Err(arm_error(
                StatusCode::BAD_REQUEST,
                "UnsupportedQuery",
                format!("The filter '{clause}' is not supported: use principalId eq '{{id}}', assignedTo('{{id}}') or atScope()"),
            ));
        }
    }
    Ok((principal, at_scope))
}

/// Routes `{scope}/providers/Microsoft.Authorization/...`; `s` are the path's segments and
/// `at` the index of `providers`.
pub(super) fn handle(
    state: &State,
    principal: &Principal,
    method: &Method,
    s: &[&str],
    at: usize,
    query: &[(String, String)],
    body: &[u8],
) -> Result<HttpResponse, ApiError> {
    let value = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let version = value("api-version").unwrap_or_default();
    if !AUTHORIZATION_API_VERSIONS.contains(&version) {
        let shown: String = version.chars().take(32).collect();
        return Err(arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidApiVersionParameter",
            format!(
                "The api-version '{shown}' is invalid. The supported versions are '{}'.",
                AUTHORIZATION_API_VERSIONS.join(",")
            ),
        ));
    }
    let scope = parse_scope(state, &s[..at])?;
    let rest = &s[at + 2..];
    let kind = |word: &str| rest.first().is_some_and(|w| w.eq_ignore_ascii_case(word));
    let ok = |v: Value| Ok(json_response(StatusCode::OK, &v));
    if kind("roleDefinitions") && method == Method::GET {
        return match rest.get(1) {
            Some(id) => match engine::vault::roles::role_by_id(id) {
                Some(r) => ok(definition_resource(state, r)),
                None => Err(arm_error(
                    StatusCode::NOT_FOUND,
                    "RoleDefinitionDoesNotExist",
                    format!("The specified role definition with ID '{id}' does not exist."),
                )),
            },
            None => {
                let wanted = value("$filter").and_then(|f| quoted_after(f, "roleName eq"));
                let found: Vec<Value> = ROLE_DEFINITIONS
                    .iter()
                    .filter(|r| wanted.is_none_or(|w| r.name.eq_ignore_ascii_case(w)))
                    .map(|r| definition_resource(state, r))
                    .collect();
                ok(json!({ "value": found }))
            }
        };
    }
    if !kind("roleAssignments") || rest.len() > 2 {
        return Err(arm_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("No route for {method} /{}", s.join("/")),
        ));
    }
    let read = "Microsoft.Authorization/roleAssignments/read";
    let list_at = |scope: &Scope, object_id: Option<&str>| -> Result<Vec<Value>, ApiError> {
        let mut args = Map::new();
        if let Scope::Vault { id } = scope {
            args.insert("Scope".into(), json!(id));
        }
        if let Some(o) = object_id {
            args.insert("ObjectId".into(), json!(o));
        }
        let found = call(
            state,
            principal,
            "Get-RoleAssignment",
            Value::Object(args),
            scope.id(),
            read,
        )?;
        Ok(found.as_array().cloned().unwrap_or_default())
    };
    let by_name = |scope: &Scope, name: &str| -> Result<Option<Value>, ApiError> {
        Ok(list_at(scope, None)?.into_iter().find(|a| {
            a["RoleAssignmentName"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        }))
    };
    let not_found = |name: &str| {
        arm_error(
            StatusCode::NOT_FOUND,
            "RoleAssignmentNotFound",
            format!("The role assignment '{name}' is not found."),
        )
    };
    match (method, rest.get(1)) {
        (&Method::GET, None) => {
            let (object_id, at_scope) = assignment_filter(value("$filter"))?;
            let found = match (&scope, at_scope) {
                (Scope::Above(_), true) => Vec::new(),
                _ => list_at(&scope, object_id.as_deref())?,
            };
            let value: Vec<Value> = found
                .iter()
                .map(|a| assignment_resource(state, a))
                .collect();
            ok(json!({ "value": value }))
        }
        (&Method::GET, Some(name)) => match by_name(&scope, name)? {
            Some(a) => ok(assignment_resource(state, &a)),
            None => Err(not_found(name)),
        },
        (&Method::PUT, Some(name)) => {
            let Scope::Vault { id } = &scope else {
                return Err(arm_error(StatusCode::BAD_REQUEST, "InvalidScope", "This endpoint keeps role assignments at a vault's scope only: PUT them at the vault's resource id"));
            };
            let given: Value = parse_json(body)?;
            let p = &given["properties"];
            let (Some(role), Some(object_id)) =
                (p["roleDefinitionId"].as_str(), p["principalId"].as_str())
            else {
                return Err(arm_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidRoleAssignmentRequest",
                    "properties.roleDefinitionId and properties.principalId are required",
                ));
            };
            let Some(definition) = engine::vault::roles::role_by_id(role) else {
                return Err(arm_error(
                    StatusCode::BAD_REQUEST,
                    "RoleDefinitionDoesNotExist",
                    format!("The specified role definition with ID '{role}' does not exist (this endpoint knows Key Vault's built-in data-plane roles)."),
                ));
            };
            if let Some(existing) = by_name(&scope, name)? {
                let same = existing["ObjectId"]
                    .as_str()
                    .is_some_and(|o| o.eq_ignore_ascii_case(object_id))
                    && existing["RoleDefinitionId"]
                        .as_str()
                        .is_some_and(|r| r.eq_ignore_ascii_case(definition.id));
                return if same {
                    ok(assignment_resource(state, &existing))
                } else {
                    Err(arm_error(StatusCode::BAD_REQUEST, "RoleAssignmentUpdateNotPermitted", "Tenant ID, application ID, principal ID, and scope are not allowed to be updated."))
                };
            }
            let mut args = Map::new();
            // A user Graph was asked about is named by user principal name, as the engine's
            // own assignments name users; anyone else by object id.
            match state.directory.user(object_id) {
                Some(upn) => args.insert("SignInName".into(), json!(upn)),
                None => args.insert("ObjectId".into(), json!(object_id)),
            };
            args.insert("RoleDefinitionId".into(), json!(definition.id));
            args.insert("Scope".into(), json!(id));
            args.insert("RoleAssignmentName".into(), json!(name));
            let created = call(
                state,
                principal,
                "New-RoleAssignment",
                Value::Object(args),
                id,
                "Microsoft.Authorization/roleAssignments/write",
            )?;
            Ok(json_response(
                StatusCode::CREATED,
                &assignment_resource(state, &created),
            ))
        }
        (&Method::DELETE, Some(name)) => {
            let Some(existing) = by_name(&scope, name)? else {
                return Ok(json_response(StatusCode::NO_CONTENT, &Value::Null));
            };
            let removed = call(
                state,
                principal,
                "Remove-RoleAssignment",
                json!({
                    "ObjectId": existing["ObjectId"],
                    "RoleDefinitionId": existing["RoleDefinitionId"],
                    "Scope": existing["Scope"],
                }),
                scope.id(),
                "Microsoft.Authorization/roleAssignments/delete",
            )?;
            ok(assignment_resource(state, &removed))
        }
        _ => Err(arm_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("No route for {method} /{}", s.join("/")),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_read_as_the_setup_check_and_az_send_them() {
        let (p, at) = assignment_filter(Some("principalId eq 'ABC-1'")).unwrap();
        assert_eq!((p.as_deref(), at), (Some("ABC-1"), false));
        let (p, at) = assignment_filter(Some("atScope() and assignedTo('x-2')")).unwrap();
        assert_eq!((p.as_deref(), at), (Some("x-2"), true));
        assert_eq!(assignment_filter(None).unwrap(), (None, false));
        assert!(assignment_filter(Some("roleDefinitionId eq 'x'")).is_err());
    }
}
