//! The schema, versioned with `PRAGMA user_version`; each migration runs in one transaction.

use crate::error::{Error, Result};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, TransactionBehavior};
use std::io::Read;
use std::path::Path;

const MIGRATIONS: &[&str] = &[
    // 1: key vaults and keys
    r#"
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE vaults (
        name TEXT PRIMARY KEY COLLATE NOCASE,
        location TEXT NOT NULL,
        sku TEXT NOT NULL,
        soft_delete INTEGER NOT NULL,
        retention_days INTEGER NOT NULL,
        purge_protection INTEGER NOT NULL,
        tags TEXT NOT NULL,
        owner TEXT NOT NULL,
        created INTEGER NOT NULL,
        deleted_date INTEGER,
        scheduled_purge INTEGER
    );
    CREATE TABLE access_policies (
        vault TEXT NOT NULL COLLATE NOCASE REFERENCES vaults(name) ON DELETE CASCADE,
        object_id TEXT NOT NULL COLLATE NOCASE,
        application_id TEXT,
        user_principal_name TEXT COLLATE NOCASE,
        service_principal_name TEXT COLLATE NOCASE,
        display_name TEXT NOT NULL,
        permissions TEXT NOT NULL,
        PRIMARY KEY (vault, object_id)
    );
    CREATE TABLE keys (
        vault TEXT NOT NULL COLLATE NOCASE REFERENCES vaults(name) ON DELETE CASCADE,
        name TEXT NOT NULL COLLATE NOCASE,
        deleted_date INTEGER,
        scheduled_purge INTEGER,
        PRIMARY KEY (vault, name)
    );
    CREATE TABLE key_versions (
        vault TEXT NOT NULL COLLATE NOCASE,
        name TEXT NOT NULL COLLATE NOCASE,
        version TEXT NOT NULL,
        seq INTEGER NOT NULL,
        kty TEXT NOT NULL,
        size INTEGER NOT NULL,
        key_ops TEXT NOT NULL,
        enabled INTEGER NOT NULL,
        not_before INTEGER,
        expires INTEGER,
        created INTEGER NOT NULL,
        updated INTEGER NOT NULL,
        tags TEXT NOT NULL,
        modulus BLOB NOT NULL,
        exponent BLOB NOT NULL,
        wrapped_data_key BLOB NOT NULL,
        sealed_private_key BLOB NOT NULL,
        PRIMARY KEY (vault, name, version),
        FOREIGN KEY (vault, name) REFERENCES keys(vault, name) ON DELETE CASCADE
    );
    CREATE INDEX keys_purge ON keys(scheduled_purge) WHERE scheduled_purge IS NOT NULL;
    CREATE INDEX vaults_purge ON vaults(scheduled_purge) WHERE scheduled_purge IS NOT NULL;
    -- Which policies (Exchange, SharePoint, AIP) use which key: the engine refuses to remove
    -- or disable what a policy still needs.
    CREATE TABLE key_references (
        vault TEXT NOT NULL COLLATE NOCASE,
        name TEXT NOT NULL COLLATE NOCASE,
        version TEXT,
        referrer_kind TEXT NOT NULL,
        referrer_name TEXT NOT NULL
    );
    CREATE INDEX key_references_key ON key_references(vault, name);
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        time INTEGER NOT NULL,
        principal TEXT NOT NULL,
        operation TEXT NOT NULL,
        target TEXT NOT NULL,
        result TEXT NOT NULL
    );
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit table is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit table is append-only'); END;
    "#,
    // 2: one sequence number per key version
    r#"
    -- Should a store hold two versions of one key with the same seq, number that key's versions
    -- again in their order (seq, then creation time, then id), so the index below can be made.
    CREATE TEMP TABLE seq_renumbered AS
        SELECT vault, name, version,
            ROW_NUMBER() OVER (PARTITION BY vault, name ORDER BY seq, created, version) AS n
        FROM key_versions
        WHERE (vault, name) IN (
            SELECT vault, name FROM key_versions GROUP BY vault, name, seq HAVING COUNT(*) > 1
        );
    UPDATE key_versions SET seq = (
        SELECT r.n FROM seq_renumbered AS r
        WHERE r.vault = key_versions.vault AND r.name = key_versions.name
            AND r.version = key_versions.version
    )
    WHERE EXISTS (
        SELECT 1 FROM seq_renumbered AS r
        WHERE r.vault = key_versions.vault AND r.name = key_versions.name
            AND r.version = key_versions.version
    );
    DROP TABLE seq_renumbered;
    CREATE UNIQUE INDEX key_versions_seq ON key_versions(vault, name, seq);
    "#,
    // 3: jobs: persisted background jobs (src/jobs), and the ledger of the test-only job kind.
    // owner/lease_until/not_before/last_claimed are wall-clock milliseconds between processes;
    // batches counts committed batches, so a batch commits only against the count it was
    // computed from.
    r#"
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        target TEXT NOT NULL,
        state TEXT NOT NULL
            CHECK (state IN ('Queued', 'Running', 'Completed', 'Failed', 'Cancelled')),
        done INTEGER NOT NULL,
        total INTEGER NOT NULL,
        cursor TEXT,
        payload TEXT NOT NULL,
        last_error TEXT,
        attempts INTEGER NOT NULL,
        created INTEGER NOT NULL,
        updated INTEGER NOT NULL,
        batches INTEGER NOT NULL,
        owner TEXT,
        lease_until INTEGER,
        not_before INTEGER,
        last_claimed INTEGER
    );
    CREATE INDEX jobs_state ON jobs(state);
    CREATE INDEX jobs_kind_target ON jobs(kind, target);
    CREATE TABLE job_test_ledger (
        job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        item INTEGER NOT NULL,
        UNIQUE (job_id, item)
    );
    "#,
    // 4: aip
    r#"
    -- Azure Information Protection tenant keys: exactly one Active. A Microsoft-managed key's
    -- private part is sealed like a vault key's; a BYOK key lives in its vault and is named
    -- by its versioned URL.
    CREATE TABLE aip_tenant_keys (
        key_identifier TEXT PRIMARY KEY COLLATE NOCASE,
        key_type TEXT NOT NULL CHECK (key_type IN ('Microsoft-managed', 'Customer-managed (BYOK)')),
        status TEXT NOT NULL CHECK (status IN ('Active', 'Archived')),
        creation_time INTEGER NOT NULL,
        friendly_name TEXT NOT NULL,
        origin TEXT NOT NULL,
        key_vault_key_url TEXT,
        modulus BLOB NOT NULL,
        exponent BLOB NOT NULL,
        wrapped_data_key BLOB,
        sealed_private_key BLOB,
        CHECK ((key_type = 'Microsoft-managed') = (sealed_private_key IS NOT NULL)),
        CHECK ((key_type = 'Microsoft-managed') = (key_vault_key_url IS NULL))
    );
    CREATE UNIQUE INDEX aip_one_active_key ON aip_tenant_keys(status) WHERE status = 'Active';
    CREATE UNIQUE INDEX aip_key_vault_key ON aip_tenant_keys(key_vault_key_url COLLATE NOCASE)
        WHERE key_vault_key_url IS NOT NULL;
    -- Protected items the engine has seen opened, by the tenant key that protected them.
    CREATE TABLE aip_opened_items (
        key_identifier TEXT NOT NULL COLLATE NOCASE REFERENCES aip_tenant_keys(key_identifier),
        content_id TEXT NOT NULL,
        first_opened INTEGER NOT NULL,
        PRIMARY KEY (key_identifier, content_id)
    );
    "#,
    // 5: sharepoint: the SharePoint Online data encryption policy (one per store: one tenant,
    // one geo), its tenant intermediate keys (TIKs) by generation, sites and files. Key
    // material is only ever stored wrapped: a TIK under both customer keys (RSA-OAEP-256,
    // through the vault boundary) and under the engine's availability key; a site key under
    // a TIK or, before registration, the Microsoft-managed key (AES key wrap); a file key under
    // its site key; file content sealed with AES-256-GCM under the file key.
    r#"
    CREATE TABLE spo_tenant (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        name TEXT NOT NULL
    );
    CREATE TABLE spo_tiks (
        generation INTEGER PRIMARY KEY,
        primary_key_id TEXT NOT NULL,
        primary_wrapped BLOB NOT NULL,
        secondary_key_id TEXT NOT NULL,
        secondary_wrapped BLOB NOT NULL,
        availability_wrapped BLOB NOT NULL,
        created INTEGER NOT NULL
    );
    CREATE TABLE spo_policy (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        state TEXT NOT NULL CHECK (state IN ('Registering', 'Registered', 'Rolling', 'Recovering')),
        generation INTEGER NOT NULL REFERENCES spo_tiks(generation),
        rolling_key_type TEXT CHECK (rolling_key_type IN ('Primary', 'Secondary')),
        job_id INTEGER,
        updated INTEGER NOT NULL
    );
    CREATE TABLE spo_sites (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        url TEXT NOT NULL UNIQUE COLLATE NOCASE,
        title TEXT NOT NULL,
        owner TEXT,
        created INTEGER NOT NULL,
        -- NULL: wrapped under the Microsoft-managed key.
        generation INTEGER REFERENCES spo_tiks(generation),
        wrapped_site_key BLOB NOT NULL
    );
    CREATE INDEX spo_sites_generation ON spo_sites(generation);
    CREATE TABLE spo_files (
        site_id INTEGER NOT NULL REFERENCES spo_sites(id) ON DELETE CASCADE,
        name TEXT NOT NULL COLLATE NOCASE,
        length INTEGER NOT NULL,
        wrapped_file_key BLOB NOT NULL,
        sealed_content BLOB NOT NULL,
        created INTEGER NOT NULL,
        PRIMARY KEY (site_id, name)
    );
    "#,
    // 6: exchange
    r#"
    -- Exchange Online data encryption policies. A policy's key material lives in its
    -- revisions: each revision (its id is the DataEncryptionPolicyID mailboxes report) has a
    -- fresh policy key, wrapped by each customer key version through the vault boundary
    -- (exo_revision_wraps) and sealed under the policy's availability key, itself sealed under
    -- a key derived from the store's master key. Purging a policy nulls all of it.
    CREATE TABLE exo_policies (
        guid TEXT PRIMARY KEY COLLATE NOCASE,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        description TEXT NOT NULL,
        enabled INTEGER NOT NULL,
        azure_key_ids TEXT NOT NULL,
        current_revision TEXT NOT NULL,
        sealed_availability_key BLOB,
        purge_requested INTEGER NOT NULL DEFAULT 0,
        purge_reason TEXT,
        purge_contact TEXT,
        purged INTEGER NOT NULL DEFAULT 0,
        created INTEGER NOT NULL
    );
    CREATE TABLE exo_policy_revisions (
        id TEXT PRIMARY KEY COLLATE NOCASE,
        policy TEXT NOT NULL COLLATE NOCASE REFERENCES exo_policies(guid),
        seq INTEGER NOT NULL,
        created INTEGER NOT NULL,
        policy_key_under_availability BLOB,
        UNIQUE (policy, seq)
    );
    CREATE TABLE exo_revision_wraps (
        revision TEXT NOT NULL COLLATE NOCASE REFERENCES exo_policy_revisions(id),
        position INTEGER NOT NULL,
        key_id TEXT NOT NULL,
        wrapped BLOB NOT NULL,
        PRIMARY KEY (revision, position)
    );
    -- Mailboxes and mail users. applied_revision NULL: the content key is sealed under the
    -- Microsoft-managed key; otherwise it is sealed under that revision's policy key.
    CREATE TABLE exo_mailboxes (
        seq INTEGER PRIMARY KEY,
        guid TEXT NOT NULL UNIQUE COLLATE NOCASE,
        name TEXT NOT NULL COLLATE NOCASE,
        alias TEXT NOT NULL COLLATE NOCASE,
        smtp TEXT NOT NULL UNIQUE COLLATE NOCASE,
        kind TEXT NOT NULL CHECK (kind IN ('UserMailbox', 'MailUser')),
        assigned_policy TEXT COLLATE NOCASE REFERENCES exo_policies(guid),
        applied_revision TEXT COLLATE NOCASE REFERENCES exo_policy_revisions(id),
        wrapped_content_key BLOB,
        availability_uses INTEGER NOT NULL DEFAULT 0,
        last_availability_use INTEGER,
        created INTEGER NOT NULL
    );
    CREATE INDEX exo_mailboxes_name ON exo_mailboxes(name);
    CREATE INDEX exo_mailboxes_alias ON exo_mailboxes(alias);
    CREATE INDEX exo_mailboxes_assigned ON exo_mailboxes(assigned_policy, seq);
    CREATE INDEX exo_mailboxes_applied ON exo_mailboxes(applied_revision);
    -- Items: subject and body sealed together with AES-256-GCM under the mailbox's content key.
    CREATE TABLE exo_items (
        id INTEGER PRIMARY KEY,
        mailbox INTEGER NOT NULL REFERENCES exo_mailboxes(seq),
        received INTEGER NOT NULL,
        size INTEGER NOT NULL,
        sealed BLOB NOT NULL
    );
    CREATE INDEX exo_items_mailbox ON exo_items(mailbox);
    CREATE TABLE exo_move_requests (
        mailbox INTEGER PRIMARY KEY REFERENCES exo_mailboxes(seq),
        job_id INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        created INTEGER NOT NULL
    );
    -- Every workload's rows of key_references may fill these two columns:
    -- needed_by: how many items (Exchange: mailboxes whose content key is still wrapped under
    --   the policy revision that uses this key version) still need the version; NULL: unknown.
    -- detail: the referrer's own id for the row (Exchange: the policy revision id), so it can
    --   update its rows without touching another workload's.
    ALTER TABLE key_references ADD COLUMN needed_by INTEGER;
    ALTER TABLE key_references ADD COLUMN detail TEXT;
    -- Set-KeyVault -Unreachable (a rehearsal of an outage): the vault answers every call as if down.
    ALTER TABLE vaults ADD COLUMN unreachable INTEGER NOT NULL DEFAULT 0;
    "#,
    // directory
    // 7: service principals of `customer-key serve`. secret_hash is PBKDF2-HMAC-SHA256 of the
    // client secret under secret_salt; the secret itself is never stored.
    r#"
    CREATE TABLE service_principals (
        application_id TEXT PRIMARY KEY COLLATE NOCASE,
        display_name TEXT NOT NULL,
        secret_salt BLOB NOT NULL,
        secret_hash BLOB NOT NULL,
        secret_iterations INTEGER NOT NULL,
        secret_start INTEGER NOT NULL,
        secret_end INTEGER NOT NULL,
        created INTEGER NOT NULL
    );
    "#,
    // 8: the vault's permission model (Azure RBAC instead of access policies, which are then
    // kept but ignored, as Key Vault does), and role assignments at a vault's scope.
    // role_definition_id is the built-in role's GUID; principal_id the object id the engine
    // gives the principal (as its access policies do); name the assignment's GUID.
    r#"
    ALTER TABLE vaults ADD COLUMN rbac INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE role_assignments (
        vault TEXT NOT NULL COLLATE NOCASE REFERENCES vaults(name) ON DELETE CASCADE,
        name TEXT NOT NULL COLLATE NOCASE,
        role_definition_id TEXT NOT NULL COLLATE NOCASE,
        principal_id TEXT NOT NULL COLLATE NOCASE,
        principal_type TEXT NOT NULL,
        application_id TEXT COLLATE NOCASE,
        sign_in_name TEXT COLLATE NOCASE,
        display_name TEXT NOT NULL,
        created INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        PRIMARY KEY (vault, name),
        UNIQUE (vault, role_definition_id, principal_id)
    );
    "#,
    // 9: Microsoft 365 multi-workload data encryption policies. They share the Exchange policy
    // tables (one hierarchy: revisions whose policy key both customer keys and an availability
    // key wrap); `workload` says whose service principal uses a policy's keys.
    r#"
    ALTER TABLE exo_policies ADD COLUMN workload TEXT NOT NULL DEFAULT 'Exchange'
        CHECK (workload IN ('Exchange', 'MultiWorkload'));
    -- The one multi-workload policy assigned to the tenant.
    CREATE TABLE m365_assignment (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        policy TEXT NOT NULL COLLATE NOCASE REFERENCES exo_policies(guid),
        assigned INTEGER NOT NULL
    );
    -- One content key per kind of tenant data, under the assigned policy's revision
    -- (applied_revision) or, with none applied, the Microsoft-managed key; items are sealed
    -- under it with AES-256-GCM. NULL wrapped_content_key: never used yet.
    CREATE TABLE m365_data (
        workload TEXT PRIMARY KEY,
        guid TEXT NOT NULL UNIQUE COLLATE NOCASE,
        applied_revision TEXT COLLATE NOCASE REFERENCES exo_policy_revisions(id),
        wrapped_content_key BLOB NOT NULL,
        availability_uses INTEGER NOT NULL DEFAULT 0,
        last_availability_use INTEGER,
        created INTEGER NOT NULL
    );
    CREATE INDEX m365_data_applied ON m365_data(applied_revision);
    CREATE TABLE m365_items (
        id INTEGER PRIMARY KEY,
        workload TEXT NOT NULL REFERENCES m365_data(workload),
        received INTEGER NOT NULL,
        size INTEGER NOT NULL,
        sealed BLOB NOT NULL
    );
    CREATE INDEX m365_items_workload ON m365_items(workload, id);
    "#,
];

/// The schema version this library writes and reads: one per migration. A store with a
/// higher `user_version` was written by a newer CustomerKey and is refused.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

/// Offset and length of `user_version` in an SQLite database file's 100-byte header
/// (a big-endian 32-bit integer), and the header's first bytes.
const HEADER_LEN: usize = 100;
const USER_VERSION_OFFSET: usize = 60;
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Refuses a store written by a newer CustomerKey before anything opens it for writing: reads
/// the schema version from the database file's header with a plain read, so a too-new store
/// gets no `-wal` or `-shm` file, no checkpoint and no audit row. A file that is missing,
/// short or not an SQLite database is left to SQLite (a new store, or `StoreCorrupt`). A newer
/// schema still only in the write-ahead log (its writer running, or crashed before a
/// checkpoint) is caught by [`migrate`], inside its transaction.
pub fn refuse_newer_store(db_path: &Path) -> Result<()> {
    let mut header = [0u8; HEADER_LEN];
    let read = std::fs::File::open(db_path).and_then(|mut f| f.read_exact(&mut header));
    if read.is_err() || &header[..SQLITE_MAGIC.len()] != SQLITE_MAGIC {
        return Ok(());
    }
    let version = i32::from_be_bytes(
        header[USER_VERSION_OFFSET..USER_VERSION_OFFSET + 4]
            .try_into()
            .expect("four bytes"),
    );
    check_version(i64::from(version), db_path)
}

/// `Ok` for a schema version this library can migrate from (0 to [`SCHEMA_VERSION`]).
fn check_version(version: i64, db_path: &Path) -> Result<()> {
    match usize::try_from(version) {
        Ok(v) if v <= SCHEMA_VERSION => Ok(()),
        _ => Err(Error::store_version_too_new(
            version,
            SCHEMA_VERSION,
            db_path.display().to_string(),
        )),
    }
}

pub fn migrate(conn: &mut Connection) -> Result<()> {
    let db_path = Path::new(conn.path().unwrap_or("store.db")).to_path_buf();
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if let Err(e) = check_version(version, &db_path) {
            // Nothing was written (the transaction rolls back); closing this connection must not
            // checkpoint the newer release's log into the database file either.
            drop(tx);
            conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
            return Err(e);
        }
        let version = version as usize;
        if version == SCHEMA_VERSION {
            return Ok(());
        }
        tx.execute_batch(MIGRATIONS[version])?;
        tx.pragma_update(None, "user_version", (version + 1) as i64)?;
        tx.commit()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store as schema 1 left it, with two keys: one whose three versions share a seq (which
    /// schema 1 could not prevent) and one that is as it should be.
    fn schema_1_store() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute_batch(
            "INSERT INTO vaults VALUES ('vault-a', 'westeurope', 'Standard', 1, 90, 0, '{}', 'o', 0, NULL, NULL);
             INSERT INTO keys VALUES ('vault-a', 'dup', NULL, NULL), ('vault-a', 'fine', NULL, NULL);",
        )
        .unwrap();
        for (name, version, seq, created) in [
            ("dup", "c", 1, 30),
            ("dup", "a", 1, 10),
            ("dup", "b", 1, 10),
            ("fine", "x", 1, 10),
            ("fine", "y", 2, 20),
        ] {
            conn.execute(
                "INSERT INTO key_versions VALUES ('vault-a', ?1, ?2, ?3, 'RSA', 2048, '[]', 1, NULL, NULL, ?4, ?4, '{}', x'01', x'01', x'01', x'01')",
                rusqlite::params![name, version, seq, created],
            )
            .unwrap();
        }
        conn
    }

    fn seqs(conn: &Connection, name: &str) -> Vec<(String, i64)> {
        let mut stmt = conn
            .prepare("SELECT version, seq FROM key_versions WHERE name = ?1 ORDER BY version")
            .unwrap();
        stmt.query_map([name], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "ck-schema-{name}-{}-{}",
            std::process::id(),
            crate::crypto::hex(&crate::crypto::random_bytes(4).unwrap())
        ));
        crate::store::create_private_dir(&dir).unwrap();
        dir
    }

    fn too_new(e: &Error) -> bool {
        e.code == "StoreVersionTooNew"
            && e.status == crate::CkStatus::Unsupported
            && e.category() == "NotImplemented"
    }

    #[test]
    fn the_header_check_reads_the_schema_version_without_sqlite() {
        let dir = scratch("header");
        let db = dir.join("store.db");
        // Missing, empty and not SQLite at all: left to the rest of Store::open.
        refuse_newer_store(&db).unwrap();
        std::fs::write(&db, b"").unwrap();
        refuse_newer_store(&db).unwrap();
        std::fs::write(&db, [0x5Au8; 4096]).unwrap();
        refuse_newer_store(&db).unwrap();
        std::fs::remove_file(&db).unwrap();
        for (version, refused) in [
            (0, false),
            (SCHEMA_VERSION as i64, false),
            (SCHEMA_VERSION as i64 + 1, true),
            (i64::from(i32::MAX), true),
            (-1, true),
        ] {
            {
                let conn = Connection::open(&db).unwrap();
                conn.execute_batch("CREATE TABLE IF NOT EXISTS t (x)")
                    .unwrap();
                conn.pragma_update(None, "user_version", version).unwrap();
            }
            match refuse_newer_store(&db) {
                Ok(()) => assert!(!refused, "schema {version} was not refused"),
                Err(e) => {
                    assert!(refused && too_new(&e), "schema {version}: {e:?}");
                    assert!(
                        e.message.contains(&format!("schema version {version}"))
                            && e.message.contains(&format!("up to {SCHEMA_VERSION}")),
                        "{e:?}"
                    );
                }
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A newer schema that is still only in the write-ahead log (its writer crashed before a
    /// checkpoint) passes the header check; `migrate` refuses it, and closing does not
    /// checkpoint the log into store.db or remove it.
    #[test]
    fn a_newer_schema_only_in_the_log_is_refused_without_a_checkpoint() {
        let made = scratch("wal-made");
        drop(crate::store::Store::open(&made, false).unwrap());
        let crashed = scratch("wal-crashed");
        {
            let writer = Connection::open(made.join("store.db")).unwrap();
            writer.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
            writer
                .pragma_update(None, "user_version", SCHEMA_VERSION as i64 + 1)
                .unwrap();
            // The files as a crash at this point leaves them.
            for name in ["master.key", "store.db", "store.db-wal", "store.db-shm"] {
                std::fs::copy(made.join(name), crashed.join(name)).unwrap();
            }
        }
        let db = crashed.join("store.db");
        refuse_newer_store(&db).expect("the header still has the old schema");
        let read = |name: &str| std::fs::read(crashed.join(name)).unwrap();
        let (db_before, wal_before) = (read("store.db"), read("store.db-wal"));
        assert!(!wal_before.is_empty());
        let e = match crate::store::Store::open(&crashed, false) {
            Ok(_) => panic!("a store with a newer schema in its log opened"),
            Err(e) => e,
        };
        assert!(too_new(&e), "{e:?}");
        assert_eq!(read("store.db"), db_before, "store.db was changed");
        assert_eq!(read("store.db-wal"), wal_before, "the log was changed");
        let mut names: Vec<String> = std::fs::read_dir(&crashed)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["master.key", "store.db", "store.db-shm", "store.db-wal"]
        );
        std::fs::remove_dir_all(&made).unwrap();
        std::fs::remove_dir_all(&crashed).unwrap();
    }

    #[test]
    fn a_schema_1_store_migrates_to_one_seq_per_key_version() {
        let mut conn = schema_1_store();
        migrate(&mut conn).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        // Renumbered in (seq, created, version) order; the key without duplicates untouched.
        let expected = |v: &[(&str, i64)]| -> Vec<(String, i64)> {
            v.iter().map(|(n, s)| (n.to_string(), *s)).collect()
        };
        assert_eq!(
            seqs(&conn, "dup"),
            expected(&[("a", 1), ("b", 2), ("c", 3)])
        );
        assert_eq!(seqs(&conn, "fine"), expected(&[("x", 1), ("y", 2)]));
        let duplicate = conn.execute(
            "INSERT INTO key_versions VALUES ('vault-a', 'FINE', 'z', 2, 'RSA', 2048, '[]', 1, NULL, NULL, 0, 0, '{}', x'01', x'01', x'01', x'01')",
            [],
        );
        assert!(
            duplicate
                .unwrap_err()
                .to_string()
                .contains("UNIQUE constraint failed"),
            "a second version with seq 2 (the name in another case) is refused"
        );
        // Migrating again is a no-op.
        migrate(&mut conn).unwrap();
        assert_eq!(seqs(&conn, "dup").len(), 3);
    }
}
