//! A session: one open store, the caller's identity and the caller's clock. It does not
//! dispatch: the registry ([`crate::registry`]) runs operations on a session.

use crate::error::{Error, Result};
use crate::identity::Principal;
use crate::store::Store;
use serde::Deserialize;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;

/// Options of `ck_open`, keyed as in JSON.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SessionOptions {
    /// Directory of the store.
    pub store: Option<PathBuf>,
    /// The caller's identity for access checks.
    pub user_principal_name: Option<String>,
    /// Added to the wall clock, to rehearse retention periods.
    pub time_shift_seconds: Option<i64>,
}

/// Where the store lives when `Store` is not given.
pub fn default_store_dir() -> Result<PathBuf> {
    let from_env = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = from_env("CUSTOMER_KEY_HOME") {
        return Ok(dir);
    }
    if let Some(dir) = from_env("XDG_DATA_HOME") {
        return Ok(dir.join("customer-key"));
    }
    if let Some(home) = from_env("HOME") {
        return Ok(home.join(".local/share/customer-key"));
    }
    Err(Error::invalid_argument(
        "Store",
        "is required when none of CUSTOMER_KEY_HOME, XDG_DATA_HOME and HOME is set",
    ))
}

fn default_principal() -> String {
    let user = std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "user".into());
    format!("{user}@localhost")
}

/// One open store. Safe to share between threads: each call takes its own SQLite connection.
pub struct Session {
    store: Arc<Store>,
    principal: Principal,
    time_shift: i64,
    /// Resumes and runs this store's jobs and purges expired objects; stopped on close.
    _jobs: crate::jobs::Runner,
}

impl Session {
    /// Opens the store and starts its job runner with `job_kinds` (the crate root's
    /// [`crate::open_session`] passes every domain's kinds).
    pub fn open(
        options: SessionOptions,
        job_kinds: Vec<Arc<dyn crate::jobs::JobKind>>,
    ) -> Result<Session> {
        let dir = match options.store {
            Some(d) if d.is_absolute() => d,
            Some(d) if d.as_os_str().is_empty() => {
                return Err(Error::invalid_argument("Store", "must not be empty"))
            }
            Some(_) => return Err(Error::invalid_argument("Store", "must be an absolute path")),
            None => default_store_dir()?,
        };
        let principal = match options.user_principal_name {
            Some(u) if u.trim().is_empty() => {
                return Err(Error::invalid_argument(
                    "UserPrincipalName",
                    "must not be empty",
                ))
            }
            Some(u) => u.trim().to_string(),
            None => default_principal(),
        };
        let time_shift = options.time_shift_seconds.unwrap_or(0);
        if time_shift.unsigned_abs() > 100 * 365 * 86_400 {
            return Err(Error::invalid_argument(
                "TimeShiftSeconds",
                "must be within 100 years",
            ));
        }
        // A shifted clock purges for real and uses expired keys: it is for rehearsal stores
        // only, those created with TimeShiftSeconds given (even 0).
        let store = Store::open(&dir, options.time_shift_seconds.is_some())?;
        if time_shift != 0 && !store.is_rehearsal() {
            return Err(Error::invalid_operation(
                "NotARehearsalStore",
                format!(
                    "Parameter 'TimeShiftSeconds': {} holds real keys; a shifted clock is accepted only by a rehearsal store, one created with TimeShiftSeconds given (for example 0)",
                    dir.display()
                ),
                "TimeShiftSeconds",
            ));
        }
        let store = Arc::new(store);
        let jobs = crate::jobs::Runner::start(Arc::clone(&store), time_shift, job_kinds);
        Ok(Session {
            store,
            principal: Principal::user(principal),
            time_shift,
            _jobs: jobs,
        })
    }

    /// Opens a session from the JSON options of `ck_open` (null or `{}` for the defaults).
    pub fn open_json(
        options: &Value,
        job_kinds: Vec<Arc<dyn crate::jobs::JobKind>>,
    ) -> Result<Session> {
        let options: SessionOptions = match options {
            Value::Null => SessionOptions::default(),
            Value::Object(_) => serde_json::from_value(options.clone()).map_err(|e| {
                Error::invalid_argument(
                    "options",
                    format!("takes Store, UserPrincipalName and TimeShiftSeconds ({e})"),
                )
            })?,
            _ => return Err(Error::invalid_argument("options", "must be a JSON object")),
        };
        Session::open(options, job_kinds)
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn store_arc(&self) -> &Arc<Store> {
        &self.store
    }

    /// The user the session acts as.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    pub fn time_shift(&self) -> i64 {
        self.time_shift
    }

    /// The session's clock in unix seconds: wall clock plus TimeShiftSeconds.
    pub fn now(&self) -> i64 {
        crate::time::unix_now() + self.time_shift
    }

    /// What `ck_open` reports about the session.
    pub fn info(&self) -> Value {
        serde_json::json!({
            "Store": self.store.dir().display().to_string(),
            "UserPrincipalName": self.principal.name(),
            "Version": crate::VERSION,
        })
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // ck_close promises every audit row is committed when it returns; the store itself may
        // outlive the session by a moment (a job thread finishing with its handle).
        self.store.flush_audit();
    }
}
