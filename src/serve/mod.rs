//! `customer-key serve`: the embedded vaults over Azure Key Vault's REST API (keys, every
//! api-version from 2016-10-01 to 2025-07-01, each with its own body shapes), on loopback,
//! over HTTPS only (the Azure SDKs refuse bearer tokens over http), on the library's tokio
//! runtime.
//!
//! Each vault answers at its own host, `{vault}.localhost:{port}`; `localhost:{port}` serves
//! the token route `/{tenant}/oauth2/v2.0/token`. A request without a token gets Key Vault's
//! 401 challenge, naming that token authority and `https://localhost:{port}` as the resource,
//! so the SDKs' challenge check (the vault host must end with the resource's) passes. Every
//! keys operation runs through the operation registry as the token's service principal.

mod access_policies;
mod arm;
mod arm_request;
mod auth;
mod graph;
mod http;
mod key_body;
mod key_crypto;
mod key_transfer;
mod keys;
mod rbac;
mod request;
mod tls;

pub use engine::cli::ServeOptions;
pub use http::ApiError;

use auth::{Refusal, Tokens};
use engine::error::{Error, Result};
use engine::session::Session;
use http::{json_response, HttpResponse};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{header, Method, Request, StatusCode};
use serde::Serialize;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Requests larger than this are refused with 413 (Key Vault's own limit is near it).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a stop waits for requests in flight.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
const THROTTLE_WINDOW: Duration = Duration::from_secs(10);
/// The api-versions the keys API answers, oldest first (every version Key Vault's keys API has
/// had since soft delete); any other gets the service's 400. Each version's bodies carry only
/// the fields that version had (see [`request::BodyShape`]), and an operation added later is
/// refused in the versions before it (400 BadParameter, see [`keys::handle`]).
pub const API_VERSIONS: &[&str] = &[
    "2016-10-01",
    "7.0",
    "7.1",
    "7.2",
    "7.3",
    "7.4",
    "7.5",
    "7.6",
    "2025-07-01",
];

/// Whether `version` (one of [`API_VERSIONS`]) is `since` or later.
pub(crate) fn api_version_at_least(version: &str, since: &str) -> bool {
    let rank = |v: &str| API_VERSIONS.iter().position(|known| *known == v);
    match (rank(version), rank(since)) {
        (Some(v), Some(s)) => v >= s,
        _ => false,
    }
}

/// What `customer-key serve` prints once it accepts connections.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ServeInfo {
    /// `https://{vault}.localhost:{port}`, with `{vault}` left for the caller to fill.
    pub url: String,
    pub port: u16,
    pub ca_file: String,
    pub token_url: String,
}

struct Throttle {
    limit: u32,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl Throttle {
    /// Counts a request to `vault`; the seconds to wait when it is over the limit.
    fn admit(&self, vault: &str) -> Option<u64> {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let window = windows.entry(vault.to_string()).or_insert((now, 0));
        if now.duration_since(window.0) >= THROTTLE_WINDOW {
            *window = (now, 0);
        }
        window.1 = window.1.saturating_add(1);
        (window.1 > self.limit).then(|| {
            (THROTTLE_WINDOW.saturating_sub(now.duration_since(window.0)))
                .as_secs()
                .max(1)
        })
    }
}

impl State {
    /// The 429 for a request over `--throttle` in `bucket`'s window (a vault, or ARM's or
    /// Graph's), with the service's code and message for the seconds to wait.
    fn throttled(
        &self,
        bucket: &str,
        error: impl FnOnce(u64) -> (&'static str, String),
    ) -> Option<HttpResponse> {
        let wait = self.throttle.as_ref()?.admit(bucket)?;
        let (code, message) = error(wait);
        let mut response =
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, code, message).into_response();
        if self.throttle_retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(wait));
        }
        Some(response)
    }
}

struct State {
    session: Arc<Session>,
    tokens: Tokens,
    port: u16,
    throttle: Option<Throttle>,
    throttle_retry_after: bool,
    header_timeout: Duration,
    /// Users the Graph routes were asked about (see [`graph`]).
    directory: graph::SeenUsers,
}

impl State {
    fn resource(&self) -> String {
        format!("https://localhost:{}", self.port)
    }

    fn challenge(&self, why: &str) -> HttpResponse {
        let mut response =
            ApiError::new(StatusCode::UNAUTHORIZED, "Unauthorized", why).into_response();
        let value = format!(
            "Bearer authorization=\"{}/{}\", resource=\"{}\"",
            self.resource(),
            self.tokens.tenant(),
            self.resource()
        );
        if let Ok(v) = header::HeaderValue::from_str(&value) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        response
    }
}

/// A running endpoint. Dropping it without [`Server::shutdown`] leaves it serving until the
/// process ends.
pub struct Server {
    info: ServeInfo,
    stop: watch::Sender<bool>,
    finished: Option<tokio::task::JoinHandle<()>>,
}

fn runtime() -> Result<&'static tokio::runtime::Runtime> {
    Ok(engine::rt::runtime().ok_or(engine::rt::Unavailable)?)
}

impl Server {
    /// Binds, sets up the CA and certificate, and starts accepting connections.
    pub fn start(session: Arc<Session>, options: ServeOptions) -> Result<Server> {
        check_tenant(&options.tenant)?;
        if options.throttle == Some(0) {
            return Err(Error::invalid_argument(
                "--throttle",
                "must be at least 1 request per 10 seconds",
            ));
        }
        let rt = runtime()?;
        let serve_dir = session.store().dir().join("serve");
        let ca = tls::LocalCa::load_or_create(&serve_dir)?;
        let ca_file = ca.cert_file().display().to_string();
        let resolver = Arc::new(tls::VaultCertResolver::new(
            ca,
            Arc::clone(session.store_arc()),
        )?);
        let acceptor = tokio_rustls::TlsAcceptor::from(tls::server_config(resolver)?);
        let std_listener = std::net::TcpListener::bind(options.listen).map_err(|e| {
            Error::io(
                format!("cannot listen on {}: {e}", options.listen),
                options.listen.to_string(),
            )
        })?;
        std_listener
            .set_nonblocking(true)
            .map_err(|e| Error::io(format!("cannot listen: {e}"), ""))?;
        let port = std_listener
            .local_addr()
            .map_err(|e| Error::io(format!("cannot listen: {e}"), ""))?
            .port();
        let listener = {
            let _entered = rt.enter();
            tokio::net::TcpListener::from_std(std_listener)
                .map_err(|e| Error::io(format!("cannot listen: {e}"), ""))?
        };
        let state = Arc::new(State {
            session,
            tokens: Tokens::new(&options.tenant, options.token_lifetime_seconds),
            port,
            throttle: options.throttle.map(|limit| Throttle {
                limit,
                windows: Mutex::new(HashMap::new()),
            }),
            throttle_retry_after: !options.throttle_without_retry_after,
            header_timeout: options.header_timeout,
            directory: graph::SeenUsers::default(),
        });
        let info = ServeInfo {
            url: format!("https://{{vault}}.localhost:{port}"),
            port,
            ca_file,
            token_url: format!(
                "https://localhost:{port}/{}/oauth2/v2.0/token",
                options.tenant
            ),
        };
        let (stop, stopped) = watch::channel(false);
        let finished = rt.spawn(accept_loop(listener, acceptor, state, stopped));
        Ok(Server {
            info,
            stop,
            finished: Some(finished),
        })
    }

    pub fn info(&self) -> &ServeInfo {
        &self.info
    }

    /// Stops accepting, lets requests in flight finish (up to 30 s), closes idle connections.
    pub fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(finished) = self.finished.take() {
            let _ = engine::rt::block_on(finished);
        }
    }
}

fn check_tenant(tenant: &str) -> Result<()> {
    let ok = (1..=64).contains(&tenant.len())
        && tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_argument(
            "--tenant",
            "must be 1-64 letters, digits, hyphens and dots",
        ))
    }
}

/// Serves until Ctrl-C or SIGTERM, after calling `announce` once connections are accepted.
/// Unix only: `tokio::signal::unix`.
#[cfg(unix)]
pub fn run_until_signal(
    session: Arc<Session>,
    options: ServeOptions,
    announce: impl FnOnce(&ServeInfo),
) -> Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let rt = runtime()?;
    // Handlers first: a SIGTERM sent the moment the JSON line is read must stop us cleanly,
    // not find the default action still in place.
    let (mut interrupt, mut terminate) = {
        let _entered = rt.enter();
        let listen =
            |kind| signal(kind).map_err(|e| Error::io(format!("cannot handle signals: {e}"), ""));
        (
            listen(SignalKind::interrupt())?,
            listen(SignalKind::terminate())?,
        )
    };
    let server = Server::start(session, options)?;
    announce(server.info());
    engine::rt::block_on(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })?;
    server.shutdown();
    Ok(())
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    state: Arc<State>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((tcp, _)) = accepted else {
                    // Out of descriptors, most likely: let connections finish before retrying.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let _ = tcp.set_nodelay(true);
                connections.spawn(serve_connection(tcp, acceptor.clone(), Arc::clone(&state), stopped.clone()));
            }
            _ = stopped.changed() => break,
        }
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
}

async fn serve_connection(
    tcp: tokio::net::TcpStream,
    acceptor: tokio_rustls::TlsAcceptor,
    state: Arc<State>,
    mut stopped: watch::Receiver<bool>,
) {
    let Ok(Ok(tls)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await else {
        return;
    };
    let header_timeout = state.header_timeout;
    let service = hyper::service::service_fn(move |req| {
        let state = Arc::clone(&state);
        async move {
            let management = is_management(&req);
            let mut response = answer(state, req).await;
            with_request_ids(&mut response, management);
            Ok::<_, Infallible>(response)
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        // One buffer per answer, so rustls seals one record and the kernel sends one segment
        // (vectored writes give a record per buffer: head and body apart).
        .writev(false)
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(hyper_util::rt::TokioIo::new(tls), service);
    tokio::pin!(connection);
    if *stopped.borrow() {
        connection.as_mut().graceful_shutdown();
    }
    tokio::select! {
        _ = connection.as_mut() => {}
        _ = stopped.changed() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

/// Whether `req` is for Azure Resource Manager (`localhost`, `/subscriptions/...`).
fn is_management(req: &Request<Incoming>) -> bool {
    matches!(
        request_host(req).as_deref(),
        Some("localhost" | "127.0.0.1")
    ) && req.uri().path().starts_with("/subscriptions/")
}

/// Every answer's `x-ms-request-id`, a new GUID per request as Key Vault, Resource Manager and
/// Graph give; Resource Manager's answers a `x-ms-correlation-request-id` as well.
fn with_request_ids(response: &mut HttpResponse, management: bool) {
    let mut names = vec!["x-ms-request-id"];
    if management {
        names.push("x-ms-correlation-request-id");
    }
    for name in names {
        let Ok(id) = engine::crypto::new_guid() else {
            continue;
        };
        if let Ok(value) = header::HeaderValue::from_str(&id) {
            response.headers_mut().insert(name, value);
        }
    }
}

/// Reads the body, refusing one over [`MAX_BODY_BYTES`] (413) or one sent too slowly (408).
/// The request's Content-Length, when it gives a number.
fn declared_length(req: &Request<Incoming>) -> Option<u64> {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

async fn read_body(
    body: Incoming,
    declared: Option<u64>,
    timeout: Duration,
) -> std::result::Result<Vec<u8>, HttpResponse> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestTooLarge",
            format!("The request body is larger than {MAX_BODY_BYTES} bytes"),
        )
        .into_response()
    };
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    let limited = http_body_util::Limited::new(body, MAX_BODY_BYTES);
    match tokio::time::timeout(timeout, limited.collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes().to_vec()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Ok(Err(_)) => {
            Err(ApiError::bad_parameter("The request body could not be read").into_response())
        }
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "RequestTimeout",
            "The request body was not sent in time",
        )
        .into_response()),
    }
}

/// The request's host, lower-cased and without the port.
fn request_host(req: &Request<Incoming>) -> Option<String> {
    let raw = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()))?;
    let host = raw.rsplit_once(':').map_or(raw.as_str(), |(h, _)| h);
    Some(host.to_ascii_lowercase())
}

async fn answer(state: Arc<State>, req: Request<Incoming>) -> HttpResponse {
    let Some(host) = request_host(&req) else {
        return ApiError::bad_parameter("The request has no Host header").into_response();
    };
    let path = req.uri().path().to_string();
    if host == "localhost" || host == "127.0.0.1" {
        // Azure Resource Manager and Microsoft Graph, for the management plane (see arm.rs).
        if path.starts_with("/subscriptions/") || path.starts_with("/v1.0/") {
            return arm::answer(state, req, &path).await;
        }
        return token_request(state, req, &path).await;
    }
    let Some(vault) = host
        .strip_suffix(".localhost")
        .filter(|v| engine::vault::model::check_vault_name(v).is_ok())
    else {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "VaultNotFound",
            "The host is not {vault}.localhost",
        )
        .into_response();
    };
    let vault = vault.to_string();
    let now = state.session.now();
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok());
    let principal = match state
        .tokens
        .principal(state.session.store(), authorization, now)
    {
        Ok(p) => p,
        Err(refusal) => {
            let why = match refusal {
                Refusal::Missing => "AKV10000: Request is missing a Bearer or PoP token.",
                Refusal::Unknown => "AKV10022: Invalid token: the token was not issued by this endpoint.",
                Refusal::Expired => "AKV10032: Invalid token: the token has expired.",
                Refusal::Revoked => "AKV10046: Invalid token: the service principal was removed or its secret is no longer valid.",
            };
            return state.challenge(why);
        }
    };
    if let Some(response) = state.throttled(&vault, |_| {
        (
            "Throttled",
            "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached".to_string(),
        )
    }) {
        return response;
    }
    let query = http::query_pairs(req.uri().query());
    let api_version = query
        .iter()
        .find(|(k, _)| k == "api-version")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    if !API_VERSIONS.contains(&api_version.as_str()) {
        let shown: String = api_version.chars().take(32).collect();
        return ApiError::bad_parameter(format!(
            "The specified version ({shown}) is not recognized. Consider using the latest supported version ({}).",
            API_VERSIONS[API_VERSIONS.len() - 1]
        ))
        .into_response();
    }
    let method = req.method().clone();
    let declared = declared_length(&req);
    let json_content = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
        });
    let body = match read_body(req.into_body(), declared, state.header_timeout * 3).await {
        Ok(b) => b,
        Err(response) => return response,
    };
    if !body.is_empty() && !json_content {
        return ApiError::bad_parameter("The request body must have Content-Type application/json")
            .into_response();
    }
    let base = format!("https://{host}:{}", state.port);
    let inline = keys::answers_without_writing(&method, &path);
    let run = move || {
        let request = request::VaultRequest {
            session: &state.session,
            principal: &principal,
            vault: &vault,
            base: &base,
            api_version: &api_version,
            query: &query,
        };
        keys::handle(&request, &method, &path, &body)
    };
    // Reads and key operations take microseconds to a millisecond of CPU and never wait on
    // the store's write lock: they run on the worker, saving two thread hand-offs per request.
    // Anything that writes may wait for another process's transaction, so it goes to the
    // blocking pool rather than stall the connections sharing this worker.
    let outcome = if inline {
        Ok(run())
    } else {
        tokio::task::spawn_blocking(run).await
    };
    match outcome {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => e.into_response(),
        Err(_) => ApiError::unexpected().into_response(),
    }
}

async fn token_request(state: Arc<State>, req: Request<Incoming>, path: &str) -> HttpResponse {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let tenant = match (req.method(), segments.as_slice()) {
        (&Method::POST, [tenant, "oauth2", "v2.0", "token"]) => tenant.to_string(),
        _ => {
            return json_response(
                StatusCode::NOT_FOUND,
                &serde_json::json!({"error": "not_found", "error_description": "localhost serves POST /{tenant}/oauth2/v2.0/token; vaults answer at {vault}.localhost"}),
            );
        }
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    // The form carries the client secret: wiped when dropped.
    let body = match read_body(req.into_body(), declared, state.header_timeout * 3).await {
        Ok(b) => zeroize::Zeroizing::new(b),
        Err(response) => return response,
    };
    // The secret check is a slow hash, on purpose: off the runtime's worker.
    tokio::task::spawn_blocking(move || {
        let now = state.session.now();
        state.tokens.token_route(
            state.session.store(),
            &tenant,
            &body,
            &state.resource(),
            now,
        )
    })
    .await
    .unwrap_or_else(|_| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "The token could not be issued",
        )
        .into_response()
    })
}
