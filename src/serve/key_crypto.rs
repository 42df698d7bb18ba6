//! The cryptographic key operations of the REST API (wrapkey, unwrapkey, encrypt, decrypt,
//! sign, verify), mapped onto Invoke-KeyVaultKeyOperation and Invoke-KeyVaultKeySignature.

use super::http::{from_base64url, ok, parse_json, ApiError, HttpResponse};
use super::request::{named, VaultRequest};
use engine::vault::key_operations::KeyOperationResult as EngineResult;
use engine::vault::signatures::KeySignatureResult;
use engine::wire::keyvault::{
    KeyOperationResult, KeyOperationsParameters, KeySignParameters, KeyVerifyParameters,
    KeyVerifyResult,
};
use engine::wire::{Kid, SecretText};
use hyper::StatusCode;
use serde_json::{json, Map, Value};
use zeroize::Zeroizing;

/// The path segments [`crypto_operation`] answers.
pub(super) fn is_key_operation(op: &str) -> bool {
    matches!(
        op,
        "wrapkey" | "unwrapkey" | "encrypt" | "decrypt" | "sign" | "verify"
    )
}

/// The version the engine used, from the key id it answered with.
fn used_version(key_id: &str) -> String {
    Kid::parse(key_id)
        .ok()
        .and_then(|k| k.version)
        .unwrap_or_default()
}

pub(super) fn crypto_operation(
    req: &VaultRequest<'_>,
    name: &str,
    version: &str,
    op: &str,
    body: &[u8],
) -> Result<HttpResponse, ApiError> {
    let operation = match op {
        "wrapkey" => "Wrap",
        "unwrapkey" => "Unwrap",
        "encrypt" => "Encrypt",
        "decrypt" => "Decrypt",
        "sign" => return ok(sign(req, name, version, body)?),
        "verify" => return ok(verify(req, name, version, body)?),
        _ => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "NotFound",
                format!(
                    "'{}' is not a key operation",
                    op.chars().take(32).collect::<String>()
                ),
            ))
        }
    };
    let input: KeyOperationsParameters = parse_json(body)?;
    let value = Zeroizing::new(from_base64url("value", input.value.expose())?);
    let mut args = named(name);
    if !version.is_empty() {
        args.insert("Version".into(), json!(version));
    }
    args.insert("Operation".into(), json!(operation));
    args.insert("Algorithm".into(), json!(input.alg));
    args.insert("ByteArrayValue".into(), json!(engine::b64::encode(&value)));
    let out: EngineResult = req.call("Invoke-KeyVaultKeyOperation", args)?;
    let raw = Zeroizing::new(engine::b64::decode(&out.raw_result).unwrap_or_default());
    ok(KeyOperationResult {
        kid: Some(req.kid(name, Some(&used_version(&out.key_id)))),
        value: Some(SecretText::of_bytes(&raw)),
    })
}

fn signature_args(
    name: &str,
    version: &str,
    operation: &str,
    alg: &str,
    digest: &[u8],
) -> Map<String, Value> {
    let mut args = named(name);
    if !version.is_empty() {
        args.insert("Version".into(), json!(version));
    }
    args.insert("Operation".into(), json!(operation));
    args.insert("Algorithm".into(), json!(alg));
    args.insert("Digest".into(), json!(engine::b64::encode(digest)));
    args
}

fn sign(
    req: &VaultRequest<'_>,
    name: &str,
    version: &str,
    body: &[u8],
) -> Result<KeyOperationResult, ApiError> {
    let input: KeySignParameters = parse_json(body)?;
    let digest = from_base64url("value", input.value.expose())?;
    let out: KeySignatureResult = req.call(
        "Invoke-KeyVaultKeySignature",
        signature_args(name, version, "Sign", &input.alg, &digest),
    )?;
    let signature = engine::b64::decode(out.signature.as_deref().unwrap_or_default());
    Ok(KeyOperationResult {
        kid: Some(req.kid(name, Some(&used_version(&out.key_id)))),
        value: Some(SecretText::of_bytes(&signature.unwrap_or_default())),
    })
}

fn verify(
    req: &VaultRequest<'_>,
    name: &str,
    version: &str,
    body: &[u8],
) -> Result<KeyVerifyResult, ApiError> {
    let input: KeyVerifyParameters = parse_json(body)?;
    let digest = from_base64url("digest", &input.digest)?;
    let signature = from_base64url("value", &input.value)?;
    let mut args = signature_args(name, version, "Verify", &input.alg, &digest);
    args.insert("Signature".into(), json!(engine::b64::encode(&signature)));
    let out: KeySignatureResult = req.call("Invoke-KeyVaultKeySignature", args)?;
    Ok(KeyVerifyResult {
        value: out.is_valid,
    })
}
