//! The trusted publishing domain (TPD) file: Azure Information Protection tenant keys, private
//! parts included, encrypted under a key derived from a password and authenticated as a whole.
//!
//! Layout (integers big-endian):
//!
//! ```text
//! "CKTPD" 0x01 | kdf u8 (1 = PBKDF2-HMAC-SHA256) | iterations u32 | salt [16] | body length u32
//!   | password check [32] | nonce [12] | body (AES-256-GCM ciphertext and tag)
//! ```
//!
//! PBKDF2 gives 64 bytes: the first 32 are the AES-256-GCM key, the last 32 the key of the
//! password check, an HMAC-SHA256 of the header. The check tells a wrong password apart from a
//! changed file; the GCM tag covers the body, with the header and the check as associated
//! data, so a changed byte anywhere fails. The iteration count is read from the file but held
//! to a floor (a file cannot ask for a weaker derivation) and a ceiling (nor for unbounded work).

use super::{gcm_open, gcm_seal, random_bytes, Secret};
use crate::error::{Error, Result};
use aws_lc_rs::{hmac, pbkdf2};
use std::num::NonZeroU32;

const MAGIC: &[u8; 6] = b"CKTPD\x01";
const KDF_PBKDF2_HMAC_SHA256: u8 = 1;
/// OWASP's current figure for PBKDF2-HMAC-SHA256.
pub const TPD_ITERATIONS: u32 = 600_000;
const MAX_ITERATIONS: u32 = 4_000_000;
const SALT_LEN: usize = 16;
const CHECK_LEN: usize = 32;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = MAGIC.len() + 1 + 4 + SALT_LEN + 4;
const MAX_BODY_LEN: usize = 16 * 1024 * 1024;
const MAX_KEYS: usize = 1024;

/// One tenant key as a TPD carries it.
pub struct TpdKey {
    pub key_identifier: String,
    pub friendly_name: String,
    pub creation_time: i64,
    /// The RSA private key, PKCS#8 DER.
    pub pkcs8: Secret,
}

fn file_error(rule: impl std::fmt::Display) -> Error {
    Error::invalid_argument("TpdFile", rule)
}

/// Bounds-checked reading of a byte string; every short read is an error naming `parameter`.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    parameter: &'static str,
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8], parameter: &'static str, what: &'static str) -> Self {
        Reader {
            bytes,
            at: 0,
            parameter,
            what,
        }
    }
    fn truncated(&self) -> Error {
        Error::invalid_argument(
            self.parameter,
            format!(
                "is not a complete {}: it ends early (at byte {} of {})",
                self.what,
                self.at,
                self.bytes.len()
            ),
        )
    }
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| self.truncated())?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }
    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    pub(crate) fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    pub(crate) fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub(crate) fn i64(&mut self) -> Result<i64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }
    pub(crate) fn position(&self) -> usize {
        self.at
    }
    /// Fails when bytes are left over.
    pub(crate) fn finish(&self) -> Result<()> {
        if self.at == self.bytes.len() {
            Ok(())
        } else {
            Err(Error::invalid_argument(
                self.parameter,
                format!(
                    "is not a valid {}: {} unexpected bytes follow its end",
                    self.what,
                    self.bytes.len() - self.at
                ),
            ))
        }
    }
}

/// A TPD file split into its parts, before any key derivation.
pub struct ParsedTpd<'a> {
    header: &'a [u8],
    iterations: u32,
    salt: &'a [u8],
    check: &'a [u8],
    nonce: &'a [u8],
    body: &'a [u8],
}

/// Splits a TPD file, refusing what is not one (wrong magic, unknown derivation, too few or
/// too many iterations, wrong length) before the expensive derivation.
pub fn parse(file: &[u8]) -> Result<ParsedTpd<'_>> {
    let mut r = Reader::new(file, "TpdFile", "trusted publishing domain file");
    if r.take(MAGIC.len()).ok() != Some(&MAGIC[..]) {
        return Err(file_error(
            "is not a trusted publishing domain file exported by CustomerKey (its first bytes are not the TPD signature)",
        ));
    }
    let kdf = r.u8()?;
    if kdf != KDF_PBKDF2_HMAC_SHA256 {
        return Err(file_error(format!(
            "names key derivation {kdf}, which this version does not know (1 = PBKDF2-HMAC-SHA256)"
        )));
    }
    let iterations = r.u32()?;
    if !(TPD_ITERATIONS..=MAX_ITERATIONS).contains(&iterations) {
        return Err(file_error(format!(
            "asks for {iterations} PBKDF2 iterations; a TPD must use between {TPD_ITERATIONS} and {MAX_ITERATIONS}"
        )));
    }
    let salt = r.take(SALT_LEN)?;
    let body_len = r.u32()? as usize;
    if !(TAG_LEN..=MAX_BODY_LEN).contains(&body_len) {
        return Err(file_error(format!(
            "declares a body of {body_len} bytes; a TPD body holds {TAG_LEN} to {MAX_BODY_LEN}"
        )));
    }
    let header = &file[..r.position()];
    let check = r.take(CHECK_LEN)?;
    let nonce = r.take(NONCE_LEN)?;
    let body = r.take(body_len)?;
    r.finish()?;
    Ok(ParsedTpd {
        header,
        iterations,
        salt,
        check,
        nonce,
        body,
    })
}

/// The two keys PBKDF2 gives for one password and salt.
pub struct DerivedKeys(Secret);

impl DerivedKeys {
    fn encryption_key(&self) -> &[u8] {
        &self.0.expose()[..32]
    }
    fn check(&self, header: &[u8]) -> Vec<u8> {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0.expose()[32..]);
        hmac::sign(&key, header).as_ref().to_vec()
    }
}

fn derive(password: &str, salt: &[u8], iterations: u32) -> Result<DerivedKeys> {
    let iterations =
        NonZeroU32::new(iterations).ok_or_else(|| file_error("asks for zero PBKDF2 iterations"))?;
    let mut out = vec![0u8; 64];
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        salt,
        password.as_bytes(),
        &mut out,
    );
    Ok(DerivedKeys(Secret::new(out)))
}

impl ParsedTpd<'_> {
    /// Derives the file's keys from `password` (the slow step: PBKDF2 at the file's count).
    pub fn derive_keys(&self, password: &str) -> Result<DerivedKeys> {
        derive(password, self.salt, self.iterations)
    }

    /// Opens the body with keys derived for this file: a wrong password (or a changed header)
    /// fails the check, a changed body fails the tag.
    pub fn open(&self, keys: &DerivedKeys) -> Result<Vec<TpdKey>> {
        let check = keys.check(self.header);
        if aws_lc_rs::constant_time::verify_slices_are_equal(&check, self.check).is_err() {
            return Err(Error::invalid_argument(
                "ProtectionPassword",
                "does not open this TPD file: the password is wrong, or the file's header was changed since it was exported. Nothing was imported",
            ));
        }
        let mut aad = self.header.to_vec();
        aad.extend_from_slice(self.check);
        let mut sealed = self.nonce.to_vec();
        sealed.extend_from_slice(self.body);
        let payload = gcm_open(keys.encryption_key(), &sealed, &aad).map_err(|_| {
            file_error("was changed since it was exported: its content fails authentication. Nothing was imported")
        })?;
        decode_keys(&payload)
    }
}

/// Parses, derives and opens in one step.
pub fn open(file: &[u8], password: &str) -> Result<Vec<TpdKey>> {
    let parsed = parse(file)?;
    let keys = parsed.derive_keys(password)?;
    parsed.open(&keys)
}

/// Writes a TPD holding `keys`, protected by `password`.
pub fn seal(keys: &[TpdKey], password: &str) -> Result<Vec<u8>> {
    if keys.is_empty() || keys.len() > MAX_KEYS {
        return Err(Error::internal(format!(
            "a TPD holds 1 to {MAX_KEYS} keys, not {}",
            keys.len()
        )));
    }
    let payload = encode_keys(keys)?;
    let salt = random_bytes(SALT_LEN)?;
    let body_len = payload.expose().len() + TAG_LEN;
    if body_len > MAX_BODY_LEN {
        return Err(Error::internal("the TPD body would be too large"));
    }
    let mut header = MAGIC.to_vec();
    header.push(KDF_PBKDF2_HMAC_SHA256);
    header.extend_from_slice(&TPD_ITERATIONS.to_be_bytes());
    header.extend_from_slice(&salt);
    header.extend_from_slice(&(body_len as u32).to_be_bytes());
    debug_assert_eq!(header.len(), HEADER_LEN);
    let derived = derive(password, &salt, TPD_ITERATIONS)?;
    let check = derived.check(&header);
    let mut aad = header.clone();
    aad.extend_from_slice(&check);
    let sealed = gcm_seal(derived.encryption_key(), payload.expose(), &aad)?;
    let mut file = aad;
    file.extend_from_slice(&sealed);
    Ok(file)
}

fn put_bytes16(out: &mut Vec<u8>, bytes: &[u8]) -> Result<()> {
    let len = u16::try_from(bytes.len()).map_err(|_| Error::internal("a TPD field is too long"))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
    Ok(())
}

/// count u16, then per key: id (u16 length + UTF-8), friendly name (same), creation i64,
/// PKCS#8 (u32 length + DER). Built straight into a wiped buffer.
fn encode_keys(keys: &[TpdKey]) -> Result<Secret> {
    let capacity: usize = keys
        .iter()
        .map(|k| 16 + k.key_identifier.len() + k.friendly_name.len() + k.pkcs8.expose().len())
        .sum::<usize>()
        + 2;
    // Preallocated so the buffer holding private keys never reallocates and leaves a copy.
    let mut out = Vec::with_capacity(capacity);
    out.extend_from_slice(&(keys.len() as u16).to_be_bytes());
    for k in keys {
        put_bytes16(&mut out, k.key_identifier.as_bytes())?;
        put_bytes16(&mut out, k.friendly_name.as_bytes())?;
        out.extend_from_slice(&k.creation_time.to_be_bytes());
        out.extend_from_slice(&(k.pkcs8.expose().len() as u32).to_be_bytes());
        out.extend_from_slice(k.pkcs8.expose());
    }
    Ok(Secret::new(out))
}

pub(crate) fn decode_keys(payload: &Secret) -> Result<Vec<TpdKey>> {
    // The payload was authenticated, so a malformed one is a writer's bug, not tampering;
    // it is still refused cleanly.
    let mut r = Reader::new(payload.expose(), "TpdFile", "TPD key list");
    let count = r.u16()? as usize;
    if count == 0 || count > MAX_KEYS {
        return Err(file_error(format!(
            "holds {count} keys; a TPD holds 1 to {MAX_KEYS}"
        )));
    }
    let text = |r: &mut Reader<'_>| -> Result<String> {
        let len = r.u16()? as usize;
        String::from_utf8(r.take(len)?.to_vec())
            .map_err(|_| file_error("holds a key whose name is not UTF-8"))
    };
    let mut keys = Vec::with_capacity(count);
    for _ in 0..count {
        let key_identifier = text(&mut r)?;
        let friendly_name = text(&mut r)?;
        let creation_time = r.i64()?;
        let len = r.u32()? as usize;
        let pkcs8 = Secret::new(r.take(len)?.to_vec());
        keys.push(TpdKey {
            key_identifier,
            friendly_name,
            creation_time,
            pkcs8,
        });
    }
    r.finish()?;
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<TpdKey> {
        vec![TpdKey {
            key_identifier: "0b6d4d1e-3c1f-4a52-9d6e-2f8a7c3b1e40".into(),
            friendly_name: "Contoso tenant key".into(),
            creation_time: 1_700_000_000,
            pkcs8: Secret::new(b"not really DER, the TPD does not care".to_vec()),
        }]
    }

    #[test]
    fn a_tpd_opens_with_its_password_only() {
        let file = seal(&sample(), "correct horse").unwrap();
        let keys = open(&file, "correct horse").unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].key_identifier, sample()[0].key_identifier);
        assert_eq!(keys[0].friendly_name, "Contoso tenant key");
        assert_eq!(keys[0].creation_time, 1_700_000_000);
        assert_eq!(keys[0].pkcs8.expose(), sample()[0].pkcs8.expose());
        let wrong = open(&file, "correct horsE").err().unwrap();
        assert_eq!(wrong.target, "ProtectionPassword");
    }

    #[test]
    fn a_tpd_never_asks_for_fewer_iterations_than_the_floor() {
        let mut file = seal(&sample(), "pw").unwrap();
        file[7..11].copy_from_slice(&100_000u32.to_be_bytes());
        let e = parse(&file).err().unwrap();
        assert!(e.message.contains("600000"), "{}", e.message);
    }

    /// Every truncation and thousands of seeded bit flips: always a clear error naming the
    /// file or the password, never a panic, never keys. The keys are derived once: a flip in
    /// the salt or the iteration count would derive other keys, which fail the password check
    /// as surely as these do against the changed header (the ABI tests derive for real).
    #[test]
    fn truncated_and_bit_flipped_tpds_are_refused_clearly() {
        let file = seal(&sample(), "pw").unwrap();
        for len in 0..file.len() {
            let e = open(&file[..len], "pw").err().unwrap();
            assert_eq!(e.target, "TpdFile", "truncated to {len}: {}", e.message);
        }
        let mut extended = file.clone();
        extended.push(0);
        assert_eq!(open(&extended, "pw").err().unwrap().target, "TpdFile");

        let keys = parse(&file).unwrap().derive_keys("pw").unwrap();
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let bits = file.len() * 8;
        let mut cases = 0;
        for i in 0..4000 {
            // Every bit of the header and check once, then random ones.
            let bit = if i < (HEADER_LEN + CHECK_LEN) * 8 {
                i
            } else {
                (next() as usize) % bits
            };
            let mut bad = file.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            let result = parse(&bad).and_then(|p| p.open(&keys));
            let e = result
                .err()
                .unwrap_or_else(|| panic!("bit {bit} flipped still opened"));
            assert!(
                e.target == "TpdFile" || e.target == "ProtectionPassword",
                "bit {bit}: {}",
                e.message
            );
            assert!(e.message.contains("Parameter '"), "{}", e.message);
            cases += 1;
        }
        assert_eq!(cases, 4000);
    }
}
