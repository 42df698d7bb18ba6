//! The key-file reader of `Add-KeyVaultKey -KeyFilePath [-KeyFilePassword]`: PKCS#8 in PEM or
//! DER (plain or encrypted) and PKCS#12, partly parsed by aws-lc's C code.
//!
//! Input: the first byte is the password's length (0: no password), then the password (UTF-8,
//! lossily), then the key file.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&len, rest)) = data.split_first() else {
        return;
    };
    let len = (len as usize).min(rest.len());
    let (password, file) = rest.split_at(len);
    let password = String::from_utf8_lossy(password);
    let password = (len > 0).then_some(password.as_ref());
    match customer_key::crypto::import_rsa(file, password) {
        Ok(material) => drop(material),
        Err(e) => assert!(
            e.target == "KeyFilePath" || e.target == "KeyFilePassword",
            "an import error must name KeyFilePath or KeyFilePassword: {e:?}"
        ),
    }
});
