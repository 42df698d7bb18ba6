//! The embedded store: one SQLite database in WAL mode inside the store directory, plus the
//! master key file. All SQL lives under this module.
//!
//! Layout of the store directory (created 0700):
//! - `master.key` (0600): 32 random bytes; every private key and backup blob is encrypted under
//!   keys derived from it.
//! - `store.db` (0600, with its `-wal` and `-shm` companions, which SQLite creates with the same
//!   mode): vaults, keys, versions (private parts sealed), policies, and the audit table.
//! - `backups/` (0700): default destination of `Backup-KeyVaultKey`.

pub mod aip;
mod audit;
pub mod directory;
pub mod exchange;
mod files;
pub mod jobs;
pub mod m365;
mod schema;
pub mod sharepoint;
mod snapshots;
pub mod tx;
pub mod vaults;

pub use tx::Tx;

pub use files::{create_private_dir, write_private_file};
pub use schema::SCHEMA_VERSION;
pub use snapshots::KeySnapshot;

use crate::crypto::{self, RsaPrivateKey, RsaPublicKey, StoreKeys};
use crate::error::{Error, Result};
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use std::collections::HashMap;
use std::fs::OpenOptions;
// Unix only (the database is created 0600): see the compile_error! in lib.rs.
#[cfg(unix)]
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

const DB_FILE: &str = "store.db";
const MASTER_FILE: &str = "master.key";
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
const PRIVATE_KEY_CACHE_ENTRIES: usize = 256;
const ENGINE_PRINCIPAL: &str = "CustomerKey engine";

/// An open store: its directory, the keys derived from its master key, its identity and a small
/// pool of SQLite connections (one per concurrent caller).
pub struct Store {
    dir: PathBuf,
    keys: StoreKeys,
    store_id: String,
    tenant_id: String,
    subscription_id: String,
    rehearsal: bool,
    pool: Mutex<Vec<Connection>>,
    /// Unsealed, parsed private keys of versions in use, by version id.
    private_keys: RwLock<HashMap<String, Arc<RsaPrivateKey>>>,
    /// Parsed public keys of versions in use, by version id (public: no need to forget them).
    public_keys: RwLock<HashMap<String, Arc<RsaPublicKey>>>,
    /// Group-commits the audit rows of reads, crypto operations and failures.
    audit_writer: audit::AuditWriter,
    /// Live keys' metadata, valid while the store's data version stands.
    snapshots: snapshots::Snapshots,
    /// Rung by `jobs::notify` after a commit that enqueued work, so this store's runner starts
    /// it at once instead of at its next poll.
    job_wakeup: jobs::Wakeup,
    /// What keeps this store's job runner from using the store, if anything: set by the runner
    /// when a claim or a write it could not put on a job fails, cleared by its next successful
    /// claim. Job reads show it on the Queued and Running jobs it holds up.
    runner_trouble: jobs::RunnerTroubleCell,
}

/// Who did what to which object: one audit row per operation.
pub struct AuditEntry<'a> {
    /// When the call happened, in unix seconds of the caller's clock (never shifted: audit
    /// rows tell real time, even in a rehearsal store).
    pub time: i64,
    pub principal: &'a str,
    pub operation: &'a str,
    pub target: &'a str,
}

/// One audit row: (time, principal, operation, target, result).
pub type AuditRecord = (i64, String, String, String, String);

impl Store {
    /// Opens the store in `dir`, creating it on first use. A store created with
    /// `create_as_rehearsal` accepts a shifted clock (TimeShiftSeconds); no other store does.
    pub fn open(dir: &Path, create_as_rehearsal: bool) -> Result<Store> {
        create_private_dir(dir)?;
        files::check_store_dir(dir)?;
        let db_path = dir.join(DB_FILE);
        let master_path = dir.join(MASTER_FILE);
        // Before anything is created, changed or opened for writing: a store written by a
        // newer CustomerKey is refused as it is (StoreVersionTooNew).
        schema::refuse_newer_store(&db_path)?;
        let db_has_data = std::fs::metadata(&db_path).is_ok_and(|m| m.len() > 0);
        if db_has_data && !master_path.exists() {
            // A fresh master key would open nothing in this database: say what is missing
            // instead of creating a key that can never read the stored keys.
            return Err(Error::io(
                format!(
                    "{} holds keys but {} is missing; restore master.key from your backup of it",
                    db_path.display(),
                    master_path.display()
                ),
                master_path.display().to_string(),
            ));
        }
        let master = files::load_or_create_master_key(&master_path)?;
        let keys = StoreKeys::derive(master.expose())?;
        drop(master);
        if !db_path.exists() {
            // Created here with 0600 so SQLite (and its -wal/-shm files, which copy the
            // database's mode) never make it world-readable whatever the umask.
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&db_path)
                // 0600 whatever the umask (open's mode is masked by it, fchmod's is not).
                .and_then(|f| f.set_permissions(std::fs::Permissions::from_mode(0o600)))
            {
                Ok(()) => {}
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
        let (store_id, tenant_id, subscription_id, rehearsal) = {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let ids = (
                meta_or_init(&tx, "store_id", || {
                    Ok(crypto::hex(&crypto::random_bytes(16)?))
                })?,
                meta_or_init(&tx, "tenant_id", crypto::new_guid)?,
                meta_or_init(&tx, "subscription_id", crypto::new_guid)?,
                meta_or_init(&tx, "rehearsal", || Ok(create_as_rehearsal.to_string()))? == "true",
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
            rehearsal,
            pool: Mutex::new(vec![conn]),
            private_keys: RwLock::new(HashMap::new()),
            public_keys: RwLock::new(HashMap::new()),
            audit_writer: audit::AuditWriter::start(&db_path)?,
            snapshots: snapshots::Snapshots::open(&db_path)?,
            job_wakeup: jobs::Wakeup::default(),
            runner_trouble: jobs::RunnerTroubleCell::default(),
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
    /// Whether this store was created for rehearsals, and so accepts a shifted clock.
    pub fn is_rehearsal(&self) -> bool {
        self.rehearsal
    }

    /// The private key of a version, unsealed and parsed once and then kept in memory.
    /// Callers check permissions and key state before asking: the cache only saves the work.
    pub fn private_key(
        &self,
        version: &str,
        wrapped: &[u8],
        sealed: &[u8],
    ) -> Result<Arc<RsaPrivateKey>> {
        cached(&self.private_keys, version, || {
            let pkcs8 = self
                .keys
                .open_private(wrapped, sealed, version.as_bytes())?;
            RsaPrivateKey::from_pkcs8(&pkcs8)
        })
    }

    /// The parsed public key of a version, kept in memory once parsed.
    pub fn public_key(
        &self,
        version: &str,
        modulus: &[u8],
        exponent: &[u8],
    ) -> Result<Arc<RsaPublicKey>> {
        cached(&self.public_keys, version, || {
            RsaPublicKey::new(modulus, exponent)
        })
    }

    pub fn job_wakeup(&self) -> &jobs::Wakeup {
        &self.job_wakeup
    }

    /// Records that the job runner could not use the store (`now`: the runner's session
    /// clock). A trouble already recorded keeps the time it started and takes the newer error.
    pub(crate) fn set_runner_trouble(&self, error: &Error, now: i64) {
        self.runner_trouble.set(error, now);
    }

    /// The runner used the store again.
    pub(crate) fn clear_runner_trouble(&self) {
        self.runner_trouble.clear();
    }

    /// What keeps this store's job runner from using the store, if anything.
    pub fn runner_trouble(&self) -> Option<jobs::RunnerTrouble> {
        self.runner_trouble.get()
    }

    /// Drops cached private keys. Called after a commit that deleted key material, so purged
    /// keys leave memory too.
    pub fn forget_private_keys(&self) {
        self.private_keys
            .write()
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

    fn with_connection<R>(&self, f: impl FnOnce(&mut Connection) -> Result<R>) -> Result<R> {
        let mut conn = self.take_connection()?;
        let result = f(&mut conn);
        self.return_connection(conn);
        result
    }

    /// Runs `work` in one write transaction that first purges what outlived its retention at
    /// `now`, and records `audit` as succeeded in the same transaction: either the whole
    /// operation is committed, with its audit row, or none of it. Failures are audited by the
    /// caller ([`Store::audit`]), once, whatever stage they came from.
    pub fn transaction<R>(
        &self,
        audit: &AuditEntry<'_>,
        now: i64,
        work: impl FnOnce(&Tx<'_>) -> Result<R>,
    ) -> Result<R> {
        let (value, purged) = self.with_connection(|conn| {
            let tx = Tx::of_store(
                conn.transaction_with_behavior(TransactionBehavior::Immediate)?,
                &self.runner_trouble,
            );
            let purged = purge_and_audit(&tx, now, audit.time)?;
            let value = work(&tx)?;
            insert_audit(&tx, audit.time, audit, "Succeeded")?;
            tx.commit()?;
            self.snapshots.changed();
            Ok((value, purged))
        })?;
        if purged > 0 {
            self.forget_private_keys();
        }
        Ok(value)
    }

    /// Runs `work` in a read transaction: a consistent snapshot, no audit row, no purge (it
    /// reads only what is live, so expired deleted objects do not matter to it).
    pub fn read<R>(&self, work: impl FnOnce(&Tx<'_>) -> Result<R>) -> Result<R> {
        self.with_connection(|conn| {
            let tx = Tx::of_store(
                conn.transaction_with_behavior(TransactionBehavior::Deferred)?,
                &self.runner_trouble,
            );
            let value = work(&tx)?;
            tx.commit()?;
            Ok(value)
        })
    }

    /// Runs `work` in one write transaction of its own (no audit row, no purge): committed if
    /// it returns `Ok`, rolled back otherwise.
    pub(crate) fn write_tx<R>(&self, work: impl FnOnce(&Tx<'_>) -> Result<R>) -> Result<R> {
        self.with_connection(|conn| {
            let tx = Tx::of_store(
                conn.transaction_with_behavior(TransactionBehavior::Immediate)?,
                &self.runner_trouble,
            );
            let value = work(&tx)?;
            tx.commit()?;
            self.snapshots.changed();
            Ok(value)
        })
    }

    /// Runs `work` on a consistent snapshot: [`Store::read`].
    pub(crate) fn read_tx<R>(&self, work: impl FnOnce(&Tx<'_>) -> Result<R>) -> Result<R> {
        self.read(work)
    }

    /// Records one audit row through the audit writer, which group-commits it within a few
    /// milliseconds: for reads, cryptographic operations and failures, never for a change
    /// (whose row is part of its own transaction).
    /// Refused (`AuditUnavailable`) when the writer's queue is full because the store keeps
    /// failing its commits.
    pub fn audit(&self, audit: &AuditEntry<'_>, result: &str) -> Result<()> {
        self.audit_writer.record(audit, result)
    }

    /// Appends one audit row now, in a transaction of its own (after the queued rows).
    pub fn audit_now(&self, audit: &AuditEntry<'_>, result: &str) -> Result<()> {
        self.flush_audit();
        self.with_connection(|conn| {
            let tx = Tx::of_store(
                conn.transaction_with_behavior(TransactionBehavior::Immediate)?,
                &self.runner_trouble,
            );
            insert_audit(&tx, audit.time, audit, result)?;
            tx.commit()?;
            Ok(())
        })
    }

    /// Waits until every audit row recorded so far is committed.
    pub fn flush_audit(&self) {
        self.audit_writer.flush();
    }

    /// Purges deleted vaults and keys whose retention has ended at `now`, audited when anything
    /// went (the row at `audit_time`, unshifted). The job runner calls this every minute;
    /// operations purge at their start as well.
    pub fn purge_expired(&self, now: i64, audit_time: i64) -> Result<usize> {
        let purged = self.with_connection(|conn| {
            let tx = Tx::of_store(
                conn.transaction_with_behavior(TransactionBehavior::Immediate)?,
                &self.runner_trouble,
            );
            let purged = purge_and_audit(&tx, now, audit_time)?;
            tx.commit()?;
            if purged > 0 {
                self.snapshots.changed();
            }
            Ok(purged)
        })?;
        if purged > 0 {
            self.forget_private_keys();
        }
        Ok(purged)
    }

    /// Audit entries, oldest first (for tests and the admin's own review).
    pub fn audit_log(&self) -> Result<Vec<AuditRecord>> {
        self.flush_audit();
        self.read(|tx| {
            tx.rows(
                "SELECT time, principal, operation, target, result FROM audit ORDER BY id",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
        })
    }
}

fn purge_and_audit(tx: &Tx<'_>, now: i64, audit_time: i64) -> Result<usize> {
    let purged = vaults::purge_expired(tx, now)?;
    if purged > 0 {
        let audit = AuditEntry {
            time: audit_time,
            principal: ENGINE_PRINCIPAL,
            operation: "Purge-Expired",
            target: "*",
        };
        insert_audit(
            tx,
            audit.time,
            &audit,
            &format!("Succeeded: {purged} past their retention"),
        )?;
    }
    Ok(purged)
}

/// Audit rows carry the real wall-clock time, whatever clock the session runs on.
fn insert_audit(tx: &Tx<'_>, time: i64, a: &AuditEntry<'_>, result: &str) -> Result<()> {
    tx.run("INSERT INTO audit (time, principal, operation, target, result) VALUES (?1, ?2, ?3, ?4, ?5)", params![time, a.principal, a.operation, a.target, result])
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(code, _)
        if matches!(code.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked))
}

/// Set to a number of milliseconds to replace the busy timeout of connections opened afterwards,
/// so a test holding the store's write lock sees the store fail in well under ten seconds.
/// Compiled only with the `test-hooks` feature: the library admins load always waits
/// [`BUSY_TIMEOUT`].
#[cfg(feature = "test-hooks")]
pub const TEST_BUSY_TIMEOUT_ENV: &str = "CUSTOMER_KEY_TEST_BUSY_TIMEOUT_MS";

fn busy_timeout() -> Duration {
    #[cfg(feature = "test-hooks")]
    if let Some(ms) = std::env::var(TEST_BUSY_TIMEOUT_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        return Duration::from_millis(ms);
    }
    BUSY_TIMEOUT
}

/// The key of `version` in `cache`, made by `make` and kept when it is not there yet; a full
/// cache starts over rather than grow.
fn cached<K>(
    cache: &RwLock<HashMap<String, Arc<K>>>,
    version: &str,
    make: impl FnOnce() -> Result<K>,
) -> Result<Arc<K>> {
    if let Some(k) = cache.read().unwrap_or_else(|p| p.into_inner()).get(version) {
        return Ok(Arc::clone(k));
    }
    let key = Arc::new(make()?);
    let mut cache = cache.write().unwrap_or_else(|p| p.into_inner());
    if cache.len() >= PRIVATE_KEY_CACHE_ENTRIES {
        cache.clear();
    }
    cache.insert(version.to_string(), Arc::clone(&key));
    Ok(key)
}

fn open_connection(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    // Every statement the store runs is prepared once per connection (Tx::rows, row, run):
    // room for all of them, so a job's batch loop never evicts its own.
    conn.set_prepared_statement_cache_capacity(128);
    let busy_timeout = busy_timeout();
    conn.busy_timeout(busy_timeout)?;
    // Switching to WAL answers BUSY at once, without the busy handler, while another process
    // creates the same store: retry within the busy timeout.
    let started = Instant::now();
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Ok(()) => break,
            Err(e) if is_busy(&e) && started.elapsed() < busy_timeout => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(e.into()),
        }
    }
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
