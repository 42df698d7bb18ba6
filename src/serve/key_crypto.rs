//! The cryptographic key operations of the REST API (wrapkey, unwrapkey, encrypt, decrypt,
//! sign, verify), mapped onto Invoke-KeyVaultKeyOperation and Invoke-KeyVaultKeySignature.

use super::http::{base64url, from_base64url, parse_json, std_b64_to_url, ApiError};
use super::request::VaultRequest;
use hyper::StatusCode;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use zeroize::Zeroizing;

#[derive(Deserialize)]
struct KeyOperationIn {
    alg: String,
    /// The value to wrap or encrypt may be a key: wiped when dropped.
    value: Zeroizing<String>,
}

/// The path segments [`crypto_operation`] answers.
pub(super) fn is_key_operation(op: &str) -> bool {
    matches!(
        op,
        "wrapkey" | "unwrapkey" | "encrypt" | "decrypt" | "sign" | "verify"
    )
}

pub(super) fn crypto_operation(
    req: &VaultRequest<'_>,
    name: &str,
    version: &str,
    op: &str,
    body: &[u8],
) -> Result<Value, ApiError> {
    let operation = match op {
        "wrapkey" => "Wrap",
        "unwrapkey" => "Unwrap",
        "encrypt" => "Encrypt",
        "decrypt" => "Decrypt",
        "sign" => return sign(req, name, version, body),
        "verify" => return verify(req, name, version, body),
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
    let input: KeyOperationIn = parse_json(body)?;
    let value = Zeroizing::new(from_base64url("value", &input.value)?);
    let mut args = Map::new();
    args.insert("Name".into(), json!(name));
    if !version.is_empty() {
        args.insert("Version".into(), json!(version));
    }
    args.insert("Operation".into(), json!(operation));
    args.insert("Algorithm".into(), json!(input.alg));
    args.insert("ByteArrayValue".into(), json!(engine::b64::encode(&value)));
    let out = req.call("Invoke-KeyVaultKeyOperation", args)?;
    let used_version = out["KeyId"]
        .as_str()
        .and_then(|id| id.rsplit('/').next())
        .unwrap_or_default();
    let raw = Zeroizing::new(
        out["RawResult"]
            .as_str()
            .and_then(|s| engine::b64::decode(s).ok())
            .unwrap_or_default(),
    );
    Ok(json!({ "kid": req.kid(name, Some(used_version)), "value": base64url(&raw) }))
}

fn signature_args(
    name: &str,
    version: &str,
    operation: &str,
    alg: &str,
    digest: &[u8],
) -> Map<String, Value> {
    let mut args = Map::new();
    args.insert("Name".into(), json!(name));
    if !version.is_empty() {
        args.insert("Version".into(), json!(version));
    }
    args.insert("Operation".into(), json!(operation));
    args.insert("Algorithm".into(), json!(alg));
    args.insert("Digest".into(), json!(engine::b64::encode(digest)));
    args
}

#[derive(Deserialize)]
struct SignIn {
    alg: String,
    /// The digest to sign.
    value: String,
}

fn sign(req: &VaultRequest<'_>, name: &str, version: &str, body: &[u8]) -> Result<Value, ApiError> {
    let input: SignIn = parse_json(body)?;
    let digest = from_base64url("value", &input.value)?;
    let out = req.call(
        "Invoke-KeyVaultKeySignature",
        signature_args(name, version, "Sign", &input.alg, &digest),
    )?;
    let used_version = out["KeyId"]
        .as_str()
        .and_then(|id| id.rsplit('/').next())
        .unwrap_or_default();
    Ok(
        json!({ "kid": req.kid(name, Some(used_version)), "value": std_b64_to_url(&out["Signature"]) }),
    )
}

#[derive(Deserialize)]
struct VerifyIn {
    alg: String,
    digest: String,
    /// The signature.
    value: String,
}

fn verify(
    req: &VaultRequest<'_>,
    name: &str,
    version: &str,
    body: &[u8],
) -> Result<Value, ApiError> {
    let input: VerifyIn = parse_json(body)?;
    let digest = from_base64url("digest", &input.digest)?;
    let signature = from_base64url("value", &input.value)?;
    let mut args = signature_args(name, version, "Verify", &input.alg, &digest);
    args.insert("Signature".into(), json!(engine::b64::encode(&signature)));
    let out = req.call("Invoke-KeyVaultKeySignature", args)?;
    Ok(json!({ "value": out["IsValid"] }))
}
