//! The session's side of the Azure backend: its options taken out of the session's, checked;
//! the backend opened when the Environment names a cloud, handed to the session as an
//! [`AzureBackend`]; and read back, from a call or a job, by the vault domain alone.

use super::{Environment, RemoteVaults, Timing};
use crate::azure_backend::AzureBackend;
use crate::cancel::Stop;
use crate::error::{Error, Result};
use crate::operations::Context;
use crate::session::SessionOptions;
use crate::time::Clock;
use std::sync::Arc;
use std::time::Duration;

impl AzureBackend for RemoteVaults {
    fn with_stop(&self, stop: Stop) -> Arc<dyn AzureBackend> {
        RemoteVaults::with_stop(self, stop)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn into_any(self: Arc<Self>) -> Arc<dyn std::any::Any + Send + Sync> {
        self
    }
    fn describe(&self) -> [(&'static str, String); 4] {
        [
            ("Environment", format!("{:?}", self.environment())),
            ("VaultDomain", self.domain().to_string()),
            ("ManagementEndpoint", self.management_url().to_string()),
            ("GraphEndpoint", self.graph_url().to_string()),
        ]
    }
}

/// The session's opener ([`crate::session::OpenAzure`]).
pub fn open_backend(
    options: &mut SessionOptions,
    clock: &Clock,
) -> Result<Option<Arc<dyn AzureBackend>>> {
    let (environment, timing) = checked_options(options)?;
    let remote = RemoteVaults::open(options, environment, timing, clock)?;
    Ok(remote.map(|r| r as Arc<dyn AzureBackend>))
}

/// The Azure backend a session, call or job carries. Only this domain opens one, so it is
/// always [`RemoteVaults`].
pub fn of_backend(backend: &Arc<dyn AzureBackend>) -> &RemoteVaults {
    backend
        .as_any()
        .downcast_ref::<RemoteVaults>()
        .expect("a session's Azure backend is opened by vault::remote")
}

/// The same, shared.
pub fn shared(backend: &Arc<dyn AzureBackend>) -> Arc<RemoteVaults> {
    Arc::clone(backend)
        .into_any()
        .downcast::<RemoteVaults>()
        .expect("a session's Azure backend is opened by vault::remote")
}

/// The call's Azure backend, when its session has one.
pub fn of_call<'a>(ctx: &'a Context<'_>) -> Option<&'a RemoteVaults> {
    ctx.remote().map(of_backend)
}

/// The session's Environment and request timing, its Azure options checked: each is refused
/// with `-Environment Local`.
fn checked_options(options: &SessionOptions) -> Result<(Environment, Timing)> {
    let environment = match options.environment.as_deref() {
        None => Environment::Local,
        Some(e) => Environment::parse(e)?,
    };
    let mut timing = Timing::default();
    if let Some(ms) = options.retry_delay_milliseconds {
        if !(1..=60_000).contains(&ms) {
            return Err(Error::invalid_argument(
                "RetryDelayMilliseconds",
                "must be from 1 to 60000",
            ));
        }
        timing.retry.base_delay = Duration::from_millis(ms);
    }
    if let Some(n) = options.max_retries {
        if n > 10 {
            return Err(Error::invalid_argument(
                "MaxRetries",
                "must be from 0 to 10",
            ));
        }
        timing.retry.max_retries = n;
    }
    if let Some(ms) = options.request_timeout_milliseconds {
        if !(100..=600_000).contains(&ms) {
            return Err(Error::invalid_argument(
                "RequestTimeoutMilliseconds",
                "must be from 100 to 600000",
            ));
        }
        timing.request = Duration::from_millis(ms);
        timing.connect = timing.connect.min(timing.request);
    }
    if let Some(ca) = &options.ca_file {
        if !ca.is_absolute() {
            return Err(Error::invalid_argument(
                "CaFile",
                "must be an absolute path",
            ));
        }
    }

    let azure_only = [
        (
            options.retry_delay_milliseconds.is_some(),
            "RetryDelayMilliseconds",
        ),
        (options.max_retries.is_some(), "MaxRetries"),
        (
            options.request_timeout_milliseconds.is_some(),
            "RequestTimeoutMilliseconds",
        ),
        (options.vault_domain.is_some(), "VaultDomain"),
        (options.ca_file.is_some(), "CaFile"),
        (options.access_token.is_some(), "AccessToken"),
        (options.api_version.is_some(), "ApiVersion"),
        (options.management_endpoint.is_some(), "ManagementEndpoint"),
        (options.graph_endpoint.is_some(), "GraphEndpoint"),
        (options.subscription_id.is_some(), "SubscriptionId"),
        (
            options.management_access_token.is_some(),
            "ManagementAccessToken",
        ),
        (options.graph_access_token.is_some(), "GraphAccessToken"),
    ];
    if environment == Environment::Local {
        if let Some((_, name)) = azure_only.iter().find(|(given, _)| *given) {
            return Err(Error::invalid_argument(
                name,
                "is given only with an Azure Environment (AzureCloud, AzureUSGovernment, AzureChinaCloud)",
            ));
        }
    }
    Ok((environment, timing))
}
