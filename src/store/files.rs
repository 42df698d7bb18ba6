//! Files of the store and of its callers: private directories, atomic 0600 writes, and the
//! master key file.

use crate::crypto::{self, MASTER_KEY_LEN};
use crate::error::{Error, Result};
use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
// Unix only (file modes 0600/0700, owner uids): see the compile_error! in lib.rs.
#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Creates a directory (and parents) with mode 0700 when missing; leaves an existing one alone.
/// The mode is set after creation too, so the umask (even 000 or 077) never changes it.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let failed = |e: std::io::Error| {
        Error::io(
            format!("cannot create directory {}: {e}", dir.display()),
            dir.display().to_string(),
        )
    };
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(failed)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(failed)
}

/// Refuses a store directory that someone else could change under the store: one owned by
/// another user than the one running (root included: a store is its owner's), or writable by
/// its group or by everyone (they could swap master.key or store.db for their own).
/// Unix only: owner uids and mode bits.
#[cfg(unix)]
pub fn check_store_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let shown = dir.display().to_string();
    let meta = fs::metadata(dir).map_err(|e| {
        Error::io(
            format!("cannot read the store directory {shown}: {e}"),
            shown.clone(),
        )
    })?;
    let refuse = |rule: String| {
        Error::new(
            crate::CkStatus::Forbidden,
            "InsecureStore",
            format!("Parameter 'Store': {rule}"),
            "Store",
        )
    };
    if !meta.is_dir() {
        return Err(Error::invalid_argument(
            "Store",
            format!("{shown} is not a directory"),
        ));
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(refuse(format!(
            "{shown} is owned by another user (uid {}, this process runs as uid {me}); a store directory must belong to the user who runs CustomerKey",
            meta.uid()
        )));
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o022 != 0 {
        return Err(refuse(format!(
            "{shown} is writable by its group or by other users (mode {mode:04o}); a store directory must be writable by its owner only: run chmod 700 {shown}"
        )));
    }
    Ok(())
}

/// Writes a file with mode 0600, atomically (temporary file, then rename), and syncs it and its
/// folder so that once this returns the file survives a crash. Without `overwrite` an existing
/// file is an error.
pub fn write_private_file(path: &Path, bytes: &[u8], overwrite: bool) -> Result<()> {
    let target = path.display().to_string();
    if !overwrite && path.exists() {
        return Err(file_exists(&target));
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
    let io = |e: std::io::Error| Error::io(format!("cannot write {target}: {e}"), target.clone());
    let tmp = write_synced_temp(path, bytes).map_err(io)?;
    let placed = if overwrite {
        fs::rename(&tmp, path)
    } else {
        place_new(&tmp, path, bytes, |from, to| fs::hard_link(from, to))
    };
    if let Err(e) = placed {
        let _ = fs::remove_file(&tmp);
        return Err(if e.kind() == std::io::ErrorKind::AlreadyExists {
            file_exists(&target)
        } else {
            io(e)
        });
    }
    sync_dir(dir).map_err(io)
}

/// Puts the synced temporary file `tmp` (holding `bytes`) at `path`, which must not exist, and
/// removes `tmp`. A hard link fails if the name exists, so a file that appeared since the
/// caller's check is never clobbered, and the file is complete from the moment it has its name.
/// Where the filesystem has no hard links (FAT and exFAT USB sticks, some SMB shares: typical
/// backup targets) the file is created exclusively instead (which never clobbers either) and
/// written and synced in place; a crash mid-write can then leave a truncated file, which a
/// reader refuses, rather than fail every backup to such a target. `link` is `fs::hard_link`;
/// a parameter so the tests can make it fail as those filesystems do.
fn place_new(
    tmp: &Path,
    path: &Path,
    bytes: &[u8],
    link: impl FnOnce(&Path, &Path) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let linked = link(tmp, path);
    let _ = fs::remove_file(tmp);
    match linked {
        Err(e) if unsupported_here(&e) => create_new_synced(path, bytes),
        other => other,
    }
}

/// Mode 0600 whatever the umask: open's mode is masked by it, fchmod's is not. A filesystem
/// that keeps no Unix modes (FAT, exFAT, some SMB shares) refuses the fchmod; there the mount
/// decides every file's mode, so the file is written anyway rather than no backup made. The
/// master key is safe from this: its reader refuses a key file others can read.
fn owner_only(file: &fs::File) -> std::io::Result<()> {
    match file.set_permissions(fs::Permissions::from_mode(0o600)) {
        Err(e) if unsupported_here(&e) => Ok(()),
        other => other,
    }
}

/// Whether a failed `link(2)` or `fchmod(2)` means the filesystem cannot do it at all: EPERM
/// is what Linux's FAT and exFAT drivers answer, EOPNOTSUPP or ENOSYS what CIFS and FUSE
/// filesystems without the operation do. Any other failure (the name exists, no space, no
/// permission on the folder) stands.
fn unsupported_here(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::Unsupported
        || matches!(
            e.raw_os_error(),
            Some(libc::EPERM | libc::EOPNOTSUPP | libc::ENOSYS)
        )
}

/// Creates `path` (mode 0600; failing if it exists) with `bytes`, synced. A partly written file
/// is removed: it was made here, so it is no one else's.
fn create_new_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    let written = owner_only(&file)
        .and_then(|()| file.write_all(bytes))
        .and_then(|()| file.sync_all());
    if written.is_err() {
        drop(file);
        let _ = fs::remove_file(path);
    }
    written
}

fn file_exists(target: &str) -> Error {
    Error::new(
        crate::CkStatus::Conflict,
        "FileExists",
        format!("{target} exists; use -Force to overwrite it"),
        target,
    )
}

/// The prefix of the temporary files made beside `path`; what follows it is random.
fn temp_prefix(path: &Path) -> String {
    format!(
        ".{}.tmp-",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("ck")
    )
}

/// Writes `bytes` to a new temporary file (mode 0600) beside `path`, synced, and returns its
/// path; on failure nothing is left behind.
fn write_synced_temp(path: &Path, bytes: &[u8]) -> std::io::Result<PathBuf> {
    let random = crypto::random_bytes(6)
        .map_err(|_| std::io::Error::other("the system random generator failed"))?;
    let tmp = path.with_file_name(format!("{}{}", temp_prefix(path), crypto::hex(&random)));
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| {
            owner_only(&f)?;
            f.write_all(bytes)?;
            f.sync_all()
        });
    match written {
        Ok(()) => Ok(tmp),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Makes a rename or link in `dir` durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

/// The store's master key: read when `path` exists, else made and put in place atomically.
///
/// The key is written to a synced temporary file and then hard-linked to its name, never
/// created in place: so `master.key` is complete from the moment it exists, and a reader needs
/// no retry. A link, not a rename, because a rename would replace a key that a process creating
/// the same store at the same moment already uses; the link fails instead, and the loser reads
/// the winner's key, so every process ends with the one key.
pub(super) fn load_or_create_master_key(path: &Path) -> Result<crypto::Secret> {
    let target = path.display().to_string();
    let io = |what: &str, e: std::io::Error| Error::io(format!("{what}: {e}"), target.clone());
    match fs::symlink_metadata(path) {
        Ok(_) => return read_master_key(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io("cannot read the master key file", e)),
    }
    let key = crypto::Secret::new(crypto::random_bytes(MASTER_KEY_LEN)?);
    let tmp =
        write_synced_temp(path, key.expose()).map_err(|e| io("cannot write the master key", e))?;
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            let dir = path.parent().unwrap_or(Path::new("."));
            sync_dir(dir).map_err(|e| io("cannot write the master key", e))?;
            Ok(key)
        }
        // Another process put its key in place first: that is the store's key.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_master_key(path),
        Err(e) => Err(io("cannot write the master key", e)),
    }
}

fn read_master_key(path: &Path) -> Result<crypto::Secret> {
    let target = path.display().to_string();
    let unreadable =
        |e: std::io::Error| Error::io(format!("cannot read the master key file: {e}"), &target);
    let mut file = fs::File::open(path).map_err(unreadable)?;
    let meta = file.metadata().map_err(unreadable)?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(Error::new(
            crate::CkStatus::Forbidden,
            "InsecureMasterKey",
            format!("{target} can be read by other users; run: chmod 600 {target}"),
            target,
        ));
    }
    // One byte more than a key, so a longer (damaged) file is told apart without reading it all.
    let mut key = crypto::Secret::zeroed(MASTER_KEY_LEN + 1);
    let mut len = 0;
    while len < key.expose().len() {
        match file.read(&mut key.expose_mut()[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(unreadable(e)),
        }
    }
    key.truncate(len);
    // StoreKeys::derive refuses a key of the wrong length with its own message.
    Ok(key)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// No filesystem without hard links can be mounted by an unprivileged test (a vfat image
    /// needs a loop mount, and this kernel may not even have vfat), so the link fails here as
    /// FAT's driver makes it fail: EPERM.
    fn fat_link(_: &Path, _: &Path) -> std::io::Result<()> {
        Err(std::io::Error::from_raw_os_error(libc::EPERM))
    }

    fn temp_with(dir: &Path, path: &Path, bytes: &[u8]) -> PathBuf {
        let tmp = write_synced_temp(path, bytes).unwrap();
        assert_eq!(tmp.parent(), Some(dir));
        tmp
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "ck-files-{name}-{}-{}",
            std::process::id(),
            crypto::hex(&crypto::random_bytes(4).unwrap())
        ));
        create_private_dir(&dir).unwrap();
        dir
    }

    #[test]
    fn without_hard_links_the_file_is_created_in_place() {
        let dir = scratch("nolink");
        let path = dir.join("key.backup");
        let tmp = temp_with(&dir, &path, b"backup bytes");
        place_new(&tmp, &path, b"backup bytes", fat_link).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"backup bytes");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // Only the file: the temporary one is gone.
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn without_hard_links_an_existing_file_is_still_never_clobbered() {
        let dir = scratch("exists");
        let path = dir.join("key.backup");
        fs::write(&path, b"someone else's").unwrap();
        let tmp = temp_with(&dir, &path, b"ours");
        let e = place_new(&tmp, &path, b"ours", fat_link).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&path).unwrap(), b"someone else's");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn other_link_failures_are_not_papered_over() {
        let dir = scratch("nospace");
        let path = dir.join("key.backup");
        let tmp = temp_with(&dir, &path, b"ours");
        let no_space = |_: &Path, _: &Path| Err(std::io::Error::from_raw_os_error(libc::ENOSPC));
        let e = place_new(&tmp, &path, b"ours", no_space).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOSPC));
        assert!(!path.exists());
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
        fs::remove_dir_all(&dir).unwrap();
    }
}
