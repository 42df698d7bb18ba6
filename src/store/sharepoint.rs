//! SQL for the SharePoint Online data encryption policy, its tenant intermediate keys, sites
//! and files. Every key column holds wrapped bytes only.

use super::Tx;
use crate::error::Result;
use rusqlite::{params, Row};

/// What `key_references.referrer_kind` says for SharePoint's rows.
pub const REFERRER_KIND: &str = "SharePoint";

#[derive(Debug, Clone)]
pub struct PolicyRow {
    pub state: String,
    /// The TIK generation every site is (or is being) wrapped under.
    pub generation: i64,
    pub rolling_key_type: Option<String>,
    pub job_id: Option<i64>,
    pub updated: i64,
}

#[derive(Debug, Clone)]
pub struct TikRow {
    pub generation: i64,
    pub primary_key_id: String,
    pub primary_wrapped: Vec<u8>,
    pub secondary_key_id: String,
    pub secondary_wrapped: Vec<u8>,
    pub availability_wrapped: Vec<u8>,
    pub created: i64,
}

#[derive(Debug, Clone)]
pub struct SiteRow {
    pub id: i64,
    pub url: String,
    pub title: String,
    pub owner: Option<String>,
    pub created: i64,
    /// None: the site key is wrapped under the Microsoft-managed key.
    pub generation: Option<i64>,
    pub wrapped_site_key: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct FileRow {
    pub site_id: i64,
    pub name: String,
    pub length: i64,
    pub wrapped_file_key: Vec<u8>,
    pub sealed_content: Vec<u8>,
    pub created: i64,
}

/// A site key waiting to be rewrapped: its site, the generation it is under, its wrapped bytes.
#[derive(Debug, Clone)]
pub struct PendingSite {
    pub id: i64,
    pub generation: Option<i64>,
    pub wrapped_site_key: Vec<u8>,
}

pub fn tenant_name(tx: &Tx<'_>) -> Result<Option<String>> {
    tx.row("SELECT name FROM spo_tenant WHERE id = 1", [], |r| r.get(0))
}

pub fn set_tenant_name(tx: &Tx<'_>, name: &str) -> Result<()> {
    tx.run("INSERT INTO spo_tenant (id, name) VALUES (1, ?1)", [name])
}

pub fn get_policy(tx: &Tx<'_>) -> Result<Option<PolicyRow>> {
    tx.row(
        "SELECT state, generation, rolling_key_type, job_id, updated FROM spo_policy WHERE id = 1",
        [],
        |r| {
            Ok(PolicyRow {
                state: r.get(0)?,
                generation: r.get(1)?,
                rolling_key_type: r.get(2)?,
                job_id: r.get(3)?,
                updated: r.get(4)?,
            })
        },
    )
}

pub fn put_policy(tx: &Tx<'_>, p: &PolicyRow) -> Result<()> {
    tx.run("INSERT OR REPLACE INTO spo_policy (id, state, generation, rolling_key_type, job_id, updated)
         VALUES (1, ?1, ?2, ?3, ?4, ?5)",
        params![p.state, p.generation, p.rolling_key_type, p.job_id, p.updated])
}

const TIK_COLUMNS: &str = "generation, primary_key_id, primary_wrapped, secondary_key_id, secondary_wrapped, availability_wrapped, created";

fn tik_from_row(r: &Row<'_>) -> rusqlite::Result<TikRow> {
    Ok(TikRow {
        generation: r.get(0)?,
        primary_key_id: r.get(1)?,
        primary_wrapped: r.get(2)?,
        secondary_key_id: r.get(3)?,
        secondary_wrapped: r.get(4)?,
        availability_wrapped: r.get(5)?,
        created: r.get(6)?,
    })
}

pub fn insert_tik(tx: &Tx<'_>, t: &TikRow) -> Result<()> {
    tx.run(
        &format!("INSERT INTO spo_tiks ({TIK_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
        params![
            t.generation,
            t.primary_key_id,
            t.primary_wrapped,
            t.secondary_key_id,
            t.secondary_wrapped,
            t.availability_wrapped,
            t.created
        ],
    )
}

pub fn get_tik(tx: &Tx<'_>, generation: i64) -> Result<Option<TikRow>> {
    tx.row(
        &format!("SELECT {TIK_COLUMNS} FROM spo_tiks WHERE generation = ?1"),
        [generation],
        tik_from_row,
    )
}

/// Every TIK generation, oldest first.
pub fn list_tiks(tx: &Tx<'_>) -> Result<Vec<TikRow>> {
    tx.rows(
        &format!("SELECT {TIK_COLUMNS} FROM spo_tiks ORDER BY generation"),
        [],
        tik_from_row,
    )
}

pub fn next_tik_generation(tx: &Tx<'_>) -> Result<i64> {
    Ok(tx.query_row(
        "SELECT COALESCE(MAX(generation), 0) + 1 FROM spo_tiks",
        [],
        |r| r.get(0),
    )?)
}

/// Deletes the TIK generations no site is wrapped under, except `keep` (the policy's own).
pub fn delete_unused_tiks(tx: &Tx<'_>, keep: i64) -> Result<usize> {
    Ok(tx.execute(
        "DELETE FROM spo_tiks WHERE generation <> ?1
           AND NOT EXISTS (SELECT 1 FROM spo_sites WHERE spo_sites.generation = spo_tiks.generation)",
        [keep],
    )?)
}

const SITE_COLUMNS: &str = "id, url, title, owner, created, generation, wrapped_site_key";

fn site_from_row(r: &Row<'_>) -> rusqlite::Result<SiteRow> {
    Ok(SiteRow {
        id: r.get(0)?,
        url: r.get(1)?,
        title: r.get(2)?,
        owner: r.get(3)?,
        created: r.get(4)?,
        generation: r.get(5)?,
        wrapped_site_key: r.get(6)?,
    })
}

/// Inserts a site; returns its id. `site.id` is ignored.
pub fn insert_site(tx: &Tx<'_>, site: &SiteRow) -> Result<i64> {
    tx.prepare_cached(
        "INSERT INTO spo_sites (url, title, owner, created, generation, wrapped_site_key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        site.url,
        site.title,
        site.owner,
        site.created,
        site.generation,
        site.wrapped_site_key
    ])?;
    Ok(tx.last_insert_rowid())
}

/// A site by URL (case-insensitive).
pub fn get_site(tx: &Tx<'_>, url: &str) -> Result<Option<SiteRow>> {
    tx.row(
        &format!("SELECT {SITE_COLUMNS} FROM spo_sites WHERE url = ?1"),
        [url],
        site_from_row,
    )
}

/// Every site, in creation order.
pub fn list_sites(tx: &Tx<'_>) -> Result<Vec<SiteRow>> {
    tx.rows(
        &format!("SELECT {SITE_COLUMNS} FROM spo_sites ORDER BY id"),
        [],
        site_from_row,
    )
}

/// Up to `limit` sites after `after_id` whose key is not yet under `target`, in id order.
pub fn sites_to_rewrap(
    tx: &Tx<'_>,
    after_id: i64,
    target: i64,
    limit: u64,
) -> Result<Vec<PendingSite>> {
    tx.rows(
        "SELECT id, generation, wrapped_site_key FROM spo_sites
         WHERE id > ?1 AND generation IS NOT ?2 ORDER BY id LIMIT ?3",
        params![after_id, target, i64::try_from(limit).unwrap_or(i64::MAX)],
        |r| {
            Ok(PendingSite {
                id: r.get(0)?,
                generation: r.get(1)?,
                wrapped_site_key: r.get(2)?,
            })
        },
    )
}

/// Moves a site key from generation `from` to `to`; false (nothing written) when the site is
/// no longer under `from`.
pub fn rewrap_site(
    tx: &Tx<'_>,
    id: i64,
    from: Option<i64>,
    to: i64,
    wrapped_site_key: &[u8],
) -> Result<bool> {
    Ok(tx
        .prepare_cached(
            "UPDATE spo_sites SET generation = ?3, wrapped_site_key = ?4
             WHERE id = ?1 AND generation IS ?2",
        )?
        .execute(params![id, from, to, wrapped_site_key])?
        > 0)
}

pub fn count_sites(tx: &Tx<'_>) -> Result<u64> {
    let n: i64 = tx.query_row("SELECT COUNT(*) FROM spo_sites", [], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Sites wrapped under each TIK generation (None: the Microsoft-managed key), by generation.
pub fn sites_by_generation(tx: &Tx<'_>) -> Result<Vec<(Option<i64>, u64)>> {
    tx.rows(
        "SELECT generation, COUNT(*) FROM spo_sites GROUP BY generation ORDER BY generation",
        [],
        |r| {
            let n: i64 = r.get(1)?;
            Ok((r.get(0)?, u64::try_from(n).unwrap_or(0)))
        },
    )
}

const FILE_COLUMNS: &str = "site_id, name, length, wrapped_file_key, sealed_content, created";

fn file_from_row(r: &Row<'_>) -> rusqlite::Result<FileRow> {
    Ok(FileRow {
        site_id: r.get(0)?,
        name: r.get(1)?,
        length: r.get(2)?,
        wrapped_file_key: r.get(3)?,
        sealed_content: r.get(4)?,
        created: r.get(5)?,
    })
}

/// Inserts a file, or replaces the file of that name in the site.
pub fn put_file(tx: &Tx<'_>, f: &FileRow) -> Result<()> {
    tx.run(
        &format!(
            "INSERT OR REPLACE INTO spo_files ({FILE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
        ),
        params![
            f.site_id,
            f.name,
            f.length,
            f.wrapped_file_key,
            f.sealed_content,
            f.created
        ],
    )
}

/// The files of a site (one when `name` is given), by name.
pub fn list_files(tx: &Tx<'_>, site_id: i64, name: Option<&str>) -> Result<Vec<FileRow>> {
    let sql = format!(
        "SELECT {FILE_COLUMNS} FROM spo_files WHERE site_id = ?1 AND (?2 IS NULL OR name = ?2) ORDER BY name"
    );
    tx.rows(&sql, params![site_id, name], file_from_row)
}

/// Replaces SharePoint's rows of `key_references` with one per key version given, so deleting,
/// purging or disabling those versions is refused without -Force.
pub fn set_key_references(
    tx: &Tx<'_>,
    referrer_name: &str,
    versions: &[(String, String, String)],
) -> Result<()> {
    tx.execute(
        "DELETE FROM key_references WHERE referrer_kind = ?1",
        [REFERRER_KIND],
    )?;
    for (vault, name, version) in versions {
        super::vaults::add_key_reference(
            tx,
            vault,
            name,
            Some(version),
            REFERRER_KIND,
            referrer_name,
        )?;
    }
    Ok(())
}
