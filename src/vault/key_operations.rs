//! The cryptographic operations on keys (wrap, unwrap, encrypt, decrypt): the checks every one
//! of them passes (permission, key_ops, Enabled, NotBefore, Expires), the RSA work outside any
//! transaction, and the audit row naming the version and algorithm used.

use super::keys::{active_key, find_version};
use super::operations::VAULT_NAME_HELP;
use super::{active_vault, authorize};
use crate::crypto::{self, RsaAlgorithm};
use crate::error::{Error, Result};
use crate::operations::Context;
use crate::store::vaults::VersionRow;
use serde::Serialize;

arguments! {
    pub struct InvokeKeyOperationArgs {
        pub vault_name: String = "VaultName", String, VAULT_NAME_HELP, mandatory, pipeline;
        pub name: String = "Name", String, "Name of the key", mandatory, pipeline;
        pub version: Option<String> = "Version", String, "Version to use (default: the newest)", pipeline;
        pub operation: String = "Operation", String, "Encrypt, Decrypt, Wrap or Unwrap", mandatory, allowed(&["Encrypt", "Decrypt", "Wrap", "Unwrap"]);
        pub algorithm: String = "Algorithm", String, "RSA-OAEP-256 (recommended), RSA-OAEP or RSA1_5", mandatory, allowed(&["RSA-OAEP-256", "RSA-OAEP", "RSA1_5"]);
        pub byte_array_value: String = "ByteArrayValue", Bytes, "The value (base64 in JSON)", mandatory;
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyOperationResult {
    pub key_id: String,
    pub raw_result: String,
    pub algorithm: String,
}

/// Which crypto operation, with the permission and key operation it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOperation {
    Encrypt,
    Decrypt,
    Wrap,
    Unwrap,
    /// RS256 over a SHA-256 digest (the algorithm argument does not apply).
    Sign,
}

impl KeyOperation {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Encrypt" => Some(KeyOperation::Encrypt),
            "Decrypt" => Some(KeyOperation::Decrypt),
            "Wrap" => Some(KeyOperation::Wrap),
            "Unwrap" => Some(KeyOperation::Unwrap),
            _ => None,
        }
    }
    /// The key_ops entry and the access permission (they share names in Key Vault).
    pub fn permission(self) -> &'static str {
        match self {
            KeyOperation::Encrypt => "encrypt",
            KeyOperation::Decrypt => "decrypt",
            KeyOperation::Wrap => "wrapKey",
            KeyOperation::Unwrap => "unwrapKey",
            KeyOperation::Sign => "sign",
        }
    }
}

/// What a crypto operation needs of a version, read in one transaction: the public key, or the
/// sealed private key.
pub(crate) struct UsableVersion {
    pub key_id: String,
    pub row: VersionRow,
}

/// Checks permission, key_ops, Enabled, NotBefore and Expires, and returns the version to use.
pub(crate) fn usable_version(
    ctx: &Context<'_>,
    vault_name: &str,
    name: &str,
    version: Option<&str>,
    op: KeyOperation,
) -> Result<UsableVersion> {
    let now = ctx.now();
    ctx.read(|tx| {
        let vault = active_vault(tx, vault_name)?;
        authorize(tx, &vault, ctx.principal(), op.permission())?;
        let key = active_key(tx, &vault, name)?;
        let row = find_version(tx, &key, version)?;
        let key_id = super::model::key_id(&vault.name, &key.name, &row.version);
        let refuse = |code: &str, why: String| {
            Error::new(crate::CkStatus::Forbidden, code, why, key_id.clone())
        };
        if !row.enabled {
            return Err(refuse(
                "KeyDisabled",
                format!(
                    "Operation {} is not allowed on a disabled key ({key_id})",
                    op.permission()
                ),
            ));
        }
        if row.not_before.is_some_and(|nbf| now < nbf) {
            return Err(refuse(
                "KeyNotYetValid",
                format!(
                    "Key {key_id} is not valid before {}",
                    crate::time::iso_from_unix(row.not_before.unwrap_or(0))
                ),
            ));
        }
        if row.expires.is_some_and(|exp| now >= exp) {
            return Err(refuse(
                "KeyExpired",
                format!(
                    "Key {key_id} expired on {}",
                    crate::time::iso_from_unix(row.expires.unwrap_or(0))
                ),
            ));
        }
        if !row.key_ops.iter().any(|o| o == op.permission()) {
            return Err(Error::invalid_operation(
                "OperationNotAllowed",
                format!(
                    "Operation {} is not allowed on this key; its KeyOps are {}",
                    op.permission(),
                    row.key_ops.join(", ")
                ),
                key_id.clone(),
            ));
        }
        Ok(UsableVersion {
            key_id: key_id.clone(),
            row,
        })
    })
}

/// Runs the RSA operation on a checked version (outside any transaction: RSA is the slow part).
fn run_key_operation(
    ctx: &Context<'_>,
    usable: &UsableVersion,
    op: KeyOperation,
    algorithm: RsaAlgorithm,
    value: &[u8],
) -> Result<Vec<u8>> {
    let row = &usable.row;
    match op {
        KeyOperation::Encrypt | KeyOperation::Wrap => {
            crypto::rsa_encrypt(&row.modulus, &row.exponent, algorithm, value)
        }
        KeyOperation::Decrypt | KeyOperation::Unwrap => {
            let private = ctx.store().private_key(
                &row.version,
                &row.wrapped_data_key,
                &row.sealed_private_key,
            )?;
            private
                .decrypt(algorithm, value)
                .map(|s| s.expose().to_vec())
        }
        KeyOperation::Sign => {
            let pkcs8 = ctx.store().keys().open_private(
                &row.wrapped_data_key,
                &row.sealed_private_key,
                row.version.as_bytes(),
            )?;
            crypto::rsa_sign_sha256_digest(&pkcs8, value)
        }
    }
}

/// Checks, then runs, one cryptographic operation, and audits its success with the version
/// and algorithm used (failures are audited by the operation table). Returns the key id of the
/// version used and the result bytes. Invoke-KeyVaultKeyOperation and the boundary both use it.
pub(crate) fn perform_key_operation(
    ctx: &Context<'_>,
    vault_name: &str,
    name: &str,
    version: Option<&str>,
    op: KeyOperation,
    algorithm: RsaAlgorithm,
    value: &[u8],
) -> Result<(String, Vec<u8>)> {
    let usable = usable_version(ctx, vault_name, name, version, op)?;
    let result = run_key_operation(ctx, &usable, op, algorithm, value)?;
    let algorithm_name = match op {
        KeyOperation::Sign => "RS256",
        _ => algorithm.name(),
    };
    ctx.audit_success(&usable.key_id, &format!("{op:?} {algorithm_name}"))?;
    Ok((usable.key_id, result))
}

pub fn invoke_key_operation(
    ctx: &Context<'_>,
    a: InvokeKeyOperationArgs,
) -> Result<KeyOperationResult> {
    let op = KeyOperation::parse(&a.operation).ok_or_else(|| {
        Error::invalid_argument("Operation", "must be Encrypt, Decrypt, Wrap or Unwrap")
    })?;
    let algorithm = RsaAlgorithm::parse(&a.algorithm).ok_or_else(|| {
        Error::invalid_argument("Algorithm", "must be RSA-OAEP-256, RSA-OAEP or RSA1_5")
    })?;
    let value = crate::b64::decode(&a.byte_array_value)
        .map_err(|_| Error::invalid_argument("ByteArrayValue", "must be standard base64"))?;
    if value.is_empty() {
        return Err(Error::invalid_argument(
            "ByteArrayValue",
            "must not be empty",
        ));
    }
    let (key_id, result) = perform_key_operation(
        ctx,
        &a.vault_name,
        &a.name,
        a.version.as_deref(),
        op,
        algorithm,
        &value,
    )?;
    Ok(KeyOperationResult {
        key_id,
        raw_result: crate::b64::encode(&result),
        algorithm: algorithm.name().to_string(),
    })
}
