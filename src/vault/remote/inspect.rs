//! The setup check's facts read from Azure: the vaults from Azure Resource Manager (one
//! listing of the subscription's vaults for all of them, with their access policies; role
//! assignments for an RBAC vault), each key from the data plane (the version used, and one
//! listing of its versions), the service principal's object id from Microsoft Graph (once),
//! and the admin's backup permission by a backup whose blob is dropped. Every request goes
//! through the remote target with its retries; what the session's credentials cannot read
//! becomes an [`Unread`] naming the permission, never a failure of the whole check.

use super::arm::{keys_granted, vault_out, ARM_API_VERSION, PROVIDER};
use super::json::rsa_public_key;
use super::{graph, RemoteVaults, Replay, NO_BODY};
use crate::error::Error;
use crate::operations::Context;
use crate::vault::backup::BackupScan;
use crate::vault::boundary::KeyReference;
use crate::vault::inspect::{
    backed_up, AdminGrants, Fact, Grants, Inspection, KeyFacts, Unread, VaultFacts, VersionFacts,
};
use crate::vault::rules::{Workload, CRYPTO_SERVICE_ENCRYPTION_USER};
use crate::vault::PrincipalArgument;
use crate::wire::arm::Vault;
use crate::wire::keyvault::{BackupKeyResult, KeyBundle, KeyItem};
use crate::wire::Kid;
use crate::CkStatus;
use reqwest::Method;

/// Why Azure would not answer, with the permission it takes.
fn refused(e: &Error, permission: &str) -> Unread {
    match e.status {
        CkStatus::NotFound => Unread::missing(e.message.clone()),
        CkStatus::Forbidden => Unread::because(format!(
            "the session's credentials may not read this (needs {permission}): {}",
            e.message
        )),
        CkStatus::Unauthenticated => Unread::because(format!(
            "the session has no credential Azure accepts for this (needs {permission}): {}",
            e.message
        )),
        _ => Unread::because(e.message.clone()),
    }
}

pub fn inspect_remote(
    ctx: &Context<'_>,
    r: &RemoteVaults,
    references: &[KeyReference],
    workload: Workload,
    scan: Option<&BackupScan>,
) -> Vec<Inspection> {
    let vaults = vault_resources(r, references);
    let needs_object_id = vaults.iter().any(Result::is_ok);
    let service_object_id: Result<String, String> = if needs_object_id {
        graph::object_id(r, PrincipalArgument::Service(workload.application_id())).map_err(|e| {
            format!(
                "{} could not be found in Microsoft Graph to match its access policy or role (needs a Graph token that may read service principals, Application.Read.All): {}",
                workload.service_name(),
                e.message
            )
        })
    } else {
        Err(String::new())
    };
    references
        .iter()
        .zip(vaults)
        .map(|(reference, vault)| {
            let vault =
                vault.map(|v| vault_facts(r, &v, &service_object_id, &reference.vault_name));
            let vault = match vault {
                Ok(Ok(facts)) => Ok(facts),
                Ok(Err(u)) | Err(u) => Err(u),
            };
            let key = key_facts(r, reference);
            let service = match (&vault, &service_object_id) {
                (Err(u), _) => Err(u.clone()),
                (Ok(_), Err(why)) => Err(Unread::because(why.clone())),
                (Ok(v), Ok(_)) => Ok(Grants {
                    permissions: v.service_policy.clone().unwrap_or_default(),
                    how: "read from its access policy in Azure Resource Manager".into(),
                }),
            };
            let admin = admin_grants(ctx, r, reference);
            let backups = scan.map(|scan| match &key {
                Ok(k) => k
                    .versions
                    .as_ref()
                    .map(|versions| {
                        backed_up(scan, &reference.vault_name, &reference.name, versions)
                    })
                    .map_err(Clone::clone),
                Err(u) => Err(u.clone()),
            });
            Inspection {
                reference: reference.clone(),
                vault,
                key,
                service,
                admin,
                backups,
            }
        })
        .collect()
}

/// Each reference's vault resource, from one listing of the subscription's vaults.
fn vault_resources(r: &RemoteVaults, references: &[KeyReference]) -> Vec<Fact<Vault>> {
    let listing = r
        .subscription_of(None)
        .map_err(|_| Unread::because("no subscription is known to read the vault from Azure Resource Manager: connect with -SubscriptionId (or set AZURE_SUBSCRIPTION_ID)"))
        .and_then(|subscription| {
            let path = format!("/subscriptions/{subscription}/{PROVIDER}");
            r.arm_list::<Vault>(&path, ARM_API_VERSION, "Test-CustomerKeySetup")
                .map(|vaults| (subscription, vaults))
                .map_err(|e| refused(&e, "Microsoft.KeyVault/vaults/read on the subscription, as the Reader role gives"))
        });
    references
        .iter()
        .map(|reference| {
            let (subscription, vaults) = listing.as_ref().map_err(Clone::clone)?;
            vaults
                .iter()
                .find(|v| v.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(&reference.vault_name)))
                .cloned()
                .ok_or_else(|| {
                    Unread::missing(format!(
                        "vault '{}' is not in subscription '{subscription}' (or the session's credentials may not read it)",
                        reference.vault_name
                    ))
                })
        })
        .collect()
}

fn vault_facts(
    r: &RemoteVaults,
    vault: &Vault,
    service_object_id: &Result<String, String>,
    name: &str,
) -> Fact<VaultFacts> {
    let out = vault_out(vault, name).map_err(|e| Unread::because(e.message))?;
    let rbac = out.enable_rbac_authorization;
    let service_policy = service_object_id
        .as_ref()
        .ok()
        .and_then(|object_id| keys_granted(vault, object_id));
    let service_role = match service_object_id {
        Ok(object_id) if rbac => holds_role(r, &out.resource_id, object_id),
        Err(why) if rbac => Err(why.clone()),
        _ => Ok(false),
    };
    Ok(VaultFacts {
        name: out.vault_name,
        resource_group: out.resource_group_name,
        resource_id: out.resource_id,
        location: out.location.to_ascii_lowercase(),
        sku: out.sku,
        soft_delete: out.enable_soft_delete,
        retention_days: out.soft_delete_retention_in_days,
        purge_protection: out.enable_purge_protection,
        rbac,
        service_policy,
        service_role,
    })
}

/// Whether the principal holds Key Vault Crypto Service Encryption User at the vault's scope
/// or above.
fn holds_role(r: &RemoteVaults, vault_id: &str, object_id: &str) -> Result<bool, String> {
    let roles = super::roles::roles_at_vault(r, vault_id, object_id).map_err(|e| {
        refused(
            &e,
            "Microsoft.Authorization/roleAssignments/read on the vault",
        )
        .reason
    })?;
    Ok(roles.iter().any(|role| {
        role.to_ascii_lowercase()
            .ends_with(CRYPTO_SERVICE_ENCRYPTION_USER)
    }))
}

/// The key version a workload would use (GET) and every version (one listing).
fn key_facts(r: &RemoteVaults, reference: &KeyReference) -> Fact<KeyFacts> {
    let target = reference.id();
    let path = match &reference.version {
        Some(v) => format!("/keys/{}/{v}", reference.name),
        None => format!("/keys/{}", reference.name),
    };
    let bundle: KeyBundle = r
        .call(
            Method::GET,
            &reference.vault_name,
            &path,
            NO_BODY,
            Replay::Harmless,
            &target,
        )
        .map_err(|e| refused(&e, "keys/get on the vault"))?;
    let jwk = &bundle.key;
    let version = jwk.kid.as_deref().and_then(|k| Kid::parse(k).ok()?.version);
    let version =
        version.ok_or_else(|| Unread::because("Key Vault's answer names no key version"))?;
    // EC keys have no modulus: their size and public key stay empty, and the key type fails.
    let (modulus, exponent) = rsa_public_key(jwk, &target).unwrap_or_default();
    let attributes = &bundle.attributes;
    let versions = r
        .list_of::<KeyItem>(
            &reference.vault_name,
            &format!("/keys/{}/versions", reference.name),
            &target,
        )
        .map_err(|e| refused(&e, "keys/list on the vault"))
        .map(|items| {
            let mut versions: Vec<VersionFacts> = items
                .iter()
                .filter_map(|item| {
                    Some(VersionFacts {
                        version: Kid::parse(item.kid.as_deref()?).ok()?.version?,
                        enabled: item.attributes.enabled.unwrap_or(true),
                        created: item.attributes.created.unwrap_or(0),
                    })
                })
                .collect();
            versions.sort_by_key(|v| v.created);
            versions
        });
    Ok(KeyFacts {
        id: reference.at_version(&version).id(),
        version,
        enabled: attributes.enabled.unwrap_or(true),
        not_before: attributes.nbf,
        expires: attributes.exp,
        key_type: jwk.kty.clone().unwrap_or_default(),
        key_size: u32::try_from(super::json::modulus_bits(&modulus)).unwrap_or(0),
        key_ops: jwk.key_ops.clone().unwrap_or_default(),
        recovery_level: attributes.recovery_level.clone().unwrap_or_default(),
        modulus,
        exponent,
        versions,
    })
}

/// The session's own backup permission, proved by a backup whose blob is dropped (Key Vault
/// cannot say what a caller may do otherwise). Restore is not tried: it would change the vault.
fn admin_grants(
    ctx: &Context<'_>,
    r: &RemoteVaults,
    reference: &KeyReference,
) -> Fact<AdminGrants> {
    let admin = ctx.principal().name().to_string();
    let answer: crate::Result<BackupKeyResult> = r.call(
        Method::POST,
        &reference.vault_name,
        &format!("/keys/{}/backup", reference.name),
        NO_BODY,
        Replay::Harmless,
        &reference.id(),
    );
    match answer {
        Ok(_) => Ok(AdminGrants {
            admin,
            backup: true,
            restore: None,
        }),
        Err(e) if e.status == CkStatus::Forbidden => Ok(AdminGrants {
            admin,
            backup: false,
            restore: None,
        }),
        Err(e) => Err(refused(&e, "keys/backup on the vault")),
    }
}
