//! The embedded engine's side of the vault boundary: the store's own vaults.

use super::boundary::{
    Caller, KeyReference, KeyVaultBoundary, RsaPublicKey, VaultKey, VaultProperties,
};
use super::key_operations::{perform_key_operation_wiped, KeyOperation};
use super::keys::{active_key, find_version};
use super::{active_vault, authorize};
use crate::crypto::{RsaAlgorithm, Secret};
use crate::error::Result;
use crate::operations::Context;
use crate::store::vaults::{self as sql, VersionRow};
use crate::store::Store;
use std::sync::Arc;

/// The store's vaults, reached as a workload's service principal would reach Azure's.
pub struct LocalKeyVault {
    store: Arc<Store>,
}

impl LocalKeyVault {
    pub fn new(store: Arc<Store>) -> Self {
        LocalKeyVault { store }
    }

    fn context<'a>(&'a self, caller: &Caller<'a>) -> Context<'a> {
        Context::new(
            &self.store,
            caller.principal,
            caller.time_shift,
            caller.operation,
        )
        .with_clock(caller.clock)
    }

    /// One cryptographic operation with the version the reference names (or the newest), as
    /// the caller: checked, run, audited.
    /// Runs `work`, auditing a failure under the acting principal (successes audit themselves).
    fn audited<R>(
        &self,
        ctx: &Context<'_>,
        key: &KeyReference,
        work: impl FnOnce() -> Result<R>,
    ) -> Result<R> {
        // A vault rehearsing an outage (Set-KeyVault -Unreachable) answers nothing at all.
        let result =
            super::reachability::refuse_if_unreachable(&self.store, key).and_then(|()| work());
        if let Err(e) = &result {
            ctx.audit_failure(&key.id(), e);
        }
        result
    }
}

fn vault_key(reference: &KeyReference, row: VersionRow) -> VaultKey {
    VaultKey {
        key: reference.at_version(&row.version),
        version: row.version,
        enabled: row.enabled,
        not_before: row.not_before,
        expires: row.expires,
        created: row.created,
        updated: row.updated,
        key_ops: row.key_ops,
        key_type: row.kty,
        key_size: u32::try_from(row.size).unwrap_or(0),
        public_key: RsaPublicKey {
            modulus: row.modulus,
            exponent: row.exponent,
        },
    }
}

impl KeyVaultBoundary for LocalKeyVault {
    fn get_key(&self, caller: &Caller<'_>, key: &KeyReference) -> Result<VaultKey> {
        let ctx = self.context(caller);
        self.audited(&ctx, key, || {
            let found = ctx.read(|tx| {
                let vault = active_vault(tx, &key.vault_name)?;
                authorize(tx, &vault, ctx.principal(), "get")?;
                let k = active_key(tx, &vault, &key.name)?;
                let row = find_version(tx, &k, key.version.as_deref())?;
                Ok(vault_key(key, row))
            })?;
            ctx.audit_success(&found.id(), "Get");
            Ok(found)
        })
    }

    fn list_versions(&self, caller: &Caller<'_>, key: &KeyReference) -> Result<Vec<VaultKey>> {
        let ctx = self.context(caller);
        self.audited(&ctx, key, || {
            let versions = ctx.read(|tx| {
                let vault = active_vault(tx, &key.vault_name)?;
                authorize(tx, &vault, ctx.principal(), "list")?;
                let k = active_key(tx, &vault, &key.name)?;
                let rows = sql::list_versions(tx, &vault.name, &k.name)?;
                Ok(rows
                    .into_iter()
                    .map(|r| vault_key(key, r))
                    .collect::<Vec<_>>())
            })?;
            ctx.audit_success(&key.id(), "ListVersions");
            Ok(versions)
        })
    }

    fn vault_properties(&self, caller: &Caller<'_>, key: &KeyReference) -> Result<VaultProperties> {
        let ctx = self.context(caller);
        self.audited(&ctx, key, || {
            ctx.read(|tx| {
                let vault = active_vault(tx, &key.vault_name)?;
                Ok(VaultProperties {
                    vault_uri: key.vault_uri.clone(),
                    soft_delete: vault.soft_delete,
                    purge_protection: vault.purge_protection,
                })
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
        let ctx = self.context(caller);
        self.audited(&ctx, key, || {
            perform_key_operation_wiped(
                &ctx,
                &key.vault_name,
                &key.name,
                key.version.as_deref(),
                op,
                algorithm,
                value,
            )
        })
    }

    fn check_permission(
        &self,
        caller: &Caller<'_>,
        key: &KeyReference,
        permission: &str,
    ) -> Result<()> {
        let ctx = self.context(caller);
        self.audited(&ctx, key, || {
            ctx.read(|tx| {
                let vault = active_vault(tx, &key.vault_name)?;
                authorize(tx, &vault, ctx.principal(), permission)
            })
        })
    }
}
