//! The directory: service principals that sign in to `customer-key serve` with a client secret
//! (the client-credentials flow), as apps registered in Entra ID do against Key Vault. The
//! application id is what access policies name (`Set-KeyVaultAccessPolicy
//! -ServicePrincipalName <ApplicationId>`). The secret is shown once, at creation, and stored
//! only as a salted PBKDF2 hash.

pub mod operations;

use crate::error::{Error, Result};
use crate::identity::Principal;
use crate::operations::Context;
use crate::store::directory::{self as sql, ServicePrincipalRow};
use crate::store::Store;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::num::NonZeroU32;
use zeroize::Zeroizing;

/// OWASP's 2023 figure for PBKDF2-HMAC-SHA256: the hash is slow to guess, and a sign-in pays
/// it once per token, not per request.
const PBKDF2_ITERATIONS: u32 = 600_000;
const SALT_BYTES: usize = 16;
const HASH_BYTES: usize = 32;
const SECRET_BYTES: usize = 30;
/// Entra ID's default lifetime of a client secret.
const DEFAULT_SECRET_DAYS: i64 = 365;
const MAX_DISPLAY_NAME: usize = 120;

fn hash_secret(secret: &[u8], salt: &[u8], iterations: u32) -> Result<[u8; HASH_BYTES]> {
    let iterations = NonZeroU32::new(iterations)
        .ok_or_else(|| Error::internal("a stored secret hash has no iteration count"))?;
    let mut out = [0u8; HASH_BYTES];
    aws_lc_rs::pbkdf2::derive(
        aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        salt,
        secret,
        &mut out,
    );
    Ok(out)
}

fn check_application_id(id: &str) -> Result<()> {
    let hex_groups: Vec<&str> = id.split('-').collect();
    let ok = hex_groups.len() == 5
        && hex_groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_argument(
            "ApplicationId",
            format!(
                "'{}' is not a GUID such as 6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
                id.chars().take(64).collect::<String>()
            ),
        ))
    }
}

fn not_found(application_id: &str) -> Error {
    Error::not_found(
        "ServicePrincipalNotFound",
        format!("Service principal '{application_id}' does not exist"),
        application_id,
    )
}

/// A service principal as `Get-ServicePrincipal` shows it: never its secret.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ServicePrincipalOut {
    pub application_id: String,
    pub display_name: String,
    pub secret_start_date: String,
    pub secret_end_date: String,
    pub created: String,
}

fn principal_out(row: &ServicePrincipalRow) -> ServicePrincipalOut {
    ServicePrincipalOut {
        application_id: row.application_id.clone(),
        display_name: row.display_name.clone(),
        secret_start_date: crate::time::iso_from_unix(row.secret_start),
        secret_end_date: crate::time::iso_from_unix(row.secret_end),
        created: crate::time::iso_from_unix(row.created),
    }
}

/// What `New-ServicePrincipal` returns: the only time the secret is shown.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NewServicePrincipalOut {
    pub application_id: String,
    pub display_name: String,
    /// Wiped when dropped.
    pub client_secret: Zeroizing<String>,
    pub secret_start_date: String,
    pub secret_end_date: String,
    pub created: String,
}

arguments! {
    pub struct NewServicePrincipalArgs {
        pub display_name: String = "DisplayName", String, "Display name of the application", mandatory;
        pub start_date: Option<DateTime<Utc>> = "StartDate", DateTime, "The client secret is valid from this time (default: now)";
        pub end_date: Option<DateTime<Utc>> = "EndDate", DateTime, "The client secret stops working at this time (default: one year after StartDate)";
    }
}

pub fn new_service_principal(
    ctx: &Context<'_>,
    a: NewServicePrincipalArgs,
) -> Result<NewServicePrincipalOut> {
    let name = a.display_name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_DISPLAY_NAME
        || name.chars().any(char::is_control)
    {
        return Err(Error::invalid_argument(
            "DisplayName",
            format!("must be 1-{MAX_DISPLAY_NAME} characters without control characters"),
        ));
    }
    let now = ctx.now();
    let start = a.start_date.map_or(now, |t| t.timestamp());
    let end = a
        .end_date
        .map_or(start + DEFAULT_SECRET_DAYS * 86_400, |t| t.timestamp());
    if end <= start {
        return Err(Error::invalid_argument(
            "EndDate",
            "must be later than StartDate",
        ));
    }
    if end <= now {
        return Err(Error::invalid_argument("EndDate", "must be in the future"));
    }
    let application_id = crate::crypto::new_guid()?;
    let bytes = Zeroizing::new(crate::crypto::random_bytes(SECRET_BYTES)?);
    let secret = Zeroizing::new(crate::wire::to_base64url(&bytes));
    let salt = crate::crypto::random_bytes(SALT_BYTES)?;
    let hash = hash_secret(secret.as_bytes(), &salt, PBKDF2_ITERATIONS)?;
    let row = ServicePrincipalRow {
        application_id: application_id.clone(),
        display_name: name.to_string(),
        secret_salt: salt,
        secret_hash: hash.to_vec(),
        secret_iterations: i64::from(PBKDF2_ITERATIONS),
        secret_start: start,
        secret_end: end,
        created: now,
    };
    // The audit row names the application id; the secret is in no row and no message.
    ctx.transaction(&application_id, |tx| {
        sql::insert_service_principal(tx, &row)
    })?;
    let shown = principal_out(&row);
    Ok(NewServicePrincipalOut {
        application_id,
        display_name: shown.display_name,
        client_secret: secret,
        secret_start_date: shown.secret_start_date,
        secret_end_date: shown.secret_end_date,
        created: shown.created,
    })
}

arguments! {
    pub struct GetServicePrincipalArgs {
        pub application_id: Option<String> = "ApplicationId", String, "Application id of one service principal", pipeline;
        pub display_name: Option<String> = "DisplayName", String, "Only the service principals with this display name";
    }
}

pub fn get_service_principal(
    ctx: &Context<'_>,
    a: GetServicePrincipalArgs,
) -> Result<Vec<ServicePrincipalOut>> {
    if let Some(id) = &a.application_id {
        check_application_id(id)?;
    }
    let target = a.application_id.clone().unwrap_or_else(|| "*".into());
    ctx.read_audited(&target, |tx| {
        let rows = match &a.application_id {
            Some(id) => vec![sql::get_service_principal(tx, id)?.ok_or_else(|| not_found(id))?],
            None => sql::list_service_principals(tx)?,
        };
        Ok(rows
            .iter()
            .filter(|r| {
                a.display_name
                    .as_deref()
                    .is_none_or(|n| r.display_name.eq_ignore_ascii_case(n))
            })
            .map(principal_out)
            .collect())
    })
}

arguments! {
    pub struct RemoveServicePrincipalArgs {
        pub application_id: String = "ApplicationId", String, "Application id of the service principal", mandatory, pipeline;
    }
}

/// Revokes a service principal: its secret and every token issued to it stop working at once
/// (the endpoint checks the principal on every request). Its access policies stay, as in Entra
/// ID, naming an application that no longer signs in.
pub fn remove_service_principal(ctx: &Context<'_>, a: RemoveServicePrincipalArgs) -> Result<()> {
    check_application_id(&a.application_id)?;
    ctx.transaction(&a.application_id, |tx| {
        if sql::delete_service_principal(tx, &a.application_id)? {
            Ok(())
        } else {
            Err(not_found(&a.application_id))
        }
    })
}

/// Checks a client secret (the client-credentials sign-in) and returns the principal it signs
/// in. Every failure is the same `InvalidClient` error, naming no reason an attacker could use
/// beyond what Entra ID says.
pub fn authenticate_client(
    store: &Store,
    application_id: &str,
    client_secret: &str,
    now: i64,
) -> Result<Principal> {
    let invalid = || {
        Error::new(
            crate::CkStatus::Forbidden,
            "invalid_client",
            "Invalid client secret provided, or the application is unknown or its secret is not valid now",
            application_id.chars().take(64).collect::<String>(),
        )
    };
    if check_application_id(application_id).is_err() {
        return Err(invalid());
    }
    let row = store
        .read(|tx| sql::get_service_principal(tx, application_id))?
        .ok_or_else(invalid)?;
    let iterations = u32::try_from(row.secret_iterations).map_err(|_| invalid())?;
    let iterations = NonZeroU32::new(iterations).ok_or_else(invalid)?;
    let verified = aws_lc_rs::pbkdf2::verify(
        aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        &row.secret_salt,
        client_secret.as_bytes(),
        &row.secret_hash,
    )
    .is_ok();
    if !verified || now < row.secret_start || now >= row.secret_end {
        return Err(invalid());
    }
    Ok(Principal::service(row.application_id))
}

/// Whether the service principal still exists and its secret is valid at `now`: a token issued
/// to it is honoured only while this holds.
pub fn may_sign_in(store: &Store, application_id: &str, now: i64) -> Result<bool> {
    Ok(store
        .service_principal_window(application_id)?
        .is_some_and(|(start, end)| now >= start && now < end))
}
