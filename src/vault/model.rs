//! Names, rules and output shapes of key vaults and keys, as Az.KeyVault shows them
//! (PSKeyVault, PSKeyVaultAccessPolicy, PSKeyVaultKey, PSDeletedKeyVaultKey).

use crate::error::{Error, Result};
use crate::store::vaults::{KeyRow, PolicyRow, Tags, VaultRow, VersionRow};
use crate::time::iso_from_unix;
use serde::Serialize;

pub const VAULT_NAME_HELP: &str = "Name of the key vault";
/// -Force as Az and Exchange Online mean it: skip the confirmation prompt, nothing else.
pub const FORCE_HELP: &str = "Do not ask for confirmation";

/// The resource group every vault of a store is in, as its ResourceId shows.
pub const LOCAL_RESOURCE_GROUP: &str = "customer-key";

/// What `-PermissionsToKeys` takes: `all`, then every single key permission.
pub const KEY_PERMISSION_VALUES: &[&str] = &[
    "all",
    "decrypt",
    "encrypt",
    "unwrapKey",
    "wrapKey",
    "verify",
    "sign",
    "get",
    "list",
    "update",
    "create",
    "import",
    "delete",
    "backup",
    "restore",
    "recover",
    "purge",
    "rotate",
];

/// Every single key permission (what `all` stands for, and what a vault's creator gets).
pub const ALL_KEY_PERMISSIONS: &[&str] = match KEY_PERMISSION_VALUES.split_first() {
    Some((_, permissions)) => permissions,
    None => &[],
};

pub const DEFAULT_RSA_KEY_OPS: &[&str] = &[
    "encrypt",
    "decrypt",
    "sign",
    "verify",
    "wrapKey",
    "unwrapKey",
];

/// Vault names: 3-24 characters, letters, digits and hyphens, starting with a letter, ending
/// with a letter or digit, no two hyphens in a row (Azure's rule).
pub fn check_vault_name(name: &str) -> Result<()> {
    let ok = (3..=24).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && !name.ends_with('-')
        && !name.contains("--");
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_argument(
            "VaultName",
            format!("'{name}' is not a valid vault name: 3-24 letters, digits and hyphens, starting with a letter, not ending with a hyphen, no consecutive hyphens"),
        ))
    }
}

/// Key names: 1-127 letters, digits and hyphens.
pub fn check_key_name(name: &str) -> Result<()> {
    let ok = (1..=127).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_argument(
            "Name",
            format!("'{name}' is not a valid key name: 1-127 letters, digits and hyphens"),
        ))
    }
}

/// The geography an Azure region belongs to: backups restore only within one geography.
/// Regions not in this table are their own geography.
pub fn geography(location: &str) -> String {
    let region: String = location
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    const GEOGRAPHIES: &[(&str, &[&str])] = &[
        (
            "UnitedStates",
            &[
                "eastus",
                "eastus2",
                "westus",
                "westus2",
                "westus3",
                "centralus",
                "northcentralus",
                "southcentralus",
                "westcentralus",
            ],
        ),
        ("Canada", &["canadacentral", "canadaeast"]),
        ("Brazil", &["brazilsouth", "brazilsoutheast"]),
        ("Europe", &["northeurope", "westeurope"]),
        ("UnitedKingdom", &["uksouth", "ukwest"]),
        ("France", &["francecentral", "francesouth"]),
        ("Germany", &["germanywestcentral", "germanynorth"]),
        ("Switzerland", &["switzerlandnorth", "switzerlandwest"]),
        ("Norway", &["norwayeast", "norwaywest"]),
        ("Sweden", &["swedencentral", "swedensouth"]),
        ("AsiaPacific", &["eastasia", "southeastasia"]),
        (
            "Australia",
            &[
                "australiaeast",
                "australiasoutheast",
                "australiacentral",
                "australiacentral2",
            ],
        ),
        ("Japan", &["japaneast", "japanwest"]),
        ("Korea", &["koreacentral", "koreasouth"]),
        ("India", &["centralindia", "southindia", "westindia"]),
        ("SouthAfrica", &["southafricanorth", "southafricawest"]),
        ("UAE", &["uaenorth", "uaecentral"]),
    ];
    GEOGRAPHIES
        .iter()
        .find(|(_, regions)| regions.contains(&region.as_str()))
        .map(|(geo, _)| geo.to_string())
        .unwrap_or(region)
}

pub fn normalize_location(location: &str) -> Result<String> {
    let region: String = location
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    if region.is_empty() || !region.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(Error::invalid_argument(
            "Location",
            format!("'{location}' is not an Azure region name such as westeurope or eastus"),
        ));
    }
    Ok(region)
}

/// Key Vault's recoveryLevel for a vault's settings.
pub fn recovery_level(v: &VaultRow) -> &'static str {
    super::rules::recovery_level_for(v.soft_delete, v.purge_protection, v.retention_days)
}

pub fn recoverable_days(v: &VaultRow) -> i64 {
    if v.soft_delete {
        v.retention_days
    } else {
        0
    }
}

pub fn vault_uri(name: &str) -> String {
    format!("https://{}.vault.azure.net/", name.to_ascii_lowercase())
}

/// Built by hand rather than by `format!`: every cryptographic call answers with its key id.
pub fn key_id(vault: &str, name: &str, version: &str) -> String {
    const HEAD: &str = "https://";
    const DOMAIN: &str = ".vault.azure.net/keys/";
    let mut id = String::with_capacity(
        HEAD.len() + vault.len() + DOMAIN.len() + name.len() + 1 + version.len(),
    );
    id.push_str(HEAD);
    id.extend(vault.chars().map(|c| c.to_ascii_lowercase()));
    id.push_str(DOMAIN);
    id.push_str(name);
    id.push('/');
    id.push_str(version);
    id
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccessPolicyOut {
    pub tenant_id: String,
    pub object_id: String,
    pub application_id: Option<String>,
    pub display_name: String,
    pub permissions_to_keys: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyVaultOut {
    pub vault_name: String,
    pub resource_group_name: String,
    pub resource_id: String,
    pub location: String,
    pub vault_uri: String,
    pub tenant_id: String,
    pub sku: String,
    pub enable_soft_delete: bool,
    pub soft_delete_retention_in_days: i64,
    pub enable_purge_protection: bool,
    pub enable_rbac_authorization: bool,
    pub access_policies: Vec<AccessPolicyOut>,
    pub tags: Tags,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduled_purge_date: Option<String>,
}

pub fn vault_out(
    v: &VaultRow,
    policies: &[PolicyRow],
    tenant_id: &str,
    subscription_id: &str,
) -> KeyVaultOut {
    KeyVaultOut {
        vault_name: v.name.clone(),
        resource_group_name: LOCAL_RESOURCE_GROUP.to_string(),
        resource_id: format!(
            "/subscriptions/{subscription_id}/resourceGroups/{}/providers/Microsoft.KeyVault/vaults/{}",
            LOCAL_RESOURCE_GROUP,
            v.name
        ),
        location: v.location.clone(),
        vault_uri: vault_uri(&v.name),
        tenant_id: tenant_id.to_string(),
        sku: v.sku.clone(),
        enable_soft_delete: v.soft_delete,
        soft_delete_retention_in_days: v.retention_days,
        enable_purge_protection: v.purge_protection,
        enable_rbac_authorization: v.rbac,
        access_policies: policies
            .iter()
            .map(|p| AccessPolicyOut {
                tenant_id: tenant_id.to_string(),
                object_id: p.object_id.clone(),
                application_id: p.application_id.clone(),
                display_name: p.display_name.clone(),
                permissions_to_keys: p.permissions.clone(),
            })
            .collect(),
        tags: v.tags.clone(),
        deleted_date: v.deleted_date.map(iso_from_unix),
        scheduled_purge_date: v.scheduled_purge.map(iso_from_unix),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct JsonWebKeyOut {
    pub kid: String,
    pub kty: String,
    pub key_ops: Vec<String>,
    pub n: String,
    pub e: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyAttributesOut {
    pub enabled: bool,
    pub not_before: Option<String>,
    pub expires: Option<String>,
    pub created: String,
    pub updated: String,
    pub recovery_level: String,
    pub recoverable_days: i64,
    pub exportable: bool,
    /// None in an Azure vault's listing (its items carry no operations).
    pub key_ops: Option<Vec<String>>,
}

/// A key version, as Get-, Add-, Update-KeyVaultKey and the others give it. Listing an Azure
/// vault (remote session: `Get-KeyVaultKey` without -Name, with -IncludeVersions or
/// -InRemovedState) gives what Key Vault's listing gives, one request per page, as
/// Get-AzKeyVaultKey's identity items: no `Key`, `KeyType`, `KeySize` or `Attributes.KeyOps`
/// (null), and no `Version` for the keys of a vault (their ids name no version).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyVaultKeyOut {
    pub vault_name: String,
    pub name: String,
    pub version: Option<String>,
    pub id: String,
    pub enabled: bool,
    pub expires: Option<String>,
    pub not_before: Option<String>,
    pub created: String,
    pub updated: String,
    pub recovery_level: String,
    pub recoverable_days: i64,
    pub tags: Tags,
    pub key: Option<JsonWebKeyOut>,
    pub key_type: Option<String>,
    pub key_size: Option<i64>,
    pub attributes: KeyAttributesOut,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduled_purge_date: Option<String>,
}

/// The public view of a key version: never any private part.
pub fn key_out(vault: &VaultRow, key: &KeyRow, v: &VersionRow) -> KeyVaultKeyOut {
    let id = key_id(&vault.name, &key.name, &v.version);
    let level = recovery_level(vault).to_string();
    let days = recoverable_days(vault);
    KeyVaultKeyOut {
        vault_name: vault.name.clone(),
        name: key.name.clone(),
        version: Some(v.version.clone()),
        id: id.clone(),
        enabled: v.enabled,
        expires: v.expires.map(iso_from_unix),
        not_before: v.not_before.map(iso_from_unix),
        created: iso_from_unix(v.created),
        updated: iso_from_unix(v.updated),
        recovery_level: level.clone(),
        recoverable_days: days,
        tags: v.tags.clone(),
        key: Some(JsonWebKeyOut {
            kid: id,
            kty: v.kty.clone(),
            key_ops: v.key_ops.clone(),
            n: crate::b64::encode(&v.modulus),
            e: crate::b64::encode(&v.exponent),
        }),
        key_type: Some(v.kty.clone()),
        key_size: Some(v.size),
        attributes: KeyAttributesOut {
            enabled: v.enabled,
            not_before: v.not_before.map(iso_from_unix),
            expires: v.expires.map(iso_from_unix),
            created: iso_from_unix(v.created),
            updated: iso_from_unix(v.updated),
            recovery_level: level,
            recoverable_days: days,
            exportable: false,
            key_ops: Some(v.key_ops.clone()),
        },
        deleted_date: key.deleted_date.map(iso_from_unix),
        scheduled_purge_date: key.scheduled_purge.map(iso_from_unix),
    }
}

pub fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The principal a cmdlet's principal parameters name: exactly one of them, checked as Az
/// checks it, before either backend looks it up.
#[derive(Debug, Clone, Copy)]
pub enum PrincipalArgument<'a> {
    /// -UserPrincipalName or -SignInName: like user@domain.
    User(&'a str),
    /// -ObjectId: a GUID.
    ObjectId(&'a str),
    /// -ServicePrincipalName (an application id or a name) or -ApplicationId (a GUID).
    Service(&'a str),
}

impl<'a> PrincipalArgument<'a> {
    /// Set- and Remove-KeyVaultAccessPolicy's -UserPrincipalName, -ObjectId or
    /// -ServicePrincipalName.
    pub fn of_access_policy(
        upn: &'a Option<String>,
        object_id: &'a Option<String>,
        spn: &'a Option<String>,
    ) -> Result<Self> {
        Self::one(
            ("UserPrincipalName", upn.as_deref()),
            ("ObjectId", object_id.as_deref()),
            ("ServicePrincipalName", spn.as_deref(), false),
            "UserPrincipalName, ObjectId, ServicePrincipalName",
        )
    }

    /// New- and Remove-RoleAssignment's -ObjectId, -ApplicationId or -SignInName.
    pub fn of_role_assignment(
        object_id: &'a Option<String>,
        application_id: &'a Option<String>,
        sign_in_name: &'a Option<String>,
    ) -> Result<Self> {
        Self::one(
            ("SignInName", sign_in_name.as_deref()),
            ("ObjectId", object_id.as_deref()),
            ("ApplicationId", application_id.as_deref(), true),
            "ObjectId, ApplicationId, SignInName",
        )
    }

    /// `service.2`: the service is named by its application id only. `all` lists the
    /// parameters as the error names them, the first one its parameter.
    fn one(
        user: (&str, Option<&'a str>),
        object: (&str, Option<&'a str>),
        service: (&str, Option<&'a str>, bool),
        all: &str,
    ) -> Result<Self> {
        let invalid = |parameter: &str, rule: &str| Error::invalid_argument(parameter, rule);
        match (user.1, object.1, service.1) {
            (Some(u), None, None) if u.trim().is_empty() || !u.contains('@') => {
                Err(invalid(user.0, "must look like user@domain"))
            }
            (Some(u), None, None) => Ok(Self::User(u)),
            (None, Some(o), None) if !is_guid(o) => Err(invalid(object.0, "must be a GUID")),
            (None, Some(o), None) => Ok(Self::ObjectId(o)),
            (None, None, Some(s)) if service.2 && !is_guid(s) => {
                Err(invalid(service.0, "must be a GUID"))
            }
            (None, None, Some(s)) if s.trim().is_empty() => {
                Err(invalid(service.0, "must not be empty"))
            }
            (None, None, Some(s)) => Ok(Self::Service(s)),
            _ => Err(invalid(
                all.split(',').next().unwrap_or(all),
                &format!("give exactly one of {all}"),
            )),
        }
    }
}
