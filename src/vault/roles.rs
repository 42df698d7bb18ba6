//! Azure RBAC for the store's vaults: Key Vault's built-in data-plane roles (their real ids and
//! data actions) and the access check of a vault whose permission model is Azure RBAC: there
//! the acting principal's role assignments decide and the vault's access policies are ignored,
//! as Key Vault does. The assignments themselves are made by [`super::role_assignments`].

use crate::error::{Error, Result};
use crate::identity::Principal;
use crate::store::vaults::{RoleAssignmentRow, VaultRow};

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

pub(crate) fn role_by_id_argument(id: &str) -> Result<&'static RoleDefinition> {
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
        Principal::User(name) => crate::identity::user_object_id(name),
        Principal::ServicePrincipal(app) => crate::identity::service_object_id(app),
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
