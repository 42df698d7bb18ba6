//! What the fuzz targets in `fuzz/` need beyond the public API, and nothing else: ways to get
//! fuzzed bytes past an integrity check that only the store itself can satisfy, so the parsers
//! behind it are fuzzed too. Not a supported API (hidden from the documentation).

use crate::crypto::Secret;
use crate::error::Result;
use crate::ffi::ck_session;

/// A backup file this session's store accepts as its own: the backup signature, `header_line`
/// (the JSON header, without its newline) and `payload` sealed under the store's backup key
/// with both as additional data, exactly as Backup-KeyVaultKey writes one. Lets the fuzzer
/// reach Restore-KeyVaultKey's header and payload readers with any JSON.
pub fn seal_backup(session: &ck_session, header_line: &[u8], payload: &[u8]) -> Result<Vec<u8>> {
    let mut blob = crate::vault::backup::MAGIC.to_vec();
    blob.extend_from_slice(header_line);
    blob.push(b'\n');
    let sealed = session
        .session()
        .store()
        .keys()
        .seal_backup(payload, &blob)?;
    blob.extend_from_slice(&sealed);
    Ok(blob)
}

/// The id a backup header names: the store's.
pub fn store_id(session: &ck_session) -> String {
    session.session().store().store_id().to_string()
}

/// The TPD key-list reader, which runs on a payload once its PBKDF2-derived key authenticated
/// it (600,000 iterations a try, far too slow to fuzz through). Returns how many keys it read.
pub fn decode_tpd_keys(payload: &[u8]) -> Result<usize> {
    crate::crypto::tpd::decode_keys(&Secret::new(payload.to_vec())).map(|keys| keys.len())
}
