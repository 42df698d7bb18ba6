//! SQL for key vaults, access policies, keys and key versions.

use super::Tx;
use crate::error::Result;
use rusqlite::{params, OptionalExtension, Row};
use std::collections::BTreeMap;

pub type Tags = BTreeMap<String, String>;

#[derive(Debug, Clone)]
pub struct VaultRow {
    pub name: String,
    pub location: String,
    pub sku: String,
    pub soft_delete: bool,
    pub retention_days: i64,
    pub purge_protection: bool,
    pub tags: Tags,
    pub owner: String,
    pub created: i64,
    pub deleted_date: Option<i64>,
    pub scheduled_purge: Option<i64>,
    /// Azure RBAC authorization: role assignments decide, access policies are ignored.
    pub rbac: bool,
}

#[derive(Debug, Clone)]
pub struct PolicyRow {
    pub object_id: String,
    pub application_id: Option<String>,
    pub user_principal_name: Option<String>,
    pub service_principal_name: Option<String>,
    pub display_name: String,
    pub permissions: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct KeyRow {
    pub vault: String,
    pub name: String,
    pub deleted_date: Option<i64>,
    pub scheduled_purge: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct VersionRow {
    pub vault: String,
    pub name: String,
    pub version: String,
    pub seq: i64,
    pub kty: String,
    pub size: i64,
    pub key_ops: Vec<String>,
    pub enabled: bool,
    pub not_before: Option<i64>,
    pub expires: Option<i64>,
    pub created: i64,
    pub updated: i64,
    pub tags: Tags,
    pub modulus: Vec<u8>,
    pub exponent: Vec<u8>,
    pub wrapped_data_key: Vec<u8>,
    pub sealed_private_key: Vec<u8>,
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

fn from_json<T: serde::de::DeserializeOwned + Default>(s: String) -> T {
    serde_json::from_str(&s).unwrap_or_default()
}

const VAULT_COLUMNS: &str = "name, location, sku, soft_delete, retention_days, purge_protection, tags, owner, created, deleted_date, scheduled_purge, rbac";

fn vault_from_row(r: &Row<'_>) -> rusqlite::Result<VaultRow> {
    Ok(VaultRow {
        name: r.get(0)?,
        location: r.get(1)?,
        sku: r.get(2)?,
        soft_delete: r.get(3)?,
        retention_days: r.get(4)?,
        purge_protection: r.get(5)?,
        tags: from_json(r.get(6)?),
        owner: r.get(7)?,
        created: r.get(8)?,
        deleted_date: r.get(9)?,
        scheduled_purge: r.get(10)?,
        rbac: r.get(11)?,
    })
}

pub fn insert_vault(tx: &Tx<'_>, v: &VaultRow) -> Result<()> {
    let sql = format!(
        "INSERT INTO vaults ({VAULT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
    );
    #[rustfmt::skip]
    let row = params![
        v.name, v.location, v.sku, v.soft_delete, v.retention_days, v.purge_protection,
        to_json(&v.tags), v.owner, v.created, v.deleted_date, v.scheduled_purge, v.rbac
    ];
    tx.run(&sql, row)
}

/// A vault by name (case-insensitive), deleted or not.
pub fn get_vault(tx: &Tx<'_>, name: &str) -> Result<Option<VaultRow>> {
    tx.row(
        &format!("SELECT {VAULT_COLUMNS} FROM vaults WHERE name = ?1"),
        [name],
        vault_from_row,
    )
}

pub fn list_vaults(tx: &Tx<'_>, deleted: bool) -> Result<Vec<VaultRow>> {
    let sql = format!(
        "SELECT {VAULT_COLUMNS} FROM vaults WHERE deleted_date IS {} NULL ORDER BY name",
        if deleted { "NOT" } else { "" }
    );
    tx.rows(&sql, [], vault_from_row)
}

/// Whether the vault rehearses an outage (Set-KeyVault -Unreachable); false for no such vault.
pub fn vault_unreachable(tx: &Tx<'_>, name: &str) -> Result<bool> {
    Ok(tx
        .prepare_cached("SELECT unreachable FROM vaults WHERE name = ?1")?
        .query_row([name], |r| r.get(0))
        .optional()?
        .unwrap_or(false))
}

pub fn set_vault_unreachable(tx: &Tx<'_>, name: &str, unreachable: bool) -> Result<()> {
    tx.run(
        "UPDATE vaults SET unreachable = ?2 WHERE name = ?1",
        params![name, unreachable],
    )
}

/// Switches the vault's permission model (Update-KeyVault -EnableRbacAuthorization).
pub fn set_vault_rbac(tx: &Tx<'_>, name: &str, rbac: bool) -> Result<()> {
    tx.run(
        "UPDATE vaults SET rbac = ?2 WHERE name = ?1",
        params![name, rbac],
    )
}

/// Turns purge protection on (it cannot be turned off).
pub fn set_vault_purge_protection(tx: &Tx<'_>, name: &str) -> Result<()> {
    tx.run(
        "UPDATE vaults SET purge_protection = 1 WHERE name = ?1",
        [name],
    )
}

/// A role assignment at a vault's scope.
#[derive(Debug, Clone)]
pub struct RoleAssignmentRow {
    pub vault: String,
    /// The assignment's GUID (its ARM name).
    pub name: String,
    /// The role definition's GUID.
    pub role_definition_id: String,
    /// The principal's object id.
    pub principal_id: String,
    /// User, ServicePrincipal, Group or Unknown.
    pub principal_type: String,
    pub application_id: Option<String>,
    pub sign_in_name: Option<String>,
    pub display_name: String,
    pub created: i64,
    pub created_by: String,
}

const ROLE_COLUMNS: &str = "vault, name, role_definition_id, principal_id, principal_type, application_id, sign_in_name, display_name, created, created_by";

fn role_from_row(r: &Row<'_>) -> rusqlite::Result<RoleAssignmentRow> {
    Ok(RoleAssignmentRow {
        vault: r.get(0)?,
        name: r.get(1)?,
        role_definition_id: r.get(2)?,
        principal_id: r.get(3)?,
        principal_type: r.get(4)?,
        application_id: r.get(5)?,
        sign_in_name: r.get(6)?,
        display_name: r.get(7)?,
        created: r.get(8)?,
        created_by: r.get(9)?,
    })
}

/// The role assignments at a vault's scope, oldest first.
pub fn list_role_assignments(tx: &Tx<'_>, vault: &str) -> Result<Vec<RoleAssignmentRow>> {
    tx.rows(
        &format!(
            "SELECT {ROLE_COLUMNS} FROM role_assignments WHERE vault = ?1 ORDER BY created, name"
        ),
        [vault],
        role_from_row,
    )
}

pub fn insert_role_assignment(tx: &Tx<'_>, a: &RoleAssignmentRow) -> Result<()> {
    let sql = format!(
        "INSERT INTO role_assignments ({ROLE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
    );
    #[rustfmt::skip]
    let row = params![
        a.vault, a.name, a.role_definition_id, a.principal_id, a.principal_type, a.application_id,
        a.sign_in_name, a.display_name, a.created, a.created_by
    ];
    tx.run(&sql, row)
}

/// Whether a row went.
pub fn delete_role_assignment(tx: &Tx<'_>, vault: &str, name: &str) -> Result<bool> {
    Ok(tx
        .prepare_cached("DELETE FROM role_assignments WHERE vault = ?1 AND name = ?2")?
        .execute(params![vault, name])?
        > 0)
}

pub fn set_vault_deleted(tx: &Tx<'_>, name: &str, deleted: Option<(i64, i64)>) -> Result<()> {
    tx.run(
        "UPDATE vaults SET deleted_date = ?2, scheduled_purge = ?3 WHERE name = ?1",
        params![name, deleted.map(|d| d.0), deleted.map(|d| d.1)],
    )
}

pub fn delete_vault(tx: &Tx<'_>, name: &str) -> Result<()> {
    tx.run("DELETE FROM vaults WHERE name = ?1", [name])
}

const POLICY_COLUMNS: &str =
    "object_id, application_id, user_principal_name, service_principal_name, display_name, permissions";

fn policy_from_row(r: &Row<'_>) -> rusqlite::Result<PolicyRow> {
    Ok(PolicyRow {
        object_id: r.get(0)?,
        application_id: r.get(1)?,
        user_principal_name: r.get(2)?,
        service_principal_name: r.get(3)?,
        display_name: r.get(4)?,
        permissions: from_json(r.get(5)?),
    })
}

pub fn list_policies(tx: &Tx<'_>, vault: &str) -> Result<Vec<PolicyRow>> {
    let sql = format!(
        "SELECT {POLICY_COLUMNS} FROM access_policies WHERE vault = ?1 ORDER BY display_name, object_id"
    );
    tx.rows(&sql, [vault], policy_from_row)
}

/// Inserts or replaces the policy of `p.object_id` on `vault`.
pub fn upsert_policy(tx: &Tx<'_>, vault: &str, p: &PolicyRow) -> Result<()> {
    let sql = format!(
        "INSERT OR REPLACE INTO access_policies (vault, {POLICY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
    );
    #[rustfmt::skip]
    let row = params![
        vault, p.object_id, p.application_id, p.user_principal_name, p.service_principal_name,
        p.display_name, to_json(&p.permissions)
    ];
    tx.run(&sql, row)
}

pub fn delete_policy(tx: &Tx<'_>, vault: &str, object_id: &str) -> Result<bool> {
    Ok(tx
        .prepare_cached("DELETE FROM access_policies WHERE vault = ?1 AND object_id = ?2")?
        .execute(params![vault, object_id])?
        > 0)
}

fn key_from_row(r: &Row<'_>) -> rusqlite::Result<KeyRow> {
    Ok(KeyRow {
        vault: r.get(0)?,
        name: r.get(1)?,
        deleted_date: r.get(2)?,
        scheduled_purge: r.get(3)?,
    })
}

pub fn get_key(tx: &Tx<'_>, vault: &str, name: &str) -> Result<Option<KeyRow>> {
    tx.row("SELECT vault, name, deleted_date, scheduled_purge FROM keys WHERE vault = ?1 AND name = ?2",
            params![vault, name],
            key_from_row)
}

pub fn list_keys(tx: &Tx<'_>, vault: &str, deleted: bool) -> Result<Vec<KeyRow>> {
    let sql = format!(
        "SELECT vault, name, deleted_date, scheduled_purge FROM keys WHERE vault = ?1 AND deleted_date IS {} NULL ORDER BY name",
        if deleted { "NOT" } else { "" }
    );
    tx.rows(&sql, [vault], key_from_row)
}

pub fn insert_key(tx: &Tx<'_>, vault: &str, name: &str) -> Result<()> {
    tx.run(
        "INSERT INTO keys (vault, name) VALUES (?1, ?2)",
        params![vault, name],
    )
}

pub fn set_key_deleted(
    tx: &Tx<'_>,
    vault: &str,
    name: &str,
    deleted: Option<(i64, i64)>,
) -> Result<()> {
    tx.run(
        "UPDATE keys SET deleted_date = ?3, scheduled_purge = ?4 WHERE vault = ?1 AND name = ?2",
        params![vault, name, deleted.map(|d| d.0), deleted.map(|d| d.1)],
    )
}

/// Deletes a key with all its versions (their sealed private parts are overwritten on disk:
/// the connection runs with secure_delete).
pub fn delete_key(tx: &Tx<'_>, vault: &str, name: &str) -> Result<()> {
    tx.run(
        "DELETE FROM keys WHERE vault = ?1 AND name = ?2",
        params![vault, name],
    )
}

const VERSION_COLUMNS: &str = "vault, name, version, seq, kty, size, key_ops, enabled, not_before, expires, created, updated, tags, modulus, exponent, wrapped_data_key, sealed_private_key";

fn version_from_row(r: &Row<'_>) -> rusqlite::Result<VersionRow> {
    Ok(VersionRow {
        vault: r.get(0)?,
        name: r.get(1)?,
        version: r.get(2)?,
        seq: r.get(3)?,
        kty: r.get(4)?,
        size: r.get(5)?,
        key_ops: from_json(r.get(6)?),
        enabled: r.get(7)?,
        not_before: r.get(8)?,
        expires: r.get(9)?,
        created: r.get(10)?,
        updated: r.get(11)?,
        tags: from_json(r.get(12)?),
        modulus: r.get(13)?,
        exponent: r.get(14)?,
        wrapped_data_key: r.get(15)?,
        sealed_private_key: r.get(16)?,
    })
}

pub fn insert_version(tx: &Tx<'_>, v: &VersionRow) -> Result<()> {
    let sql = format!(
        "INSERT INTO key_versions ({VERSION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
    );
    #[rustfmt::skip]
    let row = params![
        v.vault, v.name, v.version, v.seq, v.kty, v.size, to_json(&v.key_ops), v.enabled,
        v.not_before, v.expires, v.created, v.updated, to_json(&v.tags), v.modulus,
        v.exponent, v.wrapped_data_key, v.sealed_private_key
    ];
    tx.run(&sql, row)
}

/// Updates the mutable attributes of a version (enabled, dates, operations, tags, updated).
pub fn update_version_attributes(tx: &Tx<'_>, v: &VersionRow) -> Result<()> {
    let sql = "UPDATE key_versions SET enabled = ?4, not_before = ?5, expires = ?6, key_ops = ?7,
               tags = ?8, updated = ?9 WHERE vault = ?1 AND name = ?2 AND version = ?3";
    #[rustfmt::skip]
    let row = params![
        v.vault, v.name, v.version, v.enabled, v.not_before, v.expires,
        to_json(&v.key_ops), to_json(&v.tags), v.updated
    ];
    tx.run(sql, row)
}

/// Every version of a key, oldest first.
pub fn list_versions(tx: &Tx<'_>, vault: &str, name: &str) -> Result<Vec<VersionRow>> {
    tx.rows(
        &format!(
        "SELECT {VERSION_COLUMNS} FROM key_versions WHERE vault = ?1 AND name = ?2 ORDER BY seq"
    ),
        params![vault, name],
        version_from_row,
    )
}

pub fn get_version(
    tx: &Tx<'_>,
    vault: &str,
    name: &str,
    version: &str,
) -> Result<Option<VersionRow>> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM key_versions WHERE vault = ?1 AND name = ?2 AND version = ?3"
    );
    tx.row(
        &sql,
        params![vault, name, version.to_ascii_lowercase()],
        version_from_row,
    )
}

pub fn latest_version(tx: &Tx<'_>, vault: &str, name: &str) -> Result<Option<VersionRow>> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM key_versions WHERE vault = ?1 AND name = ?2 ORDER BY seq DESC LIMIT 1"
    );
    tx.row(&sql, params![vault, name], version_from_row)
}

pub fn next_version_seq(tx: &Tx<'_>, vault: &str, name: &str) -> Result<i64> {
    Ok(tx
        .prepare_cached(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM key_versions WHERE vault = ?1 AND name = ?2",
        )?
        .query_row(params![vault, name], |r| r.get(0))?)
}

/// A policy that uses a key: (kind, name, version or None for every version).
#[derive(Debug, Clone)]
pub struct KeyReference {
    pub referrer_kind: String,
    pub referrer_name: String,
    pub version: Option<String>,
    /// The key's name (useful when references of a whole vault are listed).
    pub name: String,
    /// How many items (Exchange: mailboxes) still need the version; None: not counted.
    pub needed_by: Option<i64>,
}

pub fn key_references(tx: &Tx<'_>, vault: &str, name: Option<&str>) -> Result<Vec<KeyReference>> {
    tx.rows(
        "SELECT referrer_kind, referrer_name, version, name, needed_by FROM key_references
         WHERE vault = ?1 AND (?2 IS NULL OR name = ?2) ORDER BY referrer_kind, referrer_name",
        params![vault, name],
        |r| {
            Ok(KeyReference {
                referrer_kind: r.get(0)?,
                referrer_name: r.get(1)?,
                version: r.get(2)?,
                name: r.get(3)?,
                needed_by: r.get(4)?,
            })
        },
    )
}

/// Records that a policy uses a key (and optionally one version of it).
pub fn add_key_reference(
    tx: &Tx<'_>,
    vault: &str,
    name: &str,
    version: Option<&str>,
    referrer_kind: &str,
    referrer_name: &str,
) -> Result<()> {
    tx.run(
        "INSERT INTO key_references (vault, name, version, referrer_kind, referrer_name)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![vault, name, version, referrer_kind, referrer_name],
    )
}

/// Purges what has outlived its retention: deleted vaults (with their keys) and deleted keys
/// whose scheduled purge date has passed. Returns how many vaults and keys went.
pub fn purge_expired(tx: &Tx<'_>, now: i64) -> Result<usize> {
    let vaults = tx
        .prepare_cached(
            "DELETE FROM vaults WHERE scheduled_purge IS NOT NULL AND scheduled_purge <= ?1",
        )?
        .execute([now])?;
    let keys = tx
        .prepare_cached(
            "DELETE FROM keys WHERE scheduled_purge IS NOT NULL AND scheduled_purge <= ?1",
        )?
        .execute([now])?;
    Ok(vaults + keys)
}
