//! SQL for the directory: service principals and their hashed client secrets.

use super::Tx;
use crate::error::Result;
use rusqlite::{params, Row};

/// `Debug` is written out below: the salted hash of the client secret is what an attacker
/// would brute-force offline, so it stays out of logs along with its salt.
#[derive(Clone)]
pub struct ServicePrincipalRow {
    pub application_id: String,
    pub display_name: String,
    pub secret_salt: Vec<u8>,
    pub secret_hash: Vec<u8>,
    pub secret_iterations: i64,
    pub secret_start: i64,
    pub secret_end: i64,
    pub created: i64,
}

impl std::fmt::Debug for ServicePrincipalRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServicePrincipalRow")
            .field("application_id", &self.application_id)
            .field("display_name", &self.display_name)
            .field("secret_salt", &"<redacted>")
            .field("secret_hash", &"<redacted>")
            .field("secret_iterations", &self.secret_iterations)
            .field("secret_start", &self.secret_start)
            .field("secret_end", &self.secret_end)
            .field("created", &self.created)
            .finish()
    }
}

const COLUMNS: &str = "application_id, display_name, secret_salt, secret_hash, secret_iterations, secret_start, secret_end, created";

fn from_row(r: &Row<'_>) -> rusqlite::Result<ServicePrincipalRow> {
    Ok(ServicePrincipalRow {
        application_id: r.get(0)?,
        display_name: r.get(1)?,
        secret_salt: r.get(2)?,
        secret_hash: r.get(3)?,
        secret_iterations: r.get(4)?,
        secret_start: r.get(5)?,
        secret_end: r.get(6)?,
        created: r.get(7)?,
    })
}

pub fn insert_service_principal(tx: &Tx<'_>, sp: &ServicePrincipalRow) -> Result<()> {
    tx.run(
        &format!(
            "INSERT INTO service_principals ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        ),
        params![
            sp.application_id,
            sp.display_name,
            sp.secret_salt,
            sp.secret_hash,
            sp.secret_iterations,
            sp.secret_start,
            sp.secret_end,
            sp.created
        ],
    )
}

pub fn get_service_principal(
    tx: &Tx<'_>,
    application_id: &str,
) -> Result<Option<ServicePrincipalRow>> {
    tx.row(
        &format!("SELECT {COLUMNS} FROM service_principals WHERE application_id = ?1"),
        [application_id],
        from_row,
    )
}

pub fn list_service_principals(tx: &Tx<'_>) -> Result<Vec<ServicePrincipalRow>> {
    tx.rows(
        &format!("SELECT {COLUMNS} FROM service_principals ORDER BY display_name, application_id"),
        [],
        from_row,
    )
}

/// Whether a row went.
pub fn delete_service_principal(tx: &Tx<'_>, application_id: &str) -> Result<bool> {
    Ok(tx
        .prepare_cached("DELETE FROM service_principals WHERE application_id = ?1")?
        .execute([application_id])?
        > 0)
}

#[cfg(test)]
mod tests {
    use super::ServicePrincipalRow;

    #[test]
    fn debug_shows_neither_hash_nor_salt() {
        let row = ServicePrincipalRow {
            application_id: "app".into(),
            display_name: "name".into(),
            secret_salt: vec![0xA5; 16],
            secret_hash: vec![0x5A; 32],
            secret_iterations: 1,
            secret_start: 0,
            secret_end: 1,
            created: 0,
        };
        let text = format!("{row:?}");
        // A derived Debug prints the bytes as decimal lists: 165 (0xA5) and 90 (0x5A).
        assert!(!text.contains("165") && !text.contains("90,"), "{text}");
        assert!(text.contains("app"), "{text}");
    }
}
