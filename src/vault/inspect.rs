//! What the setup check needs to know of a key and its vault, read once: the vault's
//! properties and access policies, the key's attributes and versions, what the workload's
//! service principal and the acting admin may do, and which versions are backed up. The
//! store's own vaults are read here; Azure's in [`super::remote::inspect`], into the same
//! facts, so [`super::rules`] judges both alike. Whatever could not be read is an [`Unread`]
//! that says why (naming the missing permission), never a failure of the whole check.

use super::backup::BackupScan;
use super::boundary::{Caller, KeyReference};
use super::keys::{active_key, find_version};
use super::{active_vault, authorize, policy_matches};
use crate::crypto::RsaAlgorithm;
use crate::error::Error;
use crate::identity::Principal;
use crate::operations::Context;
use crate::store::vaults::{self as sql, PolicyRow, VaultRow};

/// A workload policy's keys, as the setup check takes them from -DataEncryptionPolicy: the
/// versioned ids the policy uses now.
#[derive(Debug, Clone)]
pub struct PolicyKeys {
    pub workload: super::rules::Workload,
    pub name: String,
    pub key_ids: Vec<String>,
}

/// Why a fact is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unread {
    pub reason: String,
    /// The object does not exist (a failure of the setup, not a gap in what could be read).
    pub not_found: bool,
}

impl Unread {
    pub fn because(reason: impl Into<String>) -> Self {
        Unread {
            reason: reason.into(),
            not_found: false,
        }
    }

    pub fn missing(reason: impl Into<String>) -> Self {
        Unread {
            reason: reason.into(),
            not_found: true,
        }
    }
}

pub type Fact<T> = std::result::Result<T, Unread>;

/// A vault as the setup rules read it.
#[derive(Debug, Clone)]
pub struct VaultFacts {
    pub name: String,
    pub resource_group: String,
    pub resource_id: String,
    pub location: String,
    pub sku: String,
    pub soft_delete: bool,
    pub retention_days: i64,
    pub purge_protection: bool,
    /// Azure RBAC authorization: access policies are ignored.
    pub rbac: bool,
    /// The workload's service principal's key permissions from its access policy (None: no
    /// policy names it).
    pub service_policy: Option<Vec<String>>,
    /// RBAC vaults: whether the service principal holds Key Vault Crypto Service Encryption
    /// User at the vault or above.
    pub service_role: Result<bool, String>,
}

/// One version's attributes, as a listing gives them.
#[derive(Debug, Clone)]
pub struct VersionFacts {
    pub version: String,
    pub enabled: bool,
    pub created: i64,
}

/// The key version a workload would use: the one the id names, or the newest.
#[derive(Debug, Clone)]
pub struct KeyFacts {
    /// The versioned id.
    pub id: String,
    pub version: String,
    pub enabled: bool,
    pub not_before: Option<i64>,
    pub expires: Option<i64>,
    pub key_type: String,
    pub key_size: u32,
    pub key_ops: Vec<String>,
    pub recovery_level: String,
    pub modulus: Vec<u8>,
    pub exponent: Vec<u8>,
    /// Every version, oldest first.
    pub versions: Fact<Vec<VersionFacts>>,
}

/// Key permissions, and how they were learnt ("proved by use", "read from ...").
#[derive(Debug, Clone)]
pub struct Grants {
    pub permissions: Vec<String>,
    pub how: String,
}

/// The acting admin's ability to keep the key available.
#[derive(Debug, Clone)]
pub struct AdminGrants {
    pub admin: String,
    pub backup: bool,
    /// None: the target cannot tell without restoring something.
    pub restore: Option<bool>,
}

/// Everything the setup rules read for one key and its vault.
#[derive(Debug, Clone)]
pub struct Inspection {
    pub reference: KeyReference,
    pub vault: Fact<VaultFacts>,
    pub key: Fact<KeyFacts>,
    pub service: Fact<Grants>,
    pub admin: Fact<AdminGrants>,
    /// None: no backup folder was given.
    pub backups: Option<Fact<BackedUp>>,
}

/// The key's versions found in backups.
#[derive(Debug, Clone)]
pub struct BackedUp {
    pub versions: Vec<String>,
    pub unreadable: usize,
}

/// Which of the key's versions the scanned folder backs up: this store's backups by their
/// payload; other files (Azure's opaque blobs) by name (`{vault}-{key}-...`, as
/// Backup-CkKeyVaultKey names them) and time, a backup holding every version made before it.
pub fn backed_up(scan: &BackupScan, vault: &str, key: &str, versions: &[VersionFacts]) -> BackedUp {
    let mut found: Vec<String> = Vec::new();
    for (source, name, held) in &scan.opened {
        if source.eq_ignore_ascii_case(vault) && name.eq_ignore_ascii_case(key) {
            found.extend(held.iter().cloned());
        }
    }
    let prefix = format!("{vault}-{key}-").to_ascii_lowercase();
    for (file, modified) in &scan.opaque {
        if file.to_ascii_lowercase().starts_with(&prefix) {
            found.extend(
                versions
                    .iter()
                    .filter(|v| v.created <= *modified)
                    .map(|v| v.version.clone()),
            );
        }
    }
    found.sort();
    found.dedup();
    BackedUp {
        versions: found,
        unreadable: scan.unreadable,
    }
}

/// Whether an error is an access refusal (as against a key that cannot do it now).
pub fn is_denied(e: &Error) -> bool {
    e.code == "Forbidden" || e.code == super::roles::FORBIDDEN_BY_RBAC
}

/// Reads one key of the store and its vault, and proves the service principal's permissions
/// by using them as it.
pub fn inspect_local(
    ctx: &Context<'_>,
    reference: &KeyReference,
    service: &Principal,
    scan: Option<&BackupScan>,
) -> Inspection {
    let mut rbac_policies = None;
    let read = ctx.read(|tx| {
        let vault = match active_vault(tx, &reference.vault_name) {
            Ok(v) => v,
            Err(e) => return Ok((Err(Unread::missing(e.message)), Vec::new(), None)),
        };
        let mut policies = sql::list_policies(tx, &vault.name)?;
        if vault.rbac {
            // Access policies are ignored in RBAC mode: what each principal may do comes from
            // its role assignments, read here as the policies they amount to.
            let roles = sql::list_role_assignments(tx, &vault.name)?;
            rbac_policies = Some((policies, roles));
            policies = Vec::new();
        }
        let key = local_key(tx, ctx, &vault, reference)?;
        Ok((Ok(vault), policies, Some(key)))
    });
    let (vault, policies, key) = match read {
        Ok((vault, policies, key)) => (vault, policies, key),
        Err(e) => {
            let unread = Unread::because(e.message);
            return Inspection {
                reference: reference.clone(),
                vault: Err(unread.clone()),
                key: Err(unread.clone()),
                service: Err(unread.clone()),
                admin: Err(unread),
                backups: None,
            };
        }
    };
    // An RBAC vault: (its ignored access policies, its role assignments); the roles stand in
    // for the policies below.
    let (ignored_policies, roles) = rbac_policies.unwrap_or_default();
    let policies = if roles.is_empty() && ignored_policies.is_empty() {
        policies
    } else {
        role_policies(&roles, &[service.clone(), ctx.principal().clone()])
    };
    let missing = Unread::missing(format!("vault '{}' does not exist", reference.vault_name));
    let key = key.unwrap_or_else(|| Err(missing.clone()));
    let (service_grants, admin) = match &vault {
        Err(_) => (Err(missing.clone()), Err(missing)),
        Ok(_) => (
            prove_by_use(ctx, reference, service, &key, &policies),
            Ok(admin_grants(ctx.principal(), &policies)),
        ),
    };
    let backups = scan.map(|scan| match &key {
        Ok(k) => match &k.versions {
            Ok(versions) => Ok(backed_up(
                scan,
                &reference.vault_name,
                &reference.name,
                versions,
            )),
            Err(u) => Err(u.clone()),
        },
        Err(u) => Err(u.clone()),
    });
    let store = ctx.store();
    Inspection {
        reference: reference.clone(),
        vault: vault.map(|v| {
            let mut facts = local_vault_facts(&v, &policies, service, store.subscription_id());
            if v.rbac {
                facts.service_policy = permissions_of(&ignored_policies, service);
                facts.service_role = Ok(super::roles::holds(
                    &roles,
                    service,
                    super::rules::CRYPTO_SERVICE_ENCRYPTION_USER,
                ));
            }
            facts
        }),
        key,
        service: service_grants,
        admin,
        backups,
    }
}

fn local_vault_facts(
    v: &VaultRow,
    policies: &[PolicyRow],
    service: &Principal,
    subscription: &str,
) -> VaultFacts {
    let group = super::LOCAL_RESOURCE_GROUP;
    VaultFacts {
        name: v.name.clone(),
        resource_group: group.to_string(),
        resource_id: format!(
            "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.KeyVault/vaults/{}",
            v.name
        ),
        location: v.location.clone(),
        sku: v.sku.clone(),
        soft_delete: v.soft_delete,
        retention_days: v.retention_days,
        purge_protection: v.purge_protection,
        rbac: v.rbac,
        service_policy: permissions_of(policies, service),
        service_role: Ok(false),
    }
}

/// What role assignments give each principal, as access policy rows (one per principal that
/// holds a role), so that an RBAC vault is judged as a vault of policies would be.
fn role_policies(
    roles: &[crate::store::vaults::RoleAssignmentRow],
    principals: &[Principal],
) -> Vec<PolicyRow> {
    principals
        .iter()
        .filter(|p| roles.iter().any(|a| super::roles::assigned_to(a, p)))
        .map(|p| {
            let (upn, spn) = match p {
                Principal::User(u) => (Some(u.clone()), None),
                Principal::ServicePrincipal(app) => (None, Some(app.clone())),
            };
            PolicyRow {
                object_id: super::roles::object_id_of(p),
                application_id: spn.clone(),
                user_principal_name: upn,
                service_principal_name: spn,
                display_name: p.name().to_string(),
                permissions: super::roles::permissions_by_roles(roles, p),
            }
        })
        .collect()
}

/// The key permissions the policies give `principal`, if any names it.
fn permissions_of(policies: &[PolicyRow], principal: &Principal) -> Option<Vec<String>> {
    let matching: Vec<&PolicyRow> = policies
        .iter()
        .filter(|p| policy_matches(p, principal))
        .collect();
    if matching.is_empty() {
        return None;
    }
    let mut permissions: Vec<String> = Vec::new();
    for p in matching.iter().flat_map(|p| p.permissions.iter()) {
        if !permissions.iter().any(|q| q.eq_ignore_ascii_case(p)) {
            permissions.push(p.clone());
        }
    }
    Some(permissions)
}

/// The key as the acting admin may read it: its get permission for the version, list for the
/// others (as Key Vault's API asks of a caller).
fn local_key(
    tx: &crate::store::Tx<'_>,
    ctx: &Context<'_>,
    vault: &VaultRow,
    reference: &KeyReference,
) -> crate::Result<Fact<KeyFacts>> {
    if let Err(e) = authorize(tx, vault, ctx.principal(), "get") {
        return Ok(Err(Unread::because(format!(
            "the session may not read the key ({}: needs keys/get on the vault)",
            e.message
        ))));
    }
    let key = match active_key(tx, vault, &reference.name) {
        Ok(k) => k,
        Err(e) => return Ok(Err(Unread::missing(e.message))),
    };
    let row = match find_version(tx, &key, reference.version.as_deref()) {
        Ok(r) => r,
        Err(e) => return Ok(Err(Unread::missing(e.message))),
    };
    let versions = match authorize(tx, vault, ctx.principal(), "list") {
        Err(_) => Err(Unread::because(
            "the session may not list the key's versions (needs keys/list on the vault)",
        )),
        Ok(()) => Ok(sql::list_versions(tx, &vault.name, &key.name)?
            .into_iter()
            .map(|v| VersionFacts {
                version: v.version,
                enabled: v.enabled,
                created: v.created,
            })
            .collect()),
    };
    Ok(Ok(KeyFacts {
        id: super::model::key_id(&vault.name, &key.name, &row.version),
        version: row.version.clone(),
        enabled: row.enabled,
        not_before: row.not_before,
        expires: row.expires,
        key_type: row.kty.clone(),
        key_size: u32::try_from(row.size).unwrap_or(0),
        key_ops: row.key_ops.clone(),
        recovery_level: super::model::recovery_level(vault).to_string(),
        modulus: row.modulus,
        exponent: row.exponent,
        versions,
    }))
}

fn admin_grants(admin: &Principal, policies: &[PolicyRow]) -> AdminGrants {
    let granted = permissions_of(policies, admin).unwrap_or_default();
    let has = |p: &str| {
        granted
            .iter()
            .any(|g| g.eq_ignore_ascii_case(p) || g.eq_ignore_ascii_case("all"))
    };
    AdminGrants {
        admin: admin.name().to_string(),
        backup: has("backup"),
        restore: Some(has("restore")),
    }
}

/// Proves get, wrapKey and unwrapKey by using them through the vault boundary as the service
/// principal, with nothing at stake: a get, a wrap of random bytes, and an unwrap of random
/// bytes wrapped here with the public key. Where the key itself refuses (disabled, out of its
/// dates, no wrapKey in its KeyOps), use proves nothing about the permission, which is then
/// read from the access policy. Permissions beyond the three come from the policy.
fn prove_by_use(
    ctx: &Context<'_>,
    reference: &KeyReference,
    service: &Principal,
    key: &Fact<KeyFacts>,
    policies: &[PolicyRow],
) -> Fact<Grants> {
    let vaults = super::vaults_for(ctx);
    let caller = Caller {
        principal: service,
        clock: ctx.clock(),
        time_shift: ctx.time_shift(),
        operation: ctx.operation(),
    };
    let at = match key {
        Ok(k) => reference.at_version(&k.version),
        Err(_) => reference.clone(),
    };
    let probe = crate::crypto::random_bytes(32).map_err(|e| Unread::because(e.message))?;
    let mut proven: Vec<String> = Vec::new();
    let mut read_from_policy: Vec<&str> = Vec::new();
    let mut outcome = |permission: &'static str, used: crate::Result<()>| -> Fact<()> {
        match used {
            Ok(()) => proven.push(permission.to_string()),
            Err(e) if is_denied(&e) => {}
            Err(e) if e.status == crate::CkStatus::Unavailable => {
                return Err(Unread::because(format!(
                    "the vault did not answer: {}",
                    e.message
                )))
            }
            Err(_) => match vaults.check_permission(&caller, &at, permission) {
                Ok(()) => {
                    proven.push(permission.to_string());
                    read_from_policy.push(permission);
                }
                Err(e) if is_denied(&e) => read_from_policy.push(permission),
                Err(e) => return Err(Unread::because(e.message)),
            },
        }
        Ok(())
    };
    outcome("get", vaults.get_key(&caller, &at).map(|_| ()))?;
    outcome(
        "wrapKey",
        vaults
            .wrap_key(&caller, &at, RsaAlgorithm::OaepSha256, &probe)
            .map(|_| ()),
    )?;
    let unwrapped = match key {
        Ok(k) => {
            crate::crypto::rsa_encrypt(&k.modulus, &k.exponent, RsaAlgorithm::OaepSha256, &probe)
                .and_then(|wrapped| {
                    vaults.unwrap_key(&caller, &at, RsaAlgorithm::OaepSha256, &wrapped)
                })
                .and_then(|plain| {
                    if plain.expose() == probe.as_slice() {
                        Ok(())
                    } else {
                        Err(Error::internal(
                            "the unwrapped probe differs from what was wrapped",
                        ))
                    }
                })
        }
        // Without the public key nothing can be wrapped to try: the policy decides.
        Err(_) => Err(Error::invalid_operation(
            "NoPublicKey",
            "no public key",
            at.id(),
        )),
    };
    outcome("unwrapKey", unwrapped)?;
    let extra = permissions_of(policies, service)
        .unwrap_or_default()
        .into_iter()
        .filter(|p| {
            !super::rules::SERVICE_PERMISSIONS
                .iter()
                .any(|s| s.eq_ignore_ascii_case(p))
        });
    proven.extend(extra);
    let how = if read_from_policy.is_empty() {
        "checked by using them as the service principal".to_string()
    } else {
        format!(
            "{} read from its access policy, as the key itself refuses the operation now; the rest checked by using them as the service principal",
            read_from_policy.join(", ")
        )
    };
    Ok(Grants {
        permissions: proven,
        how,
    })
}
