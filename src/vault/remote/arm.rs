//! Azure Resource Manager for the management plane: its one request at a provider's
//! api-version ([`RemoteVaults::arm`]) and listing ([`RemoteVaults::arm_list`], following
//! `nextLink` only within the management endpoint), where a vault is (`-SubscriptionId` or
//! `AZURE_SUBSCRIPTION_ID`, `-ResourceGroupName`, else a listing of the subscription's vaults,
//! as Az does), and a Vault resource ([`crate::wire::arm::Vault`]) read as the engine's output.

use super::{RemoteVaults, Replay};
use crate::error::{Error, Result};
use crate::vault::is_guid;
use crate::vault::model::{AccessPolicyOut, KeyVaultOut, KEY_PERMISSION_VALUES};
use crate::wire::arm::{AccessPolicyEntry, Vault};
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
pub(crate) fn check_resource_group(name: &str) -> Result<()> {
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
    pub(crate) fn arm_vault(
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
