//! The test hooks (the `test-hooks` feature: a restore that panics on request, the test job
//! kinds, the shortened busy timeout, the manual clock, the tests' child process binary) are not
//! in what admins load: the release library and CLI hold none of their names, and the release
//! build has no `ck-test-child`. Nor is `customer-key serve` (the `serve` feature) in the library
//! the PowerShell module loads, while the release CLI still has it.
//!
//! This reads the files `cargo build --release` made, so run that first (tests/run-all.sh does,
//! a step before `cargo test`). A missing release build fails the test rather than pass it
//! unchecked. The test's own build cannot serve: `cargo test` turns the feature on.

use std::path::PathBuf;

/// Strings each hook compiles in: the environment variables that switch them on, the job
/// kind's name, the panic's message, and the manual clock's type name (in its functions'
/// symbol names, which a release build keeps; nothing reachable prints it).
const HOOK_STRINGS: &[&str] = &[
    "CK_TEST_PANIC_RESTORING_KEY",
    "CUSTOMER_KEY_TEST_JOB_KINDS",
    "CUSTOMER_KEY_TEST_BUSY_TIMEOUT_MS",
    "test-ledger",
    "test hook: a panic",
    "ManualClock",
];

/// Strings only the endpoint compiles in: its CA's name and one of its refusals.
const SERVE_STRINGS: &[&str] = &["CustomerKey local CA", "The request has no Host header"];

/// Symbol name fragments of the endpoint and of hyper's server, in a build that keeps its
/// symbol table (the release profile strips only debug information).
const SERVE_SYMBOLS: &[&str] = &["customer_key..serve..", "hyper..server.."];

fn release_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
        .join("release")
}

#[test]
fn release_builds_hold_no_test_hook() {
    for file in ["libcustomer_key.so", "customer-key"] {
        let (path, bytes) = release_file(file);
        // A real build of this crate, not some other file: the C ABI's names are in both.
        assert!(
            contains(&bytes, b"ck_free_string") || contains(&bytes, b"customer-key"),
            "{} does not look like this crate's build",
            path.display()
        );
        for hook in HOOK_STRINGS {
            assert!(
                !contains(&bytes, hook.as_bytes()),
                "{} holds the test hook string {hook:?}: is it built with --features test-hooks?",
                path.display()
            );
        }
    }
}

#[test]
fn the_release_build_has_no_test_child_binary() {
    let (library, _) = release_file("libcustomer_key.so");
    let child = release_dir().join("ck-test-child");
    // A child older than the library is left from a `cargo test --release` (the benchmark
    // run's crash trials) before the last `cargo build --release`, which relinked the library
    // without the hooks and built no child.
    let modified = |path: &std::path::Path| std::fs::metadata(path).and_then(|m| m.modified());
    if let Ok(built) = modified(&child) {
        assert!(
            built < modified(&library).unwrap(),
            "{} is as new as the release library: `cargo build --release` built the tests' child binary",
            child.display()
        );
    }
    // Where `cargo test` puts it, for the tests that spawn it.
    assert!(std::path::Path::new(env!("CARGO_BIN_EXE_ck-test-child")).exists());
}

#[test]
fn release_library_holds_no_server_and_the_cli_serves() {
    let (library, bytes) = release_file("libcustomer_key.so");
    for needle in SERVE_STRINGS.iter().chain(SERVE_SYMBOLS) {
        assert!(
            !contains(&bytes, needle.as_bytes()),
            "{} holds {needle:?}: is it built with --features serve?",
            library.display()
        );
    }
    let (cli, bytes) = release_file("customer-key");
    for needle in SERVE_STRINGS {
        assert!(
            contains(&bytes, needle.as_bytes()),
            "{} lacks {needle:?}: `customer-key serve` must be in every build of the CLI",
            cli.display()
        );
    }
}

fn release_file(file: &str) -> (PathBuf, Vec<u8>) {
    let path = release_dir().join(file);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run `cargo build --release` before this test",
            path.display()
        )
    });
    (path, bytes)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
