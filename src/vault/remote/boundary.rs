//! The workloads' vault boundary over Azure Key Vault: Exchange, SharePoint and AIP reach
//! keys in real vaults without a change of their own. Azure checks permissions and key state
//! on each call, as the identity of the session's token (in Azure a workload acts as its own
//! service principal; in a rehearsal, the session's credentials stand for it). Each call is
//! audited in the local store under the acting principal, success or failure.

use super::json::{kid_of, modulus_bits, rsa_public_key, unexpected};
use super::keys::crypto;
use super::{RemoteVaults, Replay, NO_BODY};
use crate::crypto::{RsaAlgorithm, Secret};
use crate::error::{Error, Result};
use crate::identity::Principal;
use crate::operations::Context;
use crate::store::Store;
use crate::vault::boundary::{
    Caller, KeyReference, KeyVaultBoundary, RsaPublicKey, VaultKey, VaultProperties,
};
use crate::vault::key_operations::KeyOperation;
use crate::wire::keyvault::{KeyBundle, KeyItem, KeyOperationsParameters};
use crate::wire::SecretText;
use reqwest::Method;
use std::sync::Arc;

pub struct RemoteKeyVault {
    remote: Arc<RemoteVaults>,
    /// Where the audit rows go.
    store: Arc<Store>,
}

impl RemoteKeyVault {
    pub fn new(remote: Arc<RemoteVaults>, store: Arc<Store>) -> Self {
        RemoteKeyVault { remote, store }
    }

    fn audited<R>(
        &self,
        caller: &Caller<'_>,
        key: &KeyReference,
        detail: &str,
        work: impl FnOnce() -> Result<R>,
    ) -> Result<R> {
        let ctx = Context::new(
            &self.store,
            caller.principal,
            caller.time_shift,
            caller.operation,
        );
        let result = self.remote.check_key_reference(key).and_then(|()| work());
        match &result {
            Ok(_) => ctx.audit_success(&key.id(), detail),
            Err(e) => ctx.audit_failure(&key.id(), e),
        }
        result
    }

    fn bundle(&self, key: &KeyReference, path: &str) -> Result<KeyBundle> {
        self.remote.call(
            Method::GET,
            &key.vault_name,
            path,
            NO_BODY,
            Replay::Harmless,
            &key.id(),
        )
    }

    fn operation(
        &self,
        key: &KeyReference,
        op: KeyOperation,
        algorithm: &str,
        value: &[u8],
    ) -> Result<(String, Secret)> {
        let body = KeyOperationsParameters {
            alg: algorithm.into(),
            value: SecretText::of_bytes(value),
        };
        let (kid, mut bytes) = crypto(
            &self.remote,
            &key.vault_name,
            &key.name,
            key.version.as_deref(),
            op,
            &body,
            &key.id(),
        )?;
        Ok((kid, Secret::new(std::mem::take(&mut *bytes))))
    }
}

/// A KeyBundle as a workload's view of one version.
fn vault_key(bundle: &KeyBundle, target: &str) -> Result<VaultKey> {
    let jwk = &bundle.key;
    let kid = jwk.kid.as_deref();
    let kid = kid.ok_or_else(|| unexpected("the key has no kid", target))?;
    let reference = KeyReference::parse("kid", kid)
        .map_err(|_| unexpected("the key's kid is not a key id", target))?;
    let version = reference.version.clone();
    let version = version.ok_or_else(|| unexpected("the key's kid has no version", target))?;
    let (modulus, exponent) = rsa_public_key(jwk, target)?;
    let a = &bundle.attributes;
    Ok(VaultKey {
        key: reference,
        version,
        enabled: a.enabled.unwrap_or(true),
        not_before: a.nbf,
        expires: a.exp,
        created: a.created.unwrap_or(0),
        updated: a.updated.unwrap_or(0),
        key_ops: jwk.key_ops.clone().unwrap_or_default(),
        key_type: jwk.kty.clone().unwrap_or_else(|| "RSA".into()),
        key_size: u32::try_from(modulus_bits(&modulus)).unwrap_or(0),
        public_key: RsaPublicKey { modulus, exponent },
    })
}

/// The key's path on its vault: its id without the vault.
fn key_path(key: &KeyReference) -> String {
    crate::wire::Kid::id("", &key.name, key.version.as_deref())
}

impl KeyVaultBoundary for RemoteKeyVault {
    fn get_key(&self, caller: &Caller<'_>, key: &KeyReference) -> Result<VaultKey> {
        self.audited(caller, key, "Get", || {
            vault_key(&self.bundle(key, &key_path(key))?, &key.id())
        })
    }

    fn list_versions(&self, caller: &Caller<'_>, key: &KeyReference) -> Result<Vec<VaultKey>> {
        self.audited(caller, key, "ListVersions", || {
            let target = key.id();
            let items: Vec<KeyItem> = self.remote.list_of(
                &key.vault_name,
                &format!("/keys/{}/versions", key.name),
                &target,
            )?;
            let mut versions = Vec::with_capacity(items.len());
            for item in &items {
                let (_, kid) = kid_of(item.kid.as_ref(), "a listed version", &target)?;
                let version = kid.version;
                let version = version
                    .ok_or_else(|| unexpected("a listed version has no version", &target))?;
                let path = format!("/keys/{}/{version}", key.name);
                versions.push(vault_key(&self.bundle(key, &path)?, &target)?);
            }
            versions.sort_by_key(|v| v.created);
            Ok(versions)
        })
    }

    fn vault_properties(&self, caller: &Caller<'_>, key: &KeyReference) -> Result<VaultProperties> {
        // The data plane tells the vault's protection through each key's recovery level:
        // "Recoverable" (soft delete and purge protection), "Recoverable+Purgeable" (soft
        // delete only), "Purgeable" (neither); the "CustomizedRecoverable" levels likewise.
        self.audited(caller, key, "VaultProperties", || {
            let bundle = self.bundle(key, &format!("/keys/{}", key.name))?;
            let level = bundle.attributes.recovery_level.unwrap_or_default();
            let soft_delete = level.contains("Recoverable");
            Ok(VaultProperties {
                vault_uri: key.vault_uri.clone(),
                soft_delete,
                purge_protection: soft_delete && !level.contains("Purgeable"),
            })
        })
    }

    fn key_operation(
        &self,
        caller: &Caller<'_>,
        key: &KeyReference,
        op: KeyOperation,
        algorithm: RsaAlgorithm,
        value: &[u8],
    ) -> Result<(String, Secret)> {
        // Sign is RS256 over the digest; the others name their encryption algorithm.
        let alg = match op {
            KeyOperation::Sign => "RS256",
            _ => algorithm.name(),
        };
        // The audit row's operation: "Wrap RSA-OAEP-256", "Sign RS256" (the variant's name).
        self.audited(caller, key, &format!("{op:?} {alg}"), || {
            self.operation(key, op, alg, value)
        })
    }

    /// Azure has no "may I" question: the permission is checked by asking for what it allows,
    /// with nothing at stake (a get, or a wrap and unwrap of random bytes).
    fn check_permission(
        &self,
        caller: &Caller<'_>,
        key: &KeyReference,
        permission: &str,
    ) -> Result<()> {
        self.audited(caller, key, &format!("CheckPermission {permission}"), || {
            // A workload acts in Azure as its own service principal, not with this session's
            // token: where Azure Resource Manager can be asked, the vault's access policy for
            // that principal decides, as Exchange Online's own check does. The probe below then
            // shows the key is there and usable.
            if let Principal::ServicePrincipal(application_id) = caller.principal {
                if let Some(granted) = self
                    .remote
                    .service_principal_key_permissions(application_id, &key.vault_name)?
                {
                    let allowed = granted.iter().any(|g| {
                        g.eq_ignore_ascii_case(permission) || g.eq_ignore_ascii_case("all")
                    });
                    if !allowed {
                        return Err(Error::forbidden(
                            format!(
                                "Access denied: '{application_id}' does not have keys/{permission} permission on vault '{}' (its access policy in Azure, or in an RBAC vault its role assignments). Grant it with Set-CkKeyVaultAccessPolicy -VaultName {} -ServicePrincipalName {application_id} -PermissionsToKeys {permission}, or in an RBAC vault with New-AzRoleAssignment -RoleDefinitionName 'Key Vault Crypto Service Encryption User'",
                                key.vault_name, key.vault_name
                            ),
                            &key.vault_name,
                        ));
                    }
                }
            }
            match permission {
                "get" => self.bundle(key, &key_path(key)).map(|_| ()),
                "list" => self
                    .remote
                    .list_of::<crate::wire::keyvault::KeyItem>(&key.vault_name, &format!("/keys/{}/versions", key.name), &key.id())
                    .map(|_| ()),
                "wrapKey" | "unwrapKey" => {
                    let probe = crate::crypto::random_bytes(32)?;
                    let (kid, wrapped) = self.operation(
                        key,
                        KeyOperation::Wrap,
                        RsaAlgorithm::OaepSha256.name(),
                        &probe,
                    )?;
                    if permission == "unwrapKey" {
                        let at = KeyReference::parse("kid", &kid).unwrap_or_else(|_| key.clone());
                        self.operation(
                            &at,
                            KeyOperation::Unwrap,
                            RsaAlgorithm::OaepSha256.name(),
                            wrapped.expose(),
                        )?;
                    }
                    Ok(())
                }
                "decrypt" => {
                    // Encrypted here with the public key, decrypted there.
                    let v = vault_key(&self.bundle(key, &key_path(key))?, &key.id())?;
                    let probe = crate::crypto::random_bytes(32)?;
                    let sealed = crate::crypto::rsa_encrypt(
                        &v.public_key.modulus,
                        &v.public_key.exponent,
                        RsaAlgorithm::OaepSha256,
                        &probe,
                    )?;
                    self.operation(
                        &v.key,
                        KeyOperation::Decrypt,
                        RsaAlgorithm::OaepSha256.name(),
                        &sealed,
                    )
                    .map(|_| ())
                }
                "sign" => {
                    let digest = crate::crypto::random_bytes(32)?;
                    self.operation(key, KeyOperation::Sign, "RS256", &digest)
                        .map(|_| ())
                }
                other => Err(crate::error::Error::invalid_operation(
                    "PermissionNotCheckable",
                    format!(
                        "keys/{other} cannot be checked against Azure without using it; it is checked when it is used"
                    ),
                    key.id(),
                )),
            }
        })
    }
}
