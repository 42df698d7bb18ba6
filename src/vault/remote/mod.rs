//! The remote target: the key operations and the workloads' vault boundary against Azure Key
//! Vault's REST API (keys, api-version 7.6 by default), chosen by the session's `Environment`.
//! One HTTPS client per session ([`client`]), tokens from [`auth`], retries from [`retry`],
//! Key Vault's errors as ours ([`errors`]); the REST calls and their JSON in [`keys`], the
//! workloads' boundary in [`boundary`]. The local store keeps the workloads' own state and
//! the audit table; the keys live in the vaults.

pub mod arm;
pub mod auth;
pub mod backup;
pub mod boundary;
pub mod client;
pub mod errors;
pub mod graph;
pub mod inspect;
pub mod json;
pub mod keys;
pub mod management;
pub mod retry;
pub mod roles;
pub mod target;

use crate::cancel::Stop;
use crate::error::{Error, Result};
use crate::session::SessionOptions;
use crate::time::Clock;
use crate::wire::keyvault::ListResult;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::Arc;
use zeroize::Zeroizing;

pub use client::Timing;
pub use retry::Replay;

/// Where the keys are: the embedded engine, or an Azure cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Environment {
    #[default]
    Local,
    AzureCloud,
    AzureUSGovernment,
    AzureChinaCloud,
}

pub const ENVIRONMENTS: &[&str] = &[
    "Local",
    "AzureCloud",
    "AzureUSGovernment",
    "AzureChinaCloud",
];

impl Environment {
    pub fn parse(text: &str) -> Result<Environment> {
        match text.to_ascii_lowercase().as_str() {
            "local" => Ok(Environment::Local),
            "azurecloud" => Ok(Environment::AzureCloud),
            "azureusgovernment" => Ok(Environment::AzureUSGovernment),
            "azurechinacloud" => Ok(Environment::AzureChinaCloud),
            _ => Err(Error::invalid_argument(
                "Environment",
                format!("must be one of {}", ENVIRONMENTS.join(", ")),
            )),
        }
    }

    /// The cloud's key vault DNS suffix.
    pub fn vault_domain(self) -> &'static str {
        match self {
            Environment::Local | Environment::AzureCloud => "vault.azure.net",
            Environment::AzureUSGovernment => "vault.usgovcloudapi.net",
            Environment::AzureChinaCloud => "vault.azure.cn",
        }
    }

    /// The cloud's Azure Resource Manager endpoint.
    pub fn management_endpoint(self) -> &'static str {
        match self {
            Environment::Local | Environment::AzureCloud => "https://management.azure.com",
            Environment::AzureUSGovernment => "https://management.usgovcloudapi.net",
            Environment::AzureChinaCloud => "https://management.chinacloudapi.cn",
        }
    }

    /// The cloud's Microsoft Graph endpoint.
    pub fn graph_endpoint(self) -> &'static str {
        match self {
            Environment::Local | Environment::AzureCloud => "https://graph.microsoft.com",
            Environment::AzureUSGovernment => "https://graph.microsoft.us",
            Environment::AzureChinaCloud => "https://microsoftgraph.chinacloudapi.cn",
        }
    }

    /// The cloud's Entra ID authority.
    pub fn authority_host(self) -> &'static str {
        match self {
            Environment::Local | Environment::AzureCloud => "https://login.microsoftonline.com",
            Environment::AzureUSGovernment => "https://login.microsoftonline.us",
            Environment::AzureChinaCloud => "https://login.chinacloudapi.cn",
        }
    }
}

pub const DEFAULT_API_VERSION: &str = "7.6";

/// A session's way to its vaults in Azure, as one call (or one job) sees it: the session's
/// clients (their connections and tokens shared) and endpoints, and the call's [`Stop`], which
/// every request it makes is raced against.
#[derive(Clone)]
pub struct RemoteVaults {
    client: client::Client,
    environment: Environment,
    /// `host[:port]` vaults live under, lower-cased.
    domain: String,
    api_version: String,
    /// Azure Resource Manager: `https://host[:port]`, and its client (its own tokens).
    management_url: String,
    management: client::Client,
    /// Microsoft Graph: `https://host[:port]`, and its client.
    graph_url: String,
    graph: client::Client,
    /// The session's subscription (`SubscriptionId`), checked to be a GUID.
    subscription: Option<String>,
    stop: Stop,
}

fn check_domain(domain: &str) -> Result<String> {
    let d = domain.trim().trim_end_matches('/').to_ascii_lowercase();
    let (host, port) = match d.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (d.as_str(), None),
    };
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host
            .split('.')
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0));
    if host_ok && port_ok {
        Ok(d)
    } else {
        Err(Error::invalid_argument(
            "VaultDomain",
            "must be a DNS name with an optional port, such as vault.azure.net or localhost:8443",
        ))
    }
}

/// An endpoint override: `https://host[:port]` or `host[:port]`, as `https://host[:port]`.
fn check_endpoint(option: &str, text: &str) -> Result<String> {
    let bare = text.trim().trim_end_matches('/');
    let bare = match bare.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => rest,
        Some(_) => {
            return Err(Error::invalid_argument(
                option,
                "must be an https endpoint (tokens are sent to it)",
            ))
        }
        None => bare,
    };
    check_domain(bare)
        .map(|d| format!("https://{d}"))
        .map_err(|_| {
            Error::invalid_argument(
                option,
                "must be https://host[:port] (or host[:port]), such as https://management.azure.com or localhost:8443",
            )
        })
}

fn check_api_version(v: &str) -> Result<String> {
    let ok = (1..=32).contains(&v.len())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if ok {
        Ok(v.to_string())
    } else {
        Err(Error::invalid_argument(
            "ApiVersion",
            "must be a Key Vault api-version such as 7.6",
        ))
    }
}

/// The body of a request that sends none, for [`RemoteVaults::request`] and `call`.
pub const NO_BODY: Option<&()> = None;

/// Whether `link` (a nextLink) is on the vault at `vault_url`: https, the same host and port
/// (Key Vault writes the default port out: `https://{vault}.vault.azure.net:443/keys?...`).
pub fn same_vault(link: &str, vault_url: &str) -> bool {
    match (reqwest::Url::parse(link), reqwest::Url::parse(vault_url)) {
        (Ok(l), Ok(v)) => {
            l.scheme() == "https"
                && l.host_str() == v.host_str()
                && l.port_or_known_default() == v.port_or_known_default()
        }
        _ => false,
    }
}

impl RemoteVaults {
    /// The remote backend the options ask for: none for `Local`.
    pub fn open(
        options: &mut SessionOptions,
        environment: Environment,
        timing: Timing,
        clock: &Clock,
    ) -> Result<Option<Arc<RemoteVaults>>> {
        if environment == Environment::Local {
            return Ok(None);
        }
        let domain = check_domain(
            options
                .vault_domain
                .as_deref()
                .unwrap_or(environment.vault_domain()),
        )?;
        let api_version = check_api_version(
            options
                .api_version
                .as_deref()
                .unwrap_or(DEFAULT_API_VERSION),
        )?;
        for (token, name) in [
            (&options.access_token, "AccessToken"),
            (&options.management_access_token, "ManagementAccessToken"),
            (&options.graph_access_token, "GraphAccessToken"),
        ] {
            if token.as_ref().is_some_and(|t| t.trim().is_empty()) {
                return Err(Error::invalid_argument(name, "must not be empty"));
            }
        }
        let management_url = check_endpoint(
            "ManagementEndpoint",
            options
                .management_endpoint
                .as_deref()
                .unwrap_or(environment.management_endpoint()),
        )?;
        let graph_url = check_endpoint(
            "GraphEndpoint",
            options
                .graph_endpoint
                .as_deref()
                .unwrap_or(environment.graph_endpoint()),
        )?;
        let authority = std::env::var("AZURE_AUTHORITY_HOST")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| environment.authority_host().to_string());
        if !authority.starts_with("https://") {
            return Err(Error::invalid_argument(
                "AZURE_AUTHORITY_HOST",
                "must be an https URL",
            ));
        }
        let scope = format!("https://{}/.default", environment.vault_domain());
        // Each service's tokens are for its own audience, with the cloud's scope whatever the
        // endpoint override (as Az's environments keep the resource ids apart from the URLs).
        let management_credentials = auth::Credentials::for_audience(
            auth::Source::choose(options.management_access_token.take()),
            authority.clone(),
            format!("{}/.default", environment.management_endpoint()),
            auth::RESOURCE_MANAGER,
        )
        .with_clock(clock.clone());
        let graph_credentials = auth::Credentials::for_audience(
            auth::Source::choose(options.graph_access_token.take()),
            authority.clone(),
            format!("{}/.default", environment.graph_endpoint()),
            auth::GRAPH,
        )
        .with_clock(clock.clone());
        let credentials = auth::Credentials::new(
            auth::Source::choose(options.access_token.take()),
            authority,
            scope,
        )
        .with_clock(clock.clone());
        let client = client::Client::new(options.ca_file.as_deref(), timing, credentials)?;
        let management = client.sharing(management_credentials);
        let graph = client.sharing(graph_credentials);
        let subscription = options
            .subscription_id
            .as_deref()
            .map(|s| arm::subscription(Some(s)))
            .transpose()?;
        Ok(Some(Arc::new(RemoteVaults {
            subscription,
            client,
            environment,
            domain,
            api_version,
            management_url,
            management,
            graph_url,
            graph,
            stop: Stop::never(),
        })))
    }

    /// The same vaults for one call or job: each request it makes ends when `stop` comes. A
    /// few small copies (the clients share their connections), beside a request's milliseconds.
    pub fn with_stop(&self, stop: Stop) -> Arc<RemoteVaults> {
        Arc::new(RemoteVaults {
            stop,
            ..self.clone()
        })
    }

    pub fn environment(&self) -> Environment {
        self.environment
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The Azure Resource Manager endpoint, `https://host[:port]`.
    pub fn management_url(&self) -> &str {
        &self.management_url
    }

    /// The Microsoft Graph endpoint, `https://host[:port]`.
    pub fn graph_url(&self) -> &str {
        &self.graph_url
    }

    /// `https://{vault}.{domain}`.
    pub fn vault_url(&self, vault_name: &str) -> Result<String> {
        super::model::check_vault_name(vault_name)?;
        Ok(format!(
            "https://{}.{}",
            vault_name.to_ascii_lowercase(),
            self.domain
        ))
    }

    /// A key id given to a workload must name a vault of this session's domain: tokens go
    /// to no other host.
    pub fn check_key_reference(&self, key: &super::boundary::KeyReference) -> Result<()> {
        let expected = self.vault_url(&key.vault_name)?;
        if key.vault_uri == expected {
            Ok(())
        } else {
            Err(Error::invalid_argument(
                "AzureKeyIDs",
                format!(
                    "'{}' is not a vault of this session's domain {} (the session's Environment and VaultDomain choose where keys are)",
                    key.vault_uri, self.domain
                ),
            ))
        }
    }

    fn with_api_version(&self, url: &str) -> String {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}api-version={}", self.api_version)
    }

    /// One request to `{vault_url}{path}` (path begins with /), JSON in and out ([`NO_BODY`]:
    /// none in).
    pub fn request<B: Serialize + ?Sized>(
        &self,
        method: Method,
        vault_name: &str,
        path: &str,
        body: Option<&B>,
        replay: Replay,
        target: &str,
    ) -> Result<client::Answer> {
        let url = self.with_api_version(&format!("{}{path}", self.vault_url(vault_name)?));
        self.client
            .call_blocking(method, url, body_of(body)?, replay, target, &self.stop)
    }

    /// [`RemoteVaults::request`] with the answer as `T` (a [`crate::wire`] body).
    pub fn call<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        vault_name: &str,
        path: &str,
        body: Option<&B>,
        replay: Replay,
        target: &str,
    ) -> Result<T> {
        self.request(method, vault_name, path, body, replay, target)?
            .typed(target)
    }

    /// Every item of a listing (KeyItem, DeletedKeyItem), following `nextLink` (only ever to
    /// the same vault).
    pub fn list_of<T: DeserializeOwned>(
        &self,
        vault_name: &str,
        path: &str,
        target: &str,
    ) -> Result<Vec<T>> {
        let vault_url = self.vault_url(vault_name)?;
        let url = self.with_api_version(&format!("{vault_url}{path}"));
        self.every_page(&self.client, url, &vault_url, "Key Vault", target)
    }

    /// Every item of a listing from `url` (Key Vault's, Resource Manager's), following
    /// `nextLink` only within `base`: the token goes nowhere else. `service` names who answered.
    fn every_page<T: DeserializeOwned>(
        &self,
        client: &client::Client,
        mut url: String,
        base: &str,
        service: &str,
        target: &str,
    ) -> Result<Vec<T>> {
        let mut items = Vec::new();
        for _ in 0..10_000 {
            let page: ListResult<T> = client
                .get_blocking(url, target, &self.stop)?
                .typed(target)?;
            items.extend(page.value);
            match page.next_link.filter(|l| !l.is_empty()) {
                None => return Ok(items),
                Some(next) if same_vault(&next, base) => url = next,
                Some(_) => {
                    let why = format!("its nextLink leaves {base}; not followed");
                    return Err(errors::not_as_documented(service, &why, target));
                }
            }
        }
        let why = "its listing did not end after 10,000 pages";
        Err(errors::not_as_documented(service, why, target))
    }
}

/// A request's JSON body, wiped when dropped (it may hold a key to wrap).
fn body_of<B: Serialize + ?Sized>(body: Option<&B>) -> Result<Option<Zeroizing<Vec<u8>>>> {
    let json = body.map(serde_json::to_vec).transpose();
    let json = json.map_err(|e| Error::internal(e.to_string()).with_source(e))?;
    Ok(json.map(Zeroizing::new))
}
