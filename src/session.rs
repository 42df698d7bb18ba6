//! A session: one open store, the caller's identity and the caller's clock. It does not
//! dispatch: the registry ([`crate::registry`]) runs operations on a session.

use crate::azure_backend::AzureBackend;
use crate::cancel::{Canceller, Stop};
use crate::error::{Error, Result};
use crate::identity::Principal;
use crate::store::Store;
use serde::Deserialize;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Options of `ck_open`, keyed as in JSON. `Debug` is written out below so the tokens never
/// reach a log or a panic message (a derived one would print them: `Zeroizing` shows its value).
#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SessionOptions {
    /// Directory of the store.
    pub store: Option<PathBuf>,
    /// The caller's identity for access checks.
    pub user_principal_name: Option<String>,
    /// Added to the wall clock, to rehearse retention periods.
    pub time_shift_seconds: Option<i64>,
    /// `Local` (the default: the embedded engine's vaults), `AzureCloud`, `AzureUSGovernment`
    /// or `AzureChinaCloud`: where the key operations and the workloads' keys go.
    #[serde(default)]
    pub environment: Option<String>,
    /// Overrides the cloud's vault domain (`vault.azure.net`), e.g. `localhost:8443`.
    #[serde(default)]
    pub vault_domain: Option<String>,
    /// A PEM file of extra trust anchors for the vaults' TLS certificates.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// A bearer token for Key Vault (as from Get-AzAccessToken); wiped when dropped.
    #[serde(default)]
    pub access_token: Option<zeroize::Zeroizing<String>>,
    /// Key Vault's api-version (7.6 by default).
    #[serde(default)]
    pub api_version: Option<String>,
    /// Overrides the cloud's Azure Resource Manager endpoint (`https://management.azure.com`),
    /// e.g. `localhost:8443`.
    #[serde(default)]
    pub management_endpoint: Option<String>,
    /// Overrides the cloud's Microsoft Graph endpoint (`https://graph.microsoft.com`).
    #[serde(default)]
    pub graph_endpoint: Option<String>,
    /// The Azure subscription Azure Resource Manager is asked in when a call names none
    /// (before `AZURE_SUBSCRIPTION_ID`); also where a workload's access policy is read.
    #[serde(default)]
    pub subscription_id: Option<String>,
    /// A bearer token for Azure Resource Manager (`AccessToken` is Key Vault's); wiped when
    /// dropped.
    #[serde(default)]
    pub management_access_token: Option<zeroize::Zeroizing<String>>,
    /// A bearer token for Microsoft Graph; wiped when dropped.
    #[serde(default)]
    pub graph_access_token: Option<zeroize::Zeroizing<String>>,
    /// The first retry's wait in milliseconds (1000 by default; each retry doubles it).
    #[serde(default)]
    pub retry_delay_milliseconds: Option<u64>,
    /// Retries after the first attempt (5 by default).
    #[serde(default)]
    pub max_retries: Option<u32>,
    /// A request with no complete answer after this long fails (60000 by default).
    #[serde(default)]
    pub request_timeout_milliseconds: Option<u64>,
    /// A call still waiting on Azure after this many seconds (a request, its retries, their
    /// backoff), and a read ending after it, fails with `OperationTimedOut`
    /// ([`DEFAULT_CALL_TIMEOUT`] by default, 1 to 86400).
    #[serde(default)]
    pub call_timeout_seconds: Option<u64>,
}

/// How long a call may take when `CallTimeoutSeconds` is not given: under the remote client's
/// worst case (six attempts of up to 60 s each and 31 s of backoff, over six minutes), so that
/// the deadline rather than the retries says when a call waiting on Azure ends; far above what
/// any local call takes.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(300);

/// How a token shows in `Debug`: whether one was given, never what it is.
fn redacted_token(token: &Option<zeroize::Zeroizing<String>>) -> Option<&'static str> {
    token.as_ref().map(|_| "<redacted>")
}

impl std::fmt::Debug for SessionOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Destructured so that a field added later fails to compile here until it is decided
        // whether it is a secret.
        let SessionOptions {
            store,
            user_principal_name,
            time_shift_seconds,
            environment,
            vault_domain,
            ca_file,
            access_token,
            api_version,
            management_endpoint,
            graph_endpoint,
            subscription_id,
            management_access_token,
            graph_access_token,
            retry_delay_milliseconds,
            max_retries,
            request_timeout_milliseconds,
            call_timeout_seconds,
        } = self;
        f.debug_struct("SessionOptions")
            .field("store", store)
            .field("user_principal_name", user_principal_name)
            .field("time_shift_seconds", time_shift_seconds)
            .field("environment", environment)
            .field("vault_domain", vault_domain)
            .field("ca_file", ca_file)
            .field("access_token", &redacted_token(access_token))
            .field("api_version", api_version)
            .field("management_endpoint", management_endpoint)
            .field("graph_endpoint", graph_endpoint)
            .field("subscription_id", subscription_id)
            .field(
                "management_access_token",
                &redacted_token(management_access_token),
            )
            .field("graph_access_token", &redacted_token(graph_access_token))
            .field("retry_delay_milliseconds", retry_delay_milliseconds)
            .field("max_retries", max_retries)
            .field("request_timeout_milliseconds", request_timeout_milliseconds)
            .field("call_timeout_seconds", call_timeout_seconds)
            .finish()
    }
}

/// Opens the Azure backend the options name, taking its tokens out of them: `None` for
/// `-Environment Local`. Checks them first, whatever the Environment.
pub type OpenAzure =
    fn(&mut SessionOptions, &crate::time::Clock) -> Result<Option<Arc<dyn AzureBackend>>>;

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
    clock: crate::time::Clock,
    /// The Azure Key Vault backend when the Environment names a cloud.
    remote: Option<Arc<dyn AzureBackend>>,
    /// Resumes and runs this store's jobs and purges expired objects; stopped on close.
    _jobs: crate::jobs::Runner,
    /// Cancels the calls in flight (`ck_cancel`).
    calls: Arc<Canceller>,
    /// `CallTimeoutSeconds`.
    call_timeout: Duration,
}

impl Session {
    /// Opens the store and starts its job runner with `job_kinds`; `open_azure` opens the
    /// Azure backend when the Environment names a cloud (the crate root's
    /// [`crate::open_session`] passes every domain's kinds and the vault domain's opener).
    pub fn open(
        options: SessionOptions,
        job_kinds: Vec<Arc<dyn crate::jobs::JobKind>>,
        open_azure: OpenAzure,
    ) -> Result<Session> {
        Session::open_clocked(options, job_kinds, open_azure, crate::time::Clock::system())
    }

    /// The same on a clock the engine's tests move by hand. Test hooks only.
    #[cfg(feature = "test-hooks")]
    pub fn open_with_clock(
        options: SessionOptions,
        job_kinds: Vec<Arc<dyn crate::jobs::JobKind>>,
        open_azure: OpenAzure,
        clock: crate::time::Clock,
    ) -> Result<Session> {
        Session::open_clocked(options, job_kinds, open_azure, clock)
    }

    fn open_clocked(
        mut options: SessionOptions,
        job_kinds: Vec<Arc<dyn crate::jobs::JobKind>>,
        open_azure: OpenAzure,
        clock: crate::time::Clock,
    ) -> Result<Session> {
        let remote = open_azure(&mut options, &clock)?;
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
        let call_timeout = match options.call_timeout_seconds {
            None => DEFAULT_CALL_TIMEOUT,
            Some(s) if (1..=86_400).contains(&s) => Duration::from_secs(s),
            Some(_) => {
                return Err(Error::invalid_argument(
                    "CallTimeoutSeconds",
                    "must be from 1 to 86400",
                ))
            }
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
        let jobs = crate::jobs::Runner::start_clocked(
            Arc::clone(&store),
            time_shift,
            job_kinds,
            remote.clone(),
            clock.clone(),
        );
        Ok(Session {
            store,
            principal: Principal::user(principal),
            time_shift,
            clock,
            remote,
            _jobs: jobs,
            calls: Canceller::for_calls(),
            call_timeout,
        })
    }

    /// Opens a session from the JSON options of `ck_open` (null or `{}` for the defaults).
    pub fn open_json(
        options: &Value,
        job_kinds: Vec<Arc<dyn crate::jobs::JobKind>>,
        open_azure: OpenAzure,
    ) -> Result<Session> {
        let options: SessionOptions = match options {
            Value::Null => SessionOptions::default(),
            Value::Object(_) => serde_json::from_value(options.clone()).map_err(|e| {
                Error::invalid_argument(
                    "options",
                    format!("takes Store, UserPrincipalName, TimeShiftSeconds, Environment, VaultDomain, CaFile, AccessToken, ApiVersion, ManagementEndpoint, GraphEndpoint, SubscriptionId, ManagementAccessToken, GraphAccessToken, RetryDelayMilliseconds, MaxRetries, RequestTimeoutMilliseconds and CallTimeoutSeconds ({e})"),
                )
            })?,
            _ => return Err(Error::invalid_argument("options", "must be a JSON object")),
        };
        Session::open(options, job_kinds, open_azure)
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

    /// The Azure Key Vault backend, when the session's Environment names a cloud.
    pub fn remote(&self) -> Option<&Arc<dyn AzureBackend>> {
        self.remote.as_ref()
    }

    /// The stop of a call beginning now: ended by [`Session::cancel_calls`] and by the
    /// session's `CallTimeoutSeconds`.
    pub fn begin_call(&self) -> Stop {
        self.calls.begin(Some(self.call_timeout))
    }

    /// `CallTimeoutSeconds`: how long one call may take.
    pub fn call_timeout(&self) -> Duration {
        self.call_timeout
    }

    /// Cancels the calls in flight (`ck_cancel`); those begun later run as usual.
    pub fn cancel_calls(&self) {
        self.calls.cancel();
    }

    /// The session's clock in unix seconds: wall clock plus TimeShiftSeconds.
    pub fn now(&self) -> i64 {
        self.clock.unix_seconds() + self.time_shift
    }

    /// The clock the session's calls and jobs read.
    pub fn clock(&self) -> &crate::time::Clock {
        &self.clock
    }

    /// Test hooks only: waits until the session's job runner has been through the job table
    /// after this call and found nothing it may run now (see [`crate::jobs::Runner::settle`]).
    #[cfg(feature = "test-hooks")]
    pub fn settle_jobs(&self, limit: std::time::Duration) -> bool {
        self._jobs.settle(limit)
    }

    /// What `ck_open` reports about the session.
    pub fn info(&self) -> Value {
        let mut info = serde_json::json!({
            "Store": self.store.dir().display().to_string(),
            "UserPrincipalName": self.principal.name(),
            "Environment": "Local",
            "VaultDomain": null,
            "ManagementEndpoint": null,
            "GraphEndpoint": null,
            "Version": crate::VERSION,
        });
        if let Some(azure) = &self.remote {
            for (name, value) in azure.describe() {
                info[name] = Value::String(value);
            }
        }
        info
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // ck_close promises every audit row is committed when it returns; the store itself may
        // outlive the session by a moment (a job thread finishing with its handle).
        self.store.flush_audit();
    }
}

#[cfg(test)]
mod tests {
    use super::SessionOptions;

    #[test]
    fn debug_redacts_every_token() {
        let options: SessionOptions = serde_json::from_value(serde_json::json!({
            "Store": "/tmp/store",
            "AccessToken": "kv-token-SECRET-1",
            "ManagementAccessToken": "arm-token-SECRET-2",
            "GraphAccessToken": "graph-token-SECRET-3",
        }))
        .unwrap();
        for text in [format!("{options:?}"), format!("{options:#?}")] {
            assert!(!text.contains("SECRET"), "a token in Debug: {text}");
            // Still useful: it says which tokens were given, and shows the other options.
            assert!(
                text.contains("<redacted>") && text.contains("/tmp/store"),
                "{text}"
            );
        }
    }
}
