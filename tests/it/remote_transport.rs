//! The remote target when the network misbehaves, against tiny servers of the test's own: a
//! connection closed at once, a request read and then the connection dropped (a create is
//! not repeated then, a read is), and a server that never answers (the request timeout).

use crate::remote_common;
use crate::serve_common;

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
    tls_stub_with(|_, _| None)
}

/// A TLS server for `stub-vault.localhost` that reads each connection's request and answers
/// `answer(n, request head)` for the n-th request (from 1), closing the connection; no
/// answer when it gives None.
fn tls_stub_with(
    answer: impl Fn(usize, &str) -> Option<String> + Send + Sync + 'static,
) -> (u16, Arc<AtomicUsize>, PathBuf, serve_common::tempdir::Dir) {
    use std::io::Write;
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
    let requests = AtomicUsize::new(0);
    let (port, count) = stub(move |tcp| {
        let mut conn = rustls::ServerConnection::new(Arc::clone(&config)).unwrap();
        let mut tcp = tcp;
        let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        // The request's head (and whatever of its body came along).
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match tls.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let n = requests.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(text) = answer(n, &String::from_utf8_lossy(&head)) {
            let _ = tls.write_all(text.as_bytes());
            let _ = tls.flush();
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
        // Then a hang-up.
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

/// An HTTP answer with Key Vault's error body and the request id `id`.
fn error_answer(status: &str, code: &str, id: &str) -> String {
    let body = format!(r#"{{"error":{{"code":"{code}","message":"The stub says {code}."}}}}"#);
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json; charset=utf-8\r\nx-ms-request-id: {id}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn a_services_error_keeps_its_x_ms_request_id_in_the_error_and_the_audit_row() {
    const ID: &str = "5d2c7e1a-0b6f-4c8e-9a3d-7f1e2b4c6a80";
    let (port, count, ca, _stub_dir) =
        tls_stub_with(|_, _| Some(error_answer("404 Not Found", "KeyNotFound", ID)));
    let dir = serve_common::tempdir::Dir::new("remote-request-id");
    let admin = remote_common::admin_with(options(port, &dir, Some(ca)), dir);
    let e = admin.err("Get-KeyVaultKey", json!({"VaultName": VAULT, "Name": "k1"}));
    assert_eq!(
        (e.code.as_str(), e.category()),
        ("KeyNotFound", "ObjectNotFound"),
        "{e}"
    );
    assert_eq!(count.load(Ordering::SeqCst), 1, "a 404 is not retried");
    assert_eq!(e.request_id(), Some(ID));
    let envelope = e.envelope();
    assert_eq!(envelope["error"]["requestId"], ID);
    assert_eq!(envelope["error"]["code"], "KeyNotFound");
    assert_eq!(
        envelope["error"]["message"],
        format!("The stub says KeyNotFound. (x-ms-request-id: {ID})")
    );
    let audit = admin.audit_text();
    assert!(
        audit.contains(&format!("Failed: KeyNotFound (x-ms-request-id: {ID})")),
        "{audit}"
    );
}

#[test]
fn after_the_retries_the_error_has_the_last_attempts_request_id() {
    let (port, count, ca, _stub_dir) = tls_stub_with(|n, _| {
        Some(error_answer(
            "503 Service Unavailable",
            "ServiceUnavailable",
            &format!("attempt-{n}"),
        ))
    });
    let dir = serve_common::tempdir::Dir::new("remote-request-id-retries");
    let admin = remote_common::admin_with(options(port, &dir, Some(ca)), dir);
    let e = admin.err("Get-KeyVaultKey", json!({"VaultName": VAULT, "Name": "k1"}));
    assert_eq!(count.load(Ordering::SeqCst), 3, "one attempt, two retries");
    assert_eq!(e.category(), "ConnectionError", "{e}");
    assert_eq!(e.request_id(), Some("attempt-3"), "{e}");
    assert!(e.message.ends_with("(x-ms-request-id: attempt-3)"), "{e}");
    assert!(!e.message.contains("attempt-1"), "{e}");
    assert!(
        admin
            .audit_text()
            .contains("Failed: ServiceUnavailable (x-ms-request-id: attempt-3)"),
        "{}",
        admin.audit_text()
    );
}

#[test]
fn a_connection_error_keeps_reqwests_error_as_its_cause() {
    let (port, _count) = stub(drop);
    let dir = serve_common::tempdir::Dir::new("remote-cause");
    let admin = remote_common::admin_with(options(port, &dir, None), dir);
    let e = admin.err("Get-KeyVaultKey", json!({"VaultName": VAULT, "Name": "k1"}));
    assert_eq!(e.category(), "ConnectionError", "{e}");
    assert!(e.request_id().is_none(), "no answer, no request id: {e}");
    let source = std::error::Error::source(&e).expect("the transport error is kept");
    assert!(
        source.downcast_ref::<reqwest::Error>().is_some(),
        "{source:?}"
    );
}
