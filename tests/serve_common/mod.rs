//! An HTTPS client for the endpoint's tests and benchmark: trusts only the store's CA, and
//! reaches `{vault}.localhost` by connecting to 127.0.0.1 with the vault host as TLS name and
//! Host header (this machine's resolver does not know `*.localhost`).
#![allow(dead_code)]

use customer_key::serve::{ServeOptions, Server};
use customer_key::Session;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

pub struct Response {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: Value,
}

impl Response {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
    pub fn inner_code(&self) -> &str {
        self.body["error"]["innererror"]["code"]
            .as_str()
            .unwrap_or("")
    }
    pub fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or("")
    }
}

pub fn tls_config(ca_file: &Path) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca_file).expect("ca.pem reads") {
        roots
            .add(cert.expect("a certificate"))
            .expect("CA accepted");
    }
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}

/// One keep-alive HTTPS connection to one host.
pub struct Connection {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    host: String,
}

impl Connection {
    pub async fn open(
        config: Arc<rustls::ClientConfig>,
        port: u16,
        host: &str,
    ) -> std::io::Result<Connection> {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        tcp.set_nodelay(true)?;
        let name = ServerName::try_from(host.to_string()).expect("a DNS name");
        let tls = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
                .await
                .map_err(std::io::Error::other)?;
        tokio::spawn(connection);
        Ok(Connection {
            sender,
            host: format!("{host}:{port}"),
        })
    }

    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Response {
        let (status, headers, bytes) = self.send_raw(method, path, headers, body).await;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Response {
            status,
            headers,
            body,
        }
    }

    /// The status, headers and body bytes, unparsed: what a load generator looks at.
    pub async fn send_raw(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (u16, hyper::HeaderMap, Bytes) {
        let mut builder = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let request = builder.body(Full::new(Bytes::from(body))).unwrap();
        self.sender.ready().await.expect("connection ready");
        let response = self.sender.send_request(request).await.expect("a response");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, headers, bytes)
    }
}

/// A store with an admin, a served endpoint, and a client runtime.
pub struct Endpoint {
    pub dir: tempdir::Dir,
    pub session: Arc<Session>,
    pub server: Option<Server>,
    pub port: u16,
    pub config: Arc<rustls::ClientConfig>,
    pub rt: tokio::runtime::Runtime,
}

pub mod tempdir {
    /// A directory removed when dropped.
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new(label: &str) -> Dir {
            let path = std::env::temp_dir().join(format!(
                "ck-serve-{label}-{}-{}",
                std::process::id(),
                customer_key::crypto::new_version_id().unwrap()
            ));
            std::fs::create_dir_all(&path).unwrap();
            Dir(path)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

pub const ADMIN: &str = "admin@contoso.com";

impl Endpoint {
    pub fn start(label: &str, vaults: &[&str], options: ServeOptions) -> Endpoint {
        Endpoint::start_clocked(label, vaults, options, customer_key::time::Clock::system())
    }

    /// The same with the endpoint's store on `clock` (a manual one, say).
    pub fn start_clocked(
        label: &str,
        vaults: &[&str],
        options: ServeOptions,
        clock: customer_key::time::Clock,
    ) -> Endpoint {
        let dir = tempdir::Dir::new(label);
        let session = Arc::new(
            customer_key::open_session_with_clock(
                customer_key::SessionOptions {
                    store: Some(dir.0.join("store")),
                    user_principal_name: Some(ADMIN.into()),
                    time_shift_seconds: None,
                    ..Default::default()
                },
                clock,
            )
            .unwrap(),
        );
        for v in vaults {
            customer_key::registry()
                .call(
                    &session,
                    "New-KeyVault",
                    &json!({"VaultName": v, "Location": "westeurope", "Sku": "Premium"}),
                )
                .unwrap();
        }
        let server = Server::start(Arc::clone(&session), options).unwrap();
        let port = server.info().port;
        let config = tls_config(Path::new(&server.info().ca_file));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        Endpoint {
            dir,
            session,
            server: Some(server),
            port,
            config,
            rt,
        }
    }

    /// Runs an engine operation as the store's admin.
    pub fn admin(&self, operation: &str, args: Value) -> Value {
        customer_key::registry()
            .call(&self.session, operation, &args)
            .unwrap_or_else(|e| panic!("{operation}: {e}"))
    }

    /// Two vaults (West and North Europe, purge protection on), each with an RSA key `exo-key`
    /// that can wrap and unwrap: the key IDs a data encryption policy over this endpoint takes.
    pub fn key_pair_for_policy(&self, vaults: [&str; 2]) -> Vec<String> {
        let mut ids = Vec::new();
        for (vault, location) in vaults.iter().zip(["westeurope", "northeurope"]) {
            self.admin(
                "New-KeyVault",
                json!({"VaultName": vault, "Location": location, "EnablePurgeProtection": true}),
            );
            self.admin(
                "Add-KeyVaultKey",
                json!({"VaultName": vault, "Name": "exo-key", "KeyOps": ["wrapKey", "unwrapKey"]}),
            );
            ids.push(format!(
                "https://{vault}.localhost:{}/keys/exo-key",
                self.port
            ));
        }
        ids
    }

    /// Runs an engine operation as the service principal `app`.
    pub fn as_principal(&self, app: &str, operation: &str, args: Value) -> Value {
        let text = customer_key::registry()
            .call_json_as(
                &self.session,
                &customer_key::Principal::service(app),
                operation,
                &args,
            )
            .unwrap_or_else(|e| panic!("{operation}: {e}"));
        serde_json::from_str(&text).unwrap()
    }

    /// An access token for `app` from the endpoint's client-credentials route, for `scope`.
    pub fn token_for(&self, app: &str, secret: &str, scope: &str) -> String {
        let form = format!(
            "grant_type=client_credentials&client_id={app}&client_secret={}&scope={}",
            secret.replace('-', "%2D"),
            scope.replace(':', "%3A").replace('/', "%2F")
        );
        let r = self.send(
            "localhost",
            "POST",
            "/customerkey/oauth2/v2.0/token",
            &[("content-type", "application/x-www-form-urlencoded")],
            form.into_bytes(),
        );
        assert_eq!(r.status, 200, "{:?}", r.body);
        r.body["access_token"].as_str().unwrap().to_string()
    }

    /// A new service principal in the endpoint's directory: (application id, secret).
    pub fn service_principal(&self, name: &str) -> (String, String) {
        let sp = self.admin("New-ServicePrincipal", json!({ "DisplayName": name }));
        (
            sp["ApplicationId"].as_str().unwrap().to_string(),
            sp["ClientSecret"].as_str().unwrap().to_string(),
        )
    }

    /// A new service principal with `permissions` on `vault`: (application id, secret).
    pub fn principal_with(&self, vault: &str, permissions: &[&str]) -> (String, String) {
        let (app, secret) = self.service_principal("automation");
        self.admin(
            "Set-KeyVaultAccessPolicy",
            json!({"VaultName": vault, "ServicePrincipalName": app, "PermissionsToKeys": permissions}),
        );
        (app, secret)
    }

    pub fn connect(&self, host: &str) -> Connection {
        self.rt
            .block_on(Connection::open(Arc::clone(&self.config), self.port, host))
            .expect("TLS connection")
    }

    pub fn send(
        &self,
        host: &str,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Response {
        let mut c = self.connect(host);
        self.rt.block_on(c.send(method, path, headers, body))
    }

    /// Writes `request` raw over TLS (and keeps the connection open until the answer, or
    /// until the server closes it); the answer's text.
    pub fn raw(&self, host: &str, request: &[u8]) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        self.rt.block_on(async {
            let tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .unwrap();
            let name = ServerName::try_from(host.to_string()).unwrap();
            let mut tls = tokio_rustls::TlsConnector::from(Arc::clone(&self.config))
                .connect(name, tcp)
                .await
                .unwrap();
            // The server may answer (a 413 for a body past its limit) and close before the
            // whole request is written: a failed write still leaves that answer to read.
            if tls.write_all(request).await.is_ok() {
                let _ = tls.flush().await;
            }
            let mut answer = Vec::new();
            let _ = tls.read_to_end(&mut answer).await;
            String::from_utf8_lossy(&answer).into_owned()
        })
    }

    /// A TLS connection that has sent half a request and then nothing.
    pub fn stalled(&self, host: &str) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
        use tokio::io::AsyncWriteExt;
        self.rt.block_on(async {
            let tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .unwrap();
            let name = ServerName::try_from(host.to_string()).unwrap();
            let mut tls = tokio_rustls::TlsConnector::from(Arc::clone(&self.config))
                .connect(name, tcp)
                .await
                .unwrap();
            tls.write_all(
                b"POST /keys/k1/wrapkey?api-version=7.6 HTTP/1.1\r\nHost: x\r\nContent-Le",
            )
            .await
            .unwrap();
            tls.flush().await.unwrap();
            tls
        })
    }

    pub fn token_response(&self, app: &str, secret: &str, tenant: &str) -> Response {
        let form = format!(
            "grant_type=client_credentials&client_id={app}&client_secret={}&scope=https%3A%2F%2Fvault.azure.net%2F.default",
            secret.replace('-', "%2D")
        );
        self.send(
            "localhost",
            "POST",
            &format!("/{tenant}/oauth2/v2.0/token"),
            &[("content-type", "application/x-www-form-urlencoded")],
            form.into_bytes(),
        )
    }

    pub fn token(&self, app: &str, secret: &str) -> String {
        let r = self.token_response(app, secret, "customerkey");
        assert_eq!(r.status, 200, "{:?}", r.body);
        r.body["access_token"].as_str().unwrap().to_string()
    }

    /// A keys API call with a token; `body` as JSON when given.
    pub fn call(
        &self,
        vault: &str,
        token: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Response {
        self.call_at("7.6", vault, token, method, path, body)
    }

    /// [`Endpoint::call`] with api-version `api_version`.
    pub fn call_at(
        &self,
        api_version: &str,
        vault: &str,
        token: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Response {
        let auth = format!("Bearer {token}");
        let sep = if path.contains('?') { '&' } else { '?' };
        let path = format!("{path}{sep}api-version={api_version}");
        let mut headers = vec![("authorization", auth.as_str())];
        if body.is_some() {
            headers.push(("content-type", "application/json"));
        }
        self.send(
            &format!("{vault}.localhost"),
            method,
            &path,
            &headers,
            body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
        )
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown();
        }
    }
}
