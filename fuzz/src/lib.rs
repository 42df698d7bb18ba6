//! What the fuzz targets share: a scratch folder per process, stores opened through the C ABI
//! exactly as a host opens them, and calls whose every returned string is checked and freed.
//!
//! Every target fails (aborts, which libFuzzer reports as a crash) on a panic, even one the C
//! ABI's boundary would have caught: no input may reach a panic. An InternalError or
//! InternalPanic status from the engine is a finding too: bad input must end in an error that
//! names the parameter and the rule.

use customer_key::ffi::{ck_call, ck_close, ck_free_string, ck_open, ck_session};
use serde_json::{json, Value};
use std::ffi::{c_char, CStr, CString};
use std::path::{Path, PathBuf};

/// The principal every target acts as (the template stores are made by it).
pub const ADMIN: &str = "admin@contoso.com";
pub const VAULT: &str = "contoso-ck";
pub const KEY: &str = "tenant-key";
/// The AIP service principal (as in tests/aip_support).
pub const AIP: &str = "00000012-0000-0000-c000-000000000000";

/// This process's scratch folder: `$CK_FUZZ_DIR` (fuzz/run.sh puts it on a RAM disk when there
/// is one) or the system's temporary folder, then one folder per process.
pub fn scratch() -> PathBuf {
    let base = std::env::var_os("CK_FUZZ_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = base.join(format!("ck-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

/// A string for the C ABI: what a C caller would pass, so the bytes up to the first NUL.
pub fn c_string(bytes: &[u8]) -> CString {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    CString::new(&bytes[..end]).expect("no NUL before end")
}

/// Takes a string the library returned: it must be valid JSON, and it is freed here.
///
/// # Safety
/// `p` is NULL or a string from `out_json` not yet released.
unsafe fn take_json(p: *mut c_char) -> Value {
    assert!(!p.is_null(), "the library returned no JSON");
    let text = CStr::from_ptr(p).to_str().expect("UTF-8 JSON").to_owned();
    ck_free_string(p);
    serde_json::from_str(&text).expect("valid JSON")
}

/// Checks an outcome of `ck_call`: success, or an error envelope that is not an internal
/// error or a caught panic.
pub fn check_outcome(operation: &[u8], status: i32, out: &Value) {
    if status == 0 {
        return;
    }
    let error = &out["error"];
    assert!(
        error["code"].is_string() && error["message"].is_string() && error["category"].is_string(),
        "an error without its envelope: {out}"
    );
    assert!(
        status != 8 && status != 9,
        "{}: internal error or panic (status {status}): {out}",
        String::from_utf8_lossy(operation)
    );
}

/// An open session over the C ABI.
pub struct Session(*mut ck_session);

// SAFETY: ck_call's contract lets a session be used from several threads at once, and this
// type holds nothing but the pointer (closed once, on drop).
unsafe impl Send for Session {}
// SAFETY: as for Send: every method takes `&self` and only passes the pointer to the C ABI.
unsafe impl Sync for Session {}

impl Session {
    pub fn open(store: &Path) -> Session {
        let options = c_string(
            json!({"Store": store, "UserPrincipalName": ADMIN})
                .to_string()
                .as_bytes(),
        );
        let mut session = std::ptr::null_mut();
        let mut out = std::ptr::null_mut();
        // SAFETY: live NUL-terminated options; both outputs are local pointers.
        let status = unsafe { ck_open(options.as_ptr(), &mut session, &mut out) };
        // SAFETY: ck_open writes `out` on success and failure alike.
        let info = unsafe { take_json(out) };
        assert_eq!(status, 0, "ck_open: {info}");
        Session(session)
    }

    /// The session behind the C handle, for `customer_key::fuzzing`.
    pub fn handle(&self) -> &ck_session {
        // SAFETY: the pointer came from ck_open and stays live until this value is dropped.
        unsafe { &*self.0 }
    }

    /// Calls with raw bytes (cut at their first NUL, as C would); returns status and JSON.
    pub fn call_raw(&self, operation: &[u8], arguments: &[u8]) -> (i32, Value) {
        let operation = c_string(operation);
        let arguments = c_string(arguments);
        let mut out = std::ptr::null_mut();
        // SAFETY: the session is live; both strings are NUL-terminated; `out` is local.
        let status = unsafe { ck_call(self.0, operation.as_ptr(), arguments.as_ptr(), &mut out) };
        // SAFETY: ck_call writes `out` on success and failure alike.
        let value = unsafe { take_json(out) };
        check_outcome(operation.as_bytes(), status, &value);
        (status, value)
    }

    pub fn call(&self, operation: &str, arguments: Value) -> Result<Value, Value> {
        match self.call_raw(operation.as_bytes(), arguments.to_string().as_bytes()) {
            (0, v) => Ok(v),
            (_, e) => Err(e),
        }
    }

    /// A call that must succeed (setting up a target's state).
    pub fn ok(&self, operation: &str, arguments: Value) -> Value {
        self.call(operation, arguments)
            .unwrap_or_else(|e| panic!("{operation}: {e}"))
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // SAFETY: the pointer came from ck_open and is closed once, here.
        unsafe { ck_close(self.0) };
    }
}

/// A store with what most operations need to get past their first checks: a vault with purge
/// protection, an RSA key in it, the AIP service principal allowed to use it.
pub fn populate(session: &Session) {
    session.ok(
        "New-KeyVault",
        json!({"VaultName": VAULT, "Location": "westeurope", "EnablePurgeProtection": true}),
    );
    session.ok("Add-KeyVaultKey", json!({"VaultName": VAULT, "Name": KEY}));
    session.ok(
        "Set-KeyVaultAccessPolicy",
        json!({"VaultName": VAULT, "ServicePrincipalName": AIP, "PermissionsToKeys": ["get", "decrypt", "sign"]}),
    );
}

/// Copies a closed store's files (`store.db`, `master.key`; a closed store has no -wal) into
/// a new folder, keeping their 0600 mode: a fresh store with the template's state, in far less
/// time than creating one.
pub fn copy_store(template: &Path, to: &Path) {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(to)
        .expect("store folder");
    for entry in std::fs::read_dir(template).expect("template store") {
        let entry = entry.expect("template entry");
        if entry.file_type().is_ok_and(|t| t.is_file()) {
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy store file");
        }
    }
}
