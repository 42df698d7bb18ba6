//! Sign and verify with a key version, over a digest the caller computed (Key Vault's sign and
//! verify): the same checks as the other key operations (permission, key_ops, Enabled, dates),
//! audited with the version and algorithm used.

use super::key_operations::{usable_version, KeyOperation};
use super::model::VAULT_NAME_HELP;
use crate::crypto::{SignatureAlgorithm, SIGNATURE_ALGORITHMS};
use crate::error::{Error, Result};
use crate::operations::Context;
use serde::Serialize;

arguments! {
    pub struct InvokeKeySignatureArgs {
        pub vault_name: String = "VaultName", String, VAULT_NAME_HELP, mandatory, pipeline, position(0);
        pub name: String = "Name", String, "Name of the key", mandatory, pipeline, position(1);
        pub version: Option<String> = "Version", String, "Version to use (default: the newest)", pipeline;
        pub operation: String = "Operation", String, "Sign or Verify", mandatory, allowed(&["Sign", "Verify"]);
        pub algorithm: String = "Algorithm", String, "RS256, RS384, RS512 (PKCS#1 v1.5) or PS256, PS384, PS512 (PSS)", mandatory, allowed(SIGNATURE_ALGORITHMS);
        pub digest: String = "Digest", Bytes, "The digest to sign or verify (base64 in JSON), of the algorithm's hash", mandatory;
        pub signature: Option<String> = "Signature", Bytes, "The signature to verify (base64 in JSON)";
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeySignatureResult {
    pub key_id: String,
    pub algorithm: String,
    /// Both always present (null where the operation gives none), so that every result has
    /// the same properties: the view's columns and Export-Csv's header stay the same.
    pub signature: Option<String>,
    pub is_valid: Option<bool>,
}

impl KeySignatureResult {
    /// A Sign's result (the signature) or a Verify's (whether it is valid).
    pub(crate) fn of(
        key_id: String,
        algorithm: SignatureAlgorithm,
        signature: Option<&[u8]>,
        is_valid: Option<bool>,
    ) -> Self {
        KeySignatureResult {
            key_id,
            algorithm: algorithm.name().into(),
            signature: signature.map(crate::b64::encode),
            is_valid,
        }
    }
}

fn bytes(parameter: &str, text: &str) -> Result<Vec<u8>> {
    crate::b64::decode(text)
        .map_err(|_| Error::invalid_argument(parameter, "must be standard base64"))
}

/// The algorithm, digest, operation (Sign or Verify) and, to verify, the signature a call asks
/// for.
type SignatureRequest = (SignatureAlgorithm, Vec<u8>, KeyOperation, Option<Vec<u8>>);

/// The [`SignatureRequest`] of a call, checked.
pub(crate) fn parse_signature(a: &InvokeKeySignatureArgs) -> Result<SignatureRequest> {
    let algorithm = SignatureAlgorithm::parse(&a.algorithm).ok_or_else(|| {
        Error::invalid_argument(
            "Algorithm",
            format!("must be one of {}", SIGNATURE_ALGORITHMS.join(", ")),
        )
    })?;
    let digest = bytes("Digest", &a.digest)?;
    let op = match (a.operation.as_str(), &a.signature) {
        ("Sign", None) => KeyOperation::Sign,
        ("Sign", Some(_)) => {
            return Err(Error::invalid_argument(
                "Signature",
                "is given only with -Operation Verify",
            ))
        }
        ("Verify", Some(_)) => KeyOperation::Verify,
        ("Verify", None) => {
            return Err(Error::invalid_argument(
                "Signature",
                "is required with -Operation Verify",
            ))
        }
        _ => {
            return Err(Error::invalid_argument(
                "Operation",
                "must be Sign or Verify",
            ))
        }
    };
    let signature = a
        .signature
        .as_deref()
        .map(|s| bytes("Signature", s))
        .transpose()?;
    Ok((algorithm, digest, op, signature))
}

pub fn invoke_key_signature(
    ctx: &Context<'_>,
    a: InvokeKeySignatureArgs,
) -> Result<KeySignatureResult> {
    let (algorithm, digest, op, signature) = parse_signature(&a)?;
    let usable = usable_version(ctx, &a.vault_name, &a.name, a.version.as_deref(), op)?;
    let row = &usable.row;
    let result = match &signature {
        None => {
            let pkcs8 = ctx.store().keys().open_private(
                &row.wrapped_data_key,
                &row.sealed_private_key,
                row.version.as_bytes(),
            )?;
            let signature = crate::crypto::sign_digest(&pkcs8, algorithm, &digest)?;
            KeySignatureResult::of(usable.key_id.clone(), algorithm, Some(&signature), None)
        }
        Some(signature) => {
            let (n, e) = (&row.modulus, &row.exponent);
            let valid = crate::crypto::verify_digest(n, e, algorithm, &digest, signature)?;
            KeySignatureResult::of(usable.key_id.clone(), algorithm, None, Some(valid))
        }
    };
    ctx.audit_success(&usable.key_id, &format!("{op:?} {}", algorithm.name()));
    Ok(result)
}
