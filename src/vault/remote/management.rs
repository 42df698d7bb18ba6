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
use super::{graph, same_vault, RemoteVaults, Replay};
use crate::error::{CkStatus, Error, Result};
use crate::operations::Context;
use crate::store::vaults::Tags;
use crate::vault::impact::{ChangeImpactArgs, KeyVaultChangeImpact};
use crate::vault::model::{AccessPolicyOut, KeyVaultOut, KEY_PERMISSION_VALUES};
use crate::vault::{
    granted_permissions, is_guid, GetKeyVaultArgs, RemoveAccessPolicyArgs, SetAccessPolicyArgs,
    UpdateKeyVaultArgs,
};
use reqwest::Method;
use serde_json::{json, Value};
use zeroize::Zeroizing;

/// The Key Vault resource provider's api-version used.
pub const ARM_API_VERSION: &str = "2026-05-15";
pub(crate) const PROVIDER: &str = "providers/Microsoft.KeyVault/vaults";

fn unexpected(why: &str, target: &str) -> Error {
    Error::new(
        CkStatus::Unavailable,
        "UnexpectedResponse",
        format!("Azure Resource Manager's answer is not as documented: {why}"),
        target,
    )
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
    fn arm_url(&self, path: &str) -> String {
        let sep = if path.contains('?') { '&' } else { '?' };
        format!(
            "{}{path}{sep}api-version={ARM_API_VERSION}",
            self.management_url
        )
    }

    /// One Azure Resource Manager request to `path` (begins with `/subscriptions/`).
    pub(crate) fn arm_json(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        target: &str,
    ) -> Result<Value> {
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| Error::internal(e.to_string()).with_source(e))?;
        // Reads and the accessPolicies PUTs are idempotent: retried as harmless.
        self.management
            .call_blocking(
                method,
                self.arm_url(path),
                body.map(Zeroizing::new),
                Replay::Harmless,
                target,
                &self.stop,
            )?
            .json(target)
    }

    /// Every item of an Azure Resource Manager listing, following `nextLink` (only ever to the
    /// management endpoint itself: the token goes nowhere else).
    pub(crate) fn arm_list(&self, path: &str, target: &str) -> Result<Vec<Value>> {
        let mut url = self.arm_url(path);
        let mut items = Vec::new();
        for _ in 0..10_000 {
            let page = self
                .management
                .get_blocking(url.clone(), target, &self.stop)?
                .json(target)?;
            if let Some(values) = page["value"].as_array() {
                items.extend(values.iter().cloned());
            }
            match page["nextLink"].as_str().filter(|l| !l.is_empty()) {
                None => return Ok(items),
                Some(next) if same_vault(next, &self.management_url) => url = next.to_string(),
                Some(_) => {
                    return Err(unexpected(
                        &format!("its nextLink leaves {}; not followed", self.management_url),
                        target,
                    ))
                }
            }
        }
        Err(unexpected(
            "its listing did not end after 10,000 pages",
            target,
        ))
    }

    /// The subscription a call asks Azure Resource Manager in: its own `-SubscriptionId`, else
    /// the session's `SubscriptionId`, else `AZURE_SUBSCRIPTION_ID`.
    pub(crate) fn subscription_of(&self, given: Option<&str>) -> Result<String> {
        subscription(given.or(self.subscription.as_deref()))
    }

    /// The key permissions the vault's access policies give a service principal (by its
    /// object id, looked up in Microsoft Graph by application id), read from Azure Resource
    /// Manager; in an RBAC vault, those its role assignments there give it. None where this session cannot ask: no subscription is known (the session's
    /// `SubscriptionId`, `AZURE_SUBSCRIPTION_ID`), so the caller can only probe with the
    /// session's own token.
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
        if resource["properties"]["enableRbacAuthorization"].as_bool() == Some(true) {
            // Azure RBAC: access policies are ignored; the principal's roles at the vault (or
            // above) decide, by the data actions of Key Vault's built-in roles.
            let (id, _) = vault_id(&resource, vault)?;
            let roles: Vec<&crate::vault::roles::RoleDefinition> =
                roles_at_vault(self, &id, &object_id)?
                    .iter()
                    .filter_map(|r| crate::vault::roles::role_by_id(r))
                    .collect();
            let granted = crate::vault::model::ALL_KEY_PERMISSIONS
                .iter()
                .filter(|p| roles.iter().any(|r| r.grants(p)))
                .map(|p| p.to_string())
                .collect();
            return Ok(Some(granted));
        }
        let granted = resource["properties"]["accessPolicies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| {
                p["objectId"]
                    .as_str()
                    .is_some_and(|o| o.eq_ignore_ascii_case(&object_id))
            })
            .flat_map(|p| p["permissions"]["keys"].as_array().into_iter().flatten())
            .filter_map(|k| k.as_str().map(str::to_string))
            .collect();
        Ok(Some(granted))
    }

    /// The vault's resource: by resource group, or found among the subscription's vaults.
    pub(crate) fn locate_vault(
        &self,
        subscription: &str,
        resource_group: Option<&str>,
        name: &str,
    ) -> Result<Value> {
        crate::vault::model::check_vault_name(name)?;
        match resource_group {
            Some(rg) => {
                check_resource_group(rg)?;
                self.arm_json(
                    Method::GET,
                    &format!(
                        "/subscriptions/{subscription}/resourceGroups/{}/{PROVIDER}/{name}",
                        super::auth::percent_encode(rg)
                    ),
                    None,
                    name,
                )
            }
            None => {
                let vaults =
                    self.arm_list(&format!("/subscriptions/{subscription}/{PROVIDER}"), name)?;
                vaults
                    .into_iter()
                    .find(|v| v["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))
                    .ok_or_else(|| {
                        Error::not_found(
                            "VaultNotFound",
                            format!("Vault '{name}' is not in subscription '{subscription}' (or the session's credentials may not read it); give -ResourceGroupName to ask for it directly"),
                            name,
                        )
                    })
            }
        }
    }
}

/// `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/{name}`: the
/// vault's id, checked to be a path (it becomes the next request's), and its resource group.
pub(crate) fn vault_id(vault: &Value, target: &str) -> Result<(String, String)> {
    let id = vault["id"]
        .as_str()
        .ok_or_else(|| unexpected("the vault has no id", target))?;
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

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A Vault resource (GET, or an item of a listing) as the engine's vault output.
pub fn vault_out(vault: &Value, target: &str) -> Result<KeyVaultOut> {
    let (id, resource_group) = vault_id(vault, target)?;
    let p = &vault["properties"];
    let name = vault["name"]
        .as_str()
        .ok_or_else(|| unexpected("the vault has no name", target))?;
    let tenant_id = p["tenantId"].as_str().unwrap_or_default().to_string();
    let sku = match p["sku"]["name"].as_str().unwrap_or("standard") {
        s if s.eq_ignore_ascii_case("premium") => "Premium".to_string(),
        s if s.eq_ignore_ascii_case("standard") => "Standard".to_string(),
        other => other.to_string(),
    };
    let access_policies = p["accessPolicies"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|e| {
            let object_id = e["objectId"].as_str().unwrap_or_default().to_string();
            AccessPolicyOut {
                tenant_id: e["tenantId"].as_str().unwrap_or(&tenant_id).to_string(),
                // ARM names no principal: Az's DisplayName comes from Graph, asked after
                // (with_display_names); the object id until then.
                display_name: object_id.clone(),
                object_id,
                application_id: e["applicationId"].as_str().map(str::to_string),
                permissions_to_keys: strings(&e["permissions"]["keys"])
                    .iter()
                    .map(|k| permission_name(k))
                    .collect(),
            }
        })
        .collect();
    let tags: Tags = super::json::tags_of(&vault["tags"]);
    Ok(KeyVaultOut {
        vault_name: name.to_string(),
        resource_group_name: resource_group,
        resource_id: id,
        location: vault["location"].as_str().unwrap_or_default().to_string(),
        vault_uri: p["vaultUri"].as_str().unwrap_or_default().to_string(),
        tenant_id,
        sku,
        // Soft delete is on for every vault since 2025 whatever an older answer leaves out.
        enable_soft_delete: p["enableSoftDelete"].as_bool().unwrap_or(true),
        soft_delete_retention_in_days: p["softDeleteRetentionInDays"].as_i64().unwrap_or(90),
        enable_purge_protection: p["enablePurgeProtection"].as_bool().unwrap_or(false),
        enable_rbac_authorization: p["enableRbacAuthorization"].as_bool().unwrap_or(false),
        access_policies,
        tags,
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
            r.arm_list(
                &format!(
                    "/subscriptions/{subscription}/resourceGroups/{}/{PROVIDER}",
                    super::auth::percent_encode(rg)
                ),
                &target,
            )?
        }
        (None, None) => r.arm_list(
            &format!("/subscriptions/{subscription}/{PROVIDER}"),
            &target,
        )?,
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
fn entry_of(policies: &[Value], object_id: &str) -> Option<usize> {
    policies.iter().position(|e| {
        e["objectId"]
            .as_str()
            .is_some_and(|o| o.eq_ignore_ascii_case(object_id))
            && e["applicationId"].as_str().is_none_or(str::is_empty)
    })
}

fn policies_of(vault: &Value) -> Vec<Value> {
    vault["properties"]["accessPolicies"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn update_policies(
    r: &RemoteVaults,
    id: &str,
    kind: &str,
    policies: Vec<Value>,
    target: &str,
) -> Result<()> {
    let body = json!({ "properties": { "accessPolicies": policies } });
    r.arm_json(
        Method::PUT,
        &format!("{id}/accessPolicies/{kind}"),
        Some(&body),
        target,
    )
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
    let vault = r.arm_json(Method::GET, id, None, target)?;
    let out = vault_out(&vault, target)?;
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
    vault: Value,
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
    let tenant_id = vault["properties"]["tenantId"]
        .as_str()
        .ok_or_else(|| unexpected("the vault has no tenantId", &a.vault_name))?
        .to_string();
    let mut policies = policies_of(&vault);
    match entry_of(&policies, &object_id) {
        // Its key permissions replaced; its secret and certificate permissions kept.
        Some(i) => policies[i]["permissions"]["keys"] = json!(permissions),
        None => policies.push(json!({
            "tenantId": tenant_id,
            "objectId": object_id,
            "permissions": {"keys": permissions, "secrets": [], "certificates": []},
        })),
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
    let mut properties = serde_json::Map::new();
    if let Some(rbac) = a.enable_rbac_authorization {
        properties.insert("enableRbacAuthorization".into(), json!(rbac));
    }
    if a.enable_purge_protection {
        properties.insert("enablePurgeProtection".into(), json!(true));
    }
    if properties.is_empty() {
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
    let updated = r.arm_json(
        Method::PATCH,
        &id,
        Some(&json!({ "properties": properties })),
        &a.vault_name,
    )?;
    ctx.audit_success(
        &a.vault_name,
        &format!(
            "updated {} in Azure",
            properties.keys().cloned().collect::<Vec<_>>().join(",")
        ),
    );
    vault_out(&updated, &a.vault_name)
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
    let policies = policies_of(&vault);
    let shown = a
        .user_principal_name
        .as_deref()
        .or(a.service_principal_name.as_deref())
        .unwrap_or(&object_id)
        .to_string();
    let Some(i) = entry_of(&policies, &object_id) else {
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

/// Microsoft.Authorization's api-version for role assignments.
pub(super) const ROLE_ASSIGNMENTS_API_VERSION: &str = "2022-04-01";

impl RemoteVaults {
    /// A read of another resource provider than Key Vault's, at its own api-version (role
    /// assignments: Microsoft.Authorization's).
    pub(super) fn arm_get_at(
        &self,
        path: &str,
        api_version: &str,
        target: &str,
    ) -> crate::Result<Value> {
        self.arm_at(Method::GET, path, None, api_version, target)
    }

    /// A request to another resource provider than Key Vault's, at its own api-version. Only
    /// for idempotent requests (reads, a PUT or DELETE of a named resource): retried as
    /// harmless.
    pub(super) fn arm_at(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        api_version: &str,
        target: &str,
    ) -> crate::Result<Value> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = format!(
            "{}{path}{sep}api-version={api_version}",
            self.management_url
        );
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| Error::internal(e.to_string()).with_source(e))?;
        self.management
            .call_blocking(
                method,
                url,
                body.map(Zeroizing::new),
                Replay::Harmless,
                target,
                &self.stop,
            )?
            .json(target)
    }
}

/// The role definition ids a principal holds at the vault's scope or above (Azure answers a
/// principal's assignments at, above and below the scope asked).
pub(crate) fn roles_at_vault(
    r: &RemoteVaults,
    vault_id: &str,
    object_id: &str,
) -> crate::Result<Vec<String>> {
    let filter = super::auth::percent_encode(&format!("principalId eq '{object_id}'"));
    let answer = r.arm_get_at(
        &format!("{vault_id}/providers/Microsoft.Authorization/roleAssignments?$filter={filter}"),
        ROLE_ASSIGNMENTS_API_VERSION,
        vault_id,
    )?;
    let vault_scope = vault_id.to_ascii_lowercase();
    Ok(answer["value"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| {
            let scope = a["properties"]["scope"]
                .as_str()
                .unwrap_or_default()
                .to_ascii_lowercase();
            scope == "/" || vault_scope == scope || vault_scope.starts_with(&format!("{scope}/"))
        })
        .filter_map(|a| a["properties"]["roleDefinitionId"].as_str())
        .map(str::to_string)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let out = vault_out(&v, "contoso-ck").unwrap();
        assert_eq!(out.resource_group_name, "rg-ck");
        assert_eq!(out.sku, "Premium");
        assert_eq!(out.soft_delete_retention_in_days, 30);
        assert_eq!(
            out.access_policies[0].permissions_to_keys,
            ["get", "wrapKey", "unwrapKey"]
        );
        let mut bad = v.clone();
        bad["id"] = json!("/subscriptions/x/../../elsewhere");
        assert!(vault_out(&bad, "contoso-ck").is_err());
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
