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

use super::arm_request::{check_api_version, is, no_route, outside, ArmRequest, RESOURCE_GROUP};
use super::http::{json_response, ok, parse_json, ApiError, HttpResponse};
use engine::vault::model::KeyVaultOut;
use engine::vault::role_assignments::RoleAssignmentOut;
use engine::vault::roles::ROLE_DEFINITIONS;
use engine::wire::arm::{Vault, VaultProperties};
use engine::wire::authorization::{self as wire, RoleAssignment, RoleAssignmentProperties};
use engine::wire::keyvault::ListResult;
use hyper::{Method, StatusCode};
use serde_json::{json, Map, Value};

/// The api-versions of `Microsoft.Authorization` this endpoint answers.
pub const AUTHORIZATION_API_VERSIONS: &[&str] = &["2020-04-01-preview", "2022-04-01"];
/// From this `Microsoft.KeyVault` api-version on (its dates compare as text), a vault created
/// without `enableRbacAuthorization` uses Azure RBAC (Key Vault's new default).
const RBAC_DEFAULT_SINCE: &str = "2026-02-01";
const VAULT_WRITE: &str = "Microsoft.KeyVault/vaults/write";

fn bad_request(code: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, code, message)
}

/// `PUT .../vaults/{name}`: creates the vault (New-KeyVault) or updates what may change of it
/// (Update-KeyVault: the permission model, purge protection). The engine's vault output, and
/// whether it was created.
pub(super) fn put_vault(
    req: &ArmRequest<'_>,
    name: &str,
    api_version: &str,
    body: &[u8],
) -> Result<(KeyVaultOut, bool), ApiError> {
    let req = &req.with_engine_codes();
    let resource: Vault = parse_json(body)?;
    let p = &resource.properties;
    if !resource.access_policies().is_empty() {
        return Err(bad_request("BadRequest", "This endpoint sets access policies through PUT .../vaults/{name}/accessPolicies/{add|replace|remove}, not in the vault's PUT: send properties.accessPolicies empty"));
    }
    let id = req.vault_id(name);
    match req.try_call::<Vec<KeyVaultOut>>("Get-KeyVault", json!({"VaultName": name})) {
        Err(e) if e.code == "VaultNotFound" => {
            let location = resource
                .location
                .as_deref()
                .ok_or_else(|| bad_request("BadRequest", "A new vault needs its location"))?;
            let mut args = Map::from_iter([
                ("VaultName".to_string(), json!(name)),
                ("Location".to_string(), json!(location)),
            ]);
            if let Some(sku) = p.sku.as_ref().and_then(|s| s.name.as_deref()) {
                let premium = sku.eq_ignore_ascii_case("premium");
                let sku = if premium { "Premium" } else { "Standard" };
                args.insert("Sku".into(), json!(sku));
            }
            if let Some(days) = p.soft_delete_retention_in_days {
                args.insert("SoftDeleteRetentionInDays".into(), json!(days));
            }
            if p.enable_purge_protection == Some(true) {
                args.insert("EnablePurgeProtection".into(), json!(true));
            }
            if p.enable_soft_delete == Some(false) {
                args.insert("DisableSoftDelete".into(), json!(true));
            }
            if let Some(tags) = resource.tags.as_ref().filter(|t| !t.is_empty()) {
                args.insert("Tag".into(), json!(tags));
            }
            let rbac = p.enable_rbac_authorization;
            if rbac.unwrap_or(api_version >= RBAC_DEFAULT_SINCE) {
                args.insert("EnableRbacAuthorization".into(), json!(true));
            }
            let created = req.call("New-KeyVault", Value::Object(args), &id, VAULT_WRITE)?;
            Ok((created, true))
        }
        Err(e) => Err(req.engine_error(e, &id, "Microsoft.KeyVault/vaults/read")),
        Ok(found) => match found.into_iter().next() {
            Some(current) => Ok((update(req, name, current, p)?, false)),
            None => Err(req.vault_not_found(name)),
        },
    }
}

/// `PATCH .../vaults/{name}`: what may change of a vault (the permission model, purge
/// protection); other properties given are refused rather than silently kept.
pub(super) fn patch_vault(
    req: &ArmRequest<'_>,
    current: KeyVaultOut,
    body: &[u8],
) -> Result<KeyVaultOut, ApiError> {
    let req = &req.with_engine_codes();
    let patch: Vault = parse_json(body)?;
    const PATCHABLE: &[&str] = &["enableRbacAuthorization", "enablePurgeProtection"];
    let given = serde_json::to_value(&patch.properties).unwrap_or_default();
    if let Some(other) = given
        .as_object()
        .into_iter()
        .flat_map(|o| o.keys())
        .find(|k| !PATCHABLE.contains(&k.as_str()))
    {
        return Err(bad_request(
            "BadRequest",
            format!("This endpoint's PATCH changes enableRbacAuthorization and enablePurgeProtection only, not '{other}'"),
        ));
    }
    let name = current.vault_name.clone();
    update(req, &name, current, &patch.properties)
}

/// Update-KeyVault with what `properties` changes of the current vault (nothing: the vault).
fn update(
    req: &ArmRequest<'_>,
    name: &str,
    current: KeyVaultOut,
    properties: &VaultProperties,
) -> Result<KeyVaultOut, ApiError> {
    let mut args = Map::from_iter([("VaultName".to_string(), json!(name))]);
    if let Some(rbac) = properties.enable_rbac_authorization {
        if current.enable_rbac_authorization != rbac {
            args.insert("EnableRbacAuthorization".into(), json!(rbac));
        }
    }
    match properties.enable_purge_protection {
        Some(true) if !current.enable_purge_protection => {
            args.insert("EnablePurgeProtection".into(), json!(true));
        }
        Some(false) if current.enable_purge_protection => {
            return Err(bad_request(
                "BadRequest",
                "Purge protection cannot be turned off once on",
            ))
        }
        _ => {}
    }
    if args.len() == 1 {
        return Ok(current);
    }
    let id = req.vault_id(name);
    req.call("Update-KeyVault", Value::Object(args), &id, VAULT_WRITE)
}

/// Where a `Microsoft.Authorization` path points.
enum Scope {
    /// The subscription or its resource group: the vaults below it.
    Above(String),
    Vault(String),
}

impl Scope {
    fn id(&self) -> &str {
        match self {
            Scope::Above(id) | Scope::Vault(id) => id,
        }
    }
}

fn parse_scope(req: &ArmRequest<'_>, s: &[&str]) -> Result<Scope, ApiError> {
    if let Some(e) = outside(req.state, s) {
        return Err(e);
    }
    let id = format!("/{}", s.join("/"));
    let group = is(s, 2, "resourceGroups");
    match s.len() {
        2 => return Ok(Scope::Above(id)),
        4 if group => return Ok(Scope::Above(id)),
        8 if group
            && is(s, 4, "providers")
            && is(s, 5, "Microsoft.KeyVault")
            && is(s, 6, "vaults") =>
        {
            return Ok(Scope::Vault(req.vault_id(s[7])))
        }
        _ => {}
    }
    Err(bad_request(
        "InvalidScope",
        format!("The scope '{id}' is not one this endpoint keeps role assignments for: the subscription, resource group '{RESOURCE_GROUP}' or a vault's resource id"),
    ))
}

/// A role assignment (the engine's output) as ARM's resource.
fn assignment_resource(req: &ArmRequest<'_>, a: &RoleAssignmentOut) -> RoleAssignment {
    let subscription = req.subscription();
    let role = &a.role_definition_id;
    RoleAssignment {
        id: Some(a.role_assignment_id.clone()),
        name: Some(a.role_assignment_name.clone()),
        resource_type: Some("Microsoft.Authorization/roleAssignments".into()),
        properties: RoleAssignmentProperties {
            role_definition_id: Some(format!("/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{role}")),
            principal_id: Some(a.object_id.clone()),
            principal_type: Some(a.object_type.clone()),
            scope: Some(a.scope.clone()),
            condition: Some(None),
            condition_version: Some(None),
        },
    }
}

fn definition_resource(
    req: &ArmRequest<'_>,
    r: &engine::vault::roles::RoleDefinition,
) -> wire::RoleDefinition {
    let data_actions = r.data_actions.iter().map(|a| a.to_string()).collect();
    wire::RoleDefinition {
        id: Some(r.resource_id(req.subscription())),
        name: Some(r.id.into()),
        resource_type: Some("Microsoft.Authorization/roleDefinitions".into()),
        properties: wire::RoleDefinitionProperties {
            role_name: Some(r.name.into()),
            role_type: Some("BuiltInRole".into()),
            description: None,
            assignable_scopes: vec!["/".into()],
            permissions: vec![wire::Permission {
                data_actions,
                ..wire::Permission::default()
            }],
        },
    }
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
            return Err(bad_request(
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
    req: &ArmRequest<'_>,
    method: &Method,
    s: &[&str],
    at: usize,
    body: &[u8],
) -> Result<HttpResponse, ApiError> {
    let req = &req.with_engine_codes();
    check_api_version(
        req.query("api-version").unwrap_or_default(),
        AUTHORIZATION_API_VERSIONS,
    )?;
    let scope = parse_scope(req, &s[..at])?;
    let rest = &s[at + 2..];
    let kind = |word: &str| is(rest, 0, word);
    let path = format!("/{}", s.join("/"));
    if kind("roleDefinitions") && method == Method::GET {
        return match rest.get(1) {
            Some(id) => match engine::vault::roles::role_by_id(id) {
                Some(r) => ok(definition_resource(req, r)),
                None => Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    "RoleDefinitionDoesNotExist",
                    format!("The specified role definition with ID '{id}' does not exist."),
                )),
            },
            None => {
                let wanted = req
                    .query("$filter")
                    .and_then(|f| quoted_after(f, "roleName eq"));
                let found = ROLE_DEFINITIONS
                    .iter()
                    .filter(|r| wanted.is_none_or(|w| r.name.eq_ignore_ascii_case(w)))
                    .map(|r| definition_resource(req, r));
                ok(ListResult {
                    value: found.collect(),
                    next_link: None,
                })
            }
        };
    }
    if !kind("roleAssignments") || rest.len() > 2 {
        return Err(no_route(method, &path));
    }
    let list_at = |scope: &Scope, object_id: Option<&str>| {
        let mut args = Map::new();
        if let Scope::Vault(id) = scope {
            args.insert("Scope".into(), json!(id));
        }
        if let Some(o) = object_id {
            args.insert("ObjectId".into(), json!(o));
        }
        let read = "Microsoft.Authorization/roleAssignments/read";
        req.call::<Vec<RoleAssignmentOut>>(
            "Get-RoleAssignment",
            Value::Object(args),
            scope.id(),
            read,
        )
    };
    let by_name = |scope: &Scope, name: &str| -> Result<Option<RoleAssignmentOut>, ApiError> {
        let found = list_at(scope, None)?.into_iter();
        Ok(found
            .into_iter()
            .find(|a| a.role_assignment_name.eq_ignore_ascii_case(name)))
    };
    match (method, rest.get(1)) {
        (&Method::GET, None) => {
            let (object_id, at_scope) = assignment_filter(req.query("$filter"))?;
            let found = match (&scope, at_scope) {
                (Scope::Above(_), true) => Vec::new(),
                _ => list_at(&scope, object_id.as_deref())?,
            };
            let value = found.iter().map(|a| assignment_resource(req, a));
            ok(ListResult {
                value: value.collect(),
                next_link: None,
            })
        }
        (&Method::GET, Some(name)) => match by_name(&scope, name)? {
            Some(a) => ok(assignment_resource(req, &a)),
            None => Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "RoleAssignmentNotFound",
                format!("The role assignment '{name}' is not found."),
            )),
        },
        (&Method::PUT, Some(name)) => {
            let Scope::Vault(id) = &scope else {
                return Err(bad_request("InvalidScope", "This endpoint keeps role assignments at a vault's scope only: PUT them at the vault's resource id"));
            };
            let given: RoleAssignment = parse_json(body)?;
            let p = &given.properties;
            let (Some(role), Some(object_id)) = (&p.role_definition_id, &p.principal_id) else {
                return Err(bad_request(
                    "InvalidRoleAssignmentRequest",
                    "properties.roleDefinitionId and properties.principalId are required",
                ));
            };
            let Some(definition) = engine::vault::roles::role_by_id(role) else {
                return Err(bad_request(
                    "RoleDefinitionDoesNotExist",
                    format!("The specified role definition with ID '{role}' does not exist (this endpoint knows Key Vault's built-in data-plane roles)."),
                ));
            };
            if let Some(existing) = by_name(&scope, name)? {
                let same = existing.object_id.eq_ignore_ascii_case(object_id)
                    && existing
                        .role_definition_id
                        .eq_ignore_ascii_case(definition.id);
                return if same {
                    ok(assignment_resource(req, &existing))
                } else {
                    Err(bad_request("RoleAssignmentUpdateNotPermitted", "Tenant ID, application ID, principal ID, and scope are not allowed to be updated."))
                };
            }
            let mut args = Map::new();
            // A user Graph was asked about is named by user principal name, as the engine's
            // own assignments name users; anyone else by object id.
            match req.state.directory.user(object_id) {
                Some(upn) => args.insert("SignInName".into(), json!(upn)),
                None => args.insert("ObjectId".into(), json!(object_id)),
            };
            args.insert("RoleDefinitionId".into(), json!(definition.id));
            args.insert("Scope".into(), json!(id));
            args.insert("RoleAssignmentName".into(), json!(name));
            let write = "Microsoft.Authorization/roleAssignments/write";
            let created = req.call("New-RoleAssignment", Value::Object(args), id, write)?;
            Ok(json_response(
                StatusCode::CREATED,
                &assignment_resource(req, &created),
            ))
        }
        (&Method::DELETE, Some(name)) => {
            let Some(existing) = by_name(&scope, name)? else {
                return Ok(json_response(StatusCode::NO_CONTENT, &Value::Null));
            };
            let args = json!({
                "ObjectId": existing.object_id,
                "RoleDefinitionId": existing.role_definition_id,
                "Scope": existing.scope,
            });
            let delete = "Microsoft.Authorization/roleAssignments/delete";
            let removed = req.call("Remove-RoleAssignment", args, scope.id(), delete)?;
            ok(assignment_resource(req, &removed))
        }
        _ => Err(no_route(method, &path)),
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
