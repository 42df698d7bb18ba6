//! The embedded store: one SQLite database in WAL mode inside the store directory, plus the
//! master key file. All SQL lives under this module.
//!
//! Layout of the store directory (created 0700):
//! - `master.key` (0600): 32 random bytes; every private key and backup blob is encrypted under
//!   keys derived from it.
//! - `store.db` (0600, with its `-wal` and `-shm` companions, which SQLite creates with the same
//!   mode): vaults, keys, versions (private parts sealed), policies, and the audit table.
//! - `backups/` (0700): default destination of `Backup-KeyVaultKey`.

mod schema;
pub mod vaults;

use crate::crypto::{self, RsaPrivateKey, StoreKeys, MASTER_KEY_LEN};
use crate::error::{Error, Result};
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const DB_FILE: &str = "store.db";
const MASTER_FILE: &str = "master.key";
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// An open store: its directory, the keys derived from its master key, its identity and a small
/// pool of SQLite connections (one per concurrent caller).
pub struct Store {
    dir: PathBuf,
    keys: StoreKeys,
    store_id: String,
    tenant_id: String,
    subscription_id: String,
    pool: Mutex<Vec<Connection>>,
    /// Unsealed, parsed private keys of versions in use, by version id.
    private_keys: Mutex<HashMap<String, Arc<RsaPrivateKey>>>,
}

const PRIVATE_KEY_CACHE_ENTRIES: usize = 256;

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

impl Store {
    /// Opens the store in `dir`, creating it on first use.
    pub fn open(dir: &Path) -> Result<Store> {
        create_private_dir(dir)?;
        let master = load_or_create_master_key(&dir.join(MASTER_FILE))?;
        let keys = StoreKeys::derive(master.expose())?;
        drop(master);
        let db_path = dir.join(DB_FILE);
        if !db_path.exists() {
            // Created here with 0600 so SQLite (and its -wal/-shm files, which copy the
            // database's mode) never make it world-readable whatever the umask.
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&db_path)
            {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    return Err(Error::io(
                        format!("cannot create {}: {e}", db_path.display()),
                        db_path.display().to_string(),
                    ))
                }
            }
        }
        let mut conn = open_connection(&db_path)?;
        schema::migrate(&mut conn)?;
        let (store_id, tenant_id, subscription_id) = {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let ids = (
                meta_or_init(&tx, "store_id", || {
                    Ok(crypto::hex(&crypto::random_bytes(16)?))
                })?,
                meta_or_init(&tx, "tenant_id", crypto::new_guid)?,
                meta_or_init(&tx, "subscription_id", crypto::new_guid)?,
            );
            tx.commit()?;
            ids
        };
        Ok(Store {
            dir: dir.to_path_buf(),
            keys,
            store_id,
            tenant_id,
            subscription_id,
            pool: Mutex::new(vec![conn]),
            private_keys: Mutex::new(HashMap::new()),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
    pub fn keys(&self) -> &StoreKeys {
        &self.keys
    }
    pub fn store_id(&self) -> &str {
        &self.store_id
    }
    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }
    pub fn subscription_id(&self) -> &str {
        &self.subscription_id
    }

    /// The private key of a version, unsealed and parsed once and then kept in memory.
    /// Callers check permissions and key state before asking: the cache only saves the work.
    pub fn private_key(
        &self,
        version: &str,
        wrapped: &[u8],
        sealed: &[u8],
    ) -> Result<Arc<RsaPrivateKey>> {
        let cache = || self.private_keys.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = cache().get(version) {
            return Ok(Arc::clone(k));
        }
        let pkcs8 = self
            .keys
            .open_private(wrapped, sealed, version.as_bytes())?;
        let key = Arc::new(RsaPrivateKey::from_pkcs8(&pkcs8)?);
        let mut cache = cache();
        if cache.len() >= PRIVATE_KEY_CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(version.to_string(), Arc::clone(&key));
        Ok(key)
    }

    /// Drops cached private keys (after a purge, so purged material leaves memory too).
    pub fn forget_private_keys(&self) {
        self.private_keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    fn take_connection(&self) -> Result<Connection> {
        let pooled = self.pool.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match pooled {
            Some(c) => Ok(c),
            None => open_connection(&self.dir.join(DB_FILE)),
        }
    }

    fn return_connection(&self, conn: Connection) {
        let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < 16 {
            pool.push(conn);
        }
    }

    /// Runs `work` in one write transaction and records the outcome in the audit table: on
    /// success in the same transaction, on failure in a transaction of its own after the
    /// rollback. Either the whole operation is committed or none of it.
    pub fn transaction<R>(
        &self,
        audit: &AuditEntry<'_>,
        now: i64,
        work: impl FnOnce(&Transaction<'_>) -> Result<R>,
    ) -> Result<R> {
        let mut conn = self.take_connection()?;
        let result = run_transaction(&mut conn, audit, now, work);
        if let Err(e) = &result {
            if e.status != crate::CkStatus::Busy {
                let _ = (|| -> Result<()> {
                    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                    insert_audit(&tx, audit, now, &format!("Failed: {}", e.code))?;
                    tx.commit()?;
                    Ok(())
                })();
            }
        }
        self.return_connection(conn);
        result
    }

    /// Purges deleted vaults and keys whose retention has ended, in a transaction of its own,
    /// and audits it when anything went. The background purger calls this; operations purge
    /// at their start as well, so a store no process keeps open is exact too.
    pub fn purge_expired(&self, now: i64) -> Result<usize> {
        let mut conn = self.take_connection()?;
        let result = (|| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let purged = vaults::purge_expired(&tx, now)?;
            if purged > 0 {
                let audit = AuditEntry {
                    principal: "CustomerKey engine",
                    operation: "Purge-Expired",
                    target: "*",
                };
                insert_audit(&tx, &audit, now, &format!("Succeeded: {purged} purged"))?;
            }
            tx.commit()?;
            Ok(purged)
        })();
        self.return_connection(conn);
        if matches!(result, Ok(n) if n > 0) {
            self.forget_private_keys();
        }
        result
    }

    /// Records a failure that happened after the operation's transaction committed (an unwrap
    /// whose value does not decrypt), so the audit shows the real outcome.
    pub fn audit_failure(&self, audit: &AuditEntry<'_>, now: i64, code: &str) -> Result<()> {
        let mut conn = self.take_connection()?;
        let result = (|| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            insert_audit(&tx, audit, now, &format!("Failed: {code}"))?;
            tx.commit()?;
            Ok(())
        })();
        self.return_connection(conn);
        result
    }

    /// Audit entries, newest last (for tests and the admin's own review).
    pub fn audit_log(&self) -> Result<Vec<AuditRecord>> {
        let conn = self.take_connection()?;
        let rows = (|| {
            let mut stmt = conn.prepare(
                "SELECT time, principal, operation, target, result FROM audit ORDER BY id",
            )?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok::<_, Error>(rows)
        })();
        self.return_connection(conn);
        rows
    }
}

/// One audit row: (time, principal, operation, target, result).
pub type AuditRecord = (i64, String, String, String, String);

/// Who did what to which object: one audit row per operation.
pub struct AuditEntry<'a> {
    pub principal: &'a str,
    pub operation: &'a str,
    pub target: &'a str,
}

fn run_transaction<R>(
    conn: &mut Connection,
    audit: &AuditEntry<'_>,
    now: i64,
    work: impl FnOnce(&Transaction<'_>) -> Result<R>,
) -> Result<R> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Every operation sees the store as of its clock: what outlived its retention is gone.
    vaults::purge_expired(&tx, now)?;
    let value = work(&tx)?;
    insert_audit(&tx, audit, now, "Succeeded")?;
    tx.commit()?;
    Ok(value)
}

fn insert_audit(tx: &Transaction<'_>, a: &AuditEntry<'_>, now: i64, result: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO audit (time, principal, operation, target, result) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![now, a.principal, a.operation, a.target, result],
    )?;
    Ok(())
}

fn open_connection(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // NORMAL in WAL mode: a crash leaves every transaction wholly in or wholly out.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Overwrite deleted content, so purged key material does not linger in free pages.
    conn.pragma_update(None, "secure_delete", "ON")?;
    Ok(conn)
}

fn meta_or_init(
    tx: &Transaction<'_>,
    key: &str,
    init: impl FnOnce() -> Result<String>,
) -> Result<String> {
    let existing: Option<String> = tx
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?;
    if let Some(v) = existing {
        return Ok(v);
    }
    let v = init()?;
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)",
        params![key, v],
    )?;
    Ok(v)
}

fn load_or_create_master_key(path: &Path) -> Result<crypto::Secret> {
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
