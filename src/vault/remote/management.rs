//! The management plane against Azure Resource Manager (`Microsoft.KeyVault/vaults`,
//! api-version 2026-05-15): Get-KeyVault, Set- and Remove-KeyVaultAccessPolicy, with the same
//! arguments and output as the embedded engine's. A vault is located by `-ResourceGroupName`
//! (or, without it, by listing the subscription's vaults, following `nextLink`, as Az does) in
//! the subscription of `-SubscriptionId` or `AZURE_SUBSCRIPTION_ID`. Principals are object ids;
//! `-UserPrincipalName` and `-ServicePrincipalName` are looked up in Microsoft Graph
//! ([`super::graph`]).
//!
//! Set-KeyVaultAccessPolicy replaces the principal's key permissions, as the engine does (and
//! as Set-AzKeyVaultAccessPolicy does): the vault is read, the principal's entry replaced (its
//! secret and certificate permissions kept) or appended, and the whole list written with
//! `PUT .../accessPolicies/replace`. Remove-KeyVaultAccessPolicy sends the principal's entry as
//! the vault holds it to `.../accessPolicies/remove`. Both PUTs are idempotent, so they are
//! retried like reads. Between the read and the write another change to the vault's policies
//! would be overwritten: Azure offers no condition on these PUTs.

use super::arm::{check_resource_group, keys_granted, vault_id, vault_out};
use super::arm::{ARM_API_VERSION, PROVIDER};
use super::keys::remote;
use super::{graph, RemoteVaults};
use crate::error::{Error, Result};
use crate::operations::Context;
use crate::vault::impact::{ChangeImpactArgs, KeyVaultChangeImpact};
use crate::vault::model::KeyVaultOut;
use crate::vault::{
    granted_permissions, GetKeyVaultArgs, PrincipalArgument, RemoveAccessPolicyArgs,
    SetAccessPolicyArgs, UpdateKeyVaultArgs,
};
use crate::wire::arm::{AccessPolicyEntry, Permissions, Vault, VaultAccessPolicyParameters};
use crate::wire::arm::{VaultAccessPolicyProperties, VaultProperties};
use reqwest::Method;

fn unexpected(why: &str, target: &str) -> Error {
    super::errors::not_as_documented("Azure Resource Manager", why, target)
}

impl RemoteVaults {
    /// The key permissions the vault's access policies give a service principal (by its
    /// object id, looked up in Microsoft Graph by application id), read from Azure Resource
    /// Manager; in an RBAC vault, those its role assignments there give it. None where this
    /// session cannot ask: no subscription is known (the session's `SubscriptionId`,
    /// `AZURE_SUBSCRIPTION_ID`), so the caller can only probe with the session's own token.
    pub(crate) fn service_principal_key_permissions(
        &self,
        application_id: &str,
        vault: &str,
    ) -> Result<Option<Vec<String>>> {
        let Ok(subscription) = self.subscription_of(None) else {
            return Ok(None);
        };
        let resource = self.locate_vault(&subscription, None, vault)?;
        let object_id = super::graph::object_id(self, PrincipalArgument::Service(application_id))?;
        if resource.properties.enable_rbac_authorization != Some(true) {
            return Ok(Some(
                keys_granted(&resource, &object_id).unwrap_or_default(),
            ));
        }
        // Azure RBAC: access policies are ignored; the principal's roles at the vault (or
        // above) decide, by the data actions of Key Vault's built-in roles.
        let (id, _) = vault_id(&resource, vault)?;
        let roles: Vec<&crate::vault::roles::RoleDefinition> =
            super::roles::roles_at_vault(self, &id, &object_id)?
                .iter()
                .filter_map(|r| crate::vault::roles::role_by_id(r))
                .collect();
        let granted = crate::vault::model::ALL_KEY_PERMISSIONS
            .iter()
            .filter(|p| roles.iter().any(|r| r.grants(p)))
            .map(|p| p.to_string())
            .collect();
        Ok(Some(granted))
    }
}

pub fn get_key_vault(ctx: &Context<'_>, a: GetKeyVaultArgs) -> Result<Vec<KeyVaultOut>> {
    if a.in_removed_state {
        return Err(Error::invalid_operation(
            "NotSupportedRemotely",
            "Parameter 'InRemovedState': deleted vaults are not listed by this session's remote target; use Get-AzKeyVault -InRemovedState",
            "InRemovedState",
        ));
    }
    let r = remote(ctx)?;
    let subscription = r.subscription_of(a.subscription_id.as_deref())?;
    let target = a.vault_name.clone().unwrap_or_default();
    let vaults = match (&a.vault_name, &a.resource_group_name) {
        (Some(name), rg) => vec![r.locate_vault(&subscription, rg.as_deref(), name)?],
        (None, Some(rg)) => {
            check_resource_group(rg)?;
            let rg = super::auth::percent_encode(rg);
            let path = format!("/subscriptions/{subscription}/resourceGroups/{rg}/{PROVIDER}");
            r.arm_list(&path, ARM_API_VERSION, &target)?
        }
        (None, None) => {
            let path = format!("/subscriptions/{subscription}/{PROVIDER}");
            r.arm_list(&path, ARM_API_VERSION, &target)?
        }
    };
    let out = vaults
        .iter()
        .map(|v| vault_out(v, &target))
        .collect::<Result<Vec<_>>>()?;
    let out = with_display_names(r, out);
    ctx.audit_success(&target, "read from Azure Resource Manager");
    Ok(out)
}

/// The entry of `object_id` (not a compound identity's) among the vault's policies.
fn entry_of(policies: &[AccessPolicyEntry], object_id: &str) -> Option<usize> {
    policies.iter().position(|e| {
        e.object_id.eq_ignore_ascii_case(object_id)
            && e.application_id.as_deref().is_none_or(str::is_empty)
    })
}

/// `PUT {id}/accessPolicies/{kind}` of `policies`.
fn update_policies(
    r: &RemoteVaults,
    id: &str,
    kind: &str,
    access_policies: Vec<AccessPolicyEntry>,
    target: &str,
) -> Result<()> {
    let body = VaultAccessPolicyParameters {
        properties: VaultAccessPolicyProperties { access_policies },
        ..VaultAccessPolicyParameters::default()
    };
    let path = format!("{id}/accessPolicies/{kind}");
    r.arm(Method::PUT, &path, Some(&body), ARM_API_VERSION, target)
        .map(|_| ())
}

/// The vault after a change, when -PassThru asks for it.
fn pass_thru(
    r: &RemoteVaults,
    id: &str,
    wanted: bool,
    target: &str,
) -> Result<Option<KeyVaultOut>> {
    if !wanted {
        return Ok(None);
    }
    let out = vault_out(&r.arm_vault(Method::GET, id, None, target)?, target)?;
    Ok(with_display_names(r, vec![out]).pop())
}

/// The policies' DisplayName from Graph where it tells (ARM names only object ids).
fn with_display_names(r: &RemoteVaults, mut vaults: Vec<KeyVaultOut>) -> Vec<KeyVaultOut> {
    let ids: Vec<&str> = vaults
        .iter()
        .flat_map(|v| v.access_policies.iter().map(|p| p.object_id.as_str()))
        .collect();
    if ids.is_empty() {
        return vaults;
    }
    let names = graph::display_names(r, &ids);
    for policy in vaults.iter_mut().flat_map(|v| v.access_policies.iter_mut()) {
        if let Some(name) = names.get(&policy.object_id.to_ascii_lowercase()) {
            policy.display_name = name.clone();
        }
    }
    vaults
}

/// What an access-policy change is about: the principal's object id (looked up in Graph unless
/// given), the vault's resource and its resource id.
struct PolicyTarget {
    object_id: String,
    vault: Vault,
    id: String,
}

/// [`policy_target`] of Set- or Remove-KeyVaultAccessPolicy's arguments (the same fields).
macro_rules! policy_target_of {
    ($r:expr, $a:expr) => {
        policy_target(
            $r,
            PrincipalArgument::of_access_policy(
                &$a.user_principal_name,
                &$a.object_id,
                &$a.service_principal_name,
            )?,
            $a.subscription_id.as_deref(),
            $a.resource_group_name.as_deref(),
            &$a.vault_name,
        )
    };
}

fn policy_target(
    r: &RemoteVaults,
    principal: PrincipalArgument<'_>,
    subscription_id: Option<&str>,
    resource_group_name: Option<&str>,
    vault_name: &str,
) -> Result<PolicyTarget> {
    let subscription = r.subscription_of(subscription_id)?;
    let object_id = graph::object_id(r, principal)?;
    let vault = r.locate_vault(&subscription, resource_group_name, vault_name)?;
    let (id, _) = vault_id(&vault, vault_name)?;
    Ok(PolicyTarget {
        object_id,
        vault,
        id,
    })
}

pub fn set_access_policy(ctx: &Context<'_>, a: SetAccessPolicyArgs) -> Result<Option<KeyVaultOut>> {
    let r = remote(ctx)?;
    let permissions = granted_permissions(&a.permissions_to_keys);
    let PolicyTarget {
        object_id,
        vault,
        id,
    } = policy_target_of!(r, a)?;
    let tenant_id = vault.properties.tenant_id.clone();
    let tenant_id =
        tenant_id.ok_or_else(|| unexpected("the vault has no tenantId", &a.vault_name))?;
    let mut policies = vault.properties.access_policies.unwrap_or_default();
    match entry_of(&policies, &object_id) {
        // Its key permissions replaced; its secret and certificate permissions kept.
        Some(i) => policies[i].permissions.keys = Some(permissions.clone()),
        None => policies.push(AccessPolicyEntry {
            tenant_id,
            object_id: object_id.clone(),
            application_id: None,
            permissions: Permissions {
                keys: Some(permissions.clone()),
                secrets: Some(vec![]),
                certificates: Some(vec![]),
                storage: None,
            },
        }),
    }
    update_policies(r, &id, "replace", policies, &a.vault_name)?;
    ctx.audit_success(
        &a.vault_name,
        &format!(
            "set key permissions of {object_id} to {} in Azure",
            permissions.join(",")
        ),
    );
    pass_thru(r, &id, a.pass_thru, &a.vault_name)
}

/// Update-KeyVault against Azure: a PATCH of the vault's `enableRbacAuthorization` and
/// `enablePurgeProtection`, as Update-AzKeyVault sends it.
pub fn update_key_vault(ctx: &Context<'_>, a: UpdateKeyVaultArgs) -> Result<KeyVaultOut> {
    let r = remote(ctx)?;
    let patch = Vault {
        properties: VaultProperties {
            enable_rbac_authorization: a.enable_rbac_authorization,
            enable_purge_protection: a.enable_purge_protection.then_some(true),
            ..VaultProperties::default()
        },
        ..Vault::default()
    };
    let updated: Vec<&str> = [
        (
            a.enable_rbac_authorization.is_some(),
            "enableRbacAuthorization",
        ),
        (a.enable_purge_protection, "enablePurgeProtection"),
    ]
    .into_iter()
    .filter_map(|(given, name)| given.then_some(name))
    .collect();
    if updated.is_empty() {
        return Err(Error::invalid_argument(
            "EnableRbacAuthorization",
            "give EnableRbacAuthorization or EnablePurgeProtection: there is nothing else to update",
        ));
    }
    let subscription = r.subscription_of(a.subscription_id.as_deref())?;
    let vault = r.locate_vault(
        &subscription,
        a.resource_group_name.as_deref(),
        &a.vault_name,
    )?;
    let (id, _) = vault_id(&vault, &a.vault_name)?;
    let answer = r.arm_vault(Method::PATCH, &id, Some(&patch), &a.vault_name)?;
    ctx.audit_success(
        &a.vault_name,
        &format!("updated {} in Azure", updated.join(",")),
    );
    vault_out(&answer, &a.vault_name)
}

pub fn remove_access_policy(
    ctx: &Context<'_>,
    a: RemoveAccessPolicyArgs,
) -> Result<Option<KeyVaultOut>> {
    let r = remote(ctx)?;
    let PolicyTarget {
        object_id,
        vault,
        id,
    } = policy_target_of!(r, a)?;
    let policies = vault.access_policies();
    let shown = a
        .user_principal_name
        .as_deref()
        .or(a.service_principal_name.as_deref())
        .unwrap_or(&object_id)
        .to_string();
    let Some(i) = entry_of(policies, &object_id) else {
        return Err(Error::not_found(
            "AccessPolicyNotFound",
            format!(
                "Vault '{}' has no access policy for '{shown}' (object id {object_id})",
                a.vault_name
            ),
            shown,
        ));
    };
    update_policies(r, &id, "remove", vec![policies[i].clone()], &a.vault_name)?;
    ctx.audit_success(
        &a.vault_name,
        &format!("removed the access policy of {object_id} in Azure"),
    );
    pass_thru(r, &id, a.pass_thru, &a.vault_name)
}

/// Get-KeyVaultChangeImpact in a remote session: what this store's workloads still need of
/// the vault's keys (their key references are here, the keys in Azure). A principal given by
/// object id is asked of Graph for its application id; if Graph does not tell, it is no
/// workload's.
pub fn get_change_impact(ctx: &Context<'_>, a: ChangeImpactArgs) -> Result<KeyVaultChangeImpact> {
    crate::vault::model::check_vault_name(&a.vault_name)?;
    let principal = crate::vault::impact::principal_given(&a)?;
    let workload = match (&a.service_principal_name, &a.object_id) {
        (Some(spn), _) => crate::identity::workload_of(spn),
        (None, Some(object_id)) => crate::identity::workload_of(object_id).or_else(|| {
            graph::application_id_of(remote(ctx).ok()?, object_id)
                .and_then(|app| crate::identity::workload_of(&app))
        }),
        _ => None,
    };
    let vault = a.vault_name.to_ascii_lowercase();
    ctx.read_audited(&a.vault_name, |tx| {
        crate::vault::impact::impact_of(tx, &vault, &a, principal.clone(), workload)
    })
}
