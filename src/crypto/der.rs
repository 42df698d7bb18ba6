//! The few DER structures the Key Vault endpoint needs to build from JSON Web Key fields: a
//! PKCS#1 RSAPublicKey (to verify with n and e) and a PKCS#8 RSA private key (to import a JWK).

use super::Secret;
use zeroize::Zeroizing;

fn length(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
}

fn tagged(tag: u8, body: &[u8], out: &mut Vec<u8>) {
    out.push(tag);
    length(body.len(), out);
    out.extend_from_slice(body);
}

/// An unsigned big-endian INTEGER: leading zeros dropped, one added when the top bit is set.
fn integer(value: &[u8], out: &mut Vec<u8>) {
    let start = value.iter().position(|b| *b != 0).unwrap_or(value.len());
    let trimmed = &value[start..];
    let needs_zero = trimmed.first().is_none_or(|b| b & 0x80 != 0);
    out.push(0x02);
    length(trimmed.len() + usize::from(needs_zero), out);
    if needs_zero {
        out.push(0);
    }
    out.extend_from_slice(trimmed);
}

/// PKCS#1 RSAPublicKey: SEQUENCE { INTEGER n, INTEGER e }.
pub(crate) fn rsa_public_key(modulus: &[u8], exponent: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    integer(modulus, &mut body);
    integer(exponent, &mut body);
    let mut der = Vec::new();
    tagged(0x30, &body, &mut der);
    der
}

/// The fields of an RSA private JSON Web Key, big-endian.
pub struct RsaPrivateComponents<'a> {
    pub n: &'a [u8],
    pub e: &'a [u8],
    pub d: &'a [u8],
    pub p: &'a [u8],
    pub q: &'a [u8],
    pub dp: &'a [u8],
    pub dq: &'a [u8],
    pub qi: &'a [u8],
}

/// PKCS#8 PrivateKeyInfo around a PKCS#1 RSAPrivateKey, every intermediate buffer wiped. Whether
/// the numbers form a key is for the importer (aws-lc) to check.
pub fn rsa_private_pkcs8(c: &RsaPrivateComponents<'_>) -> Secret {
    let mut pkcs1_body = Zeroizing::new(Vec::new());
    integer(&[0], &mut pkcs1_body);
    for field in [c.n, c.e, c.d, c.p, c.q, c.dp, c.dq, c.qi] {
        integer(field, &mut pkcs1_body);
    }
    let mut pkcs1 = Zeroizing::new(Vec::new());
    tagged(0x30, &pkcs1_body, &mut pkcs1);
    // AlgorithmIdentifier { rsaEncryption (1.2.840.113549.1.1.1), NULL }.
    const RSA_ALGORITHM: &[u8] = &[
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let mut info_body = Zeroizing::new(Vec::new());
    integer(&[0], &mut info_body);
    info_body.extend_from_slice(RSA_ALGORITHM);
    tagged(0x04, &pkcs1, &mut info_body);
    let mut pkcs8 = Vec::with_capacity(info_body.len() + 4);
    tagged(0x30, &info_body, &mut pkcs8);
    Secret::new(pkcs8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_minimal_and_positive() {
        let mut out = Vec::new();
        integer(&[0, 0, 0x7f], &mut out);
        assert_eq!(out, [0x02, 0x01, 0x7f]);
        out.clear();
        integer(&[0x80], &mut out);
        assert_eq!(out, [0x02, 0x02, 0x00, 0x80]);
        out.clear();
        integer(&[], &mut out);
        assert_eq!(out, [0x02, 0x01, 0x00]);
        let mut long = Vec::new();
        length(300, &mut long);
        assert_eq!(long, [0x82, 0x01, 0x2c]);
    }
}
