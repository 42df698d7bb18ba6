//! All key material handling, on aws-lc-rs: RSA key generation and import, RSA-OAEP/OAEP-256/
//! PKCS#1 v1.5 encryption, the store master key and what is derived from it (AES key wrap for
//! per-key data keys, AES-256-GCM for sealing private keys and backup blobs).
//!
//! Nothing in this module logs or formats key material; errors carry no secret.

use crate::error::{Error, Result};
use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::hkdf;
use aws_lc_rs::key_wrap::{AesKek, KeyWrap, AES_256};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::rsa::{
    self, KeySize, OaepPrivateDecryptingKey, OaepPublicEncryptingKey, Pkcs1PrivateDecryptingKey,
    Pkcs1PublicEncryptingKey, PrivateDecryptingKey, PublicEncryptingKey, PublicKeyComponents,
    OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256,
};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

mod import;
pub mod tpd;
pub use import::import_rsa;
pub mod der;
mod signatures;
pub use signatures::{sign_digest, verify_digest, SignatureAlgorithm, SIGNATURE_ALGORITHMS};

pub(crate) const MASTER_KEY_LEN: usize = 32;

/// Bytes that are wiped when dropped, for private keys, data keys and unwrapped values in
/// memory. It never grows (a reallocation would leave an unwiped copy behind), and it never
/// prints its contents.
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Self {
        Secret(bytes)
    }
    /// `len` zero bytes to decrypt or unwrap into, so the result is never outside a `Secret`.
    pub fn zeroed(len: usize) -> Self {
        Secret(vec![0u8; len])
    }
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
    pub(crate) fn expose_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }
    /// Shortens to `len` bytes; what is cut off stays in the allocation and is wiped with it.
    pub(crate) fn truncate(&mut self, len: usize) {
        self.0.truncate(len);
    }
    /// The bytes, no longer wiped on drop: for a caller that takes over their care (moved out,
    /// not copied, so no second copy is left behind).
    pub fn into_unprotected(mut self) -> Vec<u8> {
        std::mem::take(&mut self.0)
    }
}

impl Zeroize for Secret {
    fn zeroize(&mut self) {
        // Vec's zeroize also wipes the spare capacity left by `truncate`.
        self.0.zeroize();
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for Secret {}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// Decodes standard base64 (as `b64::decode`) straight into a `Secret`, for values that are
/// key material or plaintext: neither the result nor a partly decoded buffer is left unwiped.
pub fn decode_base64_secret(text: &str) -> Option<Secret> {
    use base64::Engine as _;
    let text = text.trim();
    let mut out = Secret::zeroed(base64::decoded_len_estimate(text.len()));
    let len = base64::engine::general_purpose::STANDARD
        .decode_slice(text, out.expose_mut())
        .ok()?;
    out.truncate(len);
    Some(out)
}

pub fn random_bytes(n: usize) -> Result<Vec<u8>> {
    let mut out = vec![0u8; n];
    SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| Error::internal("the system random generator failed"))?;
    Ok(out)
}

/// A fresh key version id: 32 lowercase hex characters, as Key Vault's.
pub fn new_version_id() -> Result<String> {
    Ok(hex(&random_bytes(16)?))
}

/// A fresh random GUID (version 4) in its usual text form.
pub fn new_guid() -> Result<String> {
    let mut b = random_bytes(16)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    Ok(guid_text(&b))
}

/// A stable GUID for a name (used as the object id of a principal known only by name).
pub fn name_guid(name: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, name.as_bytes());
    let mut b = digest.as_ref()[..16].to_vec();
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    guid_text(&b)
}

fn guid_text(b: &[u8]) -> String {
    let h = hex(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The keys derived from the store master key. The master key itself is dropped after
/// derivation; only the derived keys stay in memory.
pub struct StoreKeys {
    key_encryption_key: Secret,
    backup_key: Secret,
    /// Root of the per-workload keys ([`StoreKeys::workload_key`]).
    workload_root: Secret,
    /// Seals Exchange's engine-held keys (availability keys, the Microsoft-managed mailbox key).
    exchange_key: Secret,
}

impl StoreKeys {
    pub fn derive(master: &[u8]) -> Result<Self> {
        if master.len() != MASTER_KEY_LEN {
            return Err(Error::io(
                "the store master key file has the wrong length; it may be damaged",
                "master.key",
            ));
        }
        let expand = |info: &[u8]| hkdf_key(b"customer-key store v1", master, info);
        Ok(StoreKeys {
            key_encryption_key: expand(b"key-encryption-key")?,
            backup_key: expand(b"backup-key")?,
            workload_root: expand(b"workload-keys")?,
            exchange_key: expand(b"exchange-keys")?,
        })
    }

    /// Seals a private key (PKCS#8) for storage: a fresh data key encrypts it with AES-256-GCM
    /// (bound to `aad`), and the data key is wrapped with AES key wrap under the store's key
    /// encryption key. Returns (wrapped data key, sealed private key).
    pub fn seal_private(&self, pkcs8: &Secret, aad: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
        let data_key = new_aes_key()?;
        let sealed = gcm_seal(data_key.expose(), pkcs8.expose(), aad)?;
        Ok((aes_key_wrap(&self.key_encryption_key, &data_key)?, sealed))
    }

    pub fn open_private(&self, wrapped: &[u8], sealed: &[u8], aad: &[u8]) -> Result<Secret> {
        let damaged = || {
            Error::io(
                "stored key material failed its integrity check; the store may be damaged",
                "",
            )
        };
        let data_key = aes_key_unwrap(&self.key_encryption_key, wrapped).ok_or_else(damaged)?;
        gcm_open(data_key.expose(), sealed, aad).map_err(|_| damaged())
    }

    /// Seals a key Exchange keeps in the store (AES-256-GCM, bound to `aad`).
    pub fn seal_exchange(&self, key: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
        gcm_seal(self.exchange_key.expose(), key, aad)
    }

    pub fn open_exchange(&self, sealed: &[u8], aad: &[u8]) -> Result<Secret> {
        gcm_open(self.exchange_key.expose(), sealed, aad).map_err(|_| {
            Error::io(
                "stored Exchange key material failed its integrity check; the store may be damaged",
                "",
            )
        })
    }

    pub fn seal_backup(&self, payload: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
        gcm_seal(self.backup_key.expose(), payload, aad)
    }

    /// Opens a backup blob; any changed byte in the blob or in `aad` fails. The payload keeps
    /// private keys sealed, but it is wiped on drop all the same.
    pub fn open_backup(&self, sealed: &[u8], aad: &[u8]) -> Option<Secret> {
        gcm_open(self.backup_key.expose(), sealed, aad).ok()
    }

    /// A 256-bit key of the engine's own for one purpose of a workload (a Microsoft-managed
    /// key, an availability key), derived from the master key so it is never stored.
    pub fn workload_key(&self, purpose: &str) -> Result<Secret> {
        hkdf_key(
            b"customer-key workload keys v1",
            self.workload_root.expose(),
            purpose.as_bytes(),
        )
    }
}

/// 256 bits of HKDF-SHA256 over `ikm` under `salt`, for `info`.
fn hkdf_key(salt: &[u8], ikm: &[u8], info: &[u8]) -> Result<Secret> {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(ikm);
    let infos = [info];
    let failed = |_| Error::internal("key derivation failed");
    let okm = prk.expand(&infos, hkdf::HKDF_SHA256).map_err(failed)?;
    let mut out = Secret::zeroed(32);
    okm.fill(out.expose_mut()).map_err(failed)?;
    Ok(out)
}

/// A fresh random 256-bit key.
pub fn new_aes_key() -> Result<Secret> {
    Ok(Secret::new(random_bytes(32)?))
}

/// Wraps a 256-bit key under another with AES key wrap (RFC 3394).
pub fn aes_key_wrap(kek: &Secret, key: &Secret) -> Result<Vec<u8>> {
    let kek = AesKek::new(&AES_256, kek.expose())
        .map_err(|_| Error::internal("key wrap setup failed"))?;
    let mut wrapped = vec![0u8; key.expose().len() + 8];
    let len = kek
        .wrap(key.expose(), &mut wrapped)
        .map_err(|_| Error::internal("key wrap failed"))?
        .len();
    wrapped.truncate(len);
    Ok(wrapped)
}

/// Unwraps what [`aes_key_wrap`] made; `None` when the wrapping key is not the one used or the
/// bytes were changed (RFC 3394's integrity check).
pub fn aes_key_unwrap(kek: &Secret, wrapped: &[u8]) -> Option<Secret> {
    let kek = AesKek::new(&AES_256, kek.expose()).ok()?;
    // Zeroed and wiped on drop: a failed unwrap leaves no partial key behind.
    let mut key = Secret::zeroed(wrapped.len());
    let len = kek.unwrap(wrapped, key.expose_mut()).ok()?.len();
    key.truncate(len);
    Some(key)
}

/// Encrypts with AES-256-GCM under `key`, bound to `aad`: nonce || ciphertext || tag.
pub fn aes_gcm_seal(key: &Secret, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
    gcm_seal(key.expose(), plaintext, aad)
}

/// Opens what [`aes_gcm_seal`] made; `None` on any changed byte or another `aad`.
pub fn aes_gcm_open(key: &Secret, sealed: &[u8], aad: &[u8]) -> Option<Secret> {
    gcm_open(key.expose(), sealed, aad).ok()
}

/// nonce || ciphertext || tag
pub(crate) fn gcm_seal(key: &[u8], plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
    let key = LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, key).map_err(|_| Error::internal("AES key setup failed"))?,
    );
    let nonce_bytes = random_bytes(NONCE_LEN)?;
    let nonce = Nonce::try_assume_unique_for_key(&nonce_bytes)
        .map_err(|_| Error::internal("nonce setup failed"))?;
    // Room for the tag up front: appending it must not reallocate and leave an unwiped copy of
    // the plaintext behind; and should sealing fail, the plaintext copy is wiped.
    let mut in_out = Zeroizing::new(Vec::with_capacity(plaintext.len() + aead::MAX_TAG_LEN));
    in_out.extend_from_slice(plaintext);
    key.seal_in_place_append_tag(nonce, Aad::from(aad), &mut *in_out)
        .map_err(|_| Error::internal("encryption failed"))?;
    let mut out = nonce_bytes;
    out.extend_from_slice(&in_out);
    Ok(out)
}

pub(crate) fn gcm_open(key: &[u8], sealed: &[u8], aad: &[u8]) -> std::result::Result<Secret, ()> {
    if sealed.len() < NONCE_LEN + aead::MAX_TAG_LEN {
        return Err(());
    }
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).map_err(|_| ())?);
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| ())?;
    let mut in_out = Secret::new(body.to_vec());
    let len = key
        .open_in_place(nonce, Aad::from(aad), in_out.expose_mut())
        .map_err(|_| ())?
        .len();
    in_out.truncate(len);
    Ok(in_out)
}

/// A freshly made or imported RSA key: its PKCS#8 private key and public modulus and exponent.
pub struct RsaKeyMaterial {
    pub pkcs8: Secret,
    pub modulus: Vec<u8>,
    pub exponent: Vec<u8>,
    pub bits: u32,
}

pub fn generate_rsa(bits: u32) -> Result<RsaKeyMaterial> {
    let size = match bits {
        2048 => KeySize::Rsa2048,
        3072 => KeySize::Rsa3072,
        4096 => KeySize::Rsa4096,
        _ => {
            return Err(Error::invalid_argument(
                "Size",
                "must be 2048, 3072 or 4096",
            ))
        }
    };
    let key = PrivateDecryptingKey::generate(size)
        .map_err(|_| Error::internal("RSA key generation failed"))?;
    let der = key
        .as_der()
        .map_err(|_| Error::internal("RSA key encoding failed"))?;
    rsa_material(Secret::new(der.as_ref().to_vec()))
}

pub(crate) fn rsa_material(pkcs8: Secret) -> Result<RsaKeyMaterial> {
    use aws_lc_rs::signature::KeyPair as _;
    let pair = rsa::KeyPair::from_pkcs8(pkcs8.expose())
        .map_err(|_| Error::invalid_argument("KeyFilePath", "is not an RSA private key"))?;
    let public = pair.public_key();
    let modulus = public.modulus().big_endian_without_leading_zero().to_vec();
    let exponent = public.exponent().big_endian_without_leading_zero().to_vec();
    let bits = (modulus.len() * 8) as u32;
    if ![2048, 3072, 4096].contains(&bits) {
        return Err(Error::invalid_argument(
            "KeyFilePath",
            format!("holds a {bits}-bit RSA key; Key Vault takes 2048, 3072 or 4096 bits"),
        ));
    }
    Ok(RsaKeyMaterial {
        pkcs8,
        modulus,
        exponent,
        bits,
    })
}

/// The RSA encryption algorithms Key Vault offers for wrap and encrypt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RsaAlgorithm {
    OaepSha256,
    OaepSha1,
    Pkcs1v15,
}

impl RsaAlgorithm {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "RSA-OAEP-256" => Some(RsaAlgorithm::OaepSha256),
            "RSA-OAEP" => Some(RsaAlgorithm::OaepSha1),
            "RSA1_5" => Some(RsaAlgorithm::Pkcs1v15),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            RsaAlgorithm::OaepSha256 => "RSA-OAEP-256",
            RsaAlgorithm::OaepSha1 => "RSA-OAEP",
            RsaAlgorithm::Pkcs1v15 => "RSA1_5",
        }
    }
}

fn public_key(modulus: &[u8], exponent: &[u8]) -> Result<PublicEncryptingKey> {
    PublicKeyComponents {
        n: modulus,
        e: exponent,
    }
    .try_into()
    .map_err(|_| Error::io("a stored public key is damaged", ""))
}

/// Encrypts (or wraps) with the public key. Errors name the parameter and its limit.
pub fn rsa_encrypt(
    modulus: &[u8],
    exponent: &[u8],
    algorithm: RsaAlgorithm,
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    RsaPublicKey::new(modulus, exponent)?.encrypt(algorithm, plaintext)
}

/// A parsed RSA public key, ready to encrypt with either padding: parsing and key setup cost
/// as much as an encryption, so the store keeps these for keys in use.
pub struct RsaPublicKey {
    oaep: OaepPublicEncryptingKey,
    pkcs1: Pkcs1PublicEncryptingKey,
}

impl RsaPublicKey {
    pub fn new(modulus: &[u8], exponent: &[u8]) -> Result<Self> {
        let public = public_key(modulus, exponent)?;
        let setup = |_| Error::internal("RSA key setup failed");
        Ok(RsaPublicKey {
            oaep: OaepPublicEncryptingKey::new(public.clone()).map_err(setup)?,
            pkcs1: Pkcs1PublicEncryptingKey::new(public).map_err(setup)?,
        })
    }

    /// Encrypts (or wraps). Errors name the parameter and its limit.
    pub fn encrypt(&self, algorithm: RsaAlgorithm, plaintext: &[u8]) -> Result<Vec<u8>> {
        let too_long = |max: usize| {
            Error::invalid_argument(
                "ByteArrayValue",
                format!(
                    "is {} bytes; {} with this key takes at most {max}",
                    plaintext.len(),
                    algorithm.name()
                ),
            )
        };
        let failed = |_| Error::internal("RSA encryption failed");
        match algorithm {
            RsaAlgorithm::OaepSha256 | RsaAlgorithm::OaepSha1 => {
                let alg = if algorithm == RsaAlgorithm::OaepSha256 {
                    &OAEP_SHA256_MGF1SHA256
                } else {
                    &OAEP_SHA1_MGF1SHA1
                };
                let max = self.oaep.max_plaintext_size(alg);
                if plaintext.len() > max {
                    return Err(too_long(max));
                }
                let mut out = vec![0u8; self.oaep.ciphertext_size()];
                let len = self
                    .oaep
                    .encrypt(alg, plaintext, &mut out, None)
                    .map_err(failed)?
                    .len();
                out.truncate(len);
                Ok(out)
            }
            RsaAlgorithm::Pkcs1v15 => {
                let max = self.pkcs1.max_plaintext_size();
                if plaintext.len() > max {
                    return Err(too_long(max));
                }
                let mut out = vec![0u8; self.pkcs1.ciphertext_size()];
                let len = self
                    .pkcs1
                    .encrypt(plaintext, &mut out)
                    .map_err(failed)?
                    .len();
                out.truncate(len);
                Ok(out)
            }
        }
    }
}

/// A parsed RSA private key, ready to decrypt. Parsing PKCS#8 (which validates the key) costs
/// more than an RSA-2048 decryption, so the store keeps these for keys in use.
pub struct RsaPrivateKey(PrivateDecryptingKey);

impl RsaPrivateKey {
    pub fn from_pkcs8(pkcs8: &Secret) -> Result<Self> {
        PrivateDecryptingKey::from_pkcs8(pkcs8.expose())
            .map(RsaPrivateKey)
            .map_err(|_| Error::io("stored key material is damaged", ""))
    }

    /// Decrypts (or unwraps). A failure says only that the value does not decrypt with this
    /// key and algorithm: padding details would help an attacker.
    pub fn decrypt(&self, algorithm: RsaAlgorithm, ciphertext: &[u8]) -> Result<Secret> {
        let fail = || {
            Error::invalid_argument(
                "ByteArrayValue",
                format!(
                    "does not decrypt with this key version and {}",
                    algorithm.name()
                ),
            )
        };
        let mut out = Secret::zeroed(self.0.key_size_bytes());
        let len = match algorithm {
            RsaAlgorithm::OaepSha256 | RsaAlgorithm::OaepSha1 => {
                let alg = if algorithm == RsaAlgorithm::OaepSha256 {
                    &OAEP_SHA256_MGF1SHA256
                } else {
                    &OAEP_SHA1_MGF1SHA1
                };
                let key = OaepPrivateDecryptingKey::new(self.0.clone())
                    .map_err(|_| Error::internal("RSA key setup failed"))?;
                key.decrypt(alg, ciphertext, out.expose_mut(), None)
                    .map_err(|_| fail())?
                    .len()
            }
            RsaAlgorithm::Pkcs1v15 => {
                let key = Pkcs1PrivateDecryptingKey::new(self.0.clone())
                    .map_err(|_| Error::internal("RSA key setup failed"))?;
                key.decrypt(ciphertext, out.expose_mut())
                    .map_err(|_| fail())?
                    .len()
            }
        };
        out.truncate(len);
        Ok(out)
    }
}

/// Signs a SHA-256 digest with RSASSA-PKCS1-v1_5 (Key Vault's RS256), with the private key in
/// PKCS#8. Key Vault signs digests, not messages, so callers hash first.
pub fn rsa_sign_sha256_digest(pkcs8: &Secret, digest: &[u8]) -> Result<Vec<u8>> {
    let digest = aws_lc_rs::digest::Digest::import_less_safe(digest, &aws_lc_rs::digest::SHA256)
        .map_err(|_| Error::invalid_argument("Digest", "must be a 32-byte SHA-256 digest"))?;
    let pair = rsa::KeyPair::from_pkcs8(pkcs8.expose())
        .map_err(|_| Error::io("stored key material is damaged", ""))?;
    let mut signature = vec![0u8; pair.public_modulus_len()];
    pair.sign_digest(
        &aws_lc_rs::signature::RSA_PKCS1_SHA256,
        &digest,
        &mut signature,
    )
    .map_err(|_| Error::internal("RSA signing failed"))?;
    Ok(signature)
}

/// Whether `signature` is an RS256 signature of `message` by the public key given.
/// The public key as X.509 SubjectPublicKeyInfo DER (what Get-AipServiceKeys shows).
pub fn rsa_public_key_der(modulus: &[u8], exponent: &[u8]) -> Result<Vec<u8>> {
    Ok(public_key(modulus, exponent)?
        .as_der()
        .map_err(|_| Error::internal("RSA public key encoding failed"))?
        .as_ref()
        .to_vec())
}

pub fn rsa_verify_sha256(
    modulus: &[u8],
    exponent: &[u8],
    message: &[u8],
    signature: &[u8],
) -> bool {
    aws_lc_rs::signature::RsaPublicKeyComponents {
        n: modulus,
        e: exponent,
    }
    .verify(
        &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
        message,
        signature,
    )
    .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_private_key_rejects_other_aad_and_tampering() {
        let keys = StoreKeys::derive(&[7u8; 32]).unwrap();
        let secret = Secret::new(b"pkcs8 bytes".to_vec());
        let (wrapped, mut sealed) = keys.seal_private(&secret, b"v1").unwrap();
        assert_eq!(
            keys.open_private(&wrapped, &sealed, b"v1")
                .unwrap()
                .expose(),
            b"pkcs8 bytes"
        );
        assert!(keys.open_private(&wrapped, &sealed, b"v2").is_err());
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert!(keys.open_private(&wrapped, &sealed, b"v1").is_err());
    }

    #[test]
    fn rsa_round_trips_for_every_algorithm() {
        let key = generate_rsa(2048).unwrap();
        for alg in [
            RsaAlgorithm::OaepSha256,
            RsaAlgorithm::OaepSha1,
            RsaAlgorithm::Pkcs1v15,
        ] {
            let ct = rsa_encrypt(&key.modulus, &key.exponent, alg, b"a data key").unwrap();
            assert_eq!(ct.len(), 256);
            assert_eq!(
                RsaPrivateKey::from_pkcs8(&key.pkcs8)
                    .unwrap()
                    .decrypt(alg, &ct)
                    .unwrap()
                    .expose(),
                b"a data key"
            );
        }
    }

    #[test]
    fn a_signed_digest_verifies_against_its_message_and_nothing_else() {
        let key = generate_rsa(2048).unwrap();
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b"publishing license");
        let signature = rsa_sign_sha256_digest(&key.pkcs8, digest.as_ref()).unwrap();
        assert!(rsa_verify_sha256(
            &key.modulus,
            &key.exponent,
            b"publishing license",
            &signature
        ));
        assert!(!rsa_verify_sha256(
            &key.modulus,
            &key.exponent,
            b"publishing licensE",
            &signature
        ));
        assert!(rsa_sign_sha256_digest(&key.pkcs8, b"short").is_err());
    }

    #[test]
    fn base64_secrets_decode_as_the_public_decoder_does() {
        for text in ["", "AA==", " AAEC\n", "c2VjcmV0IGRhdGEga2V5"] {
            assert_eq!(
                decode_base64_secret(text).map(|s| s.expose().to_vec()),
                crate::b64::decode(text).ok(),
                "{text:?}"
            );
        }
        assert!(decode_base64_secret("not base64!").is_none());
    }

    #[test]
    fn secret_zeroize_wipes_contents_and_capacity() {
        let mut s = Secret::new(vec![0xAB; 16]);
        s.truncate(4);
        s.zeroize();
        assert!(s.expose().is_empty());
        assert!(s.0.capacity() >= 16);
        // SAFETY: the capacity is at least 16 (checked above) and zeroize wrote zeros over all of
        // it, so the 16 bytes are allocated and initialised.
        let spare = unsafe { std::slice::from_raw_parts(s.0.as_ptr(), 16) };
        assert_eq!(spare, &[0u8; 16]);
    }

    #[test]
    fn name_guid_is_stable_and_guid_shaped() {
        let a = name_guid("alice@contoso.com");
        assert_eq!(a, name_guid("alice@contoso.com"));
        assert_eq!(a.len(), 36);
        assert_ne!(a, name_guid("bob@contoso.com"));
    }
}
