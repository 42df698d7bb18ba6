//! The checks Test-CustomerKeySetup makes, by the names its rows carry, with where Microsoft
//! states each: named by the checks that run them and by the remedies that fix them.

/// Every check the operation makes, by the name its rows carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    SeparateVaults,
    VaultRegions,
    DataLocation,
    SoftDelete,
    SoftDeleteRetention,
    PurgeProtection,
    VaultSku,
    PermissionModel,
    ServicePrincipalAccess,
    AdminBackupAccess,
    KeyEnabled,
    KeyType,
    KeySize,
    KeyOperations,
    KeyExpiry,
    KeyNotBefore,
    RecoveryLevel,
    LatestVersion,
    KeyBackup,
    Summary,
}

const SET_UP: &str = "https://learn.microsoft.com/purview/customer-key-set-up";
const MANAGE: &str = "https://learn.microsoft.com/purview/customer-key-manage";
const SOFT_DELETE: &str =
    "https://learn.microsoft.com/azure/key-vault/general/soft-delete-overview";
const ABOUT_KEYS: &str = "https://learn.microsoft.com/azure/key-vault/keys/about-keys";
const RBAC: &str = "https://learn.microsoft.com/azure/key-vault/general/rbac-guide";
const REGIONS: &str =
    "https://learn.microsoft.com/azure/reliability/cross-region-replication-azure";
const KEY_ATTRIBUTES: &str = "https://learn.microsoft.com/rest/api/keyvault/keys/get-key/get-key";

impl Check {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Check::SeparateVaults => "SeparateVaults",
            Check::VaultRegions => "VaultRegions",
            Check::DataLocation => "DataLocation",
            Check::SoftDelete => "SoftDelete",
            Check::SoftDeleteRetention => "SoftDeleteRetention",
            Check::PurgeProtection => "PurgeProtection",
            Check::VaultSku => "VaultSku",
            Check::PermissionModel => "PermissionModel",
            Check::ServicePrincipalAccess => "ServicePrincipalAccess",
            Check::AdminBackupAccess => "AdminBackupAccess",
            Check::KeyEnabled => "KeyEnabled",
            Check::KeyType => "KeyType",
            Check::KeySize => "KeySize",
            Check::KeyOperations => "KeyOperations",
            Check::KeyExpiry => "KeyExpiry",
            Check::KeyNotBefore => "KeyNotBefore",
            Check::RecoveryLevel => "RecoveryLevel",
            Check::LatestVersion => "LatestVersion",
            Check::KeyBackup => "KeyBackup",
            Check::Summary => "Summary",
        }
    }

    /// Where Microsoft says it.
    pub(crate) fn reference(self) -> &'static str {
        match self {
            Check::SoftDelete | Check::SoftDeleteRetention | Check::PurgeProtection => SOFT_DELETE,
            Check::PermissionModel => RBAC,
            Check::VaultRegions => REGIONS,
            Check::KeyType | Check::KeySize | Check::KeyOperations | Check::KeyNotBefore => {
                ABOUT_KEYS
            }
            Check::RecoveryLevel => KEY_ATTRIBUTES,
            Check::LatestVersion | Check::KeyBackup | Check::AdminBackupAccess => MANAGE,
            _ => SET_UP,
        }
    }
}
