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
    // aip
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
