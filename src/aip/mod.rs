//! Azure Information Protection: the tenant's Rights Management key in both topologies.
//!
//! A tenant starts Microsoft-managed, with one engine-held RSA key Active (sealed in the store
//! like a vault key). Customer-managed (BYOK) keys stay in their Key Vault: the engine keeps
//! their versioned URL and public key, and every decrypt and sign goes through the vault
//! boundary as the AIP service principal, so a removed access policy or a disabled key stops
//! the tenant key at once. Exactly one key is Active; Archived keys still open what they
//! protected. Content (`content`) is AES-256-GCM under a random content key, wrapped with the
//! tenant key's public key (RSA-OAEP-256) and signed with the tenant key (RS256).

pub mod content;
pub mod keys;
pub mod lifecycle;
pub mod operations;
pub mod tpd;

use crate::crypto::{self, RsaAlgorithm, Secret};
use crate::error::{Error, Result};
use crate::identity::Principal;
use crate::operations::Context;
use crate::store::aip::{self as sql, TenantKeyRow, ACTIVE, MICROSOFT_MANAGED};
use crate::store::Tx;
use crate::vault::boundary::{Caller, KeyReference};
use serde::Serialize;

/// The application id of the Azure Rights Management service principal, which needs get,
/// decrypt and sign on a BYOK tenant key's vault.
pub const AIP_APP_ID: &str = "00000012-0000-0000-c000-000000000000";

/// A tenant key as Get-AipServiceKeys shows it: never key material.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AipServiceKey {
    pub key_identifier: String,
    pub key_type: String,
    pub status: String,
    pub creation_time: String,
    pub friendly_name: String,
    /// BYOK keys only: the versioned Key Vault key URL.
    pub key_vault_key_url: Option<String>,
    /// BYOK keys only: the public key, X.509 SubjectPublicKeyInfo DER in base64.
    pub publickey: Option<String>,
}

pub(crate) fn key_out(k: &TenantKeyRow) -> Result<AipServiceKey> {
    let publickey = if k.is_byok() {
        Some(crate::b64::encode(&crypto::rsa_public_key_der(
            &k.modulus,
            &k.exponent,
        )?))
    } else {
        None
    };
    Ok(AipServiceKey {
        key_identifier: k.key_identifier.clone(),
        key_type: k.key_type.clone(),
        status: k.status.clone(),
        creation_time: crate::time::iso_from_unix(k.creation_time),
        friendly_name: k.friendly_name.clone(),
        key_vault_key_url: k.key_vault_key_url.clone(),
        publickey,
    })
}

/// What Get-KeyVaultKeyUsage reports of a BYOK tenant key: which key version, its status,
/// and how many protected items the engine has seen opened with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TenantKeyUsage {
    pub vault_name: String,
    pub key_name: String,
    pub version: String,
    pub key_identifier: String,
    pub status: String,
    pub items_opened: i64,
}

/// The BYOK tenant keys in use, for Get-KeyVaultKeyUsage.
pub fn tenant_key_usage(tx: &Tx<'_>) -> Result<Vec<TenantKeyUsage>> {
    let counts = sql::opened_counts(tx)?;
    let mut out = Vec::new();
    for k in sql::list_keys(tx)? {
        let Some(url) = &k.key_vault_key_url else {
            continue;
        };
        let reference = KeyReference::parse("KeyVaultKeyUrl", url)?;
        out.push(TenantKeyUsage {
            vault_name: reference.vault_name,
            key_name: reference.name,
            version: reference.version.unwrap_or_default(),
            items_opened: opened(&counts, &k.key_identifier),
            key_identifier: k.key_identifier,
            status: k.status,
        });
    }
    Ok(out)
}

fn opened(counts: &[(String, i64)], key_identifier: &str) -> i64 {
    counts
        .iter()
        .find(|(id, _)| id.eq_ignore_ascii_case(key_identifier))
        .map_or(0, |(_, n)| *n)
}

/// Rewrites the AIP rows of `key_references` from the tenant keys, so that removing, purging
/// or disabling a BYOK tenant key's vault key is refused naming the content it would lock.
pub(crate) fn sync_key_references(tx: &Tx<'_>) -> Result<()> {
    sql::clear_key_references(tx)?;
    for usage in tenant_key_usage(tx)? {
        let referrer = format!(
            "{} tenant key {}: every document and email protected with it ({} opened here so far) would no longer open",
            usage.status, usage.key_identifier, usage.items_opened
        );
        crate::store::vaults::add_key_reference(
            tx,
            &usage.vault_name,
            &usage.key_name,
            Some(&usage.version),
            sql::REFERRER_KIND,
            &referrer,
        )?;
    }
    Ok(())
}

/// A tenant key's name in the store's key caches, and the associated data its private part
/// (Microsoft-managed) is sealed with; it cannot collide with a vault key version (32 hex).
fn store_key_name(key_identifier: &str) -> String {
    format!("aip-tenant-key/{}", key_identifier.to_ascii_lowercase())
}

fn sealing_aad(key_identifier: &str) -> Vec<u8> {
    store_key_name(key_identifier).into_bytes()
}

/// Wraps a content key with the tenant key's public key (RSA-OAEP-256), the parsed public key
/// kept in the store's cache.
pub(crate) fn wrap_content_key(
    ctx: &Context<'_>,
    k: &TenantKeyRow,
    content_key: &[u8],
) -> Result<Vec<u8>> {
    ctx.store()
        .public_key(&store_key_name(&k.key_identifier), &k.modulus, &k.exponent)?
        .encrypt(RsaAlgorithm::OaepSha256, content_key)
}

/// A new Microsoft-managed key row (Archived unless `status` says otherwise), its private part
/// sealed under the store's key-encryption key.
pub(crate) fn microsoft_managed_row(
    ctx: &Context<'_>,
    key_identifier: String,
    friendly_name: String,
    creation_time: i64,
    origin: &str,
    material: &crypto::RsaKeyMaterial,
    status: &str,
) -> Result<TenantKeyRow> {
    let (wrapped, sealed) = ctx
        .store()
        .keys()
        .seal_private(&material.pkcs8, &sealing_aad(&key_identifier))?;
    Ok(TenantKeyRow {
        key_identifier,
        key_type: MICROSOFT_MANAGED.to_string(),
        status: status.to_string(),
        creation_time,
        friendly_name,
        origin: origin.to_string(),
        key_vault_key_url: None,
        modulus: material.modulus.clone(),
        exponent: material.exponent.clone(),
        wrapped_data_key: Some(wrapped),
        sealed_private_key: Some(sealed),
    })
}

/// The private part of a Microsoft-managed key, unsealed.
pub(crate) fn microsoft_managed_pkcs8(ctx: &Context<'_>, k: &TenantKeyRow) -> Result<Secret> {
    match (&k.wrapped_data_key, &k.sealed_private_key) {
        (Some(wrapped), Some(sealed)) => {
            ctx.store()
                .keys()
                .open_private(wrapped, sealed, &sealing_aad(&k.key_identifier))
        }
        _ => Err(Error::internal(format!(
            "tenant key {} has no engine-held private part",
            k.key_identifier
        ))),
    }
}

/// A new tenant starts Microsoft-managed with one engine-held key Active: made on the first
/// AIP call, in a transaction of its own, unless another call made it meanwhile.
pub(crate) fn ensure_tenant_key(ctx: &Context<'_>) -> Result<()> {
    if ctx.read(sql::has_keys)? {
        return Ok(());
    }
    let material = crypto::generate_rsa(2048)?;
    let row = microsoft_managed_row(
        ctx,
        crypto::new_guid()?,
        "Microsoft-managed tenant key".to_string(),
        ctx.now(),
        "Generated",
        &material,
        ACTIVE,
    )?;
    ctx.transaction("AIP tenant key", |tx| {
        if !sql::has_keys(tx)? {
            sql::insert_key(tx, &row)?;
        }
        Ok(())
    })
}

/// A tenant key by identifier, or a not-found error that says where keys come from.
pub(crate) fn find_key(tx: &Tx<'_>, key_identifier: &str) -> Result<TenantKeyRow> {
    sql::get_key(tx, key_identifier)?.ok_or_else(|| {
        Error::not_found(
            "TenantKeyNotFound",
            format!("The tenant has no key with KeyIdentifier '{key_identifier}'; Get-CkAipServiceKeys lists its keys"),
            key_identifier,
        )
    })
}

pub(crate) fn active_key(tx: &Tx<'_>) -> Result<TenantKeyRow> {
    sql::active_key(tx)?.ok_or_else(|| {
        Error::internal("the tenant has no Active key, which the engine never allows")
    })
}

/// Runs `work` with the boundary as the AIP service principal.
pub(crate) fn as_service<R>(
    ctx: &Context<'_>,
    work: impl FnOnce(&dyn crate::vault::boundary::KeyVaultBoundary, &Caller<'_>) -> Result<R>,
) -> Result<R> {
    let sp = Principal::service(AIP_APP_ID);
    let caller = Caller {
        principal: &sp,
        clock: ctx.clock(),
        time_shift: ctx.time_shift(),
        operation: ctx.operation(),
    };
    let vaults = crate::vault::vaults_for(ctx);
    work(vaults.as_ref(), &caller)
}

fn byok_reference(k: &TenantKeyRow) -> Result<KeyReference> {
    let url = k.key_vault_key_url.as_deref().unwrap_or_default();
    KeyReference::parse("KeyVaultKeyUrl", url)
}

/// Says which tenant key the vault refused, keeping the vault's status and reason.
fn through_vault(k: &TenantKeyRow, mut e: Error) -> Error {
    e.message = format!(
        "Tenant key {} ({}) cannot be used: {}",
        k.key_identifier,
        k.key_vault_key_url.as_deref().unwrap_or_default(),
        e.message
    );
    e
}

/// Signs a SHA-256 digest with the tenant key: in the engine for Microsoft-managed keys,
/// through the vault boundary (keys/sign) for BYOK keys.
pub(crate) fn sign_digest(ctx: &Context<'_>, k: &TenantKeyRow, digest: &[u8]) -> Result<Vec<u8>> {
    if k.is_byok() {
        let reference = byok_reference(k)?;
        as_service(ctx, |vaults, caller| {
            vaults.sign(caller, &reference, digest)
        })
        .map(|signed| signed.value)
        .map_err(|e| through_vault(k, e))
    } else {
        crypto::rsa_sign_sha256_digest(&microsoft_managed_pkcs8(ctx, k)?, digest)
    }
}

/// Decrypts a content key wrapped with the tenant key's public key (RSA-OAEP-256).
pub(crate) fn decrypt_content_key(
    ctx: &Context<'_>,
    k: &TenantKeyRow,
    wrapped: &[u8],
) -> Result<Secret> {
    let result = if k.is_byok() {
        let reference = byok_reference(k)?;
        as_service(ctx, |vaults, caller| {
            vaults.decrypt(caller, &reference, RsaAlgorithm::OaepSha256, wrapped)
        })
        .map_err(|e| through_vault(k, e))
    } else {
        match (&k.wrapped_data_key, &k.sealed_private_key) {
            // Unsealed and parsed once, then kept in the store's cache like vault keys in use.
            (Some(data_key), Some(sealed)) => ctx
                .store()
                .private_key(&store_key_name(&k.key_identifier), data_key, sealed)?
                .decrypt(RsaAlgorithm::OaepSha256, wrapped),
            _ => Err(Error::internal(format!(
                "tenant key {} has no engine-held private part",
                k.key_identifier
            ))),
        }
    };
    result.map_err(|mut e| {
        if e.target == "ByteArrayValue" {
            e.target = "InputFile".into();
            e.message = format!(
                "Parameter 'InputFile': its content key does not decrypt with tenant key {}",
                k.key_identifier
            );
        }
        e
    })
}
