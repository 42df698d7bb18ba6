//! Role assignments against Azure Resource Manager (`Microsoft.Authorization/roleAssignments`,
//! api-version 2022-04-01): New-, Get- and Remove-RoleAssignment with the engine's arguments and
//! output, as New-AzRoleAssignment and its siblings send them. `-Scope` is a vault's resource id
//! (the engine's rule); principals are object ids, `-ApplicationId` and `-SignInName` looked up
//! in Microsoft Graph ([`super::graph`]). A new assignment is a PUT under a name chosen here (a
//! GUID, or `-RoleAssignmentName`), so a retried PUT is the same assignment; a removal reads the
//! principal's assignments at the scope and DELETEs the one of the role.

use super::keys::remote;
use super::{graph, RemoteVaults};
use crate::error::{Error, Result};
use crate::operations::Context;
use crate::vault::role_assignments::{
    assignment_name, role_argument, GetRoleAssignmentArgs, NewRoleAssignmentArgs,
    RemoveRoleAssignmentArgs, RoleAssignmentOut, SCOPE_RULE,
};
use crate::vault::roles::{role_by_id, RoleDefinition};
use crate::vault::PrincipalArgument;
use crate::wire::authorization::{RoleAssignment, RoleAssignmentProperties};
use reqwest::Method;

/// Microsoft.Authorization's api-version for role assignments.
const API_VERSION: &str = "2022-04-01";

/// The vault's resource id a -Scope gives, without a trailing slash.
fn vault_scope(scope: &str) -> Result<String> {
    crate::vault::parse_vault_resource_id(scope)
        .ok_or_else(|| Error::invalid_argument("Scope", SCOPE_RULE))?;
    Ok(scope.trim().trim_end_matches('/').to_string())
}

/// Who: (object id, sign-in name, what to show).
fn principal(
    r: &RemoteVaults,
    who: PrincipalArgument<'_>,
) -> Result<(String, Option<String>, String)> {
    let id = graph::object_id(r, who)?;
    Ok(match who {
        PrincipalArgument::ObjectId(_) => (id.clone(), None, id),
        PrincipalArgument::Service(app) => (id, None, app.to_ascii_lowercase()),
        PrincipalArgument::User(upn) => (id, Some(upn.to_string()), upn.to_string()),
    })
}

/// An ARM role assignment as the engine's output.
fn assignment_out(
    a: &RoleAssignment,
    sign_in_name: Option<String>,
    shown: &str,
) -> RoleAssignmentOut {
    let p = &a.properties;
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let guid = a.role_guid().to_string();
    RoleAssignmentOut {
        role_assignment_id: text(&a.id),
        role_assignment_name: text(&a.name),
        scope: text(&p.scope),
        display_name: if shown.is_empty() {
            text(&p.principal_id)
        } else {
            shown.to_string()
        },
        sign_in_name,
        role_definition_name: role_by_id(&guid)
            .map(|r| r.name.to_string())
            .unwrap_or_default(),
        role_definition_id: guid,
        object_id: text(&p.principal_id),
        object_type: text(&p.principal_type),
    }
}

/// Whether the assignment is of `role`.
fn is_of(a: &RoleAssignment, role: &RoleDefinition) -> bool {
    a.role_guid().eq_ignore_ascii_case(role.id)
}

/// The assignments at (and, Azure's way, above and below) `scope`, of one principal if given.
fn list(r: &RemoteVaults, scope: &str, object_id: Option<&str>) -> Result<Vec<RoleAssignment>> {
    let filter = object_id
        .map(|o| {
            format!(
                "?$filter={}",
                super::auth::percent_encode(&format!("principalId eq '{o}'"))
            )
        })
        .unwrap_or_default();
    let path = format!("{scope}/providers/Microsoft.Authorization/roleAssignments{filter}");
    r.arm_list(&path, API_VERSION, scope)
}

/// The role definition ids a principal holds at the vault's scope or above (Azure answers a
/// principal's assignments at, above and below the scope asked).
pub(crate) fn roles_at_vault(
    r: &RemoteVaults,
    vault_id: &str,
    object_id: &str,
) -> Result<Vec<String>> {
    let vault_scope = vault_id.to_ascii_lowercase();
    Ok(list(r, vault_id, Some(object_id))?
        .into_iter()
        .filter(|a| {
            let scope = a.properties.scope.as_deref().unwrap_or_default();
            let scope = scope.to_ascii_lowercase();
            scope == "/" || vault_scope == scope || vault_scope.starts_with(&format!("{scope}/"))
        })
        .filter_map(|a| a.properties.role_definition_id)
        .collect())
}

pub fn new_role_assignment(
    ctx: &Context<'_>,
    a: NewRoleAssignmentArgs,
) -> Result<RoleAssignmentOut> {
    let r = remote(ctx)?;
    let role = role_argument(&a.role_definition_name, &a.role_definition_id)?;
    let scope = vault_scope(&a.scope)?;
    let name = assignment_name(&a.role_assignment_name)?;
    let (object_id, sign_in_name, shown) = principal(
        r,
        PrincipalArgument::of_role_assignment(&a.object_id, &a.application_id, &a.sign_in_name)?,
    )?;
    let subscription = scope.split('/').nth(2).unwrap_or_default();
    let principal_type = match (&a.application_id, &a.sign_in_name) {
        (Some(_), _) => Some("ServicePrincipal".to_string()),
        (None, Some(_)) => Some("User".to_string()),
        (None, None) => None,
    };
    let body = RoleAssignment {
        properties: RoleAssignmentProperties {
            role_definition_id: Some(role.resource_id(subscription)),
            principal_id: Some(object_id.clone()),
            principal_type,
            ..RoleAssignmentProperties::default()
        },
        ..RoleAssignment::default()
    };
    let path = format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}");
    let created: RoleAssignment = r
        .arm(Method::PUT, &path, Some(&body), API_VERSION, &scope)?
        .typed(&scope)?;
    ctx.audit_success(
        &scope,
        &format!("assigned '{}' to {object_id} in Azure", role.name),
    );
    Ok(assignment_out(&created, sign_in_name, &shown))
}

pub fn get_role_assignment(
    ctx: &Context<'_>,
    a: GetRoleAssignmentArgs,
) -> Result<Vec<RoleAssignmentOut>> {
    let r = remote(ctx)?;
    let role = match (&a.role_definition_name, &a.role_definition_id) {
        (None, None) => None,
        _ => Some(role_argument(
            &a.role_definition_name,
            &a.role_definition_id,
        )?),
    };
    let scope = match &a.scope {
        Some(s) => vault_scope(s)?,
        None => format!("/subscriptions/{}", r.subscription_of(None)?),
    };
    let who = match (&a.object_id, &a.application_id, &a.sign_in_name) {
        (None, None, None) => None,
        _ => Some(principal(
            r,
            PrincipalArgument::of_role_assignment(
                &a.object_id,
                &a.application_id,
                &a.sign_in_name,
            )?,
        )?),
    };
    let (sign_in_name, shown) = who
        .as_ref()
        .map(|(_, s, shown)| (s.clone(), shown.clone()))
        .unwrap_or_default();
    Ok(list(r, &scope, who.as_ref().map(|(o, _, _)| o.as_str()))?
        .iter()
        .filter(|a| role.is_none_or(|role| is_of(a, role)))
        .map(|a| assignment_out(a, sign_in_name.clone(), &shown))
        .collect())
}

pub fn remove_role_assignment(
    ctx: &Context<'_>,
    a: RemoveRoleAssignmentArgs,
) -> Result<RoleAssignmentOut> {
    let r = remote(ctx)?;
    let role = role_argument(&a.role_definition_name, &a.role_definition_id)?;
    let scope = vault_scope(&a.scope)?;
    let (object_id, sign_in_name, shown) = principal(
        r,
        PrincipalArgument::of_role_assignment(&a.object_id, &a.application_id, &a.sign_in_name)?,
    )?;
    let found = list(r, &scope, Some(&object_id))?
        .into_iter()
        .find(|a| {
            let at = a.properties.scope.as_deref();
            at.is_some_and(|s| s.eq_ignore_ascii_case(&scope)) && is_of(a, role)
        })
        .ok_or_else(|| {
            Error::not_found(
                "RoleAssignmentNotFound",
                format!(
                    "The provided information does not map to a role assignment: '{shown}' holds no '{}' role at '{scope}' in Azure",
                    role.name
                ),
                shown.clone(),
            )
        })?;
    let id = found.id.as_deref().unwrap_or_default();
    // Its answer (the assignment, or 204 without a body) is not read.
    r.arm(Method::DELETE, id, super::NO_BODY, API_VERSION, &scope)?;
    ctx.audit_success(
        &scope,
        &format!("removed '{}' of {object_id} in Azure", role.name),
    );
    Ok(assignment_out(&found, sign_in_name, &shown))
}
