//! The test hooks (the `test-hooks` feature: a restore that panics on request, the test job
//! kinds, the shortened busy timeout) are not in what admins load: the release library and CLI
//! hold none of their names. Nor is `customer-key serve` (the `serve` feature) in the library
//! the PowerShell module loads, while the release CLI still has it.
//!
//! This reads the files `cargo build --release` made, so run that first (tests/run-all.sh does,
//! a step before `cargo test`). A missing release build fails the test rather than pass it
//! unchecked. The test's own build cannot serve: `cargo test` turns the feature on.

use std::path::PathBuf;

/// Strings each hook compiles in: the environment variables that switch them on, the job
/// kind's name and the panic's message.
const HOOK_STRINGS: &[&str] = &[
    "CK_TEST_PANIC_RESTORING_KEY",
    "CUSTOMER_KEY_TEST_JOB_KINDS",
    "CUSTOMER_KEY_TEST_BUSY_TIMEOUT_MS",
    "test-ledger",
    "test hook: a panic",
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
