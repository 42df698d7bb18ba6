//! Azure Resource Manager's `Microsoft.KeyVault/vaults` bodies (api-versions 2023-07-01 to
//! 2026-05-15), named and shaped as its specification (keyvault.json, `Vault`,
//! `VaultProperties`, `AccessPolicyEntry`, `VaultAccessPolicyParameters`, `DeletedVault`,
//! `CloudError`) defines them. A listing is a [`VaultListResult`]. Azure adds properties over
//! time: a vault's properties not modelled here are kept in [`VaultProperties::other`], so a
//! body reads and writes whole.

use super::keyvault::{KeyVaultError, ListResult};
use super::Absent;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

type Tags = BTreeMap<String, String>;

impl Absent for VaultProperties {}
impl Absent for Permissions {}
impl Absent for VaultAccessPolicyProperties {}
impl Absent for DeletedVaultProperties {}
impl Absent for Map<String, Value> {
    fn absent(&self) -> bool {
        self.is_empty()
    }
}

bodies! {
    /// A vault: GET's and PUT's answer and a listing's item; a PUT's body
    /// (VaultCreateOrUpdateParameters) and a PATCH's (VaultPatchParameters) carry `location`,
    /// `tags` and `properties` only.
    pub struct Vault {
        pub id: Option<String>,
        pub name: Option<String>,
        #[serde(rename = "type")]
        pub resource_type: Option<String>,
        pub location: Option<String>,
        pub tags: Option<Tags>,
        #[serde(default)]
        pub properties: VaultProperties,
    }

    #[serde(rename_all = "camelCase")]
    pub struct VaultProperties {
        pub sku: Option<Sku>,
        pub tenant_id: Option<String>,
        pub access_policies: Option<Vec<AccessPolicyEntry>>,
        pub enabled_for_deployment: Option<bool>,
        pub enabled_for_disk_encryption: Option<bool>,
        pub enabled_for_template_deployment: Option<bool>,
        pub enable_soft_delete: Option<bool>,
        pub soft_delete_retention_in_days: Option<i64>,
        pub enable_purge_protection: Option<bool>,
        pub enable_rbac_authorization: Option<bool>,
        pub vault_uri: Option<String>,
        pub provisioning_state: Option<String>,
        pub public_network_access: Option<String>,
        /// The properties not modelled here (networkAcls, createMode, privateEndpointConnections...).
        #[serde(flatten)]
        pub other: Map<String, Value>,
    }

    /// `family` is always `A`; `name` is `standard` or `premium`.
    pub struct Sku {
        pub family: Option<String>,
        pub name: Option<String>,
    }

    /// One access policy; `applicationId` only for a compound identity.
    #[serde(rename_all = "camelCase")]
    pub struct AccessPolicyEntry {
        pub tenant_id: String,
        pub object_id: String,
        pub application_id: Option<String>,
        pub permissions: Permissions,
    }

    pub struct Permissions {
        pub keys: Option<Vec<String>>,
        pub secrets: Option<Vec<String>>,
        pub certificates: Option<Vec<String>>,
        pub storage: Option<Vec<String>>,
    }

    /// `PUT {vault}/accessPolicies/{add|replace|remove}`: its body and its answer.
    pub struct VaultAccessPolicyParameters {
        pub id: Option<String>,
        pub name: Option<String>,
        #[serde(rename = "type")]
        pub resource_type: Option<String>,
        pub location: Option<String>,
        pub properties: VaultAccessPolicyProperties,
    }

    #[serde(rename_all = "camelCase")]
    pub struct VaultAccessPolicyProperties {
        pub access_policies: Vec<AccessPolicyEntry>,
    }

    /// A soft-deleted vault (`GET .../deletedVaults/{name}`, a listing's item).
    pub struct DeletedVault {
        pub id: Option<String>,
        pub name: Option<String>,
        #[serde(rename = "type")]
        pub resource_type: Option<String>,
        #[serde(default)]
        pub properties: DeletedVaultProperties,
    }

    #[serde(rename_all = "camelCase")]
    pub struct DeletedVaultProperties {
        pub vault_id: Option<String>,
        pub location: Option<String>,
        pub deletion_date: Option<String>,
        pub scheduled_purge_date: Option<String>,
        pub tags: Option<Tags>,
        pub purge_protection_enabled: Option<bool>,
    }
}

pub type VaultListResult = ListResult<Vault>;
pub type DeletedVaultListResult = ListResult<DeletedVault>;
/// ARM's error body (CloudError): `{"error": {"code", "message"}}`, Key Vault's shape without
/// its `innererror`.
pub type CloudError = KeyVaultError;

impl Vault {
    /// The access policies; none when the vault has none.
    pub fn access_policies(&self) -> &[AccessPolicyEntry] {
        self.properties
            .access_policies
            .as_deref()
            .unwrap_or_default()
    }
}

impl AccessPolicyEntry {
    /// The key permissions, as written.
    pub fn keys(&self) -> &[String] {
        self.permissions.keys.as_deref().unwrap_or_default()
    }
}
