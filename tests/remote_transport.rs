//! The remote target when the network misbehaves, against tiny servers of the test's own: a
//! connection closed at once, a request read and then the connection dropped (a create is
//! not repeated then, a read is), and a server that never answers (the request timeout).

mod remote_common;
mod serve_common;

use customer_key::SessionOptions;
use serde_json::json;
use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const VAULT: &str = "stub-vault";

/// A loopback listener whose connections `behave` handles, counted.
fn stub(behave: impl Fn(std::net::TcpStream) + Send + Sync + 'static) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&count);
    let behave = Arc::new(behave);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            counted.fetch_add(1, Ordering::SeqCst);
            let b = Arc::clone(&behave);
            std::thread::spawn(move || b(stream));
        }
    });
    (port, count)
}

fn options(port: u16, dir: &serve_common::tempdir::Dir, ca: Option<PathBuf>) -> SessionOptions {
    SessionOptions {
        store: Some(dir.0.join("store")),
        environment: Some("AzureCloud".into()),
        vault_domain: Some(format!("localhost:{port}")),
        ca_file: ca,
        access_token: Some(zeroize::Zeroizing::new("token-for-the-stub".into())),
        retry_delay_milliseconds: Some(10),
        max_retries: Some(2),
        request_timeout_milliseconds: Some(400),
        ..Default::default()
    }
}

#[test]
fn a_connection_closed_at_once_is_retried_then_reported_as_a_connection_error() {
    let (port, count) = stub(drop);
    let dir = serve_common::tempdir::Dir::new("remote-closed");
    let admin = remote_common::admin_with(options(port, &dir, None), dir);
    let e = admin.err("Get-KeyVaultKey", json!({"VaultName": VAULT, "Name": "k1"}));
    assert_eq!(e.category(), "ConnectionError", "{e}");
    assert!(!e.message.contains("token-for-the-stub"));
    assert_eq!(
        count.load(Ordering::SeqCst),
        3,
        "one attempt and two retries"
    );
}

#[test]
fn a_server_that_never_answers_times_out() {
    let (port, _) = stub(|s| {
        std::thread::sleep(Duration::from_secs(20));
        drop(s);
    });
    let dir = serve_common::tempdir::Dir::new("remote-slow");
    let mut o = options(port, &dir, None);
    o.max_retries = Some(0);
    let admin = remote_common::admin_with(o, dir);
    let start = Instant::now();
    let e = admin.err("Get-KeyVaultKey", json!({"VaultName": VAULT, "Name": "k1"}));
    let took = start.elapsed();
    assert_eq!(e.category(), "ConnectionError", "{e}");
    assert!(e.message.contains("timed out"), "{e}");
    assert!(
        took >= Duration::from_millis(350) && took < Duration::from_secs(10),
        "{took:?}"
    );
}

/// A TLS server for `stub-vault.localhost` that reads a request and closes without answering.
fn tls_stub() -> (u16, Arc<AtomicUsize>, PathBuf, serve_common::tempdir::Dir) {
    use tokio_rustls::rustls;
    let certified =
        rcgen::generate_simple_self_signed(vec!["stub-vault.localhost".to_string()]).unwrap();
    let dir = serve_common::tempdir::Dir::new("remote-tls-stub");
    let ca = dir.0.join("stub-ca.pem");
    std::fs::write(&ca, certified.cert.pem()).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.key_pair.serialize_der().into());
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .unwrap(),
    );
    let (port, count) = stub(move |tcp| {
        let mut conn = rustls::ServerConnection::new(Arc::clone(&config)).unwrap();
        let mut tcp = tcp;
        let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
        let mut buf = [0u8; 4096];
        // The request's head (and whatever of its body came along), then a hang-up.
        let _ = tls.read(&mut buf);
    });
    (port, count, ca, dir)
}

#[test]
fn a_read_is_repeated_after_a_dropped_connection_but_a_create_is_not() {
    let (port, count, ca, _stub_dir) = tls_stub();
    let dir = serve_common::tempdir::Dir::new("remote-dropped");
    let admin = remote_common::admin_with(options(port, &dir, Some(ca)), dir);
    let e = admin.err("Get-KeyVaultKey", json!({"VaultName": VAULT, "Name": "k1"}));
    assert_eq!(e.category(), "ConnectionError", "{e}");
    assert_eq!(
        count.load(Ordering::SeqCst),
        3,
        "a read: one attempt, two retries"
    );
    count.store(0, Ordering::SeqCst);
    let e = admin.err("Add-KeyVaultKey", json!({"VaultName": VAULT, "Name": "k1"}));
    assert_eq!(e.category(), "ConnectionError", "{e}");
    assert_eq!(
        count.load(Ordering::SeqCst),
        1,
        "a create that may have been applied is not sent again"
    );
}
