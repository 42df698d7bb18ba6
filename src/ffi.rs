//! The C ABI. Marshalling only: pointers, UTF-8, JSON, panics and status codes; every
//! operation is the engine's.
//!
//! Conventions (as in rustls-ffi): handles are opaque; every function returns a `CkStatus` as
//! `int32_t`; outputs are written only on success, except `out_json`, which on failure receives
//! the error envelope `{"error": {"code", "category", "message", "target"}}`. Every string the
//! library returns through `out_json` is owned by the caller and must be released exactly once
//! with `ck_free_string`. No function keeps thread-local state, and every one catches panics.

use crate::error::{CkStatus, Error};
use crate::session::Session;
use serde_json::Value;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use zeroize::{Zeroize, Zeroizing};

/// An open store. Created by `ck_open`, released by `ck_close`; safe to use from several
/// threads at once.
#[allow(non_camel_case_types)]
pub struct ck_session {
    session: Session,
}

impl ck_session {
    pub(crate) fn session(&self) -> &Session {
        &self.session
    }
}

fn to_c_string(json: &Value) -> *mut c_char {
    // serde_json escapes NUL as \u0000, so the text never holds an interior NUL.
    CString::new(json.to_string())
        .map(CString::into_raw)
        .unwrap_or(std::ptr::null_mut())
}

/// Writes `value` to `*out` when `out` is not NULL.
///
/// # Safety
/// `out` is NULL or valid for one pointer write.
unsafe fn put_json(out: *mut *mut c_char, value: &Value) {
    if !out.is_null() {
        // SAFETY: `out` is non-null here and, by this function's contract, valid for one
        // pointer write.
        *out = to_c_string(value);
    }
}

/// Writes JSON text to `*out` when `out` is not NULL. The text (which may hold a secret) is
/// copied once into a buffer of its exact size plus the NUL, so `CString` never reallocates
/// it; `json` is wiped when dropped, and the copy by `ck_free_string`.
///
/// # Safety
/// `out` is NULL or valid for one pointer write.
unsafe fn put_text(out: *mut *mut c_char, json: Zeroizing<String>) {
    if !out.is_null() {
        let mut bytes = Vec::with_capacity(json.len() + 1);
        bytes.extend_from_slice(json.as_bytes());
        // serde_json escapes NUL as \u0000, so the text never holds an interior NUL.
        let text = match CString::new(bytes) {
            Ok(text) => text.into_raw(),
            Err(e) => {
                e.into_vec().zeroize();
                std::ptr::null_mut()
            }
        };
        // SAFETY: `out` is non-null here and, by this function's contract, valid for one
        // pointer write.
        *out = text;
    }
}

/// Reads a required UTF-8 C string argument.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string.
unsafe fn read_str<'a>(p: *const c_char, parameter: &str) -> Result<&'a str, Error> {
    if p.is_null() {
        return Err(Error::invalid_argument(parameter, "must not be NULL"));
    }
    // SAFETY: `p` is non-null here and, by this function's contract, NUL-terminated; the text
    // is only borrowed for the call that passed it.
    CStr::from_ptr(p)
        .to_str()
        .map_err(|_| Error::invalid_argument(parameter, "must be valid UTF-8"))
}

/// Parses an optional JSON argument (NULL or empty means null).
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string.
unsafe fn read_json(p: *const c_char, parameter: &str) -> Result<Value, Error> {
    if p.is_null() {
        return Ok(Value::Null);
    }
    // SAFETY: this function's contract on `p` is read_str's.
    let text = read_str(p, parameter)?;
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(text)
        .map_err(|e| Error::invalid_argument(parameter, format!("is not valid JSON ({e})")))
}

/// Runs `body` behind the panic boundary. On success returns 0 (what `body` wrote stands); on
/// an error or a panic writes the envelope to `out_json` (when not NULL) and returns the
/// status. Every export goes through here.
///
/// # Safety
/// `out_json` is NULL or valid for one pointer write.
#[doc(hidden)]
pub unsafe fn guarded(out_json: *mut *mut c_char, body: impl FnOnce() -> Result<(), Error>) -> i32 {
    let error = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return CkStatus::Ok as i32,
        Ok(Err(e)) => e,
        // The payload is not shown: it could quote data the engine was working on.
        Err(_) => Error::new(
            CkStatus::Panic,
            "InternalPanic",
            "The engine hit an internal error and stopped the operation; nothing was committed",
            "",
        ),
    };
    let status = error.status;
    // SAFETY: this function's contract on `out_json` is put_json's.
    let _ = catch_unwind(AssertUnwindSafe(|| put_json(out_json, &error.envelope())));
    status as i32
}

/// Opens (creating on first use) a store.
///
/// `options_json` (borrowed; may be NULL) is a JSON object with optional `Store` (absolute
/// directory), `UserPrincipalName`, `TimeShiftSeconds`, `CallTimeoutSeconds` and the remote
/// options (`Environment`, `VaultDomain`, ...: see the README). `CallTimeoutSeconds` (300 by
/// default, 1 to 86400) bounds every `ck_call`: one still waiting on Azure after it, and a read
/// ending after it, fails with `CK_STATUS_TIMED_OUT` (code `OperationTimedOut`); a change
/// already committed to the store stands. On success `*out_session` receives a
/// session owned by the caller (release it with `ck_close`), and `*out_json`, when `out_json` is
/// not NULL, receives `{"Store", "UserPrincipalName", "Version"}` owned by the caller (release
/// with `ck_free_string`). On failure `*out_session` is untouched and `*out_json` receives the
/// error envelope.
///
/// # Safety
/// `options_json` is NULL or a NUL-terminated string; `out_session` is valid for a write;
/// `out_json` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn ck_open(
    options_json: *const c_char,
    out_session: *mut *mut ck_session,
    out_json: *mut *mut c_char,
) -> i32 {
    // SAFETY: the caller's contract on `out_json` is guarded's and put_json's, and the one on
    // `options_json` is read_json's; `out_session` is written only after the NULL check, and
    // the contract makes it valid for that write.
    guarded(out_json, || {
        if out_session.is_null() {
            return Err(Error::invalid_argument("out_session", "must not be NULL"));
        }
        let options = read_json(options_json, "options_json")?;
        let session = crate::open_session_json(&options)?;
        let info = session.info();
        *out_session = Box::into_raw(Box::new(ck_session { session }));
        put_json(out_json, &info);
        Ok(())
    })
}

/// Runs one operation.
///
/// `operation` (borrowed) is the cmdlet name without prefix, such as `Add-KeyVaultKey`;
/// `arguments_json` (borrowed; NULL means `{}`) is a JSON object keyed by parameter name. On
/// success `*out_json` receives the result (an object, an array of objects, or `null`) owned by
/// the caller; on failure it receives the error envelope, also owned by the caller. Release
/// either with `ck_free_string`.
///
/// An operation whose ck_describe entry has `Pages` takes `"$Page": {"Size": n, "After":
/// token}` beside its arguments and answers `{"Items": [...], "NextPage": token | null}`. One
/// whose entry has `Batch` also takes a JSON array of argument objects (at most 10,000): each
/// runs as a call of its own, and the answer is an array, in order, of `{"Status": 0,
/// "Result": ...}` or `{"Status": n, "Error": envelope}`; the function itself then returns 0. `session` stays owned by the caller and may be used from
/// several threads at once. A call ends early with `CK_STATUS_CANCELLED` after `ck_cancel`,
/// and with `CK_STATUS_TIMED_OUT` after the session's `CallTimeoutSeconds` (each item of a
/// batch has its own; a cancel fails the whole batch).
///
/// # Safety
/// `session` is NULL or a live pointer from `ck_open`; `operation` and `arguments_json` are NULL
/// or NUL-terminated strings; `out_json` is valid for a write.
#[no_mangle]
pub unsafe extern "C" fn ck_call(
    session: *const ck_session,
    operation: *const c_char,
    arguments_json: *const c_char,
    out_json: *mut *mut c_char,
) -> i32 {
    // SAFETY: `out_json` is checked for NULL before any write and the contract makes it valid
    // for one; `session` is NULL (refused by as_ref's None) or live from ck_open, and is only
    // borrowed for this call; `operation` and `arguments_json` meet read_str's and read_json's
    // contracts.
    guarded(out_json, || {
        if out_json.is_null() {
            return Err(Error::invalid_argument("out_json", "must not be NULL"));
        }
        let session = session
            .as_ref()
            .ok_or_else(|| Error::invalid_argument("session", "must not be NULL"))?;
        let operation = read_str(operation, "operation")?;
        let arguments = read_json(arguments_json, "arguments_json")?;
        let result = match &arguments {
            Value::Array(items) => {
                crate::registry().call_batch_json(&session.session, operation, items)?
            }
            _ => crate::registry().call_json(&session.session, operation, &arguments)?,
        };
        put_text(out_json, result);
        Ok(())
    })
}

/// Cancels the calls in flight on `session`: each fails within a second, wherever it waits (a
/// request to Azure and its retries, the items of a batch), with `CK_STATUS_CANCELLED` and
/// code `OperationCancelled`. Calls begun after it returns run as usual; background jobs go
/// on. A request already sent may still take effect at the service; the store is changed by
/// one transaction per operation or not at all. Meant for another thread than the call's
/// (PowerShell calls it on Ctrl+C). Returns 0, or `CK_STATUS_INVALID_ARGUMENT` for a NULL
/// session (no envelope: there is no `out_json`).
///
/// # Safety
/// `session` is NULL or a live pointer from `ck_open` that no thread is closing; it stays owned
/// by the caller, and other threads may be in `ck_call` on it.
#[no_mangle]
pub unsafe extern "C" fn ck_cancel(session: *const ck_session) -> i32 {
    // SAFETY: `session` is NULL (refused by as_ref's None) or live from ck_open and not being
    // closed, as the contract says, and is only borrowed for this call; ck_session is Sync, so
    // the calls other threads are making on it are no obstacle. NULL out_json meets guarded's
    // contract.
    guarded(std::ptr::null_mut(), || {
        let session = session
            .as_ref()
            .ok_or_else(|| Error::invalid_argument("session", "must not be NULL"))?;
        session.session.cancel_calls();
        Ok(())
    })
}

/// Describes every operation: its parameters (name, JSON type, mandatory, allowed values) and
/// output type. On success `*out_json` receives the registry, owned by the caller (release with
/// `ck_free_string`).
///
/// # Safety
/// `out_json` is valid for a write.
#[no_mangle]
pub unsafe extern "C" fn ck_describe(out_json: *mut *mut c_char) -> i32 {
    // SAFETY: `out_json` is NULL (refused before any write) or valid for a write, as the
    // contract says.
    guarded(out_json, || {
        if out_json.is_null() {
            return Err(Error::invalid_argument("out_json", "must not be NULL"));
        }
        put_json(out_json, &crate::registry().describe());
        Ok(())
    })
}

/// Releases a string returned through `out_json`. NULL is ignored.
///
/// # Safety
/// `s` is NULL or a string this library returned, not yet released, and unmodified (the
/// length is found again from its terminating NUL).
#[no_mangle]
pub unsafe extern "C" fn ck_free_string(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: by the contract `s` came from CString::into_raw in to_c_string, unmodified
        // and not yet released, so rebuilding the CString and dropping it frees it once.
        let _ = catch_unwind(AssertUnwindSafe(|| drop(wiped(CString::from_raw(s)))));
    }
}

/// The string's own buffer (the same allocation, NUL included), zeroed: a result can hold an
/// unwrapped key or decrypted content, and freed memory keeps its bytes until reused. What a
/// buffer holds after `free` cannot be read safely, so the tests check this step instead: the
/// wiped bytes are the very allocation the caller was given, and every one of them is zero.
fn wiped(s: CString) -> Vec<u8> {
    use zeroize::Zeroize;
    // `into_bytes_with_nul` hands over the allocation without copying it.
    let mut bytes = s.into_bytes_with_nul();
    bytes.as_mut_slice().zeroize();
    bytes
}

/// Closes a session and releases it. NULL is ignored. Returns within a few seconds whatever
/// the session's background jobs are doing: the batch in flight commits if it is done within a
/// second, else it is cancelled (waiting on Azure, say) and its job resumes from its last
/// committed batch when a session next opens the store. Every audit row is committed when it
/// returns.
///
/// # Safety
/// `s` is NULL or a pointer from `ck_open` not yet closed, and no other thread is using it.
#[no_mangle]
pub unsafe extern "C" fn ck_close(s: *mut ck_session) {
    if !s.is_null() {
        // SAFETY: by the contract `s` came from Box::into_raw in ck_open, is not yet closed and
        // no other thread uses it, so this is the one owner dropping it.
        let _ = catch_unwind(AssertUnwindSafe(|| drop(Box::from_raw(s))));
    }
}

/// The library version as a static NUL-terminated string, owned by the library: never free it.
#[no_mangle]
pub extern "C" fn ck_version() -> *const c_char {
    static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    VERSION.as_ptr() as *const c_char
}

#[cfg(test)]
mod tests {
    use super::wiped;
    use std::ffi::CString;

    #[test]
    fn strings_are_wiped_in_place_before_they_are_freed() {
        let secret = CString::new("{\"Value\":\"UNWRAPPED-KEY\"}").unwrap();
        let len = secret.as_bytes_with_nul().len();
        // What ck_free_string receives: the pointer into_raw gave the caller.
        let raw = secret.into_raw();
        // SAFETY: `raw` came from into_raw just above and is rebuilt once.
        let bytes = wiped(unsafe { CString::from_raw(raw) });
        assert_eq!(
            bytes.as_ptr(),
            raw as *const u8,
            "wiped a copy, not the buffer"
        );
        assert_eq!(bytes.len(), len);
        assert!(bytes.iter().all(|&b| b == 0), "{bytes:?}");
    }
}
