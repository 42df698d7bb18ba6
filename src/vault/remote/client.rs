//! One HTTPS client per session: connection reuse, connect and request timeouts, HTTP/2 where
//! the service offers it (ALPN), rustls on aws-lc-rs, an extra trust anchor (`CaFile`), and
//! names under `localhost` resolved to loopback by the client itself (RFC 6761), so
//! `{vault}.localhost:{port}` reaches `customer-key serve` whatever the system resolver says.
//! Every request carries a bearer token and goes through the retry policy.

use super::auth::Credentials;
use super::retry::{self, Attempt, Replay, RetryPolicy, TokioSleeper};
use crate::cancel::Stop;
use crate::error::{Error, Result};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::{Method, StatusCode};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use zeroize::Zeroizing;

/// Answers larger than this are refused (a key list page or a backup blob is far smaller).
const MAX_ANSWER_BYTES: usize = 32 * 1024 * 1024;

/// Resolves `localhost` and `*.localhost` to loopback, anything else through the system.
struct LoopbackForLocalhost;

impl Resolve for LoopbackForLocalhost {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().trim_end_matches('.').to_ascii_lowercase();
        Box::pin(async move {
            if host == "localhost" || host.ends_with(".localhost") {
                let addrs: Addrs = Box::new(
                    [
                        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
                        SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 0),
                    ]
                    .into_iter(),
                );
                return Ok(addrs);
            }
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

/// Timeouts and retries of a session's client.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub connect: Duration,
    pub request: Duration,
    pub retry: RetryPolicy,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            connect: Duration::from_secs(10),
            request: Duration::from_secs(60),
            retry: RetryPolicy::default(),
        }
    }
}

/// Cheap to clone (shared connections and tokens): a blocking call moves a clone onto the
/// library's runtime.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    credentials: Arc<Credentials>,
    retry: RetryPolicy,
}

/// A successful answer: its status and body (wiped when dropped: it may hold an unwrapped key).
pub struct Answer {
    pub status: u16,
    pub body: Zeroizing<Vec<u8>>,
    /// The answer's `x-ms-request-id`, when it has one.
    pub request_id: Option<String>,
}

impl Answer {
    /// The body as `T` (a [`crate::wire`] body). serde's message is not passed on: it can
    /// quote a value, and a value may be an unwrapped key.
    pub fn typed<T: serde::de::DeserializeOwned>(&self, target: &str) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            let message = if e.is_data() {
                "Key Vault's answer is not as documented: a field is missing or of the wrong type"
            } else {
                "Key Vault answered with a body that is not JSON"
            };
            let status = crate::CkStatus::Unavailable;
            Error::new(status, "UnexpectedResponse", message, target)
                .with_request_id(self.request_id.as_deref(), None)
        })
    }
}

impl Client {
    pub fn new(ca_file: Option<&Path>, timing: Timing, credentials: Credentials) -> Result<Client> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(timing.connect)
            .timeout(timing.request)
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("customer-key/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(LoopbackForLocalhost);
        if let Some(path) = ca_file {
            let pem = std::fs::read(path).map_err(|e| {
                Error::invalid_argument("CaFile", format!("cannot be read ({e})")).with_source(e)
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|_| Error::invalid_argument("CaFile", "must hold PEM certificates"))?;
            if certs.is_empty() {
                return Err(Error::invalid_argument(
                    "CaFile",
                    "must hold at least one PEM certificate",
                ));
            }
            builder = builder.tls_certs_merge(certs);
        }
        let http = builder.build().map_err(|e| {
            Error::internal(format!("the HTTPS client could not be set up: {e}")).with_source(e)
        })?;
        Ok(Client {
            http,
            credentials: Arc::new(credentials),
            retry: timing.retry,
        })
    }

    /// A client for another service (Azure Resource Manager, Microsoft Graph): the same
    /// connections, timeouts and retries, its own tokens.
    pub fn sharing(&self, credentials: Credentials) -> Client {
        Client {
            http: self.http.clone(),
            credentials: Arc::new(credentials),
            retry: self.retry,
        }
    }

    /// See [`Credentials::is_configured`].
    pub fn has_configured_credentials(&self) -> bool {
        self.credentials.is_configured()
    }

    /// Sends `method url` with `body` as JSON, with a token (refreshed once on a 401) and
    /// retries as `replay` allows; the 2xx answer, or the service's error as ours. An error
    /// from an answer carries its `x-ms-request-id` (and Resource Manager's correlation id);
    /// after retries, those of the last attempt, the one the error reports.
    pub async fn call(
        &self,
        method: Method,
        url: &str,
        body: Option<&[u8]>,
        replay: Replay,
        target: &str,
    ) -> Result<Answer> {
        let host = reqwest::Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        self.retry
            .run(replay, &TokioSleeper, jitter, |_| {
                self.attempt(method.clone(), url, body, &host, target)
            })
            .await
    }

    /// [`Client::call`] for the engine's synchronous code, on the library's runtime whatever
    /// runtime the calling thread is in (see [`crate::rt::block_on`]), until it answers or
    /// `stop` comes (the call cancelled, past its deadline, or its session closing), whichever
    /// is first: the request in flight, its retries and its backoff are dropped then.
    pub fn call_blocking(
        &self,
        method: Method,
        url: String,
        body: Option<Zeroizing<Vec<u8>>>,
        replay: Replay,
        target: &str,
        stop: &Stop,
    ) -> Result<Answer> {
        stop.check()?;
        let client = self.clone();
        let target = target.to_string();
        let stop = stop.clone();
        crate::rt::block_on(async move {
            stop.bound(client.call(
                method,
                &url,
                body.as_deref().map(Vec::as_slice),
                replay,
                &target,
            ))
            .await
        })?
    }

    /// A read (`GET`, repeated as harmless), as [`Client::call_blocking`] sends it.
    pub fn get_blocking(&self, url: String, target: &str, stop: &Stop) -> Result<Answer> {
        self.call_blocking(Method::GET, url, None, Replay::Harmless, target, stop)
    }

    async fn attempt(
        &self,
        method: Method,
        url: &str,
        body: Option<&[u8]>,
        host: &str,
        target: &str,
    ) -> Attempt<Answer, Error> {
        let mut refreshed = false;
        loop {
            let bearer = match self.credentials.bearer(&self.http).await {
                Ok(b) => b,
                Err(e) => return Attempt::Failed(e),
            };
            let Ok(mut auth) = reqwest::header::HeaderValue::from_str(&bearer) else {
                return Attempt::Failed(Error::invalid_argument(
                    "AccessToken",
                    "must be a bearer token (printable characters only)",
                ));
            };
            auth.set_sensitive(true);
            let mut request = self
                .http
                .request(method.clone(), url)
                .header(reqwest::header::AUTHORIZATION, auth);
            if let Some(b) = body {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(b.to_vec());
            }
            let response = match request.send().await {
                Ok(r) => r,
                Err(e) => {
                    return Attempt::Retryable {
                        sent: !e.is_connect(),
                        retry_after: None,
                        error: super::errors::from_transport(e, target),
                    }
                }
            };
            let status = response.status();
            let headers = response.headers().clone();
            let ids = |error: Error| super::errors::with_ids(error, &headers);
            let now = self.credentials.clock().unix_seconds();
            let retry_after = retry::retry_after(response.headers(), now);
            let challenge = response
                .headers()
                .get(reqwest::header::WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let body = match read_limited(response).await {
                Ok(Some(b)) => b,
                Ok(None) => {
                    return Attempt::Failed(ids(Error::new(
                        crate::CkStatus::Unavailable,
                        "UnexpectedResponse",
                        format!("Key Vault's answer is larger than {MAX_ANSWER_BYTES} bytes"),
                        target,
                    )))
                }
                Err(e) => {
                    return Attempt::Retryable {
                        sent: true,
                        retry_after: None,
                        error: ids(super::errors::from_transport(e, target)),
                    }
                }
            };
            if status.is_success() {
                return Attempt::Done(Answer {
                    status: status.as_u16(),
                    body,
                    request_id: super::errors::request_ids(&headers).0,
                });
            }
            if status == StatusCode::UNAUTHORIZED && !refreshed {
                // A 401 applied nothing: ask again once with a new token.
                match self.credentials.on_unauthorized(challenge.as_deref(), host) {
                    Ok(true) => {
                        refreshed = true;
                        continue;
                    }
                    Ok(false) => {}
                    Err(e) => return Attempt::Failed(ids(e)),
                }
            }
            let error = ids(super::errors::from_response(status.as_u16(), &body, target));
            return if retry::is_retryable_status(status.as_u16()) {
                Attempt::Retryable {
                    error,
                    retry_after,
                    sent: true,
                }
            } else {
                Attempt::Failed(error)
            };
        }
    }
}

/// The body, or None when it is over the limit.
async fn read_limited(
    mut response: reqwest::Response,
) -> std::result::Result<Option<Zeroizing<Vec<u8>>>, reqwest::Error> {
    let mut body = Zeroizing::new(Vec::new());
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// A factor in [0, 1) from the system's random source.
fn jitter() -> f64 {
    let mut b = [0u8; 4];
    let _ = aws_lc_rs::rand::fill(&mut b);
    f64::from(u32::from_le_bytes(b)) / (f64::from(u32::MAX) + 1.0)
}
