//! A panic inside an operation, driven through the real `ck_call` export: it becomes an error
//! status with an envelope that quotes nothing of the panic, nothing of the operation is
//! committed, and the session goes on working. No input reaches a panic, so the engine's hidden
//! test hook (`customer_key::vault::backup::PANIC_HOOK_ENV`) makes Restore-KeyVaultKey panic
//! after inserting the key's versions and before committing.
//!
//! Its own test binary, with this one test: setting an environment variable while other
//! threads may read the environment is a data race in C.
#![deny(clippy::undocumented_unsafe_blocks)]

mod common;
use common::*;
use customer_key::ffi::ck_call;
use customer_key::vault::backup::PANIC_HOOK_ENV;
use serde_json::json;
use std::ffi::{c_char, CString};
use std::ptr::null_mut;

#[test]
fn a_panic_in_an_operation_is_caught_at_ck_call_and_commits_nothing() {
    let (dir, ck) = store_with_vaults("panic", &[("vault-a", "westeurope")]);
    ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "key001"}),
    );
    let backup = dir.join("key001.backup");
    ck.ok(
        "Backup-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "key001", "OutputFile": backup}),
    );
    for purge in [false, true] {
        ck.ok(
            "Remove-KeyVaultKey",
            json!({"VaultName": "vault-a", "Name": "key001", "InRemovedState": purge}),
        );
    }

    std::env::set_var(PANIC_HOOK_ENV, "key001");
    // The raw export, not the `Ck` wrapper, so the status and envelope are seen as a host sees
    // them.
    let op = CString::new("Restore-KeyVaultKey").unwrap();
    let args =
        CString::new(json!({"VaultName": "vault-a", "InputFile": backup}).to_string()).unwrap();
    let mut out: *mut c_char = null_mut();
    // SAFETY: `ck` is a live session; the strings are live and NUL-terminated; `out` is a
    // local pointer for ck_call to write.
    let status = unsafe { ck_call(ck.raw(), op.as_ptr(), args.as_ptr(), &mut out) };
    // SAFETY: ck_call wrote `out` (on failure too); it is released once here.
    let envelope = unsafe { take_json(out) };
    std::env::remove_var(PANIC_HOOK_ENV);

    assert_eq!(status, customer_key::CkStatus::Panic as i32);
    assert_eq!(envelope["error"]["code"], "InternalPanic");
    assert!(
        !envelope.to_string().contains("test hook"),
        "the panic message is not shown: {envelope}"
    );
    // The versions inserted before the panic were rolled back with their key.
    let e = ck.err(
        "Get-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "key001"}),
    );
    assert_eq!(e.category(), "ObjectNotFound", "{e:?}");
    // The session still works, and the same restore now succeeds whole.
    let restored = ck.ok(
        "Restore-KeyVaultKey",
        json!({"VaultName": "vault-a", "InputFile": backup}),
    );
    assert_eq!(restored["Name"], "key001");
    let wrapped = wrap(&ck, "vault-a", "key001", None, b"after the panic");
    let version = restored["Version"].as_str().unwrap();
    assert_eq!(
        unwrap(
            &ck,
            "vault-a",
            "key001",
            version,
            wrapped["RawResult"].as_str().unwrap()
        )
        .unwrap()["RawResult"],
        b64(b"after the panic")
    );
}
