//! The cryptographic operations on keys (wrap, unwrap, encrypt, decrypt): the checks every one
//! of them passes (permission, key_ops, Enabled, NotBefore, Expires), the RSA work outside any
//! transaction, and the audit row naming the version and algorithm used.

use super::keys::{active_key, find_version};
use super::model::VAULT_NAME_HELP;
use super::{active_vault, authorize, authorize_by};
use crate::crypto::{RsaAlgorithm, Secret};
use crate::error::{Error, Result};
use crate::operations::Context;
use crate::store::vaults::VersionRow;
use serde::Serialize;
use zeroize::Zeroizing;

arguments! {
    pub struct InvokeKeyOperationArgs {
        pub vault_name: String = "VaultName", String, VAULT_NAME_HELP, mandatory, pipeline, position(0);
        pub name: String = "Name", String, "Name of the key", mandatory, pipeline, position(1);
        pub version: Option<String> = "Version", String, "Version to use (default: the newest)", pipeline;
        pub operation: String = "Operation", String, "Encrypt, Decrypt, Wrap or Unwrap", mandatory, allowed(&["Encrypt", "Decrypt", "Wrap", "Unwrap"]);
        pub algorithm: String = "Algorithm", String, "RSA-OAEP-256 (recommended), RSA-OAEP or RSA1_5", mandatory, allowed(&["RSA-OAEP-256", "RSA-OAEP", "RSA1_5"]);
        /// Plaintext for Wrap and Encrypt: wiped when dropped, like the bytes it decodes to.
        pub byte_array_value: Zeroizing<String> = "ByteArrayValue", Bytes, "The value (base64 in JSON)", mandatory;
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyOperationResult {
    pub key_id: String,
    /// An unwrapped or decrypted value for Unwrap and Decrypt: wiped when dropped.
    pub raw_result: Zeroizing<String>,
    pub algorithm: String,
}

/// Which crypto operation, with the permission and key operation it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOperation {
    Encrypt,
    Decrypt,
    Wrap,
    Unwrap,
    /// Signatures run in `vault::signatures`, after the same checks.
    Sign,
    Verify,
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
            KeyOperation::Verify => "verify",
        }
    }
}

/// What a crypto operation needs of a version, read in one transaction: the public key, or the
/// sealed private key.
pub(crate) struct UsableVersion {
    pub key_id: String,
    pub row: std::sync::Arc<VersionRow>,
}

/// Checks permission, key_ops, Enabled, NotBefore and Expires, and returns the version to use.
/// A live key's metadata comes from the store's snapshot (no transaction); anything else
/// (missing or deleted vault, key or version) from a read transaction, which says why.
pub(crate) fn usable_version(
    ctx: &Context<'_>,
    vault_name: &str,
    name: &str,
    version: Option<&str>,
    op: KeyOperation,
) -> Result<UsableVersion> {
    let now = ctx.now();
    let snapshot = ctx.store().key_snapshot(vault_name, name)?;
    let (key_id, row) = match snapshot
        .as_deref()
        .and_then(|s| s.version(version).map(|r| (s, r)))
    {
        Some((s, row)) => {
            authorize_by(s, ctx.principal(), op.permission())?;
            let key_id = super::model::key_id(&s.vault.name, &s.key.name, &row.version);
            (key_id, std::sync::Arc::clone(row))
        }
        None => ctx.read(|tx| {
            let vault = active_vault(tx, vault_name)?;
            authorize(tx, &vault, ctx.principal(), op.permission())?;
            let key = active_key(tx, &vault, name)?;
            let row = find_version(tx, &key, version)?;
            let key_id = super::model::key_id(&vault.name, &key.name, &row.version);
            Ok((key_id, std::sync::Arc::new(row)))
        })?,
    };
    let refuse =
        |code: &str, why: String| Error::new(crate::CkStatus::Forbidden, code, why, key_id.clone());
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
}

/// Runs the RSA operation on a checked version (outside any transaction: RSA is the slow part).
fn run_key_operation(
    ctx: &Context<'_>,
    usable: &UsableVersion,
    op: KeyOperation,
    algorithm: RsaAlgorithm,
    value: &[u8],
) -> Result<Secret> {
    let row = &usable.row;
    match op {
        KeyOperation::Encrypt | KeyOperation::Wrap => ctx
            .store()
            .public_key(&row.version, &row.modulus, &row.exponent)?
            .encrypt(algorithm, value)
            // Ciphertext is no secret, but one type for both directions keeps every result wiped.
            .map(Secret::new),
        KeyOperation::Decrypt | KeyOperation::Unwrap => {
            let private = ctx.store().private_key(
                &row.version,
                &row.wrapped_data_key,
                &row.sealed_private_key,
            )?;
            private.decrypt(algorithm, value)
        }
        KeyOperation::Sign => {
            let pkcs8 = ctx.store().keys().open_private(
                &row.wrapped_data_key,
                &row.sealed_private_key,
                row.version.as_bytes(),
            )?;
            crate::crypto::rsa_sign_sha256_digest(&pkcs8, value).map(Secret::new)
        }
        KeyOperation::Verify => Err(Error::internal(
            "verification is made by Invoke-KeyVaultKeySignature, not with an encryption algorithm",
        )),
    }
}

/// Checks, then runs, one cryptographic operation, and audits its success with the version
/// and algorithm used (failures are audited by the operation table). Returns the key id of the
/// version used and the result bytes, wiped when dropped.
pub(crate) fn perform_key_operation_wiped(
    ctx: &Context<'_>,
    vault_name: &str,
    name: &str,
    version: Option<&str>,
    op: KeyOperation,
    algorithm: RsaAlgorithm,
    value: &[u8],
) -> Result<(String, Secret)> {
    let usable = usable_version(ctx, vault_name, name, version, op)?;
    let result = run_key_operation(ctx, &usable, op, algorithm, value)?;
    let algorithm_name = match op {
        KeyOperation::Sign => "RS256",
        _ => algorithm.name(),
    };
    ctx.audit_success(&usable.key_id, &format!("{op:?} {algorithm_name}"));
    Ok((usable.key_id, result))
}

/// The operation, algorithm and value an Invoke-KeyVaultKeyOperation call asks for, checked.
pub(crate) fn parse_key_operation(
    a: &InvokeKeyOperationArgs,
) -> Result<(KeyOperation, RsaAlgorithm, Secret)> {
    let op = KeyOperation::parse(&a.operation).ok_or_else(|| {
        Error::invalid_argument("Operation", "must be Encrypt, Decrypt, Wrap or Unwrap")
    })?;
    let algorithm = RsaAlgorithm::parse(&a.algorithm).ok_or_else(|| {
        Error::invalid_argument("Algorithm", "must be RSA-OAEP-256, RSA-OAEP or RSA1_5")
    })?;
    let value = crate::crypto::decode_base64_secret(&a.byte_array_value)
        .ok_or_else(|| Error::invalid_argument("ByteArrayValue", "must be standard base64"))?;
    if value.expose().is_empty() {
        return Err(Error::invalid_argument(
            "ByteArrayValue",
            "must not be empty",
        ));
    }
    Ok((op, algorithm, value))
}

pub fn invoke_key_operation(
    ctx: &Context<'_>,
    a: InvokeKeyOperationArgs,
) -> Result<KeyOperationResult> {
    let (op, algorithm, value) = parse_key_operation(&a)?;
    let (key_id, result) = perform_key_operation_wiped(
        ctx,
        &a.vault_name,
        &a.name,
        a.version.as_deref(),
        op,
        algorithm,
        value.expose(),
    )?;
    Ok(KeyOperationResult {
        key_id,
        raw_result: Zeroizing::new(crate::b64::encode(result.expose())),
        algorithm: algorithm.name().to_string(),
    })
}
