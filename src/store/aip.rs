//! SQL for Azure Information Protection: tenant keys, the protected items seen opened, and the
//! AIP rows of `key_references`.

use super::Tx;
use crate::error::Result;
use rusqlite::{params, Row};

pub const MICROSOFT_MANAGED: &str = "Microsoft-managed";
pub const CUSTOMER_MANAGED: &str = "Customer-managed (BYOK)";
pub const ACTIVE: &str = "Active";
pub const ARCHIVED: &str = "Archived";
/// `key_references.referrer_kind` of tenant keys.
pub const REFERRER_KIND: &str = "AIP";

#[derive(Debug, Clone)]
pub struct TenantKeyRow {
    pub key_identifier: String,
    pub key_type: String,
    pub status: String,
    pub creation_time: i64,
    pub friendly_name: String,
    /// `Generated`, `ImportedTpd` or `KeyVault`.
    pub origin: String,
    pub key_vault_key_url: Option<String>,
    pub modulus: Vec<u8>,
    pub exponent: Vec<u8>,
    /// Microsoft-managed keys only: the sealed PKCS#8 and its wrapped data key.
    pub wrapped_data_key: Option<Vec<u8>>,
    pub sealed_private_key: Option<Vec<u8>>,
}

impl TenantKeyRow {
    pub fn is_byok(&self) -> bool {
        self.key_type == CUSTOMER_MANAGED
    }
    pub fn is_active(&self) -> bool {
        self.status == ACTIVE
    }
}

const COLUMNS: &str = "key_identifier, key_type, status, creation_time, friendly_name, origin, key_vault_key_url, modulus, exponent, wrapped_data_key, sealed_private_key";

fn from_row(r: &Row<'_>) -> rusqlite::Result<TenantKeyRow> {
    Ok(TenantKeyRow {
        key_identifier: r.get(0)?,
        key_type: r.get(1)?,
        status: r.get(2)?,
        creation_time: r.get(3)?,
        friendly_name: r.get(4)?,
        origin: r.get(5)?,
        key_vault_key_url: r.get(6)?,
        modulus: r.get(7)?,
        exponent: r.get(8)?,
        wrapped_data_key: r.get(9)?,
        sealed_private_key: r.get(10)?,
    })
}

pub fn insert_key(tx: &Tx<'_>, k: &TenantKeyRow) -> Result<()> {
    tx.run(&format!("INSERT INTO aip_tenant_keys ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"),
        params![
            k.key_identifier, k.key_type, k.status, k.creation_time, k.friendly_name, k.origin,
            k.key_vault_key_url, k.modulus, k.exponent, k.wrapped_data_key, k.sealed_private_key
        ])
}

/// Every tenant key, oldest first.
pub fn list_keys(tx: &Tx<'_>) -> Result<Vec<TenantKeyRow>> {
    tx.rows(
        &format!("SELECT {COLUMNS} FROM aip_tenant_keys ORDER BY creation_time, rowid"),
        [],
        from_row,
    )
}

/// Whether the tenant has any key yet.
pub fn has_keys(tx: &Tx<'_>) -> Result<bool> {
    Ok(
        tx.query_row("SELECT EXISTS (SELECT 1 FROM aip_tenant_keys)", [], |r| {
            r.get(0)
        })?,
    )
}

pub fn get_key(tx: &Tx<'_>, key_identifier: &str) -> Result<Option<TenantKeyRow>> {
    tx.row(
        &format!("SELECT {COLUMNS} FROM aip_tenant_keys WHERE key_identifier = ?1"),
        [key_identifier],
        from_row,
    )
}

pub fn active_key(tx: &Tx<'_>) -> Result<Option<TenantKeyRow>> {
    tx.row(
        &format!("SELECT {COLUMNS} FROM aip_tenant_keys WHERE status = 'Active'"),
        [],
        from_row,
    )
}

pub fn find_by_url(tx: &Tx<'_>, url: &str) -> Result<Option<TenantKeyRow>> {
    tx.row(
        &format!(
            "SELECT {COLUMNS} FROM aip_tenant_keys WHERE key_vault_key_url = ?1 COLLATE NOCASE"
        ),
        [url],
        from_row,
    )
}

/// Makes `key_identifier` the one Active key; the previous Active key becomes Archived.
pub fn activate(tx: &Tx<'_>, key_identifier: &str) -> Result<()> {
    // Archive first: the unique index admits one Active row at any moment.
    tx.execute(
        "UPDATE aip_tenant_keys SET status = 'Archived' WHERE status = 'Active' AND key_identifier <> ?1",
        [key_identifier],
    )?;
    tx.run(
        "UPDATE aip_tenant_keys SET status = 'Active' WHERE key_identifier = ?1",
        [key_identifier],
    )
}

/// Records that a protected item was opened with a key; a second opening of the same item
/// does not count again.
pub fn record_opened(tx: &Tx<'_>, key_identifier: &str, content_id: &str, now: i64) -> Result<()> {
    tx.run("INSERT OR IGNORE INTO aip_opened_items (key_identifier, content_id, first_opened) VALUES (?1, ?2, ?3)",
        params![key_identifier, content_id, now])
}

/// How many distinct protected items were seen opened with each key: (key identifier, count).
pub fn opened_counts(tx: &Tx<'_>) -> Result<Vec<(String, i64)>> {
    tx.rows(
        "SELECT k.key_identifier, COUNT(o.content_id) FROM aip_tenant_keys k
         LEFT JOIN aip_opened_items o ON o.key_identifier = k.key_identifier
         GROUP BY k.key_identifier",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// Drops every AIP row of `key_references`, before they are written again from the tenant
/// keys (a handful of rows; rewriting them keeps their wording in step with each key's status).
pub fn clear_key_references(tx: &Tx<'_>) -> Result<()> {
    tx.run(
        "DELETE FROM key_references WHERE referrer_kind = ?1",
        [REFERRER_KIND],
    )
}
