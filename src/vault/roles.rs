//! Azure RBAC for the store's vaults: Key Vault's built-in data-plane roles (their real ids and
//! data actions), role assignments at a vault's scope (New-, Get- and Remove-RoleAssignment,
//! as Az.Resources' New-AzRoleAssignment and its siblings), and the access check of a vault
//! whose permission model is Azure RBAC: there the acting principal's role assignments decide
//! and the vault's access policies are ignored, as Key Vault does.

use super::{check_local_location, parse_vault_resource_id, require_owner};
use crate::crypto;
use crate::error::{Error, Result};
use crate::identity::Principal;
use crate::operations::Context;
use crate::store::vaults::{self as sql, RoleAssignmentRow, VaultRow};
use crate::store::Tx;
use serde::Serialize;

/// A built-in role: its name, its GUID, and the data actions it allows.
#[derive(Debug, Clone, Copy)]
pub struct RoleDefinition {
    pub name: &'static str,
    pub id: &'static str,
    pub data_actions: &'static [&'static str],
}

const KEYS: &str = "Microsoft.KeyVault/vaults/keys";

/// Key Vault's built-in data-plane roles (Azure's built-in roles page; rbac-guide).
pub const ROLE_DEFINITIONS: &[RoleDefinition] = &[
    RoleDefinition {
        name: "Key Vault Administrator",
        id: "00482a5a-887f-4fb3-b363-3b7fe8e74483",
        data_actions: &["Microsoft.KeyVault/vaults/*"],
    },
    RoleDefinition {
        name: "Key Vault Crypto Officer",
        id: "14b46e9e-c2b7-41b4-b07b-48a6ebf60603",
        data_actions: &[
            "Microsoft.KeyVault/vaults/keys/*",
            "Microsoft.KeyVault/vaults/keyrotationpolicies/*",
        ],
    },
    RoleDefinition {
        name: "Key Vault Crypto User",
        id: "12338af0-0e69-4776-bea7-57ae8d297424",
        data_actions: &[
            "Microsoft.KeyVault/vaults/keys/read",
            "Microsoft.KeyVault/vaults/keys/update/action",
            "Microsoft.KeyVault/vaults/keys/backup/action",
            "Microsoft.KeyVault/vaults/keys/encrypt/action",
            "Microsoft.KeyVault/vaults/keys/decrypt/action",
            "Microsoft.KeyVault/vaults/keys/wrap/action",
            "Microsoft.KeyVault/vaults/keys/unwrap/action",
            "Microsoft.KeyVault/vaults/keys/sign/action",
            "Microsoft.KeyVault/vaults/keys/verify/action",
        ],
    },
    RoleDefinition {
        name: super::rules::CRYPTO_SERVICE_ENCRYPTION_USER_NAME,
        id: super::rules::CRYPTO_SERVICE_ENCRYPTION_USER,
        data_actions: &[
            "Microsoft.KeyVault/vaults/keys/read",
            "Microsoft.KeyVault/vaults/keys/wrap/action",
            "Microsoft.KeyVault/vaults/keys/unwrap/action",
        ],
    },
    RoleDefinition {
        name: "Key Vault Reader",
        id: "21090545-7ca7-4776-b22c-e363652d74d2",
        data_actions: &[
            "Microsoft.KeyVault/vaults/*/read",
            "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
        ],
    },
];

/// The data action a key permission stands for in Azure RBAC (Key Vault's access policy to
/// RBAC mapping: get and list are both keys/read).
pub fn data_action(permission: &str) -> String {
    let verb = match permission.to_ascii_lowercase().as_str() {
        "get" | "list" => "read".to_string(),
        "delete" => "delete".to_string(),
        "wrapkey" => "wrap/action".to_string(),
        "unwrapkey" => "unwrap/action".to_string(),
        other => format!("{other}/action"),
    };
    format!("{KEYS}/{verb}")
}

/// Whether an action pattern (`*` stands for any text, case ignored) allows `action`.
fn allows(pattern: &str, action: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    let action = action.to_ascii_lowercase();
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, rest) = parts.split_first().expect("split gives one part at least");
    let Some(mut left) = action.strip_prefix(first) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return left.is_empty();
    };
    for part in middle {
        match left.find(part) {
            Some(at) => left = &left[at + part.len()..],
            None => return false,
        }
    }
    left.ends_with(last)
}

impl RoleDefinition {
    /// Whether the role allows the key permission.
    pub fn grants(&self, permission: &str) -> bool {
        let action = data_action(permission);
        self.data_actions.iter().any(|p| allows(p, &action))
    }

    /// ARM's id of the role definition in a subscription.
    pub fn resource_id(&self, subscription: &str) -> String {
        format!(
            "/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{}",
            self.id
        )
    }
}

fn known_names() -> String {
    ROLE_DEFINITIONS
        .iter()
        .map(|r| format!("'{}'", r.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A role by its name (case ignored).
pub fn role_by_name(name: &str) -> Result<&'static RoleDefinition> {
    ROLE_DEFINITIONS
        .iter()
        .find(|r| r.name.eq_ignore_ascii_case(name.trim()))
        .ok_or_else(|| {
            Error::invalid_argument(
                "RoleDefinitionName",
                format!(
                    "'{name}' is not a role this engine supports: one of {}",
                    known_names()
                ),
            )
        })
}

/// A role by its GUID, alone or at the end of a role definition's resource id.
pub fn role_by_id(id: &str) -> Option<&'static RoleDefinition> {
    let guid = id.trim().trim_end_matches('/').rsplit('/').next()?;
    ROLE_DEFINITIONS
        .iter()
        .find(|r| r.id.eq_ignore_ascii_case(guid))
}

fn role_by_id_argument(id: &str) -> Result<&'static RoleDefinition> {
    role_by_id(id).ok_or_else(|| {
        Error::invalid_argument(
            "RoleDefinitionId",
            format!(
                "'{id}' is not the id of a role this engine supports ({}); give the role's GUID or its roleDefinitions resource id",
                known_names()
            ),
        )
    })
}

/// The object id the engine gives a principal: a user's name-based GUID (or the GUID it signed
/// in as), a service principal's of `spn:` and its application id, as its access policies and
/// the endpoint's Graph routes give them.
pub fn object_id_of(principal: &Principal) -> String {
    match principal {
        Principal::User(name) if super::is_guid(name) => name.to_ascii_lowercase(),
        Principal::User(name) => crypto::name_guid(&name.to_lowercase()),
        Principal::ServicePrincipal(app) => {
            crypto::name_guid(&format!("spn:{}", app.to_lowercase()))
        }
    }
}

/// Whether an assignment is the principal's.
pub fn assigned_to(a: &RoleAssignmentRow, principal: &Principal) -> bool {
    let eq = |v: &Option<String>, s: &str| v.as_deref().is_some_and(|v| v.eq_ignore_ascii_case(s));
    a.principal_id
        .eq_ignore_ascii_case(&object_id_of(principal))
        || match principal {
            Principal::User(name) => eq(&a.sign_in_name, name),
            Principal::ServicePrincipal(app) => eq(&a.application_id, app),
        }
}

/// The key permissions the principal's role assignments give it.
pub fn permissions_by_roles(roles: &[RoleAssignmentRow], principal: &Principal) -> Vec<String> {
    let held: Vec<&RoleDefinition> = roles
        .iter()
        .filter(|a| assigned_to(a, principal))
        .filter_map(|a| role_by_id(&a.role_definition_id))
        .collect();
    super::model::ALL_KEY_PERMISSIONS
        .iter()
        .filter(|p| held.iter().any(|r| r.grants(p)))
        .map(|p| p.to_string())
        .collect()
}

/// Whether the principal holds the role at the vault.
pub fn holds(roles: &[RoleAssignmentRow], principal: &Principal, role_id: &str) -> bool {
    roles
        .iter()
        .any(|a| assigned_to(a, principal) && a.role_definition_id.eq_ignore_ascii_case(role_id))
}

/// Key Vault's inner error code when a role assignment is missing (an access policy's is
/// AccessDenied); the endpoint answers it under 403 Forbidden.
pub const FORBIDDEN_BY_RBAC: &str = "ForbiddenByRbac";

/// The access check of an RBAC vault: a role of the principal's allows the permission's data
/// action, or Key Vault's 403 naming the action and how to grant it.
pub(crate) fn authorize_by_roles(
    roles: &[RoleAssignmentRow],
    vault: &VaultRow,
    principal: &Principal,
    permission: &str,
) -> Result<()> {
    let granted = roles
        .iter()
        .filter(|a| assigned_to(a, principal))
        .filter_map(|a| role_by_id(&a.role_definition_id))
        .any(|r| r.grants(permission));
    if granted {
        return Ok(());
    }
    Err(Error::new(
        crate::CkStatus::Forbidden,
        FORBIDDEN_BY_RBAC,
        format!(
            "Caller is not authorized to perform action on resource: '{}' (object id {}) holds no role allowing '{}' on vault '{}', which uses Azure RBAC (access policies are ignored; DecisionReason 'DeniedWithNoValidRBAC'). The vault owner can grant one with New-RoleAssignment -RoleDefinitionName '{}' -Scope <the vault's ResourceId>",
            principal.name(),
            object_id_of(principal),
            data_action(permission),
            vault.name,
            suggested_role(permission).name,
        ),
        vault.name.clone(),
    ))
}

/// The narrowest built-in role that allows a permission.
fn suggested_role(permission: &str) -> &'static RoleDefinition {
    const NARROWEST_FIRST: [&str; 5] = [
        "Key Vault Reader",
        super::rules::CRYPTO_SERVICE_ENCRYPTION_USER_NAME,
        "Key Vault Crypto User",
        "Key Vault Crypto Officer",
        "Key Vault Administrator",
    ];
    NARROWEST_FIRST
        .iter()
        .filter_map(|name| ROLE_DEFINITIONS.iter().find(|r| r.name == *name))
        .find(|r| r.grants(permission))
        .unwrap_or(&ROLE_DEFINITIONS[0])
}

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

fn workload_display_name(application_id: &str) -> Option<&'static str> {
    match crate::identity::workload_of(application_id)? {
        "Exchange" => Some("Office 365 Exchange Online"),
        "SharePoint" => Some("Office 365 SharePoint Online"),
        "AIP" => Some("Microsoft Rights Management Services"),
        _ => None,
    }
}

fn assignee(
    tx: &Tx<'_>,
    object_id: &Option<String>,
    application_id: &Option<String>,
    sign_in_name: &Option<String>,
) -> Result<Assignee> {
    let given = [object_id, application_id, sign_in_name]
        .iter()
        .filter(|v| v.is_some())
        .count();
    if given != 1 {
        return Err(Error::invalid_argument(
            "ObjectId",
            "give exactly one of ObjectId, ApplicationId, SignInName",
        ));
    }
    let sp_name = |app: &str| -> Result<String> {
        if let Some(w) = workload_display_name(app) {
            return Ok(w.to_string());
        }
        Ok(crate::store::directory::get_service_principal(tx, app)?
            .map_or_else(|| app.to_string(), |sp| sp.display_name))
    };
    if let Some(app) = application_id {
        if !super::is_guid(app) {
            return Err(Error::invalid_argument("ApplicationId", "must be a GUID"));
        }
        let app = app.to_ascii_lowercase();
        return Ok(Assignee {
            object_id: object_id_of(&Principal::service(&app)),
            object_type: "ServicePrincipal".into(),
            display_name: sp_name(&app)?,
            application_id: Some(app),
            sign_in_name: None,
        });
    }
    if let Some(upn) = sign_in_name {
        if upn.trim().is_empty() || !upn.contains('@') {
            return Err(Error::invalid_argument(
                "SignInName",
                "must look like user@domain",
            ));
        }
        return Ok(Assignee {
            object_id: object_id_of(&Principal::user(upn.as_str())),
            object_type: "User".into(),
            application_id: None,
            sign_in_name: Some(upn.clone()),
            display_name: upn.clone(),
        });
    }
    let id = object_id.as_deref().unwrap_or_default();
    if !super::is_guid(id) {
        return Err(Error::invalid_argument("ObjectId", "must be a GUID"));
    }
    let id = id.to_ascii_lowercase();
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

pub fn new_role_assignment(
    ctx: &Context<'_>,
    a: NewRoleAssignmentArgs,
) -> Result<RoleAssignmentOut> {
    let role = role_argument(&a.role_definition_name, &a.role_definition_id)?;
    let vault_name = scope_vault(ctx, &a.scope)?;
    let name = match &a.role_assignment_name {
        Some(n) if super::is_guid(n) => n.to_ascii_lowercase(),
        Some(_) => {
            return Err(Error::invalid_argument(
                "RoleAssignmentName",
                "must be a GUID",
            ))
        }
        None => crypto::new_guid()?,
    };
    let now = ctx.now();
    let by = ctx.principal().name().to_string();
    let subscription = ctx.store().subscription_id().to_string();
    ctx.transaction(&vault_name, |tx| {
        let vault = super::active_vault(tx, &vault_name)?;
        require_owner(&vault, &by, "create role assignments")?;
        let who = assignee(tx, &a.object_id, &a.application_id, &a.sign_in_name)?;
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
                &a.object_id,
                &a.application_id,
                &a.sign_in_name,
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
        let who = assignee(tx, &a.object_id, &a.application_id, &a.sign_in_name)?;
        let found = sql::list_role_assignments(tx, &vault.name)?
            .into_iter()
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
        sql::delete_role_assignment(tx, &vault.name, &found.name)?;
        Ok(assignment_out(&found, &subscription))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_roles_allow_what_their_data_actions_say() {
        let role = |name: &str| role_by_name(name).unwrap();
        let service = role("Key Vault Crypto Service Encryption User");
        for p in ["get", "list", "wrapKey", "unwrapKey"] {
            assert!(service.grants(p), "{p}");
        }
        for p in [
            "encrypt", "decrypt", "sign", "create", "delete", "purge", "backup",
        ] {
            assert!(!service.grants(p), "{p}");
        }
        let reader = role("key vault reader");
        assert!(reader.grants("get") && reader.grants("list"));
        assert!(!reader.grants("wrapKey") && !reader.grants("update"));
        let user = role("Key Vault Crypto User");
        for p in [
            "get", "update", "backup", "encrypt", "decrypt", "wrapKey", "sign", "verify",
        ] {
            assert!(user.grants(p), "{p}");
        }
        assert!(!user.grants("create") && !user.grants("delete") && !user.grants("restore"));
        for name in ["Key Vault Crypto Officer", "Key Vault Administrator"] {
            for p in crate::vault::model::ALL_KEY_PERMISSIONS {
                assert!(role(name).grants(p), "{name} {p}");
            }
        }
    }

    #[test]
    fn roles_are_found_by_guid_or_resource_id_and_unknown_names_are_refused() {
        let id = "/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/E147488A-F6F5-4113-8E2D-B22465E65BF6";
        assert_eq!(
            role_by_id(id).unwrap().name,
            "Key Vault Crypto Service Encryption User"
        );
        assert!(role_by_id("b24988ac-6180-42a0-ab88-20f7382dd24c").is_none());
        let e = role_by_name("Contributor").unwrap_err();
        assert!(e.message.contains("RoleDefinitionName"), "{e:?}");
        assert!(e.message.contains("Key Vault Reader"), "{e:?}");
    }

    #[test]
    fn a_refusal_suggests_the_narrowest_role_allowing_the_operation() {
        assert_eq!(suggested_role("get").name, "Key Vault Reader");
        assert_eq!(
            suggested_role("wrapKey").name,
            "Key Vault Crypto Service Encryption User"
        );
        assert_eq!(suggested_role("sign").name, "Key Vault Crypto User");
        assert_eq!(suggested_role("create").name, "Key Vault Crypto Officer");
    }

    #[test]
    fn patterns_match_as_azure_wildcards() {
        assert!(allows(
            "Microsoft.KeyVault/vaults/*",
            "microsoft.keyvault/vaults/keys/read"
        ));
        assert!(allows(
            "Microsoft.KeyVault/vaults/*/read",
            "Microsoft.KeyVault/vaults/keys/read"
        ));
        assert!(!allows(
            "Microsoft.KeyVault/vaults/*/read",
            "Microsoft.KeyVault/vaults/keys/wrap/action"
        ));
        assert!(allows("a/b", "A/B") && !allows("a/b", "a/bc"));
    }
}
