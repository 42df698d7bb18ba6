//! Role assignments at a vault's scope: New-, Get- and Remove-RoleAssignment, as Az.Resources'
//! New-AzRoleAssignment and its siblings, over the built-in roles of [`super::roles`].

use super::roles::{object_id_of, role_by_id, role_by_id_argument, role_by_name, RoleDefinition};
use super::{check_local_location, parse_vault_resource_id, require_owner, PrincipalArgument};
use crate::crypto;
use crate::error::{Error, Result};
use crate::identity::Principal;
use crate::operations::Context;
use crate::store::vaults::{self as sql, RoleAssignmentRow};
use crate::store::Tx;
use serde::Serialize;

/// A role assignment as Az's PSRoleAssignment shows it.
#[derive(Serialize, Debug, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct RoleAssignmentOut {
    pub role_assignment_id: String,
    pub role_assignment_name: String,
    pub scope: String,
    pub display_name: String,
    pub sign_in_name: Option<String>,
    pub role_definition_name: String,
    pub role_definition_id: String,
    pub object_id: String,
    pub object_type: String,
}

/// A vault's resource id in the store's subscription.
pub fn vault_scope(subscription: &str, vault: &str) -> String {
    format!(
        "/subscriptions/{subscription}/resourceGroups/{}/providers/Microsoft.KeyVault/vaults/{vault}",
        super::model::LOCAL_RESOURCE_GROUP
    )
}

pub fn assignment_out(a: &RoleAssignmentRow, subscription: &str) -> RoleAssignmentOut {
    let scope = vault_scope(subscription, &a.vault);
    let role = role_by_id(&a.role_definition_id);
    RoleAssignmentOut {
        role_assignment_id: format!(
            "{scope}/providers/Microsoft.Authorization/roleAssignments/{}",
            a.name
        ),
        role_assignment_name: a.name.clone(),
        scope,
        display_name: a.display_name.clone(),
        sign_in_name: a.sign_in_name.clone(),
        role_definition_name: role.map(|r| r.name.to_string()).unwrap_or_default(),
        role_definition_id: a.role_definition_id.clone(),
        object_id: a.principal_id.clone(),
        object_type: a.principal_type.clone(),
    }
}

pub(crate) const SCOPE_RULE: &str = "must be a key vault's resource ID, /subscriptions/{subscription id}/resourceGroups/{resource group}/providers/Microsoft.KeyVault/vaults/{vault name}: role assignments are kept at a vault's scope";

/// The vault a -Scope names, in the store's subscription and resource group.
fn scope_vault(ctx: &Context<'_>, scope: &str) -> Result<String> {
    let location = parse_vault_resource_id(scope)
        .ok_or_else(|| Error::invalid_argument("Scope", SCOPE_RULE))?;
    check_local_location(
        ctx,
        &Some(location.resource_group.clone()),
        &Some(location.subscription_id.clone()),
    )
    .map_err(|e| e.with_target("Scope"))?;
    Ok(location.name)
}

/// Who an assignment is for, as given: (object id, type, application id, sign-in name,
/// display name).
struct Assignee {
    object_id: String,
    object_type: String,
    application_id: Option<String>,
    sign_in_name: Option<String>,
    display_name: String,
}

/// On an RBAC vault a workload's roles are its only access to the keys: removing the last one
/// that lets it wrap and unwrap, while its policies use the vault's keys, makes their data
/// unreadable. Refused, as Remove-KeyVaultKey refuses a key in use, unless -AcceptDataLoss.
fn refuse_if_workload_loses_keys(
    tx: &Tx<'_>,
    vault: &str,
    who: &Assignee,
    removed: &RoleAssignmentRow,
    assignments: &[RoleAssignmentRow],
) -> Result<()> {
    let Some(app) = who.application_id.as_deref() else {
        return Ok(());
    };
    let Some(workload) = crate::identity::workload_of(app) else {
        return Ok(());
    };
    let service = Principal::service(app);
    let left: Vec<RoleAssignmentRow> = assignments
        .iter()
        .filter(|e| e.name != removed.name)
        .cloned()
        .collect();
    let can_use = |granted: Vec<String>| {
        ["wrapKey", "unwrapKey"]
            .iter()
            .all(|p| granted.iter().any(|g| g == p))
    };
    let roles = super::roles::permissions_by_roles;
    if !can_use(roles(assignments, &service)) || can_use(roles(&left, &service)) {
        return Ok(());
    }
    let users: Vec<_> = sql::key_references(tx, vault, None)?
        .into_iter()
        .filter(|r| r.referrer_kind == workload)
        .collect();
    if users.is_empty() {
        return Ok(());
    }
    Err(Error::invalid_operation(
        "KeyInUse",
        format!(
            "Refusing to remove the '{}' role of {} on vault '{vault}': it is {workload}'s only way to wrap and unwrap with the vault's keys, which {} use. Data those policies protect would become unreadable. Move the policies to other keys first, or repeat with -AcceptDataLoss if you accept the loss.",
            role_by_id(&removed.role_definition_id).map_or(removed.role_definition_id.as_str(), |r| r.name),
            who.display_name,
            super::usage::referrers_text(&users).join(", ")
        ),
        who.display_name.clone(),
    ))
}

fn assignee(tx: &Tx<'_>, who: PrincipalArgument<'_>) -> Result<Assignee> {
    let sp_name = |app: &str| -> Result<String> {
        if let Some(w) =
            crate::identity::workload_of(app).and_then(crate::identity::workload_display_name)
        {
            return Ok(w.to_string());
        }
        Ok(crate::store::directory::get_service_principal(tx, app)?
            .map_or_else(|| app.to_string(), |sp| sp.display_name))
    };
    let id = match who {
        PrincipalArgument::Service(app) => {
            let app = app.to_ascii_lowercase();
            return Ok(Assignee {
                object_id: object_id_of(&Principal::service(&app)),
                object_type: "ServicePrincipal".into(),
                display_name: sp_name(&app)?,
                application_id: Some(app),
                sign_in_name: None,
            });
        }
        PrincipalArgument::User(upn) => {
            return Ok(Assignee {
                object_id: object_id_of(&Principal::user(upn)),
                object_type: "User".into(),
                application_id: None,
                sign_in_name: Some(upn.to_string()),
                display_name: upn.to_string(),
            });
        }
        PrincipalArgument::ObjectId(id) => id.to_ascii_lowercase(),
    };
    // An object id the engine gave a service principal of the directory names it.
    let mut apps: Vec<String> = crate::identity::WORKLOAD_SERVICE_PRINCIPALS
        .iter()
        .map(|(app, _)| app.to_string())
        .collect();
    apps.extend(
        crate::store::directory::list_service_principals(tx)?
            .into_iter()
            .map(|sp| sp.application_id),
    );
    if let Some(app) = apps
        .into_iter()
        .find(|app| object_id_of(&Principal::service(app)) == id)
    {
        return Ok(Assignee {
            object_id: id,
            object_type: "ServicePrincipal".into(),
            display_name: sp_name(&app)?,
            application_id: Some(app),
            sign_in_name: None,
        });
    }
    Ok(Assignee {
        display_name: id.clone(),
        object_id: id,
        // As Az shows a principal Graph could not resolve.
        object_type: "Unknown".into(),
        application_id: None,
        sign_in_name: None,
    })
}

/// -RoleDefinitionName or -RoleDefinitionId, exactly one.
pub(crate) fn role_argument(
    name: &Option<String>,
    id: &Option<String>,
) -> Result<&'static RoleDefinition> {
    match (name, id) {
        (Some(n), None) => role_by_name(n),
        (None, Some(i)) => role_by_id_argument(i),
        _ => Err(Error::invalid_argument(
            "RoleDefinitionName",
            "give exactly one of RoleDefinitionName, RoleDefinitionId",
        )),
    }
}

const PRINCIPAL_OBJECT_ID: &str = "Object id of the user, group or service principal";
const PRINCIPAL_APPLICATION_ID: &str = "Application id of the service principal (Exchange Online: 00000002-0000-0ff1-ce00-000000000000)";
const PRINCIPAL_SIGN_IN_NAME: &str = "User principal name of the user";
const ROLE_NAME_HELP: &str = "Name of the role: Key Vault Administrator, Key Vault Crypto Officer, Key Vault Crypto User, Key Vault Crypto Service Encryption User or Key Vault Reader";
const ROLE_ID_HELP: &str = "GUID of the role, or its roleDefinitions resource id";
const SCOPE_HELP: &str = "The vault's resource id (Get-CkKeyVault's ResourceId): role assignments are kept at a vault's scope";

arguments! {
    pub struct NewRoleAssignmentArgs {
        pub object_id: Option<String> = "ObjectId", String, PRINCIPAL_OBJECT_ID, pipeline;
        pub application_id: Option<String> = "ApplicationId", String, PRINCIPAL_APPLICATION_ID, pipeline, aliases(&["SPN", "ServicePrincipalName"]);
        pub sign_in_name: Option<String> = "SignInName", String, PRINCIPAL_SIGN_IN_NAME, pipeline, aliases(&["Email", "UserPrincipalName"]);
        pub role_definition_name: Option<String> = "RoleDefinitionName", String, ROLE_NAME_HELP, pipeline;
        pub role_definition_id: Option<String> = "RoleDefinitionId", String, ROLE_ID_HELP, pipeline;
        pub scope: String = "Scope", String, SCOPE_HELP, mandatory, pipeline;
        pub role_assignment_name: Option<String> = "RoleAssignmentName", String, "The assignment's name, a GUID (default: a new one)";
    }
}

/// -RoleAssignmentName, a GUID, or a new one.
pub(crate) fn assignment_name(given: &Option<String>) -> Result<String> {
    match given {
        Some(n) if super::is_guid(n) => Ok(n.to_ascii_lowercase()),
        Some(_) => Err(Error::invalid_argument(
            "RoleAssignmentName",
            "must be a GUID",
        )),
        None => crypto::new_guid(),
    }
}

pub fn new_role_assignment(
    ctx: &Context<'_>,
    a: NewRoleAssignmentArgs,
) -> Result<RoleAssignmentOut> {
    let role = role_argument(&a.role_definition_name, &a.role_definition_id)?;
    let vault_name = scope_vault(ctx, &a.scope)?;
    let name = assignment_name(&a.role_assignment_name)?;
    let now = ctx.now();
    let by = ctx.principal().name().to_string();
    let subscription = ctx.store().subscription_id().to_string();
    ctx.transaction(&vault_name, |tx| {
        let vault = super::active_vault(tx, &vault_name)?;
        require_owner(&vault, &by, "create role assignments")?;
        let who = assignee(tx, PrincipalArgument::of_role_assignment(&a.object_id, &a.application_id, &a.sign_in_name)?)?;
        let existing = sql::list_role_assignments(tx, &vault.name)?;
        if let Some(same) = existing.iter().find(|e| {
            e.principal_id.eq_ignore_ascii_case(&who.object_id)
                && e.role_definition_id.eq_ignore_ascii_case(role.id)
        }) {
            return Err(Error::new(
                crate::CkStatus::Conflict,
                "RoleAssignmentExists",
                format!(
                    "The role assignment already exists: '{}' holds '{}' on vault '{}' (assignment {})",
                    who.display_name, role.name, vault.name, same.name
                ),
                same.name.clone(),
            ));
        }
        if existing.iter().any(|e| e.name.eq_ignore_ascii_case(&name)) {
            return Err(Error::invalid_argument(
                "RoleAssignmentName",
                format!("'{name}' names another assignment at this scope: role assignments cannot be updated, remove it first"),
            ));
        }
        let row = RoleAssignmentRow {
            vault: vault.name.clone(),
            name: name.clone(),
            role_definition_id: role.id.to_string(),
            principal_id: who.object_id,
            principal_type: who.object_type,
            application_id: who.application_id,
            sign_in_name: who.sign_in_name,
            display_name: who.display_name,
            created: now,
            created_by: by.clone(),
        };
        sql::insert_role_assignment(tx, &row)?;
        Ok(assignment_out(&row, &subscription))
    })
}

arguments! {
    pub struct GetRoleAssignmentArgs {
        pub object_id: Option<String> = "ObjectId", String, PRINCIPAL_OBJECT_ID, pipeline;
        pub application_id: Option<String> = "ApplicationId", String, PRINCIPAL_APPLICATION_ID, pipeline, aliases(&["SPN", "ServicePrincipalName"]);
        pub sign_in_name: Option<String> = "SignInName", String, PRINCIPAL_SIGN_IN_NAME, pipeline, aliases(&["Email", "UserPrincipalName"]);
        pub role_definition_name: Option<String> = "RoleDefinitionName", String, ROLE_NAME_HELP, pipeline;
        pub role_definition_id: Option<String> = "RoleDefinitionId", String, ROLE_ID_HELP, pipeline;
        pub scope: Option<String> = "Scope", String, "The vault's resource id (default: every vault of the store)", pipeline;
    }
}

pub fn get_role_assignment(
    ctx: &Context<'_>,
    a: GetRoleAssignmentArgs,
) -> Result<Vec<RoleAssignmentOut>> {
    let role = match (&a.role_definition_name, &a.role_definition_id) {
        (None, None) => None,
        _ => Some(role_argument(
            &a.role_definition_name,
            &a.role_definition_id,
        )?),
    };
    let vault_name = a
        .scope
        .as_deref()
        .map(|s| scope_vault(ctx, s))
        .transpose()?;
    let subscription = ctx.store().subscription_id().to_string();
    ctx.read_audited(vault_name.as_deref().unwrap_or(""), |tx| {
        let who = match (&a.object_id, &a.application_id, &a.sign_in_name) {
            (None, None, None) => None,
            _ => Some(assignee(
                tx,
                PrincipalArgument::of_role_assignment(
                    &a.object_id,
                    &a.application_id,
                    &a.sign_in_name,
                )?,
            )?),
        };
        let vaults = match &vault_name {
            Some(name) => vec![super::active_vault(tx, name)?],
            None => sql::list_vaults(tx, false)?,
        };
        let mut out = Vec::new();
        for vault in vaults {
            for row in sql::list_role_assignments(tx, &vault.name)? {
                let principal_matches = who
                    .as_ref()
                    .is_none_or(|w| w.object_id.eq_ignore_ascii_case(&row.principal_id));
                let role_matches =
                    role.is_none_or(|r| r.id.eq_ignore_ascii_case(&row.role_definition_id));
                if principal_matches && role_matches {
                    out.push(assignment_out(&row, &subscription));
                }
            }
        }
        Ok(out)
    })
}

arguments! {
    pub struct RemoveRoleAssignmentArgs {
        pub object_id: Option<String> = "ObjectId", String, PRINCIPAL_OBJECT_ID, pipeline;
        pub application_id: Option<String> = "ApplicationId", String, PRINCIPAL_APPLICATION_ID, pipeline, aliases(&["SPN", "ServicePrincipalName"]);
        pub sign_in_name: Option<String> = "SignInName", String, PRINCIPAL_SIGN_IN_NAME, pipeline, aliases(&["Email", "UserPrincipalName"]);
        pub role_definition_name: Option<String> = "RoleDefinitionName", String, ROLE_NAME_HELP, pipeline;
        pub role_definition_id: Option<String> = "RoleDefinitionId", String, ROLE_ID_HELP, pipeline;
        pub scope: String = "Scope", String, SCOPE_HELP, mandatory, pipeline;
        pub accept_data_loss: bool = "AcceptDataLoss", Switch, "Remove a workload's role even when its data encryption policies still need the vault's keys through it (a project extension; the store's vaults only)";
    }
}

pub fn remove_role_assignment(
    ctx: &Context<'_>,
    a: RemoveRoleAssignmentArgs,
) -> Result<RoleAssignmentOut> {
    let role = role_argument(&a.role_definition_name, &a.role_definition_id)?;
    let vault_name = scope_vault(ctx, &a.scope)?;
    let by = ctx.principal().name().to_string();
    let subscription = ctx.store().subscription_id().to_string();
    ctx.transaction(&vault_name, |tx| {
        let vault = super::active_vault(tx, &vault_name)?;
        require_owner(&vault, &by, "remove role assignments")?;
        let who = assignee(tx, PrincipalArgument::of_role_assignment(&a.object_id, &a.application_id, &a.sign_in_name)?)?;
        let assignments = sql::list_role_assignments(tx, &vault.name)?;
        let found = assignments
            .iter()
            .find(|e| {
                e.principal_id.eq_ignore_ascii_case(&who.object_id)
                    && e.role_definition_id.eq_ignore_ascii_case(role.id)
            })
            .ok_or_else(|| {
                Error::not_found(
                    "RoleAssignmentNotFound",
                    format!(
                        "The provided information does not map to a role assignment: '{}' holds no '{}' role on vault '{}'",
                        who.display_name, role.name, vault.name
                    ),
                    who.display_name.clone(),
                )
            })?;
        if vault.rbac && !a.accept_data_loss {
            refuse_if_workload_loses_keys(tx, &vault.name, &who, found, &assignments)?;
        }
        sql::delete_role_assignment(tx, &vault.name, &found.name)?;
        Ok(assignment_out(found, &subscription))
    })
}
