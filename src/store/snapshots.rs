//! An in-memory snapshot of a live key's metadata (its vault, the vault's access policies and
//! role assignments, the key and its versions), so a read or cryptographic call checks
//! permissions and key state without a SQLite transaction; and, under the same rules, each
//! service principal's sign-in window, which `customer-key serve` checks on every request.
//!
//! Validity, two ways:
//! - Every write commit of this process to this database (any session's store handle) bumps a
//!   generation shared by every handle on the same file; a lookup that sees a new generation
//!   drops every snapshot. A call that starts after such a commit sees it.
//! - Commits by other processes are seen through SQLite's `PRAGMA data_version` (on a
//!   connection of its own, it changes whenever any other connection commits), asked at most
//!   once per [`CROSS_PROCESS_CHECK`]: a change another process commits is seen by calls that
//!   start more than that after it. (Asking on every call would cost a third of an RSA
//!   encryption: it takes the database file's lock.)

use super::vaults::{self as sql, KeyRow, PolicyRow, RoleAssignmentRow, VaultRow, VersionRow};
use super::{open_connection, Store};
use crate::error::Result;
use rusqlite::Connection;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// How stale another process's commit may be when a call starts.
pub const CROSS_PROCESS_CHECK: Duration = Duration::from_millis(1);

/// One generation counter per database file in this process, shared by its store handles.
static GENERATIONS: Mutex<Vec<(PathBuf, Arc<AtomicU64>)>> = Mutex::new(Vec::new());

fn generation_for(db_path: &Path) -> Arc<AtomicU64> {
    let path = std::fs::canonicalize(db_path).unwrap_or_else(|_| db_path.to_path_buf());
    let mut all = GENERATIONS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, g)) = all.iter().find(|(p, _)| *p == path) {
        return Arc::clone(g);
    }
    let g = Arc::new(AtomicU64::new(0));
    all.push((path, Arc::clone(&g)));
    g
}

/// A live key as of one committed state of the store.
#[derive(Debug)]
pub struct KeySnapshot {
    pub vault: VaultRow,
    pub policies: Vec<PolicyRow>,
    /// The role assignments at the vault's scope (what decides in an RBAC vault).
    pub role_assignments: Vec<RoleAssignmentRow>,
    pub key: KeyRow,
    /// Oldest first.
    pub versions: Vec<Arc<VersionRow>>,
}

impl KeySnapshot {
    /// The version named, or the newest.
    pub fn version(&self, version: Option<&str>) -> Option<&Arc<VersionRow>> {
        match version.filter(|v| !v.is_empty()) {
            Some(v) => self
                .versions
                .iter()
                .find(|r| r.version.eq_ignore_ascii_case(v)),
            None => self.versions.iter().max_by_key(|r| r.seq),
        }
    }
}

pub(crate) struct Snapshots {
    watch: Mutex<Connection>,
    generation: Arc<AtomicU64>,
    cache: RwLock<Cache>,
}

struct Cache {
    generation: u64,
    data_version: i64,
    /// When `data_version` was last asked.
    checked: Instant,
    /// (lower-cased vault, lower-cased key) -> snapshot.
    keys: HashMap<(String, String), Arc<KeySnapshot>>,
    /// application id -> its secret's (start, end), `None` when there is no such principal.
    principals: HashMap<String, Option<(i64, i64)>>,
}

const MAX_ENTRIES: usize = 4096;

impl Snapshots {
    pub(crate) fn open(db_path: &Path) -> Result<Snapshots> {
        let watch = open_connection(db_path)?;
        let data_version = data_version(&watch)?;
        let generation = generation_for(db_path);
        Ok(Snapshots {
            watch: Mutex::new(watch),
            cache: RwLock::new(Cache {
                generation: generation.load(Ordering::Acquire),
                data_version,
                checked: Instant::now(),
                keys: HashMap::new(),
                principals: HashMap::new(),
            }),
            generation,
        })
    }

    /// Called after every write commit of this process.
    pub(crate) fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The cache, emptied first when anything changed since it was filled.
    fn current(&self) -> Result<u64> {
        let generation = self.generation.load(Ordering::Acquire);
        {
            let cache = self.cache.read().unwrap_or_else(|p| p.into_inner());
            if cache.generation == generation && cache.checked.elapsed() < CROSS_PROCESS_CHECK {
                return Ok(generation);
            }
        }
        let version = data_version(&self.watch.lock().unwrap_or_else(|p| p.into_inner()))?;
        let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
        if cache.generation != generation || cache.data_version != version {
            cache.keys.clear();
            cache.principals.clear();
            cache.generation = generation;
            cache.data_version = version;
        }
        cache.checked = Instant::now();
        Ok(generation)
    }
}

fn data_version(conn: &Connection) -> Result<i64> {
    let version = conn
        .prepare_cached("PRAGMA data_version")?
        .query_row([], |r| r.get(0))?;
    Ok(version)
}

impl Store {
    /// The snapshot of a live key in a live vault, or `None` when the vault or the key does not
    /// exist or is deleted (the caller then takes its transactional path, which says why).
    pub fn key_snapshot(&self, vault: &str, name: &str) -> Result<Option<Arc<KeySnapshot>>> {
        let snapshots = &self.snapshots;
        let generation = snapshots.current()?;
        let id = (vault.to_ascii_lowercase(), name.to_ascii_lowercase());
        {
            let cache = snapshots.cache.read().unwrap_or_else(|p| p.into_inner());
            if cache.generation == generation {
                if let Some(found) = cache.keys.get(&id) {
                    return Ok(Some(Arc::clone(found)));
                }
            }
        }
        // Loaded after the generation was read, so it is at least that new: a commit in
        // between bumps the generation (or the data version), and the next lookup drops it.
        let loaded = self.read(|tx| {
            let Some(vault) = sql::get_vault(tx, vault)?.filter(|v| v.deleted_date.is_none())
            else {
                return Ok(None);
            };
            let Some(key) =
                sql::get_key(tx, &vault.name, name)?.filter(|k| k.deleted_date.is_none())
            else {
                return Ok(None);
            };
            let policies = sql::list_policies(tx, &vault.name)?;
            let role_assignments = if vault.rbac {
                sql::list_role_assignments(tx, &vault.name)?
            } else {
                Vec::new()
            };
            let versions = sql::list_versions(tx, &vault.name, &key.name)?
                .into_iter()
                .map(Arc::new)
                .collect();
            Ok(Some(Arc::new(KeySnapshot {
                vault,
                policies,
                role_assignments,
                key,
                versions,
            })))
        })?;
        let mut cache = snapshots.cache.write().unwrap_or_else(|p| p.into_inner());
        if cache.generation != generation {
            // Something committed meanwhile: keep nothing that may predate it.
            return Ok(loaded);
        }
        if let Some(snapshot) = &loaded {
            if cache.keys.len() >= MAX_ENTRIES {
                cache.keys.clear();
            }
            cache.keys.insert(id, Arc::clone(snapshot));
        }
        Ok(loaded)
    }
}

impl Store {
    /// When a service principal's secret is valid (start, end), or `None` when the principal
    /// does not exist: read through the snapshot cache, so a removal or a new secret is seen
    /// as soon as a key change would be.
    pub fn service_principal_window(&self, application_id: &str) -> Result<Option<(i64, i64)>> {
        let snapshots = &self.snapshots;
        let generation = snapshots.current()?;
        {
            let cache = snapshots.cache.read().unwrap_or_else(|p| p.into_inner());
            if cache.generation == generation {
                if let Some(found) = cache.principals.get(application_id) {
                    return Ok(*found);
                }
            }
        }
        let loaded = self
            .read(|tx| super::directory::get_service_principal(tx, application_id))?
            .map(|row| (row.secret_start, row.secret_end));
        let mut cache = snapshots.cache.write().unwrap_or_else(|p| p.into_inner());
        if cache.generation == generation {
            if cache.principals.len() >= MAX_ENTRIES {
                cache.principals.clear();
            }
            cache.principals.insert(application_id.to_string(), loaded);
        }
        Ok(loaded)
    }
}
