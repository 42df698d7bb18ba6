//! A small safe wrapper over the C ABI, so the integration tests drive the library exactly as a
//! C or PowerShell host does: strings in, JSON out, every returned string freed.
#![allow(dead_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use customer_key::ffi::{ck_call, ck_close, ck_free_string, ck_open, ck_session};
use serde_json::{json, Value};
use std::ffi::{c_char, CStr, CString};
use std::path::{Path, PathBuf};

pub struct Ck {
    session: *mut ck_session,
}

// SAFETY: the library promises a session may be used from several threads at once (ck_call's
// contract), and `Ck` holds nothing but the session pointer.
unsafe impl Send for Ck {}
// SAFETY: as for Send: every method takes `&self` and only passes the pointer to ck_call.
unsafe impl Sync for Ck {}

/// A failed call: the status and the error envelope's `error` object.
#[derive(Debug)]
pub struct CallError {
    pub status: i32,
    pub error: Value,
}

impl CallError {
    pub fn code(&self) -> &str {
        self.error["code"].as_str().unwrap_or("")
    }
    pub fn category(&self) -> &str {
        self.error["category"].as_str().unwrap_or("")
    }
    pub fn message(&self) -> &str {
        self.error["message"].as_str().unwrap_or("")
    }
}

/// Reads and releases a string the library returned.
///
/// # Safety
/// `p` is NULL (a failed assertion) or a string from `out_json` not yet released.
pub unsafe fn take_json(p: *mut c_char) -> Value {
    assert!(!p.is_null(), "the library returned no JSON");
    let text = CStr::from_ptr(p).to_str().expect("UTF-8").to_owned();
    ck_free_string(p);
    serde_json::from_str(&text).expect("valid JSON")
}

impl Ck {
    pub fn open(options: Value) -> Result<Ck, CallError> {
        let options = CString::new(options.to_string()).unwrap();
        let mut session = std::ptr::null_mut();
        let mut out = std::ptr::null_mut();
        // SAFETY: the options are a live NUL-terminated string; both outputs are local pointers.
        let status = unsafe { ck_open(options.as_ptr(), &mut session, &mut out) };
        // SAFETY: ck_open writes `out` on success and failure alike, and it is released once here.
        let body = unsafe { take_json(out) };
        if status == 0 {
            assert!(!session.is_null());
            Ok(Ck { session })
        } else {
            assert!(
                session.is_null(),
                "out_session must not be written on failure"
            );
            Err(CallError {
                status,
                error: body["error"].clone(),
            })
        }
    }

    pub fn at(store: &Path, upn: &str) -> Ck {
        Ck::open(json!({"Store": store, "UserPrincipalName": upn})).expect("store opens")
    }

    pub fn call(&self, operation: &str, args: Value) -> Result<Value, CallError> {
        let op = CString::new(operation).unwrap();
        let args = CString::new(args.to_string()).unwrap();
        let mut out = std::ptr::null_mut();
        // SAFETY: `self.session` is live until drop; the strings are live and NUL-terminated;
        // `out` is a local pointer.
        let status = unsafe { ck_call(self.session, op.as_ptr(), args.as_ptr(), &mut out) };
        // SAFETY: ck_call writes `out` on success and failure alike, and it is released once here.
        let body = unsafe { take_json(out) };
        if status == 0 {
            Ok(body)
        } else {
            let error = body["error"].clone();
            assert!(
                error["code"].is_string()
                    && error["category"].is_string()
                    && error["message"].is_string()
            );
            Err(CallError { status, error })
        }
    }

    /// The session pointer, for a test that calls an export itself. It stays owned by `self`.
    pub fn raw(&self) -> *const ck_session {
        self.session
    }

    /// The engine's session behind the handle (test hooks), to wait on its job runner.
    pub fn session(&self) -> &customer_key::Session {
        // SAFETY: `self.session` is live until drop, and the reference borrows `self`.
        unsafe { customer_key::session_of(self.session) }
    }

    /// Calls and expects success.
    pub fn ok(&self, operation: &str, args: Value) -> Value {
        match self.call(operation, args.clone()) {
            Ok(v) => v,
            Err(e) => panic!("{operation} {args} failed: {e:?}"),
        }
    }

    /// Calls and expects failure.
    pub fn err(&self, operation: &str, args: Value) -> CallError {
        match self.call(operation, args.clone()) {
            Ok(v) => panic!("{operation} {args} should have failed but returned {v}"),
            Err(e) => e,
        }
    }
}

impl Drop for Ck {
    fn drop(&mut self) {
        // SAFETY: the session came from ck_open, is closed only here, and `&mut self` means no
        // other thread is using it.
        unsafe { ck_close(self.session) };
    }
}

/// A fresh temporary directory, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let mut bytes = [0u8; 8];
        aws_lc_rs::rand::fill(&mut bytes).unwrap();
        let name: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let dir = std::env::temp_dir().join(format!("ck-test-{tag}-{name}"));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
    pub fn join(&self, p: &str) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub const ADMIN: &str = "admin@contoso.com";

/// A store in a temp dir with the admin's session and one vault per given (name, location).
pub fn store_with_vaults(tag: &str, vaults: &[(&str, &str)]) -> (TempDir, Ck) {
    let dir = TempDir::new(tag);
    let ck = Ck::at(&dir.join("store"), ADMIN);
    for (name, location) in vaults {
        ck.ok(
            "New-KeyVault",
            json!({"VaultName": name, "Location": location}),
        );
    }
    (dir, ck)
}

pub fn b64(bytes: &[u8]) -> String {
    customer_key::b64::encode(bytes)
}

pub fn wrap(ck: &Ck, vault: &str, key: &str, version: Option<&str>, value: &[u8]) -> Value {
    let mut args = json!({"VaultName": vault, "Name": key, "Operation": "Wrap", "Algorithm": "RSA-OAEP-256", "ByteArrayValue": b64(value)});
    if let Some(v) = version {
        args["Version"] = json!(v);
    }
    ck.ok("Invoke-KeyVaultKeyOperation", args)
}

pub fn unwrap(
    ck: &Ck,
    vault: &str,
    key: &str,
    version: &str,
    wrapped_b64: &str,
) -> Result<Value, CallError> {
    ck.call(
        "Invoke-KeyVaultKeyOperation",
        json!({"VaultName": vault, "Name": key, "Version": version, "Operation": "Unwrap", "Algorithm": "RSA-OAEP-256", "ByteArrayValue": wrapped_b64}),
    )
}
