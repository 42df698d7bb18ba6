//! Protect-AipContent and Unprotect-AipContent, and the protected file.
//!
//! Layout (integers big-endian):
//!
//! ```text
//! "CKAIP" 0x01 | key identifier u8 length + ASCII | content id [16]
//!   | wrapped content key u16 length + bytes | nonce [12] | body u32 length + bytes
//!   | signature u16 length + bytes
//! ```
//!
//! The content key (32 random bytes) encrypts the content with AES-256-GCM, the header up to
//! the wrapped key being its associated data; it is wrapped with the tenant key's public key
//! (RSA-OAEP-256). The tenant key signs (RS256) everything before the signature, as Rights
//! Management signs its publishing licenses, so a changed byte is refused before any
//! decryption. The file names its tenant key and holds nothing secret in the clear.

use super::{
    active_key, decrypt_content_key, ensure_tenant_key, find_key, sign_digest, sync_key_references,
    wrap_content_key,
};
use crate::crypto;
use crate::crypto::tpd::Reader;
use crate::error::{Error, Result};
use crate::operations::Context;
use crate::store::aip as sql;
use crate::store::write_private_file;
use serde::Serialize;
use std::path::Path;

const MAGIC: &[u8; 6] = b"CKAIP\x01";
const CONTENT_ID_LEN: usize = 16;
const CONTENT_KEY_LEN: usize = 32;
/// What one call protects or opens; larger content is beyond this engine's purpose.
pub const MAX_CONTENT_LEN: usize = 64 * 1024 * 1024;
const BY_VALUE: &str = "ByValue";
const BY_PATH: &str = "ByPath";

/// A protected file split into its parts.
pub struct ProtectedFile<'a> {
    pub key_identifier: String,
    pub content_id: String,
    header: &'a [u8],
    wrapped_key: &'a [u8],
    sealed: Vec<u8>,
    signed: &'a [u8],
    signature: &'a [u8],
}

/// Splits a protected file, refusing (naming `InputFile`) what is not one.
pub fn parse(file: &[u8]) -> Result<ProtectedFile<'_>> {
    let mut r = Reader::new(file, "InputFile", "protected file");
    if r.take(MAGIC.len()).ok() != Some(&MAGIC[..]) {
        return Err(Error::invalid_argument(
            "InputFile",
            "is not a file protected by Protect-CkAipContent (its first bytes are not the protected-file signature)",
        ));
    }
    let id_len = r.u8()? as usize;
    let key_identifier = std::str::from_utf8(r.take(id_len)?)
        .ok()
        .filter(|id| {
            !id.is_empty()
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-{}".contains(c))
        })
        .ok_or_else(|| {
            Error::invalid_argument(
                "InputFile",
                "names its tenant key with characters a KeyIdentifier does not have",
            )
        })?
        .to_string();
    let content_id = crypto::hex(r.take(CONTENT_ID_LEN)?);
    let wrapped_len = r.u16()? as usize;
    let wrapped_key = r.take(wrapped_len)?;
    let header = &file[..r.position()];
    let nonce = r.take(12)?;
    let body_len = r.u32()? as usize;
    if body_len > MAX_CONTENT_LEN + 16 {
        return Err(Error::invalid_argument(
            "InputFile",
            format!(
                "declares {body_len} bytes of content; at most {MAX_CONTENT_LEN} are protected"
            ),
        ));
    }
    let body = r.take(body_len)?;
    let signed = &file[..r.position()];
    let signature_len = r.u16()? as usize;
    let signature = r.take(signature_len)?;
    r.finish()?;
    let mut sealed = nonce.to_vec();
    sealed.extend_from_slice(body);
    Ok(ProtectedFile {
        key_identifier,
        content_id,
        header,
        wrapped_key,
        sealed,
        signed,
        signature,
    })
}

fn read_input(parameter: &str, path: &str) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path)
        .map_err(|e| Error::invalid_argument(parameter, format!("cannot read '{path}': {e}")))?;
    if !meta.is_file() {
        return Err(Error::invalid_argument(
            parameter,
            format!("'{path}' is not a file"),
        ));
    }
    // Room for the protected file's own fields above the content limit.
    if meta.len() > (MAX_CONTENT_LEN + 64 * 1024) as u64 {
        return Err(Error::invalid_argument(
            parameter,
            format!(
                "'{path}' is {} bytes; at most {MAX_CONTENT_LEN} bytes of content are protected",
                meta.len()
            ),
        ));
    }
    std::fs::read(path)
        .map_err(|e| Error::invalid_argument(parameter, format!("cannot read '{path}': {e}")))
}

/// Refuses an output path whose folder does not exist, before any cryptographic work.
pub(crate) fn check_output_folder(path: &str) -> Result<()> {
    let folder = Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty());
    match folder {
        Some(f) if f.is_dir() => Ok(()),
        _ => Err(Error::invalid_argument(
            "OutputFile",
            format!("'{path}' is not in an existing folder"),
        )),
    }
}

fn write_output(path: &str, bytes: &[u8], force: bool) -> Result<()> {
    write_private_file(Path::new(path), bytes, force).map_err(|mut e| {
        if !e.message.starts_with("Parameter") {
            e.message = format!("Parameter 'OutputFile': {}", e.message);
        }
        e.target = "OutputFile".into();
        e
    })
}

arguments! {
    pub struct ProtectArgs {
        pub value: Option<String> = "Value", String, "Text to protect", in_set(BY_VALUE, true);
        pub path: Option<String> = "Path", Path, "File whose content to protect", in_set(BY_PATH, true);
        pub output_file: String = "OutputFile", Path, "The protected file to write", mandatory;
        pub force: bool = "Force", Switch, "Overwrite OutputFile when it exists";
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProtectedContent {
    pub output_file: String,
    pub key_identifier: String,
    pub content_id: String,
}

pub fn protect(ctx: &Context<'_>, a: ProtectArgs) -> Result<ProtectedContent> {
    let content = match (&a.value, &a.path) {
        (Some(v), None) => v.as_bytes().to_vec(),
        (None, Some(p)) => read_input("Path", p)?,
        _ => {
            return Err(Error::invalid_argument(
                "Value",
                "give exactly one of -Value and -Path",
            ))
        }
    };
    if content.len() > MAX_CONTENT_LEN {
        return Err(Error::invalid_argument(
            if a.value.is_some() { "Value" } else { "Path" },
            format!(
                "holds {} bytes; at most {MAX_CONTENT_LEN} are protected at once",
                content.len()
            ),
        ));
    }
    check_output_folder(&a.output_file)?;
    ensure_tenant_key(ctx)?;
    let key = ctx.read(active_key)?;
    let content_key = crypto::Secret::new(crypto::random_bytes(CONTENT_KEY_LEN)?);
    let wrapped = wrap_content_key(ctx, &key, content_key.expose())?;
    let content_id = crypto::random_bytes(CONTENT_ID_LEN)?;
    let mut file = MAGIC.to_vec();
    file.push(key.key_identifier.len() as u8);
    file.extend_from_slice(key.key_identifier.as_bytes());
    file.extend_from_slice(&content_id);
    file.extend_from_slice(&(wrapped.len() as u16).to_be_bytes());
    file.extend_from_slice(&wrapped);
    let sealed = crypto::gcm_seal(content_key.expose(), &content, &file)?;
    let (nonce, body) = sealed.split_at(12);
    file.extend_from_slice(nonce);
    file.extend_from_slice(&(body.len() as u32).to_be_bytes());
    file.extend_from_slice(body);
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &file);
    let signature = sign_digest(ctx, &key, digest.as_ref())?;
    file.extend_from_slice(&(signature.len() as u16).to_be_bytes());
    file.extend_from_slice(&signature);
    write_output(&a.output_file, &file, a.force)?;
    let content_id = crypto::hex(&content_id);
    // Committed before the call returns, as for a backup: a protected file the caller was told
    // about must have its row even if the process dies the next moment (the group-committing
    // writer could lose it).
    if let Err(e) = ctx.audit_success_now(
        &key.key_identifier,
        &format!("Protect content {content_id}"),
    ) {
        let _ = std::fs::remove_file(&a.output_file);
        return Err(e);
    }
    Ok(ProtectedContent {
        output_file: a.output_file,
        key_identifier: key.key_identifier,
        content_id,
    })
}

arguments! {
    pub struct UnprotectArgs {
        pub input_file: String = "InputFile", Path, "The protected file", mandatory, pipeline;
        pub output_file: Option<String> = "OutputFile", Path, "Where to write the content (default: return it as Value)";
        pub force: bool = "Force", Switch, "Overwrite OutputFile when it exists";
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UnprotectedContent {
    pub key_identifier: String,
    pub content_id: String,
    /// The text, when no OutputFile was given.
    pub value: Option<String>,
    pub output_file: Option<String>,
}

pub fn unprotect(ctx: &Context<'_>, a: UnprotectArgs) -> Result<UnprotectedContent> {
    let bytes = read_input("InputFile", &a.input_file)?;
    if let Some(path) = &a.output_file {
        check_output_folder(path)?;
    }
    let file = parse(&bytes)?;
    ensure_tenant_key(ctx)?;
    let key = ctx.read(|tx| find_key(tx, &file.key_identifier)).map_err(|mut e| {
        if e.code == "TenantKeyNotFound" {
            e.message = format!(
                "{} was protected with tenant key {}, which this tenant does not have: import the trusted publishing domain that holds it (Import-CkAipServiceTpd)",
                a.input_file, file.key_identifier
            );
        }
        e
    })?;
    if !crypto::rsa_verify_sha256(&key.modulus, &key.exponent, file.signed, file.signature) {
        return Err(Error::invalid_argument(
            "InputFile",
            format!("was changed after it was protected: its signature does not verify with tenant key {}", key.key_identifier),
        ));
    }
    let content_key = decrypt_content_key(ctx, &key, file.wrapped_key)?;
    let content =
        crypto::gcm_open(content_key.expose(), &file.sealed, file.header).map_err(|_| {
            Error::invalid_argument(
                "InputFile",
                "does not decrypt: its content fails authentication",
            )
        })?;
    let (value, to_write) = match &a.output_file {
        Some(path) => (None, Some((path, content))),
        None => {
            let text = String::from_utf8(content.into_unprotected()).map_err(|_| {
                Error::invalid_argument(
                    "OutputFile",
                    "is needed: the protected content is not text; give -OutputFile to write its bytes",
                )
            })?;
            (Some(text), None)
        }
    };
    let now = ctx.now();
    // The file is written inside the transaction that counts the opening, so a failed write
    // counts nothing.
    ctx.transaction(&key.key_identifier, |tx| {
        sql::record_opened(tx, &key.key_identifier, &file.content_id, now)?;
        sync_key_references(tx)?;
        match &to_write {
            Some((path, bytes)) => write_output(path, bytes.expose(), a.force),
            None => Ok(()),
        }
    })?;
    Ok(UnprotectedContent {
        key_identifier: key.key_identifier,
        content_id: file.content_id,
        value,
        output_file: a.output_file,
    })
}
