//! SQL for Exchange Online: data encryption policies, their revisions, mailboxes, items and
//! move requests. Key material here is always wrapped or sealed; see migration 5.

use super::Tx;
use crate::error::Result;
use rusqlite::{params, Row};

/// The referrer kind Exchange writes in `key_references`.
pub const REFERRER_KIND: &str = "Exchange";
/// The referrer kind of a multi-workload policy's revisions in `key_references`.
pub const MULTI_WORKLOAD_REFERRER_KIND: &str = "MultiWorkload";
/// Whose policies a row of `exo_policies` is: `workload` (migration 9).
pub const EXCHANGE_WORKLOAD: &str = "Exchange";
pub const MULTI_WORKLOAD: &str = "MultiWorkload";
/// Both kinds of policy revision rows in `key_references` (their `detail` is a revision id,
/// unique across both).
const POLICY_REFERRERS: &str = "referrer_kind IN ('Exchange', 'MultiWorkload')";

#[derive(Debug, Clone)]
pub struct PolicyRow {
    pub guid: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    pub azure_key_ids: Vec<String>,
    pub current_revision: String,
    pub sealed_availability_key: Option<Vec<u8>>,
    pub purge_requested: bool,
    pub purge_reason: Option<String>,
    pub purge_contact: Option<String>,
    pub purged: bool,
    pub created: i64,
    /// [`EXCHANGE_WORKLOAD`] (a mailbox DEP) or [`MULTI_WORKLOAD`].
    pub workload: String,
}

#[derive(Debug, Clone)]
pub struct RevisionRow {
    pub id: String,
    pub policy: String,
    pub seq: i64,
    pub created: i64,
    pub policy_key_under_availability: Option<Vec<u8>>,
}

/// One customer key's wrap of a revision's policy key.
#[derive(Debug, Clone)]
pub struct WrapRow {
    pub position: i64,
    /// The versioned key id that wrapped it.
    pub key_id: String,
    pub wrapped: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct MailboxRow {
    pub seq: i64,
    pub guid: String,
    pub name: String,
    pub alias: String,
    pub smtp: String,
    pub kind: String,
    pub assigned_policy: Option<String>,
    pub applied_revision: Option<String>,
    pub wrapped_content_key: Option<Vec<u8>>,
    pub availability_uses: i64,
    pub last_availability_use: Option<i64>,
    pub created: i64,
}

#[derive(Debug, Clone)]
pub struct ItemRow {
    pub id: i64,
    pub received: i64,
    pub size: i64,
    pub sealed: Vec<u8>,
}

const POLICY_COLUMNS: &str = "guid, name, description, enabled, azure_key_ids, current_revision, sealed_availability_key, purge_requested, purge_reason, purge_contact, purged, created, workload";

fn policy_from_row(r: &Row<'_>) -> rusqlite::Result<PolicyRow> {
    let ids: String = r.get(4)?;
    Ok(PolicyRow {
        guid: r.get(0)?,
        name: r.get(1)?,
        description: r.get(2)?,
        enabled: r.get(3)?,
        azure_key_ids: serde_json::from_str(&ids).unwrap_or_default(),
        current_revision: r.get(5)?,
        sealed_availability_key: r.get(6)?,
        purge_requested: r.get(7)?,
        purge_reason: r.get(8)?,
        purge_contact: r.get(9)?,
        purged: r.get(10)?,
        created: r.get(11)?,
        workload: r.get(12)?,
    })
}

pub fn insert_policy(tx: &Tx<'_>, p: &PolicyRow) -> Result<()> {
    let sql = format!("INSERT INTO exo_policies ({POLICY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
    write_policy(tx, &sql, p, 13)
}

/// Everything but when and for which workload the policy was made, which never change.
pub fn update_policy(tx: &Tx<'_>, p: &PolicyRow) -> Result<()> {
    let sql =
        "UPDATE exo_policies SET name = ?2, description = ?3, enabled = ?4, azure_key_ids = ?5,
               current_revision = ?6, sealed_availability_key = ?7, purge_requested = ?8,
               purge_reason = ?9, purge_contact = ?10, purged = ?11 WHERE guid = ?1";
    write_policy(tx, sql, p, 11)
}

/// Runs `sql` with the first `count` of the policy's values, in `POLICY_COLUMNS`' order.
fn write_policy(tx: &Tx<'_>, sql: &str, p: &PolicyRow, count: usize) -> Result<()> {
    let key_ids = serde_json::to_string(&p.azure_key_ids).unwrap_or_else(|_| "[]".into());
    let values: [&dyn rusqlite::ToSql; 13] = [
        &p.guid,
        &p.name,
        &p.description,
        &p.enabled,
        &key_ids,
        &p.current_revision,
        &p.sealed_availability_key,
        &p.purge_requested,
        &p.purge_reason,
        &p.purge_contact,
        &p.purged,
        &p.created,
        &p.workload,
    ];
    tx.run(sql, &values[..count])
}

pub fn list_policies(tx: &Tx<'_>) -> Result<Vec<PolicyRow>> {
    tx.rows(
        &format!("SELECT {POLICY_COLUMNS} FROM exo_policies ORDER BY rowid"),
        [],
        policy_from_row,
    )
}

pub fn get_policy(tx: &Tx<'_>, guid: &str) -> Result<Option<PolicyRow>> {
    tx.row(
        &format!("SELECT {POLICY_COLUMNS} FROM exo_policies WHERE guid = ?1"),
        [guid],
        policy_from_row,
    )
}

/// The policy of `workload` that `identity` names: its name, Guid or one of its revision ids.
pub fn find_policy(tx: &Tx<'_>, workload: &str, identity: &str) -> Result<Option<PolicyRow>> {
    let sql = format!(
        "SELECT {POLICY_COLUMNS} FROM exo_policies WHERE workload = ?2 AND (name = ?1 OR guid = ?1
         OR guid = (SELECT policy FROM exo_policy_revisions WHERE id = ?1))"
    );
    tx.row(&sql, [identity, workload], policy_from_row)
}

pub fn list_policies_of(tx: &Tx<'_>, workload: &str) -> Result<Vec<PolicyRow>> {
    tx.rows(
        &format!("SELECT {POLICY_COLUMNS} FROM exo_policies WHERE workload = ?1 ORDER BY rowid"),
        [workload],
        policy_from_row,
    )
}

pub fn count_policies(tx: &Tx<'_>, workload: &str) -> Result<i64> {
    Ok(tx.query_row(
        "SELECT COUNT(*) FROM exo_policies WHERE workload = ?1",
        [workload],
        |r| r.get(0),
    )?)
}

pub fn policy_name_taken(tx: &Tx<'_>, name: &str, except_guid: &str) -> Result<bool> {
    Ok(tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM exo_policies WHERE name = ?1 AND guid <> ?2)",
        params![name, except_guid],
        |r| r.get(0),
    )?)
}

pub fn insert_revision(tx: &Tx<'_>, r: &RevisionRow, wraps: &[WrapRow]) -> Result<()> {
    tx.execute(
        "INSERT INTO exo_policy_revisions (id, policy, seq, created, policy_key_under_availability)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            r.id,
            r.policy,
            r.seq,
            r.created,
            r.policy_key_under_availability
        ],
    )?;
    for w in wraps {
        tx.execute(
            "INSERT INTO exo_revision_wraps (revision, position, key_id, wrapped) VALUES (?1, ?2, ?3, ?4)",
            params![r.id, w.position, w.key_id, w.wrapped],
        )?;
    }
    Ok(())
}

pub fn next_revision_seq(tx: &Tx<'_>, policy: &str) -> Result<i64> {
    Ok(tx.query_row(
        "SELECT COALESCE(MAX(seq), 0) + 1 FROM exo_policy_revisions WHERE policy = ?1",
        [policy],
        |r| r.get(0),
    )?)
}

fn revision_from_row(r: &Row<'_>) -> rusqlite::Result<RevisionRow> {
    Ok(RevisionRow {
        id: r.get(0)?,
        policy: r.get(1)?,
        seq: r.get(2)?,
        created: r.get(3)?,
        policy_key_under_availability: r.get(4)?,
    })
}

pub fn get_revision(tx: &Tx<'_>, id: &str) -> Result<Option<RevisionRow>> {
    tx.row("SELECT id, policy, seq, created, policy_key_under_availability FROM exo_policy_revisions WHERE id = ?1", [id], revision_from_row)
}

pub fn list_revisions(tx: &Tx<'_>, policy: &str) -> Result<Vec<RevisionRow>> {
    tx.rows("SELECT id, policy, seq, created, policy_key_under_availability FROM exo_policy_revisions WHERE policy = ?1 ORDER BY seq", [policy], revision_from_row)
}

pub fn revision_wraps(tx: &Tx<'_>, revision: &str) -> Result<Vec<WrapRow>> {
    tx.rows("SELECT position, key_id, wrapped FROM exo_revision_wraps WHERE revision = ?1 ORDER BY position", [revision], |r| {
            Ok(WrapRow {
                position: r.get(0)?,
                key_id: r.get(1)?,
                wrapped: r.get(2)?,
            })
        })
}

/// Destroys a policy's key material and its mailboxes' content for good (the purge).
pub fn destroy_policy_material(tx: &Tx<'_>, policy: &str) -> Result<()> {
    tx.execute(
        "DELETE FROM exo_revision_wraps WHERE revision IN (SELECT id FROM exo_policy_revisions WHERE policy = ?1)",
        [policy],
    )?;
    tx.execute(
        "UPDATE exo_policy_revisions SET policy_key_under_availability = NULL WHERE policy = ?1",
        [policy],
    )?;
    let mailboxes = "SELECT seq FROM exo_mailboxes WHERE assigned_policy = ?1 OR applied_revision IN (SELECT id FROM exo_policy_revisions WHERE policy = ?1)";
    tx.execute(
        &format!("DELETE FROM exo_items WHERE mailbox IN ({mailboxes})"),
        [policy],
    )?;
    tx.execute(
        &format!("UPDATE exo_mailboxes SET wrapped_content_key = NULL WHERE seq IN ({mailboxes})"),
        [policy],
    )?;
    tx.run(&format!("DELETE FROM key_references WHERE {POLICY_REFERRERS} AND detail IN (SELECT id FROM exo_policy_revisions WHERE policy = ?1)"),
        [policy])
}

const MAILBOX_COLUMNS: &str = "seq, guid, name, alias, smtp, kind, assigned_policy, applied_revision, wrapped_content_key, availability_uses, last_availability_use, created";

fn mailbox_from_row(r: &Row<'_>) -> rusqlite::Result<MailboxRow> {
    Ok(MailboxRow {
        seq: r.get(0)?,
        guid: r.get(1)?,
        name: r.get(2)?,
        alias: r.get(3)?,
        smtp: r.get(4)?,
        kind: r.get(5)?,
        assigned_policy: r.get(6)?,
        applied_revision: r.get(7)?,
        wrapped_content_key: r.get(8)?,
        availability_uses: r.get(9)?,
        last_availability_use: r.get(10)?,
        created: r.get(11)?,
    })
}

/// Inserts a mailbox (its `seq` is assigned) and returns its seq.
pub fn insert_mailbox(tx: &Tx<'_>, m: &MailboxRow) -> Result<i64> {
    tx.prepare_cached(
        "INSERT INTO exo_mailboxes (guid, name, alias, smtp, kind, assigned_policy, applied_revision, wrapped_content_key, availability_uses, last_availability_use, created)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, NULL, ?9)",
    )?
    .execute(params![
        m.guid,
        m.name,
        m.alias,
        m.smtp,
        m.kind,
        m.assigned_policy,
        m.applied_revision,
        m.wrapped_content_key,
        m.created
    ])?;
    Ok(tx.last_insert_rowid())
}

/// Mailboxes whose name, alias, SMTP address or GUID is `identity` (more than one: ambiguous).
pub fn find_mailboxes(tx: &Tx<'_>, identity: &str) -> Result<Vec<MailboxRow>> {
    let sql = format!(
        "SELECT {MAILBOX_COLUMNS} FROM exo_mailboxes WHERE guid = ?1 OR smtp = ?1 OR alias = ?1 OR name = ?1 ORDER BY seq LIMIT 2"
    );
    tx.rows(&sql, [identity], mailbox_from_row)
}

pub fn get_mailbox(tx: &Tx<'_>, seq: i64) -> Result<Option<MailboxRow>> {
    tx.row(
        &format!("SELECT {MAILBOX_COLUMNS} FROM exo_mailboxes WHERE seq = ?1"),
        [seq],
        mailbox_from_row,
    )
}

pub fn list_mailboxes(tx: &Tx<'_>) -> Result<Vec<MailboxRow>> {
    tx.rows(
        &format!("SELECT {MAILBOX_COLUMNS} FROM exo_mailboxes ORDER BY seq"),
        [],
        mailbox_from_row,
    )
}

/// The mailboxes after position `after` in creation order, at most `limit` of them: one page
/// of the listing.
pub fn list_mailboxes_after(tx: &Tx<'_>, after: i64, limit: usize) -> Result<Vec<MailboxRow>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    tx.rows(
        &format!(
            "SELECT {MAILBOX_COLUMNS} FROM exo_mailboxes WHERE seq > ?1 ORDER BY seq LIMIT ?2"
        ),
        params![after, limit],
        mailbox_from_row,
    )
}

pub fn identity_taken(tx: &Tx<'_>, alias: &str, smtp: &str) -> Result<bool> {
    Ok(tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM exo_mailboxes WHERE alias = ?1 OR smtp = ?2)",
        params![alias, smtp],
        |r| r.get(0),
    )?)
}

pub fn set_assigned_policy(tx: &Tx<'_>, seq: i64, policy: Option<&str>) -> Result<()> {
    tx.run(
        "UPDATE exo_mailboxes SET assigned_policy = ?2 WHERE seq = ?1",
        params![seq, policy],
    )
}

pub fn set_kind(tx: &Tx<'_>, seq: i64, kind: &str) -> Result<()> {
    tx.run(
        "UPDATE exo_mailboxes SET kind = ?2 WHERE seq = ?1",
        params![seq, kind],
    )
}

/// Moves a mailbox's content key from `from` to `to`, only if it is still under `from`: a batch
/// computed against a state that changed since must not wrap a key twice. True if it moved.
pub fn rewrap_content_key(
    tx: &Tx<'_>,
    seq: i64,
    from: Option<&str>,
    to: Option<&str>,
    wrapped: &[u8],
) -> Result<bool> {
    let n = tx
        .prepare_cached(
            "UPDATE exo_mailboxes SET applied_revision = ?3, wrapped_content_key = ?4
             WHERE seq = ?1 AND applied_revision IS ?2",
        )?
        .execute(params![seq, from, to, wrapped])?;
    Ok(n == 1)
}

pub fn record_availability_use(tx: &Tx<'_>, seq: i64, now: i64) -> Result<()> {
    tx.run("UPDATE exo_mailboxes SET availability_uses = availability_uses + 1, last_availability_use = ?2 WHERE seq = ?1",
        params![seq, now])
}

/// A user mailbox (with content) of `exo_mailboxes m` whose content key is not under the
/// revision its assignment asks for: the apply job's work.
const NEEDS_WORK: &str = "kind = 'UserMailbox' AND wrapped_content_key IS NOT NULL
       AND applied_revision IS NOT (CASE WHEN m.assigned_policy IS NULL THEN (SELECT p.current_revision
                                      FROM m365_assignment a JOIN exo_policies p ON p.guid = a.policy
                                      WHERE p.purged = 0)
                                    ELSE (SELECT current_revision FROM exo_policies p
                                      WHERE p.guid = m.assigned_policy AND p.purged = 0) END)";

/// Which mailboxes the apply job looks at.
#[derive(Debug, Clone, Copy)]
pub enum MailboxSelection<'a> {
    /// The one mailbox with this seq.
    One(i64),
    /// The mailboxes assigned this (mailbox) policy.
    AssignedTo(&'a str),
    /// The mailboxes with no mailbox policy: the tenant's multi-workload policy covers them.
    WithoutPolicy,
    All,
}

/// User mailboxes after `after` (by seq) whose content key is not under the revision their
/// assignment asks for (the current revision of the assigned policy; with none, of the
/// tenant's multi-workload policy; with neither, the Microsoft-managed key), of `selection`.
pub fn mailboxes_needing_work(
    tx: &Tx<'_>,
    after: i64,
    selection: MailboxSelection<'_>,
    limit: i64,
) -> Result<Vec<MailboxRow>> {
    // One statement per selection, each with a plain equality, so SQLite walks the index
    // (seq for one mailbox, (assigned_policy, seq) for a policy) instead of the whole table.
    let select = format!("SELECT {MAILBOX_COLUMNS} FROM exo_mailboxes m WHERE");
    match selection {
        MailboxSelection::One(seq) => tx.rows(
            &format!("{select} seq = ?1 AND seq > ?2 AND {NEEDS_WORK}"),
            params![seq, after],
            mailbox_from_row,
        ),
        MailboxSelection::AssignedTo(policy) => tx.rows(
            &format!("{select} assigned_policy = ?1 AND seq > ?2 AND {NEEDS_WORK} ORDER BY seq LIMIT ?3"),
            params![policy, after, limit],
            mailbox_from_row,
        ),
        MailboxSelection::WithoutPolicy => tx.rows(
            &format!("{select} assigned_policy IS NULL AND seq > ?1 AND {NEEDS_WORK} ORDER BY seq LIMIT ?2"),
            params![after, limit],
            mailbox_from_row,
        ),
        MailboxSelection::All => tx.rows(
            &format!("{select} seq > ?1 AND {NEEDS_WORK} ORDER BY seq LIMIT ?2"),
            params![after, limit],
            mailbox_from_row,
        ),
    }
}

/// Of the user mailboxes (with content) assigned to `policy`: how many, and how many of them
/// the apply job has still to move under the policy's current revision.
pub fn rewrap_progress(tx: &Tx<'_>, policy: &str) -> Result<(i64, i64)> {
    Ok(tx
        .prepare_cached(&format!(
            "SELECT COUNT(*), COALESCE(SUM({NEEDS_WORK}), 0) FROM exo_mailboxes m
             WHERE assigned_policy = ?1 AND kind = 'UserMailbox' AND wrapped_content_key IS NOT NULL"
        ))?
        .query_row([policy], |r| Ok((r.get(0)?, r.get(1)?)))?)
}

/// The same for the user mailboxes without a mailbox policy, which the tenant's
/// multi-workload policy covers.
pub fn rewrap_progress_without_policy(tx: &Tx<'_>) -> Result<(i64, i64)> {
    Ok(tx
        .prepare_cached(&format!(
            "SELECT COUNT(*), COALESCE(SUM({NEEDS_WORK}), 0) FROM exo_mailboxes m
             WHERE assigned_policy IS NULL AND kind = 'UserMailbox' AND wrapped_content_key IS NOT NULL"
        ))?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?)
}

pub fn count_assigned(tx: &Tx<'_>, policy: &str) -> Result<i64> {
    Ok(tx
        .prepare_cached("SELECT COUNT(*) FROM exo_mailboxes WHERE assigned_policy = ?1")?
        .query_row([policy], |r| r.get(0))?)
}

/// How many mailboxes and tenant data kinds have their content key under `revision`.
pub fn count_applied(tx: &Tx<'_>, revision: &str) -> Result<i64> {
    Ok(tx
        .prepare_cached(
            "SELECT (SELECT COUNT(*) FROM exo_mailboxes WHERE applied_revision = ?1)
                  + (SELECT COUNT(*) FROM m365_data WHERE applied_revision = ?1)",
        )?
        .query_row([revision], |r| r.get(0))?)
}

pub fn insert_item(
    tx: &Tx<'_>,
    mailbox: i64,
    received: i64,
    size: i64,
    sealed: &[u8],
) -> Result<i64> {
    tx.prepare_cached(
        "INSERT INTO exo_items (mailbox, received, size, sealed) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![mailbox, received, size, sealed])?;
    Ok(tx.last_insert_rowid())
}

/// An item of a mailbox or of the tenant's data: `SELECT id, received, size, sealed`.
pub(super) fn item_from_row(r: &Row<'_>) -> rusqlite::Result<ItemRow> {
    Ok(ItemRow {
        id: r.get(0)?,
        received: r.get(1)?,
        size: r.get(2)?,
        sealed: r.get(3)?,
    })
}

pub fn list_items(tx: &Tx<'_>, mailbox: i64) -> Result<Vec<ItemRow>> {
    tx.rows(
        "SELECT id, received, size, sealed FROM exo_items WHERE mailbox = ?1 ORDER BY id",
        [mailbox],
        item_from_row,
    )
}

pub fn item_ids(tx: &Tx<'_>, mailbox: i64) -> Result<Vec<i64>> {
    tx.rows(
        "SELECT id FROM exo_items WHERE mailbox = ?1 ORDER BY id",
        [mailbox],
        |r| r.get(0),
    )
}

pub fn update_item(tx: &Tx<'_>, id: i64, sealed: &[u8]) -> Result<()> {
    tx.run(
        "UPDATE exo_items SET sealed = ?2 WHERE id = ?1",
        params![id, sealed],
    )
}

/// (item count, total bytes) of a mailbox.
pub fn item_totals(tx: &Tx<'_>, mailbox: i64) -> Result<(i64, i64)> {
    Ok(tx
        .prepare_cached(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM exo_items WHERE mailbox = ?1",
        )?
        .query_row([mailbox], |r| Ok((r.get(0)?, r.get(1)?)))?)
}

pub fn upsert_move_request(
    tx: &Tx<'_>,
    mailbox: i64,
    job_id: i64,
    bytes: i64,
    now: i64,
) -> Result<()> {
    tx.run(
        "INSERT INTO exo_move_requests (mailbox, job_id, bytes, created) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (mailbox) DO UPDATE SET job_id = ?2, bytes = ?3, created = ?4",
        params![mailbox, job_id, bytes, now],
    )
}

/// (mailbox seq, job id, bytes) of every move request, or of one mailbox's.
pub fn move_requests(tx: &Tx<'_>, mailbox: Option<i64>) -> Result<Vec<(i64, i64, i64)>> {
    tx.rows("SELECT mailbox, job_id, bytes FROM exo_move_requests WHERE (?1 IS NULL OR mailbox = ?1) ORDER BY created, mailbox", params![mailbox], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
}

/// Records the key versions a revision uses in `key_references` (needed_by: its mailboxes),
/// under `referrer_kind` ([`REFERRER_KIND`] or [`MULTI_WORKLOAD_REFERRER_KIND`]).
pub fn add_revision_references(
    tx: &Tx<'_>,
    referrer_kind: &str,
    policy_name: &str,
    revision: &str,
    versions: &[(String, String, String)],
) -> Result<()> {
    for (vault, name, version) in versions {
        tx.execute(
            "INSERT INTO key_references (vault, name, version, referrer_kind, referrer_name, needed_by, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)",
            params![vault, name, version, referrer_kind, policy_name, revision],
        )?;
    }
    Ok(())
}

/// Brings a revision's `key_references` rows up to date: the mailbox count still under it, or
/// no rows at all once it is not the policy's current revision and no mailbox needs it.
pub fn sync_revision_references(tx: &Tx<'_>, revision: &str, is_current: bool) -> Result<()> {
    let needed = count_applied(tx, revision)?;
    if needed == 0 && !is_current {
        tx.prepare_cached(&format!(
            "DELETE FROM key_references WHERE {POLICY_REFERRERS} AND detail = ?1"
        ))?
        .execute(params![revision])?;
    } else {
        tx.prepare_cached(&format!(
            "UPDATE key_references SET needed_by = ?2 WHERE {POLICY_REFERRERS} AND detail = ?1"
        ))?
        .execute(params![revision, needed])?;
    }
    Ok(())
}

/// Adds `delta` to the mailbox count of a revision's `key_references` rows; a revision that is
/// not current drops its rows once no mailbox needs it. Incremental, so a batch costs the same
/// at 100,000 mailboxes as at 1,000.
pub fn adjust_revision_references(
    tx: &Tx<'_>,
    revision: &str,
    delta: i64,
    is_current: bool,
) -> Result<()> {
    tx.prepare_cached(&format!(
        "UPDATE key_references SET needed_by = MAX(0, COALESCE(needed_by, 0) + ?2) WHERE {POLICY_REFERRERS} AND detail = ?1"
    ))?
    .execute(params![revision, delta])?;
    if !is_current {
        tx.prepare_cached(&format!(
            "DELETE FROM key_references WHERE {POLICY_REFERRERS} AND detail = ?1 AND needed_by = 0"
        ))?
        .execute(params![revision])?;
    }
    Ok(())
}

pub fn rename_references(tx: &Tx<'_>, policy: &str, new_name: &str) -> Result<()> {
    tx.run(
        &format!(
            "UPDATE key_references SET referrer_name = ?2 WHERE {POLICY_REFERRERS}
         AND detail IN (SELECT id FROM exo_policy_revisions WHERE policy = ?1)"
        ),
        params![policy, new_name],
    )
}
