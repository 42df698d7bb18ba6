//! SQL for the multi-workload data encryption policy: the tenant's one assignment, and the
//! tenant data it protects (one content key per kind of data, and its items). The policies
//! and revisions themselves are Exchange's tables (`store::exchange`, `workload` column).

use super::exchange::{ItemRow, PolicyRow};
use super::Tx;
use crate::error::Result;
use rusqlite::{params, OptionalExtension, Row};

/// One kind of tenant data: its content key, sealed under `applied_revision`'s policy key or,
/// when None, the Microsoft-managed key.
#[derive(Debug, Clone)]
pub struct DataRow {
    pub workload: String,
    pub guid: String,
    pub applied_revision: Option<String>,
    pub wrapped_content_key: Vec<u8>,
    pub availability_uses: i64,
    pub last_availability_use: Option<i64>,
    pub created: i64,
}

/// The assigned policy and when it was assigned.
pub fn assignment(tx: &Tx<'_>) -> Result<Option<(PolicyRow, i64)>> {
    let found: Option<(String, i64)> = tx
        .prepare_cached("SELECT policy, assigned FROM m365_assignment WHERE id = 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match found {
        Some((guid, assigned)) => {
            Ok(super::exchange::get_policy(tx, &guid)?.map(|p| (p, assigned)))
        }
        None => Ok(None),
    }
}

pub fn assign(tx: &Tx<'_>, policy: &str, now: i64) -> Result<()> {
    tx.run(
        "INSERT INTO m365_assignment (id, policy, assigned) VALUES (1, ?1, ?2)
         ON CONFLICT (id) DO UPDATE SET policy = ?1, assigned = ?2",
        params![policy, now],
    )
}

const DATA_COLUMNS: &str = "workload, guid, applied_revision, wrapped_content_key, availability_uses, last_availability_use, created";

fn data_from_row(r: &Row<'_>) -> rusqlite::Result<DataRow> {
    Ok(DataRow {
        workload: r.get(0)?,
        guid: r.get(1)?,
        applied_revision: r.get(2)?,
        wrapped_content_key: r.get(3)?,
        availability_uses: r.get(4)?,
        last_availability_use: r.get(5)?,
        created: r.get(6)?,
    })
}

pub fn get_data(tx: &Tx<'_>, workload: &str) -> Result<Option<DataRow>> {
    tx.row(
        &format!("SELECT {DATA_COLUMNS} FROM m365_data WHERE workload = ?1"),
        [workload],
        data_from_row,
    )
}

pub fn list_data(tx: &Tx<'_>) -> Result<Vec<DataRow>> {
    tx.rows(
        &format!("SELECT {DATA_COLUMNS} FROM m365_data ORDER BY workload"),
        [],
        data_from_row,
    )
}

pub fn insert_data(tx: &Tx<'_>, d: &DataRow) -> Result<()> {
    tx.run(
        &format!("INSERT INTO m365_data ({DATA_COLUMNS}) VALUES (?1, ?2, ?3, ?4, 0, NULL, ?5)"),
        params![
            d.workload,
            d.guid,
            d.applied_revision,
            d.wrapped_content_key,
            d.created
        ],
    )
}

/// Moves a kind's content key from `from` to `to`, only if it is still under `from`. True if
/// it moved.
pub fn rewrap_data_key(
    tx: &Tx<'_>,
    workload: &str,
    from: Option<&str>,
    to: &str,
    wrapped: &[u8],
) -> Result<bool> {
    let n = tx
        .prepare_cached(
            "UPDATE m365_data SET applied_revision = ?3, wrapped_content_key = ?4
             WHERE workload = ?1 AND applied_revision IS ?2",
        )?
        .execute(params![workload, from, to, wrapped])?;
    Ok(n == 1)
}

pub fn record_availability_use(tx: &Tx<'_>, workload: &str, now: i64) -> Result<()> {
    tx.run("UPDATE m365_data SET availability_uses = availability_uses + 1, last_availability_use = ?2 WHERE workload = ?1",
        params![workload, now])
}

/// Of the tenant data kinds: how many, and how many are not under `revision`.
pub fn data_progress(tx: &Tx<'_>, revision: &str) -> Result<(i64, i64)> {
    Ok(tx
        .prepare_cached(
            "SELECT COUNT(*), COALESCE(SUM(applied_revision IS NOT ?1), 0) FROM m365_data",
        )?
        .query_row([revision], |r| Ok((r.get(0)?, r.get(1)?)))?)
}

pub fn insert_item(
    tx: &Tx<'_>,
    workload: &str,
    received: i64,
    size: i64,
    sealed: &[u8],
) -> Result<i64> {
    tx.prepare_cached(
        "INSERT INTO m365_items (workload, received, size, sealed) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![workload, received, size, sealed])?;
    Ok(tx.last_insert_rowid())
}

/// Up to `limit` items of `workload` after item `after`, oldest first.
pub fn list_items(tx: &Tx<'_>, workload: &str, after: i64, limit: i64) -> Result<Vec<ItemRow>> {
    tx.rows(
        "SELECT id, received, size, sealed FROM m365_items WHERE workload = ?1 AND id > ?2
         ORDER BY id LIMIT ?3",
        params![workload, after, limit],
        super::exchange::item_from_row,
    )
}

/// Items and bytes of `workload`.
pub fn item_totals(tx: &Tx<'_>, workload: &str) -> Result<(i64, i64)> {
    Ok(tx
        .prepare_cached(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM m365_items WHERE workload = ?1",
        )?
        .query_row([workload], |r| Ok((r.get(0)?, r.get(1)?)))?)
}
