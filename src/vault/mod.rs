//! Key vaults: creation, soft delete and recovery, access policies; keys live in [`keys`],
//! backup and restore in [`backup`], and [`boundary`] is the one door the workload modules
//! (Exchange, SharePoint, AIP) use for get, wrap, unwrap and permission checks.

pub mod backend;
pub mod backup;
pub mod backup_files;
pub mod boundary;
pub mod impact;
pub mod inspect;
pub mod key_operations;
pub mod keys;
pub mod local;
pub mod model;
pub mod operations;
pub mod reachability;
pub mod regions;
pub mod remote;
pub mod role_assignments;
pub mod roles;
pub mod rules;
pub mod signatures;
pub mod usage;

/// Opens a session's Azure backend ([`crate::session::OpenAzure`]).
pub use remote::target::open_backend as open_azure;

use crate::error::{Error, Result};
use crate::identity::Principal;
use crate::operations::{Context, ResourceLocation};
use crate::store::vaults::{self as sql, PolicyRow, Tags, VaultRow};
use crate::store::Tx;
use model::{check_vault_name, normalize_location, vault_out, KeyVaultOut};
pub use model::{is_guid, PrincipalArgument};
use model::{FORCE_HELP, KEY_PERMISSION_VALUES, LOCAL_RESOURCE_GROUP, VAULT_NAME_HELP};

// The access policy cmdlets' parameter set names, as Az.KeyVault's.
pub(crate) const BY_UPN: &str = "ByUserPrincipalName";
pub(crate) const BY_OBJECT_ID: &str = "ByObjectId";
pub(crate) const BY_SPN: &str = "ByServicePrincipalName";

/// A vault that exists and is not deleted, or KeyVault's 404.
pub(crate) fn active_vault(tx: &Tx<'_>, name: &str) -> Result<VaultRow> {
    match sql::get_vault(tx, name)? {
        Some(v) if v.deleted_date.is_none() => Ok(v),
        Some(v) => Err(Error::not_found(
            "VaultNotFound",
            format!(
                "Vault '{}' is deleted; recover it with Undo-KeyVaultRemoval",
                v.name
            ),
            name,
        )),
        None => Err(Error::not_found(
            "VaultNotFound",
            format!("Vault '{name}' does not exist"),
            name,
        )),
    }
}

/// Whether an access policy is for `principal`, matched as Key Vault matches: a user by object
/// id or user principal name, a service principal by application id (or the name or object id
/// its policy was set with).
pub(crate) fn policy_matches(p: &PolicyRow, principal: &Principal) -> bool {
    let eq =
        |v: &Option<String>, name: &str| v.as_deref().is_some_and(|v| v.eq_ignore_ascii_case(name));
    match principal {
        Principal::User(name) => {
            p.service_principal_name.is_none()
                && (p.object_id.eq_ignore_ascii_case(name) || eq(&p.user_principal_name, name))
        }
        Principal::ServicePrincipal(app) => {
            p.user_principal_name.is_none()
                && (eq(&p.application_id, app)
                    || eq(&p.service_principal_name, app)
                    || p.object_id.eq_ignore_ascii_case(app))
        }
    }
}

/// Checks that `principal` holds `keys/<permission>` on the vault: through an access policy,
/// or, in a vault whose permission model is Azure RBAC, through a role assignment (access
/// policies are then ignored).
pub(crate) fn authorize(
    tx: &Tx<'_>,
    vault: &VaultRow,
    principal: &Principal,
    permission: &str,
) -> Result<()> {
    if vault.rbac {
        return roles::authorize_by_roles(
            &sql::list_role_assignments(tx, &vault.name)?,
            vault,
            principal,
            permission,
        );
    }
    authorize_by_policies(
        &sql::list_policies(tx, &vault.name)?,
        vault,
        principal,
        permission,
    )
}

/// [`authorize`] against what a key snapshot read.
pub(crate) fn authorize_by(
    snapshot: &crate::store::KeySnapshot,
    principal: &Principal,
    permission: &str,
) -> Result<()> {
    if snapshot.vault.rbac {
        roles::authorize_by_roles(
            &snapshot.role_assignments,
            &snapshot.vault,
            principal,
            permission,
        )
    } else {
        authorize_by_policies(&snapshot.policies, &snapshot.vault, principal, permission)
    }
}

/// The access policy model's check.
fn authorize_by_policies(
    policies: &[PolicyRow],
    vault: &VaultRow,
    principal: &Principal,
    permission: &str,
) -> Result<()> {
    let granted = policies
        .iter()
        .filter(|p| policy_matches(p, principal))
        .any(|p| {
            p.permissions
                .iter()
                .any(|g| g.eq_ignore_ascii_case(permission) || g.eq_ignore_ascii_case("all"))
        });
    if granted {
        Ok(())
    } else {
        Err(Error::new(
            crate::CkStatus::Forbidden,
            "Forbidden",
            format!(
                "Access denied: '{}' does not have keys/{permission} permission on vault '{}'. The vault owner can grant it with Set-KeyVaultAccessPolicy -VaultName {} -PermissionsToKeys {permission}",
                principal.name(), vault.name, vault.name
            ),
            vault.name.clone(),
        ))
    }
}

/// Vault-level changes (policies, deletion) are the owner's: the control plane in Azure.
pub(crate) fn require_owner(vault: &VaultRow, principal: &str, action: &str) -> Result<()> {
    if vault.owner.eq_ignore_ascii_case(principal) {
        Ok(())
    } else {
        Err(Error::forbidden(
            format!(
                "Access denied: only the vault's owner '{}' can {action} on vault '{}'; '{principal}' is not the owner",
                vault.owner, vault.name
            ),
            vault.name.clone(),
        ))
    }
}

const RESOURCE_GROUP_HELP: &str = "Resource group of the vault in Azure Resource Manager (default: found by listing the subscription's vaults; the store's own vaults are all in 'customer-key')";
const SUBSCRIPTION_HELP: &str = "Azure subscription of the vault (default: AZURE_SUBSCRIPTION_ID; the store's own vaults are in the store's subscription)";

/// -SubscriptionId and -ResourceGroupName locate a vault in Azure Resource Manager. The store's
/// own vaults are in the store's subscription and one resource group: other values find
/// nothing there, as in Azure.
fn check_local_location(
    ctx: &Context<'_>,
    resource_group: &Option<String>,
    subscription: &Option<String>,
) -> Result<()> {
    let store_subscription = ctx.store().subscription_id();
    if let Some(s) = subscription {
        if !s.trim().eq_ignore_ascii_case(store_subscription) {
            return Err(Error::not_found(
                "SubscriptionNotFound",
                format!("The subscription '{s}' could not be found: the store's vaults are in subscription '{store_subscription}'"),
                "SubscriptionId",
            ));
        }
    }
    if let Some(g) = resource_group {
        if !g.trim().eq_ignore_ascii_case(LOCAL_RESOURCE_GROUP) {
            return Err(Error::not_found(
                "ResourceGroupNotFound",
                format!("Resource group '{g}' could not be found: the store's vaults are all in resource group '{LOCAL_RESOURCE_GROUP}'"),
                "ResourceGroupName",
            ));
        }
    }
    Ok(())
}

/// -ResourceId of the ResourceId parameter sets, as Get-AzResource and Get-AzKeyVault give it:
/// `/subscriptions/{id}/resourceGroups/{group}/providers/Microsoft.KeyVault/vaults/{name}`.
/// The store's own vaults are in its subscription and one resource group, so an ID elsewhere
/// finds nothing, as in Azure (unless -VaultName is given too, below). Against Azure the ID is passed on whole (vault names are unique
/// there, and Resource Manager is asked in that subscription and group).
pub(crate) fn locate_by_resource_id(
    ctx: &Context<'_>,
    id: &str,
    named_by_vault_name: bool,
) -> Result<ResourceLocation> {
    let location = parse_vault_resource_id(id).ok_or_else(|| {
        Error::invalid_argument(
            "ResourceId",
            "must be a key vault's Azure resource ID: /subscriptions/{subscription id}/resourceGroups/{resource group}/providers/Microsoft.KeyVault/vaults/{vault name}",
        )
    })?;
    // Beside -VaultName (an Az PSKeyVault piped in binds both) the ID only has to name the
    // same vault: its subscription is Azure's, not the store's.
    if ctx.remote().is_none() && !named_by_vault_name {
        check_local_location(
            ctx,
            &Some(location.resource_group.clone()),
            &Some(location.subscription_id.clone()),
        )
        .map_err(|e| e.with_target("ResourceId"))?;
    }
    Ok(location)
}

/// The parts of a key vault's resource ID; segment names compare without case, as Azure does.
fn parse_vault_resource_id(id: &str) -> Option<ResourceLocation> {
    let parts: Vec<&str> = id.trim().trim_end_matches('/').split('/').collect();
    match parts.as_slice() {
        ["", subscriptions, subscription, groups, group, providers, namespace, vaults, name]
            if subscriptions.eq_ignore_ascii_case("subscriptions")
                && groups.eq_ignore_ascii_case("resourceGroups")
                && providers.eq_ignore_ascii_case("providers")
                && namespace.eq_ignore_ascii_case("Microsoft.KeyVault")
                && vaults.eq_ignore_ascii_case("vaults")
                && [subscription, group, name].iter().all(|s| !s.is_empty()) =>
        {
            Some(ResourceLocation {
                subscription_id: subscription.to_string(),
                resource_group: group.to_string(),
                name: name.to_string(),
            })
        }
        _ => None,
    }
}

/// -PermissionsToKeys as granted: `all` stands for every permission, duplicates dropped.
pub fn granted_permissions(given: &[String]) -> Vec<String> {
    let mut permissions: Vec<String> = Vec::new();
    for p in given {
        if p.eq_ignore_ascii_case("all") {
            return model::ALL_KEY_PERMISSIONS
                .iter()
                .map(|s| s.to_string())
                .collect();
        }
        if !permissions.contains(p) {
            permissions.push(p.clone());
        }
    }
    permissions
}

fn vault_output(ctx: &Context<'_>, tx: &Tx<'_>, v: &VaultRow) -> Result<KeyVaultOut> {
    let policies = sql::list_policies(tx, &v.name)?;
    let store = ctx.store();
    Ok(vault_out(
        v,
        &policies,
        store.tenant_id(),
        store.subscription_id(),
    ))
}

/// Refuses to go on while policies use keys of `vault` (one key when `name` is given) unless
/// the caller said -AcceptDataLoss, naming who uses them and why it matters.
pub(crate) fn refuse_if_referenced(
    tx: &Tx<'_>,
    vault: &str,
    name: Option<&str>,
    accept_data_loss: bool,
    action: &str,
) -> Result<()> {
    if accept_data_loss {
        return Ok(());
    }
    let refs = sql::key_references(tx, vault, name)?;
    if refs.is_empty() {
        return Ok(());
    }
    let users = usage::referrers_text(&refs);
    let what = name.map_or_else(
        || format!("vault '{vault}'"),
        |n| format!("key '{n}' in vault '{vault}'"),
    );
    Err(Error::invalid_operation(
        "KeyInUse",
        format!(
            "Refusing to {action} {what}: it is used by {}. Data those policies protect would become unreadable. Move the policies to other keys first, or repeat with -AcceptDataLoss if you accept the loss.",
            users.join(", ")
        ),
        name.unwrap_or(vault),
    ))
}

arguments! {
    pub struct NewKeyVaultArgs {
        pub vault_name: String = "VaultName", String, VAULT_NAME_HELP, mandatory, pipeline, position(0);
        pub location: String = "Location", String, "Azure region of the vault (its geography bounds backup and restore)", mandatory, pipeline;
        pub sku: Option<String> = "Sku", String, "Standard, or Premium for HSM-protected keys", allowed(&["Standard", "Premium"]);
        pub soft_delete_retention_in_days: Option<i64> = "SoftDeleteRetentionInDays", Int, "Days a deleted vault or key is kept before it is purged (7-90, default 90)", range(7, 90);
        pub enable_purge_protection: bool = "EnablePurgeProtection", Switch, "Forbid purging deleted keys before their retention ends";
        pub disable_soft_delete: bool = "DisableSoftDelete", Switch, "Delete keys at once instead of keeping them recoverable";
        pub tag: Option<Tags> = "Tag", Hashtable, "Tags as name/value pairs";
        pub enable_rbac_authorization: bool = "EnableRbacAuthorization", Switch, "Authorize key operations by Azure role assignments (New-CkRoleAssignment) instead of access policies";
    }
}

pub fn new_key_vault(ctx: &Context<'_>, a: NewKeyVaultArgs) -> Result<KeyVaultOut> {
    check_vault_name(&a.vault_name)?;
    let location = normalize_location(&a.location)?;
    if a.disable_soft_delete && a.enable_purge_protection {
        return Err(Error::invalid_argument(
            "EnablePurgeProtection",
            "needs soft delete; it cannot be combined with -DisableSoftDelete",
        ));
    }
    if a.disable_soft_delete && a.soft_delete_retention_in_days.is_some() {
        return Err(Error::invalid_argument(
            "SoftDeleteRetentionInDays",
            "has no meaning with -DisableSoftDelete",
        ));
    }
    let now = ctx.now();
    let principal = ctx.principal().name().to_string();
    ctx.transaction(&a.vault_name, |tx| {
        if let Some(existing) = sql::get_vault(tx, &a.vault_name)? {
            let state = if existing.deleted_date.is_some() {
                " in the deleted state; recover it with Undo-KeyVaultRemoval or wait for its purge"
            } else {
                ""
            };
            return Err(Error::conflict(
                format!("A vault named '{}' already exists{state}", existing.name),
                &a.vault_name,
            ));
        }
        let vault = VaultRow {
            name: a.vault_name.clone(),
            location,
            sku: a.sku.clone().unwrap_or_else(|| "Standard".into()),
            soft_delete: !a.disable_soft_delete,
            retention_days: a.soft_delete_retention_in_days.unwrap_or(90),
            purge_protection: a.enable_purge_protection,
            tags: a.tag.clone().unwrap_or_default(),
            owner: principal.clone(),
            created: now,
            deleted_date: None,
            scheduled_purge: None,
            rbac: a.enable_rbac_authorization,
        };
        sql::insert_vault(tx, &vault)?;
        if vault.rbac {
            // As New-AzKeyVault -EnableRbacAuthorization: no access policy (they would be
            // ignored); the creator assigns itself a role, such as Key Vault Crypto Officer.
            return vault_output(ctx, tx, &vault);
        }
        // As in Azure, the creator gets a policy with every key permission: a user's, or a
        // service principal's (by its application id) when one created the vault.
        let mut creator = principal_policy(match ctx.principal() {
            Principal::User(u) => PrincipalArgument::User(u),
            Principal::ServicePrincipal(app) => PrincipalArgument::Service(app),
        });
        creator.permissions = model::ALL_KEY_PERMISSIONS
            .iter()
            .map(|s| s.to_string())
            .collect();
        sql::upsert_policy(tx, &vault.name, &creator)?;
        vault_output(ctx, tx, &vault)
    })
}

arguments! {
    pub struct GetKeyVaultArgs {
        pub vault_name: Option<String> = "VaultName", String, VAULT_NAME_HELP, pipeline, position(0);
        pub in_removed_state: bool = "InRemovedState", Switch, "Get soft-deleted vaults";
        pub resource_group_name: Option<String> = "ResourceGroupName", String, RESOURCE_GROUP_HELP;
        pub subscription_id: Option<String> = "SubscriptionId", String, SUBSCRIPTION_HELP;
    }
}

pub fn get_key_vault(ctx: &Context<'_>, a: GetKeyVaultArgs) -> Result<Vec<KeyVaultOut>> {
    check_local_location(ctx, &a.resource_group_name, &a.subscription_id)?;
    let target = a.vault_name.clone().unwrap_or_default();
    let now = ctx.now();
    // A read purges nothing: what passed its retention is treated as already gone.
    let live = |v: &VaultRow| v.scheduled_purge.is_none_or(|p| p > now);
    ctx.read_audited(&target, |tx| {
        let vaults = match &a.vault_name {
            Some(name) => {
                let v = sql::get_vault(tx, name)?
                    .filter(|v| v.deleted_date.is_some() == a.in_removed_state)
                    .filter(live);
                match v {
                    Some(v) => vec![v],
                    None => {
                        return Err(Error::not_found(
                            "VaultNotFound",
                            format!(
                                "Vault '{name}' does not exist{}",
                                if a.in_removed_state {
                                    " in the deleted state"
                                } else {
                                    ""
                                }
                            ),
                            name.as_str(),
                        ))
                    }
                }
            }
            None => {
                let mut vaults = sql::list_vaults(tx, a.in_removed_state)?;
                vaults.retain(live);
                vaults
            }
        };
        vaults.iter().map(|v| vault_output(ctx, tx, v)).collect()
    })
}

arguments! {
    pub struct RemoveKeyVaultArgs {
        pub vault_name: String = "VaultName", String, VAULT_NAME_HELP, mandatory, pipeline, position(0);
        pub in_removed_state: bool = "InRemovedState", Switch, "Purge a soft-deleted vault for good";
        // Az's -Force: only the prompt, which PowerShell asks; the engine has nothing to skip.
        pub force: bool = "Force", Switch, FORCE_HELP;
        pub accept_data_loss: bool = "AcceptDataLoss", Switch, "Remove even when a data encryption policy uses a key of the vault, accepting that what it protects becomes unreadable";
    }
}

pub fn remove_key_vault(ctx: &Context<'_>, a: RemoveKeyVaultArgs) -> Result<()> {
    let now = ctx.now();
    remove_key_vault_in_store(ctx, &a, now)?;
    // Purged material leaves memory once the removal is committed.
    ctx.store().forget_private_keys();
    Ok(())
}

fn remove_key_vault_in_store(ctx: &Context<'_>, a: &RemoveKeyVaultArgs, now: i64) -> Result<()> {
    ctx.transaction(&a.vault_name, |tx| {
        let vault = sql::get_vault(tx, &a.vault_name)?
            .filter(|v| v.deleted_date.is_some() == a.in_removed_state)
            .ok_or_else(|| {
                Error::not_found(
                    "VaultNotFound",
                    format!(
                        "Vault '{}' does not exist{}",
                        a.vault_name,
                        if a.in_removed_state { " in the deleted state" } else { "" }
                    ),
                    &a.vault_name,
                )
            })?;
        require_owner(&vault, ctx.principal().name(), "delete or purge the vault")?;
        refuse_if_referenced(tx, &vault.name, None, a.accept_data_loss, if a.in_removed_state { "purge" } else { "delete" })?;
        if a.in_removed_state || !vault.soft_delete {
            if a.in_removed_state && vault.purge_protection {
                return Err(Error::forbidden(
                    format!(
                        "Vault '{}' has purge protection: it cannot be purged before {}; it is purged then by itself",
                        vault.name,
                        vault.scheduled_purge.map(crate::time::iso_from_unix).unwrap_or_default()
                    ),
                    &vault.name,
                ));
            }
            sql::delete_vault(tx, &vault.name)
        } else {
            sql::set_vault_deleted(tx, &vault.name, Some((now, now + vault.retention_days * 86_400)))
        }
    })
}

arguments! {
    pub struct UndoKeyVaultRemovalArgs {
        pub vault_name: String = "VaultName", String, VAULT_NAME_HELP, mandatory, pipeline, position(0);
    }
}

pub fn undo_key_vault_removal(
    ctx: &Context<'_>,
    a: UndoKeyVaultRemovalArgs,
) -> Result<KeyVaultOut> {
    ctx.transaction(&a.vault_name, |tx| {
        let mut vault = sql::get_vault(tx, &a.vault_name)?
            .filter(|v| v.deleted_date.is_some())
            .ok_or_else(|| {
                Error::not_found(
                    "VaultNotFound",
                    format!(
                        "Vault '{}' does not exist in the deleted state",
                        a.vault_name
                    ),
                    &a.vault_name,
                )
            })?;
        require_owner(&vault, ctx.principal().name(), "recover the vault")?;
        sql::set_vault_deleted(tx, &vault.name, None)?;
        vault.deleted_date = None;
        vault.scheduled_purge = None;
        vault_output(ctx, tx, &vault)
    })
}

arguments! {
    pub struct UpdateKeyVaultArgs {
        pub vault_name: String = "VaultName", String, VAULT_NAME_HELP, mandatory, pipeline, position(0);
        pub enable_rbac_authorization: Option<bool> = "EnableRbacAuthorization", Bool, "$true: authorize key operations by Azure role assignments, ignoring access policies; $false: by access policies again (role assignments are kept but ignored)";
        pub enable_purge_protection: bool = "EnablePurgeProtection", Switch, "Turn purge protection on (it cannot be turned off)";
        pub resource_group_name: Option<String> = "ResourceGroupName", String, RESOURCE_GROUP_HELP;
        pub subscription_id: Option<String> = "SubscriptionId", String, SUBSCRIPTION_HELP;
    }
}

pub fn update_key_vault(ctx: &Context<'_>, a: UpdateKeyVaultArgs) -> Result<KeyVaultOut> {
    check_local_location(ctx, &a.resource_group_name, &a.subscription_id)?;
    if a.enable_rbac_authorization.is_none() && !a.enable_purge_protection {
        return Err(Error::invalid_argument(
            "EnableRbacAuthorization",
            "give EnableRbacAuthorization or EnablePurgeProtection: there is nothing else to update",
        ));
    }
    ctx.transaction(&a.vault_name, |tx| {
        let mut vault = active_vault(tx, &a.vault_name)?;
        require_owner(&vault, ctx.principal().name(), "update the vault")?;
        if let Some(rbac) = a.enable_rbac_authorization {
            sql::set_vault_rbac(tx, &vault.name, rbac)?;
            vault.rbac = rbac;
        }
        if a.enable_purge_protection && !vault.purge_protection {
            if !vault.soft_delete {
                return Err(Error::invalid_argument(
                    "EnablePurgeProtection",
                    "needs soft delete, which this vault does not have",
                ));
            }
            sql::set_vault_purge_protection(tx, &vault.name)?;
            vault.purge_protection = true;
        }
        vault_output(ctx, tx, &vault)
    })
}

arguments! {
    pub struct SetAccessPolicyArgs {
        pub vault_name: String = "VaultName", String, VAULT_NAME_HELP, mandatory, pipeline, position(0);
        pub user_principal_name: Option<String> = "UserPrincipalName", String, "User principal name of the user", pipeline, in_set(BY_UPN, true);
        pub object_id: Option<String> = "ObjectId", String, "Object id of the user, group or service principal", pipeline, in_set(BY_OBJECT_ID, true);
        pub service_principal_name: Option<String> = "ServicePrincipalName", String, "Application id or name of the service principal", pipeline, in_set(BY_SPN, true);
        pub permissions_to_keys: Vec<String> = "PermissionsToKeys", StringArray, "Key permissions to grant (replaces the principal's current ones)", mandatory, allowed(KEY_PERMISSION_VALUES);
        pub pass_thru: bool = "PassThru", Switch, "Return the vault";
        pub resource_group_name: Option<String> = "ResourceGroupName", String, RESOURCE_GROUP_HELP;
        pub subscription_id: Option<String> = "SubscriptionId", String, SUBSCRIPTION_HELP;
    }
}

/// The policy row a principal stands for (permissions left empty).
pub(crate) fn principal_policy(principal: PrincipalArgument<'_>) -> PolicyRow {
    let (object_id, application_id, upn, spn) = match principal {
        PrincipalArgument::User(u) => (crate::identity::user_object_id(u), None, Some(u), None),
        PrincipalArgument::ObjectId(o) => (o.to_ascii_lowercase(), None, None, None),
        PrincipalArgument::Service(s) => (
            crate::identity::service_object_id(s),
            is_guid(s).then(|| s.to_ascii_lowercase()),
            None,
            Some(s),
        ),
    };
    PolicyRow {
        display_name: upn
            .or(spn)
            .map_or_else(|| object_id.clone(), str::to_string),
        object_id,
        application_id,
        user_principal_name: upn.map(str::to_string),
        service_principal_name: spn.map(str::to_string),
        permissions: vec![],
    }
}

pub fn set_access_policy(ctx: &Context<'_>, a: SetAccessPolicyArgs) -> Result<Option<KeyVaultOut>> {
    let mut policy = principal_policy(PrincipalArgument::of_access_policy(
        &a.user_principal_name,
        &a.object_id,
        &a.service_principal_name,
    )?);
    check_local_location(ctx, &a.resource_group_name, &a.subscription_id)?;
    policy.permissions = granted_permissions(&a.permissions_to_keys);
    ctx.transaction(&a.vault_name, |tx| {
        let vault = active_vault(tx, &a.vault_name)?;
        require_owner(&vault, ctx.principal().name(), "change access policies")?;
        sql::upsert_policy(tx, &vault.name, &policy)?;
        if a.pass_thru {
            Ok(Some(vault_output(ctx, tx, &vault)?))
        } else {
            Ok(None)
        }
    })
}

arguments! {
    pub struct RemoveAccessPolicyArgs {
        pub vault_name: String = "VaultName", String, VAULT_NAME_HELP, mandatory, pipeline, position(0);
        pub user_principal_name: Option<String> = "UserPrincipalName", String, "User principal name of the user", pipeline, in_set(BY_UPN, true);
        pub object_id: Option<String> = "ObjectId", String, "Object id of the user, group or service principal", pipeline, in_set(BY_OBJECT_ID, true);
        pub service_principal_name: Option<String> = "ServicePrincipalName", String, "Application id or name of the service principal", pipeline, in_set(BY_SPN, true);
        pub pass_thru: bool = "PassThru", Switch, "Return the vault";
        pub resource_group_name: Option<String> = "ResourceGroupName", String, RESOURCE_GROUP_HELP;
        pub subscription_id: Option<String> = "SubscriptionId", String, SUBSCRIPTION_HELP;
    }
}

pub fn remove_access_policy(
    ctx: &Context<'_>,
    a: RemoveAccessPolicyArgs,
) -> Result<Option<KeyVaultOut>> {
    let policy = principal_policy(PrincipalArgument::of_access_policy(
        &a.user_principal_name,
        &a.object_id,
        &a.service_principal_name,
    )?);
    check_local_location(ctx, &a.resource_group_name, &a.subscription_id)?;
    ctx.transaction(&a.vault_name, |tx| {
        let vault = active_vault(tx, &a.vault_name)?;
        require_owner(&vault, ctx.principal().name(), "change access policies")?;
        if !sql::delete_policy(tx, &vault.name, &policy.object_id)? {
            return Err(Error::not_found(
                "AccessPolicyNotFound",
                format!(
                    "Vault '{}' has no access policy for '{}'",
                    vault.name, policy.display_name
                ),
                policy.display_name.clone(),
            ));
        }
        if a.pass_thru {
            Ok(Some(vault_output(ctx, tx, &vault)?))
        } else {
            Ok(None)
        }
    })
}

/// The vaults a workload reaches keys through, for this call: the store's own, or Azure Key
/// Vault when the session's Environment names a cloud. Workloads hold what this returns and
/// never reach vault internals otherwise.
pub fn vaults_for(ctx: &Context<'_>) -> std::sync::Arc<dyn boundary::KeyVaultBoundary> {
    vaults_for_store(ctx.store_arc(), ctx.remote())
}

/// The same for background jobs, which run on a store (and the session's remote backend, if
/// any) rather than inside a call.
pub fn vaults_for_store(
    store: &std::sync::Arc<crate::store::Store>,
    remote: Option<&std::sync::Arc<dyn crate::azure_backend::AzureBackend>>,
) -> std::sync::Arc<dyn boundary::KeyVaultBoundary> {
    match remote {
        Some(r) => std::sync::Arc::new(remote::boundary::RemoteKeyVault::new(
            remote::target::shared(r),
            store.clone(),
        )),
        None => std::sync::Arc::new(local::LocalKeyVault::new(store.clone())),
    }
}

/// In a remote session, a key id must name a vault of the session's domain (tokens go to no
/// other host); any id will do for the store's vaults.
pub fn check_key_reference(ctx: &Context<'_>, key: &boundary::KeyReference) -> Result<()> {
    match remote::target::of_call(ctx) {
        Some(azure) => azure.check_key_reference(key),
        None => Ok(()),
    }
}

/// What the setup check reads of each key and its vault, as the workload's service principal
/// would meet them: from the store, or from Azure in a remote session (the vault domain's
/// choice, so that no other domain names its Azure backend).
pub fn inspect_keys(
    ctx: &crate::operations::Context<'_>,
    references: &[boundary::KeyReference],
    workload: rules::Workload,
    scan: Option<&backup::BackupScan>,
) -> Vec<inspect::Inspection> {
    match remote::target::of_call(ctx) {
        None => {
            let service = crate::identity::Principal::service(workload.application_id());
            references
                .iter()
                .map(|r| inspect::inspect_local(ctx, r, &service, scan))
                .collect()
        }
        Some(remote) => remote::inspect::inspect_remote(ctx, remote, references, workload, scan),
    }
}
