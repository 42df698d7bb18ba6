//! The test hooks (the `test-hooks` feature: a restore that panics on request, the test job
//! kinds, the shortened busy timeout) are not in what admins load: the release library and CLI
//! hold none of their names.
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

fn release_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
        .join("release")
}

#[test]
fn release_builds_hold_no_test_hook() {
    for file in ["libcustomer_key.so", "customer-key"] {
        let path = release_dir().join(file);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run `cargo build --release` before this test",
                path.display()
            )
        });
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

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
