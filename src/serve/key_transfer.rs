//! The endpoint's key transfers, import (a JSON Web Key), backup and restore: the key or the
//! backup travels in memory, through the operations' in-memory entries (see
//! [`engine::operations::InMemory`]), checked, routed and audited as Add-, Backup- and
//! Restore-KeyVaultKey are for every caller. Never through a file: overwriting a file before
//! unlinking it does not take a key off an SSD or a copy-on-write or journaling filesystem, and
//! a crash in between leaves it there.

use super::http::{from_base64url, parse_json, ApiError};
use super::key_body::{key_bundle, put_attributes};
use super::request::{named, VaultRequest};
use engine::operations::{Arguments, InMemory};
use engine::vault::operations::{BACKUP_KEY, IMPORT_KEY, RESTORE_KEY};
use engine::wire::keyvault::{
    BackupKeyResult, JsonWebKey, KeyBundle, KeyImportParameters, KeyRestoreParameters,
};
use engine::wire::SecretText;
use serde_json::{json, Map, Value};
use zeroize::Zeroizing;

impl VaultRequest<'_> {
    /// [`VaultRequest::call`] of an operation's in-memory entry: `input` (a key, a backup)
    /// in place of the file its path parameter would name, never in the JSON arguments.
    pub(super) fn call_in_memory<A: Arguments, X, R>(
        &self,
        entry: &InMemory<A, X, R>,
        mut args: Map<String, Value>,
        input: X,
    ) -> Result<R, ApiError> {
        args.insert("VaultName".into(), json!(self.vault));
        engine::registry()
            .call_in_memory_as(
                self.session,
                self.principal,
                entry,
                &Value::Object(args),
                input,
            )
            .map_err(ApiError::from)
    }
}

/// The key's backup, handed over in memory: never written to a file on the way.
pub(super) fn backup(req: &VaultRequest<'_>, name: &str) -> Result<BackupKeyResult, ApiError> {
    let backup = req.call_in_memory(&BACKUP_KEY, named(name), ())?;
    Ok(BackupKeyResult {
        value: SecretText::of_bytes(&backup.blob),
    })
}

pub(super) fn restore(req: &VaultRequest<'_>, body: &[u8]) -> Result<KeyBundle, ApiError> {
    let input: KeyRestoreParameters = parse_json(body)?;
    let blob = Zeroizing::new(from_base64url("value", input.value.expose())?);
    let restored = req.call_in_memory(&RESTORE_KEY, Map::new(), blob)?;
    Ok(key_bundle(req, &restored))
}

/// Import (bring your own key) of an RSA JSON Web Key: its fields become a PKCS#8 key in
/// memory, imported as Add-KeyVaultKey -KeyFilePath imports a key file's bytes (the keys/import
/// permission, a new version when the name exists).
pub(super) fn import(
    req: &VaultRequest<'_>,
    name: &str,
    body: &[u8],
) -> Result<KeyBundle, ApiError> {
    let input: KeyImportParameters = parse_json(body)?;
    let jwk = &input.key;
    let kty = jwk.kty.as_deref().unwrap_or_default();
    if !matches!(kty, "RSA" | "RSA-HSM") {
        return Err(ApiError::bad_parameter(
            "Property 'key.kty': only RSA keys can be imported into this vault",
        ));
    }
    let pkcs8 = pkcs8_of(jwk)?;
    let mut args = named(name);
    if input.hsm.unwrap_or(false) || kty == "RSA-HSM" {
        args.insert("Destination".into(), json!("HSM"));
    }
    if let Some(ops) = &jwk.key_ops {
        args.insert("KeyOps".into(), json!(ops));
    }
    put_attributes(&mut args, &input.attributes, input.tags, false)?;
    let imported = req.call_in_memory(&IMPORT_KEY, args, pkcs8)?;
    Ok(key_bundle(req, &imported))
}

/// The JSON Web Key as PKCS#8 DER; its decoded fields are wiped as soon as it is made.
fn pkcs8_of(jwk: &JsonWebKey) -> Result<engine::crypto::Secret, ApiError> {
    let field = |label: &str, value: Option<&str>| -> Result<Zeroizing<Vec<u8>>, ApiError> {
        let text = value.ok_or_else(|| {
            ApiError::bad_parameter(format!(
                "Property 'key.{label}': is required to import an RSA private key"
            ))
        })?;
        Ok(Zeroizing::new(from_base64url(
            &format!("key.{label}"),
            text,
        )?))
    };
    fn secret(v: &Option<SecretText>) -> Option<&str> {
        v.as_ref().map(SecretText::expose)
    }
    let (n, e) = (field("n", jwk.n.as_deref())?, field("e", jwk.e.as_deref())?);
    let (d, p, q) = (
        field("d", secret(&jwk.d))?,
        field("p", secret(&jwk.p))?,
        field("q", secret(&jwk.q))?,
    );
    let (dp, dq, qi) = (
        field("dp", secret(&jwk.dp))?,
        field("dq", secret(&jwk.dq))?,
        field("qi", secret(&jwk.qi))?,
    );
    Ok(engine::crypto::der::rsa_private_pkcs8(
        &engine::crypto::der::RsaPrivateComponents {
            n: &n,
            e: &e,
            d: &d,
            p: &p,
            q: &q,
            dp: &dp,
            dq: &dq,
            qi: &qi,
        },
    ))
}
