//! The schema, versioned with `PRAGMA user_version`; each migration runs in one transaction.

use crate::error::{Error, Result};
use rusqlite::{Connection, TransactionBehavior};

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
    // directory
    // 4: service principals of `customer-key serve`. secret_hash is PBKDF2-HMAC-SHA256 of the
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
];

pub fn migrate(conn: &mut Connection) -> Result<()> {
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let version = usize::try_from(version).unwrap_or(usize::MAX);
        if version > MIGRATIONS.len() {
            return Err(Error::io(
                format!("the store was written by a newer CustomerKey (schema {version}); upgrade CustomerKey"),
                "store.db",
            ));
        }
        if version == MIGRATIONS.len() {
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
