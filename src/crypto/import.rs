//! Reading a customer's key file for `Add-KeyVaultKey -KeyFilePath [-KeyFilePassword]`: PKCS#12
//! (.pfx, as Az.KeyVault imports), encrypted PKCS#8, or plain PKCS#8, in PEM or DER. aws-lc-rs
//! has no PKCS#12 or PBES2 decoding, so this one file calls the same aws-lc through aws-lc-sys;
//! every pointer it gets is released before it returns.

use super::{rsa_material, RsaKeyMaterial, Secret};
use crate::error::{Error, Result};
use aws_lc_sys as sys;
use std::ptr;
use zeroize::Zeroizing;

fn bad(rule: impl std::fmt::Display) -> Error {
    Error::invalid_argument("KeyFilePath", rule)
}

fn wrong_password() -> Error {
    Error::invalid_argument(
        "KeyFilePassword",
        "does not open the key file (wrong password, or the file is damaged)",
    )
}

/// The body of the first PEM block labelled `label`, decoded.
fn pem_block(text: &str, label: &str) -> Option<Result<Secret>> {
    let begin = format!("-----BEGIN {label}-----");
    if !text.lines().any(|l| l.trim() == begin) {
        return None;
    }
    // The base64 text is the key too: sized up front so collecting it never reallocates and
    // leaves an unwiped copy, and wiped when dropped.
    let mut body = Zeroizing::new(String::with_capacity(text.len()));
    for line in text
        .lines()
        .skip_while(|l| l.trim() != begin)
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
    {
        body.push_str(line);
    }
    Some(super::decode_base64_secret(&body).ok_or_else(|| bad("has a damaged PEM body")))
}

/// Reads an RSA private key from a key file; `password` opens .pfx and encrypted PKCS#8 files.
pub fn import_rsa(file_bytes: &[u8], password: Option<&str>) -> Result<RsaKeyMaterial> {
    let not_rsa =
        || bad("does not hold an RSA private key (PKCS#12 .pfx, or PKCS#8 in PEM or DER)");
    if file_bytes.starts_with(b"-----BEGIN") {
        let text = std::str::from_utf8(file_bytes).map_err(|_| bad("is not a PEM file"))?;
        if let Some(der) = pem_block(text, "ENCRYPTED PRIVATE KEY") {
            let password = password.ok_or_else(|| {
                Error::invalid_argument("KeyFilePassword", "is required: the key file is encrypted")
            })?;
            return rsa_material(encrypted_pkcs8_to_pkcs8(der?.expose(), password)?);
        }
        if let Some(der) = pem_block(text, "PRIVATE KEY") {
            return rsa_material(der?).map_err(|_| not_rsa());
        }
        return Err(bad(
            "must hold a 'PRIVATE KEY' or 'ENCRYPTED PRIVATE KEY' PEM block; convert an RSA key with: openssl pkcs8 -topk8",
        ));
    }
    // DER: plain PKCS#8 needs no password; otherwise PKCS#12, then encrypted PKCS#8.
    if let Ok(material) = rsa_material(Secret::new(file_bytes.to_vec())) {
        return Ok(material);
    }
    let password = password.ok_or_else(|| {
        Error::invalid_argument(
            "KeyFilePassword",
            "is required: the key file is not a plain PKCS#8 key, so it must be a password-protected .pfx or PKCS#8 file",
        )
    })?;
    // aws-lc's d2i_PKCS12 only copies the bytes, so a file that is not PKCS#12 is told apart
    // only when parsing fails: then it may still be encrypted PKCS#8.
    match pkcs12_to_pkcs8(file_bytes, password) {
        Ok(pkcs8) => rsa_material(pkcs8).map_err(|_| not_rsa()),
        // The .pfx opened but holds no usable key: say so, not "wrong password".
        Err(e) if e.target == "KeyFilePath" => Err(e),
        Err(_) => {
            rsa_material(encrypted_pkcs8_to_pkcs8(file_bytes, password)?).map_err(|_| not_rsa())
        }
    }
}

/// An EVP_PKEY released on drop.
struct Pkey(*mut sys::EVP_PKEY);

impl Drop for Pkey {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: a non-null `Pkey` owns one reference to an EVP_PKEY that aws-lc handed
            // over, and nothing else frees it: this releases it exactly once.
            unsafe { sys::EVP_PKEY_free(self.0) };
        }
    }
}

impl Pkey {
    /// The key as PKCS#8 DER.
    fn to_pkcs8(&self) -> Result<Secret> {
        if self.0.is_null() {
            return Err(bad("holds no private key"));
        }
        // SAFETY: the pointer is non-null (checked above) and owned by `self`, so it is live;
        // EVP_PKEY_id only reads it.
        if unsafe { sys::EVP_PKEY_id(self.0) } != sys::EVP_PKEY_RSA {
            return Err(bad(
                "holds a key that is not RSA; Key Vault keys for Customer Key are RSA",
            ));
        }
        // SAFETY: CBB is a plain C struct for which all-zero is the state CBB_init expects; it
        // is initialised before use and cleaned up on every failure path (CBB_finish hands its
        // buffer to us on success). `self.0` is live (see above). On success `out` points to
        // `len` bytes that aws-lc allocated for us: we copy them, wipe them, and free them once
        // with OPENSSL_free, and never touch them again.
        unsafe {
            let mut cbb: sys::CBB = std::mem::zeroed();
            if sys::CBB_init(&mut cbb, 4096) != 1 {
                return Err(Error::internal("out of memory"));
            }
            if sys::EVP_marshal_private_key(&mut cbb, self.0) != 1 {
                sys::CBB_cleanup(&mut cbb);
                return Err(bad("holds a key that cannot be encoded as PKCS#8"));
            }
            let mut out: *mut u8 = ptr::null_mut();
            let mut len: usize = 0;
            if sys::CBB_finish(&mut cbb, &mut out, &mut len) != 1 {
                sys::CBB_cleanup(&mut cbb);
                return Err(Error::internal("out of memory"));
            }
            let der = Secret::new(std::slice::from_raw_parts(out, len).to_vec());
            // Wipe aws-lc's copy before freeing it.
            std::ptr::write_bytes(out, 0, len);
            sys::OPENSSL_free(out.cast());
            Ok(der)
        }
    }
}

/// The password NUL-terminated for aws-lc, in a buffer wiped on drop (a `CString` would wipe
/// only its first byte).
fn c_password(password: &str) -> Result<Zeroizing<Vec<u8>>> {
    if password.as_bytes().contains(&0) {
        return Err(Error::invalid_argument(
            "KeyFilePassword",
            "must not contain NUL characters",
        ));
    }
    let mut c = Zeroizing::new(Vec::with_capacity(password.len() + 1));
    c.extend_from_slice(password.as_bytes());
    c.push(0);
    Ok(c)
}

fn encrypted_pkcs8_to_pkcs8(der: &[u8], password: &str) -> Result<Secret> {
    let pass = c_password(password)?;
    // SAFETY: CBS is a plain C struct that CBS_init fully initialises to view `der`, which
    // outlives the call; `pass` is NUL-terminated and `password.len()` bytes long before the
    // NUL. The returned key (or NULL) is owned by the `Pkey`, which frees it.
    let key = unsafe {
        let mut cbs: sys::CBS = std::mem::zeroed();
        sys::CBS_init(&mut cbs, der.as_ptr(), der.len());
        Pkey(sys::PKCS8_parse_encrypted_private_key(
            &mut cbs,
            pass.as_ptr().cast(),
            password.len(),
        ))
    };
    // SAFETY: clears this thread's aws-lc error queue; no pointers are involved.
    unsafe { sys::ERR_clear_error() };
    if key.0.is_null() {
        return Err(wrong_password());
    }
    key.to_pkcs8()
}

fn pkcs12_to_pkcs8(der: &[u8], password: &str) -> Result<Secret> {
    let pass = c_password(password)?;
    // SAFETY: d2i_PKCS12 reads at most `der.len()` bytes from `der`, which outlives the call,
    // and advances only our local copy of the pointer; `pass` is NUL-terminated. Every object
    // aws-lc returns is released exactly once: the PKCS12 right after parsing, the
    // certificate if any, and the key through the `Pkey` that owns it.
    unsafe {
        let mut input = der.as_ptr();
        let p12 = sys::d2i_PKCS12(ptr::null_mut(), &mut input, der.len());
        if p12.is_null() {
            sys::ERR_clear_error();
            return Err(wrong_password());
        }
        let mut pkey: *mut sys::EVP_PKEY = ptr::null_mut();
        let mut cert: *mut sys::X509 = ptr::null_mut();
        let ok = sys::PKCS12_parse(
            p12,
            pass.as_ptr().cast(),
            &mut pkey,
            &mut cert,
            ptr::null_mut(),
        );
        sys::PKCS12_free(p12);
        if !cert.is_null() {
            sys::X509_free(cert);
        }
        let key = Pkey(pkey);
        sys::ERR_clear_error();
        if ok != 1 {
            return Err(wrong_password());
        }
        key.to_pkcs8()
    }
}
