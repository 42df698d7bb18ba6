//! `customer-key serve` as a process: one JSON line once it accepts connections, the CA's key
//! private to the owner, a clean stop on SIGTERM, and bad options refused.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

fn store_dir(label: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ck-serve-cli-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn serve_prints_its_endpoint_and_stops_cleanly_on_sigterm() {
    let store = store_dir("run");
    let mut child = Command::new(env!("CARGO_BIN_EXE_customer-key"))
        .args([
            "--store",
            store.to_str().unwrap(),
            "serve",
            "--tenant",
            "contoso",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info: serde_json::Value = serde_json::from_str(&line).expect("one JSON line");
    let port = info["Port"].as_u64().unwrap();
    assert!(port > 0);
    assert_eq!(info["Url"], format!("https://{{vault}}.localhost:{port}"));
    assert_eq!(
        info["TokenUrl"],
        format!("https://localhost:{port}/contoso/oauth2/v2.0/token")
    );
    let ca_file = std::path::PathBuf::from(info["CaFile"].as_str().unwrap());
    assert!(std::fs::read_to_string(&ca_file)
        .unwrap()
        .contains("BEGIN CERTIFICATE"));
    let key_mode = std::fs::metadata(ca_file.with_file_name("ca.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(key_mode & 0o777, 0o600);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port as u16)).is_ok());
    // SAFETY: kill(2) on the child's pid, which this test spawned and has not reaped.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(std::net::TcpStream::connect(("127.0.0.1", port as u16)).is_err());
    let _ = std::fs::remove_dir_all(&store);
}

#[test]
fn serve_refuses_bad_options_with_the_option_named() {
    let store = store_dir("bad");
    for (args, named) in [
        (vec!["serve", "--throttle", "0"], "--throttle"),
        (vec!["serve", "--listen", "nowhere"], "--listen"),
        (vec!["serve", "--tenant", "a b"], "--tenant"),
        (vec!["serve", "--port", "1"], "--port"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_customer-key"))
            .args(["--store", store.to_str().unwrap()])
            .args(&args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(named), "{args:?}: {err}");
    }
    let _ = std::fs::remove_dir_all(&store);
}
