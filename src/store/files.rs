//! Files of the store and of its callers: private directories, atomic 0600 writes, and the
//! master key file.

use crate::crypto::{self, MASTER_KEY_LEN};
use crate::error::{Error, Result};
use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

/// Creates a directory (and parents) with mode 0700 when missing; leaves an existing one alone.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| {
            Error::io(
                format!("cannot create directory {}: {e}", dir.display()),
                dir.display().to_string(),
            )
        })
}

/// Writes a file with mode 0600, atomically (temporary file, then rename). Without `overwrite`
/// an existing file is an error.
pub fn write_private_file(path: &Path, bytes: &[u8], overwrite: bool) -> Result<()> {
    let target = path.display().to_string();
    if !overwrite && path.exists() {
        return Err(Error::new(
            crate::CkStatus::Conflict,
            "FileExists",
            format!("{target} exists; use -Force to overwrite it"),
            target,
        ));
    }
    let dir = path
        .parent()
        .ok_or_else(|| Error::io("the path has no folder", target.clone()))?;
    if !dir.is_dir() {
        return Err(Error::io(
            format!("folder {} does not exist", dir.display()),
            target,
        ));
    }
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("ck"),
        crypto::hex(&crypto::random_bytes(6)?)
    ));
    let io = |e: std::io::Error| Error::io(format!("cannot write {target}: {e}"), target.clone());
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io)?;
        f.write_all(bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
        if overwrite {
            fs::rename(&tmp, path).map_err(io)
        } else {
            // A hard link fails if the name exists, so a file that appeared since the check
            // above is never clobbered.
            let linked = fs::hard_link(&tmp, path);
            let _ = fs::remove_file(&tmp);
            linked.map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    Error::new(
                        crate::CkStatus::Conflict,
                        "FileExists",
                        format!("{target} exists; use -Force to overwrite it"),
                        target.clone(),
                    )
                } else {
                    io(e)
                }
            })
        }
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

pub(super) fn load_or_create_master_key(path: &Path) -> Result<crypto::Secret> {
    let target = path.display().to_string();
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(mut f) => {
            let key = crypto::Secret::new(crypto::random_bytes(MASTER_KEY_LEN)?);
            f.write_all(key.expose())
                .and_then(|_| f.sync_all())
                .map_err(|e| {
                    Error::io(format!("cannot write the master key: {e}"), target.clone())
                })?;
            return Ok(key);
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(Error::io(
                format!("cannot create the master key file: {e}"),
                target,
            ))
        }
    }
    let meta = fs::metadata(path).map_err(|e| {
        Error::io(
            format!("cannot read the master key file: {e}"),
            target.clone(),
        )
    })?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(Error::new(
            crate::CkStatus::Forbidden,
            "InsecureMasterKey",
            format!("{target} can be read by other users; run: chmod 600 {target}"),
            target,
        ));
    }
    let mut bytes = Vec::with_capacity(MASTER_KEY_LEN);
    // A second process may have created the file a moment ago and still be writing it.
    for _ in 0..50 {
        bytes.clear();
        fs::File::open(path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(|e| {
                Error::io(
                    format!("cannot read the master key file: {e}"),
                    target.clone(),
                )
            })?;
        if bytes.len() >= MASTER_KEY_LEN {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(crypto::Secret::new(bytes))
}
