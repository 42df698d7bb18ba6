//! The setup check's facts read from Azure: the vaults from Azure Resource Manager (one
//! listing of the subscription's vaults for all of them, with their access policies; role
//! assignments for an RBAC vault), each key from the data plane (the version used, and one
//! listing of its versions), the service principal's object id from Microsoft Graph (once),
//! and the admin's backup permission by a backup whose blob is dropped. Every request goes
//! through the remote target with its retries; what the session's credentials cannot read
//! becomes an [`Unread`] naming the permission, never a failure of the whole check.

use super::json::{public_key_of, split_kid};
use super::management::{permission_name, vault_id, PROVIDER};
use super::{graph, RemoteVaults, Replay};
use crate::error::Error;
use crate::operations::Context;
use crate::vault::backup::BackupScan;
use crate::vault::boundary::KeyReference;
use crate::vault::inspect::{
    backed_up, AdminGrants, Fact, Grants, Inspection, KeyFacts, Unread, VaultFacts, VersionFacts,
};
use crate::vault::rules::{Workload, CRYPTO_SERVICE_ENCRYPTION_USER};
use crate::CkStatus;
use reqwest::Method;
use serde_json::Value;

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
        graph::object_id(r, None, None, Some(workload.application_id())).map_err(|e| {
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
fn vault_resources(r: &RemoteVaults, references: &[KeyReference]) -> Vec<Fact<Value>> {
    let listing = r
        .subscription_of(None)
        .map_err(|_| Unread::because("no subscription is known to read the vault from Azure Resource Manager: connect with -SubscriptionId (or set AZURE_SUBSCRIPTION_ID)"))
        .and_then(|subscription| {
            r.arm_list(&format!("/subscriptions/{subscription}/{PROVIDER}"), "Test-CustomerKeySetup")
                .map(|vaults| (subscription, vaults))
                .map_err(|e| refused(&e, "Microsoft.KeyVault/vaults/read on the subscription, as the Reader role gives"))
        });
    references
        .iter()
        .map(|reference| {
            let (subscription, vaults) = listing.as_ref().map_err(Clone::clone)?;
            vaults
                .iter()
                .find(|v| v["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(&reference.vault_name)))
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
    vault: &Value,
    service_object_id: &Result<String, String>,
    name: &str,
) -> Fact<VaultFacts> {
    let (id, resource_group) = vault_id(vault, name).map_err(|e| Unread::because(e.message))?;
    let p = &vault["properties"];
    let rbac = p["enableRbacAuthorization"].as_bool().unwrap_or(false);
    let service_policy = service_object_id.as_ref().ok().and_then(|object_id| {
        let entries: Vec<&Value> = p["accessPolicies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| {
                e["objectId"]
                    .as_str()
                    .is_some_and(|o| o.eq_ignore_ascii_case(object_id))
            })
            .collect();
        (!entries.is_empty()).then(|| {
            let mut permissions: Vec<String> = Vec::new();
            for k in entries
                .iter()
                .flat_map(|e| e["permissions"]["keys"].as_array().into_iter().flatten())
                .filter_map(Value::as_str)
            {
                let k = permission_name(k);
                if !permissions.contains(&k) {
                    permissions.push(k);
                }
            }
            permissions
        })
    });
    let service_role = if rbac {
        match service_object_id {
            Ok(object_id) => holds_role(r, &id, object_id),
            Err(why) => Err(why.clone()),
        }
    } else {
        Ok(false)
    };
    let sku = match p["sku"]["name"].as_str().unwrap_or("standard") {
        s if s.eq_ignore_ascii_case("premium") => "Premium".to_string(),
        s if s.eq_ignore_ascii_case("standard") => "Standard".to_string(),
        other => other.to_string(),
    };
    Ok(VaultFacts {
        name: vault["name"].as_str().unwrap_or(name).to_string(),
        resource_group,
        resource_id: id,
        location: vault["location"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase(),
        sku,
        // Soft delete is on for every vault since February 2025, whatever an older answer omits.
        soft_delete: p["enableSoftDelete"].as_bool().unwrap_or(true),
        retention_days: p["softDeleteRetentionInDays"].as_i64().unwrap_or(90),
        purge_protection: p["enablePurgeProtection"].as_bool().unwrap_or(false),
        rbac,
        service_policy,
        service_role,
    })
}

/// Whether the principal holds Key Vault Crypto Service Encryption User at the vault's scope
/// or above.
fn holds_role(r: &RemoteVaults, vault_id: &str, object_id: &str) -> Result<bool, String> {
    let roles = super::management::roles_at_vault(r, vault_id, object_id).map_err(|e| {
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
    let bundle = r
        .json(
            Method::GET,
            &reference.vault_name,
            &path,
            None,
            Replay::Harmless,
            &target,
        )
        .map_err(|e| refused(&e, "keys/get on the vault"))?;
    let jwk = &bundle["key"];
    let kid = jwk["kid"].as_str().unwrap_or_default();
    let version = split_kid(kid)
        .and_then(|(_, v)| v)
        .ok_or_else(|| Unread::because("Key Vault's answer names no key version"))?;
    let kty = jwk["kty"].as_str().unwrap_or_default().to_string();
    // EC keys have no modulus: their size and public key stay empty, and the key type fails.
    let (modulus, exponent) = public_key_of(jwk, &target).unwrap_or_default();
    let attributes = &bundle["attributes"];
    let versions = r
        .list(
            &reference.vault_name,
            &format!("/keys/{}/versions", reference.name),
            &target,
        )
        .map_err(|e| refused(&e, "keys/list on the vault"))
        .map(|items| {
            let mut versions: Vec<VersionFacts> = items
                .iter()
                .filter_map(|item| {
                    let (_, version) = split_kid(item["kid"].as_str()?)?;
                    Some(VersionFacts {
                        version: version?,
                        enabled: item["attributes"]["enabled"].as_bool().unwrap_or(true),
                        created: item["attributes"]["created"].as_i64().unwrap_or(0),
                    })
                })
                .collect();
            versions.sort_by_key(|v| v.created);
            versions
        });
    Ok(KeyFacts {
        id: reference.at_version(&version).id(),
        version,
        enabled: attributes["enabled"].as_bool().unwrap_or(true),
        not_before: attributes["nbf"].as_i64(),
        expires: attributes["exp"].as_i64(),
        key_type: kty,
        key_size: u32::try_from(super::json::modulus_bits(&modulus)).unwrap_or(0),
        key_ops: jwk["key_ops"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| o.as_str().map(str::to_string))
            .collect(),
        recovery_level: attributes["recoveryLevel"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
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
    let answer = r.json(
        Method::POST,
        &reference.vault_name,
        &format!("/keys/{}/backup", reference.name),
        None,
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
