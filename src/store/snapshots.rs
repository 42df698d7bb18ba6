//! An in-memory snapshot of a live key's metadata (its vault, the vault's access policies, the
//! key and its versions), so a read or cryptographic call checks permissions and key state
//! without a SQLite transaction.
//!
//! Validity: SQLite's `PRAGMA data_version` on a connection of its own changes whenever any
//! other connection, in this process or another, commits. Every lookup asks it first (one
//! prepared statement, no transaction); a change drops every snapshot. So no snapshot outlives
//! a committed permission or key change: a call that starts after the commit sees it.

use super::vaults::{self as sql, KeyRow, PolicyRow, VaultRow, VersionRow};
use super::{open_connection, Store};
use crate::error::Result;
use rusqlite::Connection;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

/// A live key as of one committed state of the store.
#[derive(Debug)]
pub struct KeySnapshot {
    pub vault: VaultRow,
    pub policies: Vec<PolicyRow>,
    pub key: KeyRow,
    /// Oldest first.
    pub versions: Vec<VersionRow>,
}

impl KeySnapshot {
    /// The version named, or the newest.
    pub fn version(&self, version: Option<&str>) -> Option<&VersionRow> {
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
    cache: RwLock<Cache>,
}

#[derive(Default)]
struct Cache {
    data_version: i64,
    /// (lower-cased vault, lower-cased key) -> snapshot.
    keys: HashMap<(String, String), Arc<KeySnapshot>>,
}

const MAX_ENTRIES: usize = 4096;

impl Snapshots {
    pub(crate) fn open(db_path: &Path) -> Result<Snapshots> {
        Ok(Snapshots {
            watch: Mutex::new(open_connection(db_path)?),
            cache: RwLock::new(Cache::default()),
        })
    }

    fn data_version(&self) -> Result<i64> {
        let conn = self.watch.lock().unwrap_or_else(|p| p.into_inner());
        let version = conn
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |r| r.get(0))?;
        Ok(version)
    }
}

impl Store {
    /// The snapshot of a live key in a live vault, or `None` when the vault or the key does not
    /// exist or is deleted (the caller then takes its transactional path, which says why).
    pub fn key_snapshot(&self, vault: &str, name: &str) -> Result<Option<Arc<KeySnapshot>>> {
        let snapshots = &self.snapshots;
        let now_version = snapshots.data_version()?;
        let id = (vault.to_ascii_lowercase(), name.to_ascii_lowercase());
        {
            let cache = snapshots.cache.read().unwrap_or_else(|p| p.into_inner());
            if cache.data_version == now_version {
                if let Some(found) = cache.keys.get(&id) {
                    return Ok(Some(Arc::clone(found)));
                }
            }
        }
        // Loaded after `now_version` was read, so it is at least that new: a commit in between
        // changes the data version, and the next lookup drops it.
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
            let versions = sql::list_versions(tx, &vault.name, &key.name)?;
            Ok(Some(Arc::new(KeySnapshot {
                vault,
                policies,
                key,
                versions,
            })))
        })?;
        let mut cache = snapshots.cache.write().unwrap_or_else(|p| p.into_inner());
        if cache.data_version != now_version {
            cache.keys.clear();
            cache.data_version = now_version;
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
