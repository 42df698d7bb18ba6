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

use super::keys::remote;
use super::{graph, RemoteVaults, Replay};
use crate::error::{Error, Result};
use crate::operations::Context;
use crate::vault::impact::{ChangeImpactArgs, KeyVaultChangeImpact};
use crate::vault::model::{AccessPolicyOut, KeyVaultOut, KEY_PERMISSION_VALUES};
use crate::vault::{
    granted_permissions, is_guid, GetKeyVaultArgs, RemoveAccessPolicyArgs, SetAccessPolicyArgs,
    UpdateKeyVaultArgs,
};
use crate::wire::arm::{AccessPolicyEntry, Permissions, Vault, VaultAccessPolicyParameters};
use crate::wire::arm::{VaultAccessPolicyProperties, VaultProperties};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The Key Vault resource provider's api-version used.
pub const ARM_API_VERSION: &str = "2026-05-15";
pub(crate) const PROVIDER: &str = "providers/Microsoft.KeyVault/vaults";

fn unexpected(why: &str, target: &str) -> Error {
    super::errors::not_as_documented("Azure Resource Manager", why, target)
}

/// The subscription: `-SubscriptionId`, else `AZURE_SUBSCRIPTION_ID`.
pub fn subscription(given: Option<&str>) -> Result<String> {
    let from_env = || {
        std::env::var("AZURE_SUBSCRIPTION_ID")
            .ok()
            .filter(|v| !v.trim().is_empty())
    };
    let Some(s) = given.map(str::to_string).or_else(from_env) else {
        return Err(Error::invalid_argument(
            "SubscriptionId",
            "is needed to find the vault in Azure Resource Manager: give -SubscriptionId, or set AZURE_SUBSCRIPTION_ID",
        ));
    };
    let s = s.trim().to_ascii_lowercase();
    if is_guid(&s) {
        Ok(s)
    } else {
        Err(Error::invalid_argument(
            "SubscriptionId",
            "must be a subscription id (a GUID)",
        ))
    }
}

/// Azure's rule for resource group names: 1-90 letters, digits, `-_.()`, not ending in `.`.
fn check_resource_group(name: &str) -> Result<()> {
    let ok = (1..=90).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.()".contains(c))
        && !name.ends_with('.');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_argument(
            "ResourceGroupName",
            "must be 1-90 letters, digits, hyphens, underscores, periods and parentheses, not ending with a period",
        ))
    }
}

impl RemoteVaults {
    fn arm_url(&self, path: &str, api_version: &str) -> String {
        let sep = if path.contains('?') { '&' } else { '?' };
        format!(
            "{}{path}{sep}api-version={api_version}",
            self.management_url
        )
    }

    /// One Azure Resource Manager request to `path` (begins with `/subscriptions/`) at a
    /// provider's `api_version`. Only for idempotent requests (reads, the accessPolicies PUTs,
    /// a PUT or DELETE of a named resource): retried as harmless.
    pub(crate) fn arm<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        api_version: &str,
        target: &str,
    ) -> Result<super::client::Answer> {
        let url = self.arm_url(path, api_version);
        let body = super::body_of(body)?;
        let replay = Replay::Harmless;
        self.management
            .call_blocking(method, url, body, replay, target, &self.stop)
    }

    /// Every item of an Azure Resource Manager listing, following `nextLink` (only ever to the
    /// management endpoint itself: the token goes nowhere else).
    pub(crate) fn arm_list<T: DeserializeOwned>(
        &self,
        path: &str,
        api_version: &str,
        target: &str,
    ) -> Result<Vec<T>> {
        let url = self.arm_url(path, api_version);
        let base = &self.management_url;
        self.every_page(
            &self.management,
            url,
            base,
            "Azure Resource Manager",
            target,
        )
    }

    /// A vault resource: `GET` (or the answer of a `PATCH`) of its id.
    fn arm_vault(
        &self,
        method: Method,
        id: &str,
        body: Option<&Vault>,
        target: &str,
    ) -> Result<Vault> {
        self.arm(method, id, body, ARM_API_VERSION, target)?
            .typed(target)
    }

    /// The subscription a call asks Azure Resource Manager in: its own `-SubscriptionId`, else
    /// the session's `SubscriptionId`, else `AZURE_SUBSCRIPTION_ID`.
    pub(crate) fn subscription_of(&self, given: Option<&str>) -> Result<String> {
        subscription(given.or(self.subscription.as_deref()))
    }

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
        let object_id = super::graph::object_id(self, None, None, Some(application_id))?;
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

    /// The vault's resource: by resource group, or found among the subscription's vaults.
    pub(crate) fn locate_vault(
        &self,
        subscription: &str,
        resource_group: Option<&str>,
        name: &str,
    ) -> Result<Vault> {
        crate::vault::model::check_vault_name(name)?;
        if let Some(rg) = resource_group {
            check_resource_group(rg)?;
            let rg = super::auth::percent_encode(rg);
            let path =
                format!("/subscriptions/{subscription}/resourceGroups/{rg}/{PROVIDER}/{name}");
            return self.arm_vault(Method::GET, &path, None, name);
        }
        let path = format!("/subscriptions/{subscription}/{PROVIDER}");
        let vaults: Vec<Vault> = self.arm_list(&path, ARM_API_VERSION, name)?;
        vaults
            .into_iter()
            .find(|v| v.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(name)))
            .ok_or_else(|| {
                Error::not_found(
                    "VaultNotFound",
                    format!("Vault '{name}' is not in subscription '{subscription}' (or the session's credentials may not read it); give -ResourceGroupName to ask for it directly"),
                    name,
                )
            })
    }
}

/// The key permissions the vault's access policies give `object_id`, in the engine's spelling,
/// each once; None when no policy names it.
pub(crate) fn keys_granted(vault: &Vault, object_id: &str) -> Option<Vec<String>> {
    let mut entries = vault
        .access_policies()
        .iter()
        .filter(|e| e.object_id.eq_ignore_ascii_case(object_id))
        .peekable();
    entries.peek()?;
    let mut permissions: Vec<String> = Vec::new();
    for k in entries
        .flat_map(AccessPolicyEntry::keys)
        .map(|k| permission_name(k))
    {
        if !permissions.contains(&k) {
            permissions.push(k);
        }
    }
    Some(permissions)
}

/// `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/{name}`: the
/// vault's id, checked to be a path (it becomes the next request's), and its resource group.
pub(crate) fn vault_id(vault: &Vault, target: &str) -> Result<(String, String)> {
    let id = vault.id.as_deref();
    let id = id.ok_or_else(|| unexpected("the vault has no id", target))?;
    let parts: Vec<&str> = id.trim_start_matches('/').split('/').collect();
    let well_formed = id.starts_with("/subscriptions/")
        && parts.len() == 8
        && parts[2].eq_ignore_ascii_case("resourceGroups")
        && parts[4].eq_ignore_ascii_case("providers")
        && parts[5].eq_ignore_ascii_case("Microsoft.KeyVault")
        && parts[6].eq_ignore_ascii_case("vaults")
        && parts.iter().all(|p| {
            !p.is_empty()
                && *p != ".."
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.()%".contains(c))
        });
    if well_formed {
        Ok((id.to_string(), parts[3].to_string()))
    } else {
        Err(unexpected(
            "the vault's id is not a Key Vault resource id",
            target,
        ))
    }
}

/// A permission as the engine spells it (`wrapKey`), whatever case Azure keeps it in.
pub(crate) fn permission_name(p: &str) -> String {
    KEY_PERMISSION_VALUES
        .iter()
        .find(|k| k.eq_ignore_ascii_case(p))
        .map_or_else(|| p.to_string(), |k| k.to_string())
}

/// A Vault resource (GET, or an item of a listing) as the engine's vault output.
pub fn vault_out(vault: &Vault, target: &str) -> Result<KeyVaultOut> {
    let (id, resource_group) = vault_id(vault, target)?;
    let p = &vault.properties;
    let name = vault.name.as_deref();
    let name = name.ok_or_else(|| unexpected("the vault has no name", target))?;
    let sku = match p.sku.as_ref().and_then(|s| s.name.as_deref()) {
        Some(s) if s.eq_ignore_ascii_case("premium") => "Premium".to_string(),
        None => "Standard".to_string(),
        Some(s) if s.eq_ignore_ascii_case("standard") => "Standard".to_string(),
        Some(other) => other.to_string(),
    };
    let access_policies = vault.access_policies().iter().map(|e| AccessPolicyOut {
        tenant_id: e.tenant_id.clone(),
        // ARM names no principal: Az's DisplayName comes from Graph, asked after
        // (with_display_names); the object id until then.
        display_name: e.object_id.clone(),
        object_id: e.object_id.clone(),
        application_id: e.application_id.clone(),
        permissions_to_keys: e.keys().iter().map(|k| permission_name(k)).collect(),
    });
    Ok(KeyVaultOut {
        vault_name: name.to_string(),
        resource_group_name: resource_group,
        resource_id: id,
        location: vault.location.clone().unwrap_or_default(),
        vault_uri: p.vault_uri.clone().unwrap_or_default(),
        tenant_id: p.tenant_id.clone().unwrap_or_default(),
        sku,
        // Soft delete is on for every vault since 2025 whatever an older answer leaves out.
        enable_soft_delete: p.enable_soft_delete.unwrap_or(true),
        soft_delete_retention_in_days: p.soft_delete_retention_in_days.unwrap_or(90),
        enable_purge_protection: p.enable_purge_protection.unwrap_or(false),
        enable_rbac_authorization: p.enable_rbac_authorization.unwrap_or(false),
        access_policies: access_policies.collect(),
        tags: vault.tags.clone().unwrap_or_default(),
        deleted_date: None,
        scheduled_purge_date: None,
    })
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
            (
                $a.user_principal_name.as_deref(),
                $a.object_id.as_deref(),
                $a.service_principal_name.as_deref(),
            ),
            $a.subscription_id.as_deref(),
            $a.resource_group_name.as_deref(),
            &$a.vault_name,
        )
    };
}

fn policy_target(
    r: &RemoteVaults,
    principal: (Option<&str>, Option<&str>, Option<&str>),
    subscription_id: Option<&str>,
    resource_group_name: Option<&str>,
    vault_name: &str,
) -> Result<PolicyTarget> {
    let subscription = r.subscription_of(subscription_id)?;
    let (user_principal_name, object_id, service_principal_name) = principal;
    let object_id = graph::object_id(r, user_principal_name, object_id, service_principal_name)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_vault_resource_maps_to_the_engines_output() {
        let v = json!({
            "id": "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-ck/providers/Microsoft.KeyVault/vaults/contoso-ck",
            "name": "contoso-ck",
            "location": "westeurope",
            "tags": {"env": "prod"},
            "properties": {
                "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47",
                "sku": {"family": "A", "name": "premium"},
                "accessPolicies": [{"tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47", "objectId": "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "permissions": {"keys": ["Get", "wrapkey", "UnwrapKey"], "secrets": []}}],
                "enableSoftDelete": true,
                "softDeleteRetentionInDays": 30,
                "enablePurgeProtection": true,
                "vaultUri": "https://contoso-ck.vault.azure.net/"
            }
        });
        let out = vault_out(&serde_json::from_value(v.clone()).unwrap(), "contoso-ck").unwrap();
        assert_eq!(out.resource_group_name, "rg-ck");
        assert_eq!(out.sku, "Premium");
        assert_eq!(out.soft_delete_retention_in_days, 30);
        assert_eq!(
            out.access_policies[0].permissions_to_keys,
            ["get", "wrapKey", "unwrapKey"]
        );
        let mut bad = v.clone();
        bad["id"] = json!("/subscriptions/x/../../elsewhere");
        assert!(vault_out(&serde_json::from_value(bad).unwrap(), "contoso-ck").is_err());
    }

    #[test]
    fn the_subscription_must_be_given_and_a_guid() {
        let e = subscription(Some("not-a-guid")).unwrap_err();
        assert_eq!(e.target, "SubscriptionId");
        assert_eq!(
            subscription(Some("00000000-0000-0000-0000-00000000000A")).unwrap(),
            "00000000-0000-0000-0000-00000000000a"
        );
    }
}
