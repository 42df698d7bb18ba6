//! The one error type every operation returns, and the status codes the C ABI exposes.

use std::fmt;
use std::sync::Arc;

/// Status codes returned by every `ck_*` function. `Ok` is zero; every failure is non-zero and
/// comes with an error envelope in `out_json`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CkStatus {
    Ok = 0,
    InvalidArgument = 1,
    NotFound = 2,
    Conflict = 3,
    Forbidden = 4,
    InvalidOperation = 5,
    Busy = 6,
    Io = 7,
    Internal = 8,
    Panic = 9,
    /// The service (a key vault) could not be reached.
    Unavailable = 10,
    /// The service refused the caller's credentials (Key Vault's 401).
    Unauthenticated = 11,
    /// The service kept throttling after every retry (Key Vault's 429).
    LimitsExceeded = 12,
    /// Stored data is damaged (a corrupt store file): restore from a backup.
    InvalidData = 13,
    /// Stored data could not be read (the disk failed a read, or a value is not what the
    /// store's schema says it is).
    ReadError = 14,
    /// Stored data needs a newer CustomerKey than this one (a store written by a later
    /// release, with a newer schema): upgrade CustomerKey. The data was left untouched.
    Unsupported = 15,
    /// The call was cancelled (`ck_cancel`; Ctrl+C in PowerShell) before it finished.
    Cancelled = 16,
    /// The call ran past the session's `CallTimeoutSeconds` and was stopped.
    TimedOut = 17,
}

impl CkStatus {
    /// The PowerShell `ErrorCategory` name that matches this status.
    pub fn category(self) -> &'static str {
        match self {
            CkStatus::Ok => "NotSpecified",
            CkStatus::InvalidArgument => "InvalidArgument",
            CkStatus::NotFound => "ObjectNotFound",
            CkStatus::Conflict => "ResourceExists",
            CkStatus::Forbidden => "PermissionDenied",
            CkStatus::InvalidOperation => "InvalidOperation",
            CkStatus::Busy => "ResourceBusy",
            CkStatus::Io => "WriteError",
            CkStatus::Internal => "NotSpecified",
            CkStatus::Panic => "NotSpecified",
            CkStatus::Unavailable => "ConnectionError",
            CkStatus::Unauthenticated => "AuthenticationError",
            CkStatus::LimitsExceeded => "LimitsExceeded",
            CkStatus::InvalidData => "InvalidData",
            CkStatus::ReadError => "ReadError",
            CkStatus::Unsupported => "NotImplemented",
            CkStatus::Cancelled => "OperationStopped",
            CkStatus::TimedOut => "OperationTimeout",
        }
    }
}

/// An operation failure: what went wrong (`code`, Key Vault's code where one exists), how
/// PowerShell should classify it (`status`), a message for the admin and the object it concerns.
/// Messages never carry key material, passwords or unwrapped keys.
#[derive(Debug, Clone)]
pub struct Error {
    pub status: CkStatus,
    pub code: String,
    pub message: String,
    pub target: String,
    /// The lower-level failure this one reports (SQLite's, say), for `source()` chains and the
    /// Debug output a developer reads; the envelope shows only the message. Shared so the error
    /// stays `Clone`.
    pub source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
    /// The ids of the service's answer this error reports (Key Vault, Azure Resource Manager,
    /// Microsoft Graph, Entra ID; after retries, the last attempt's): what Microsoft support
    /// asks for first. Also at the end of the message, and in the envelope (`requestId`,
    /// `correlationId`). Boxed: most errors have none, and the error stays small.
    pub service_ids: Option<Box<ServiceIds>>,
}

/// The ids Azure gives an answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceIds {
    /// `x-ms-request-id`.
    pub request_id: Option<String>,
    /// Azure Resource Manager's `x-ms-correlation-request-id`, when it differs from the
    /// request id.
    pub correlation_id: Option<String>,
}

pub type Result<T> = std::result::Result<T, Error>;

/// Longest request id kept (Azure's are GUIDs, 36 characters).
const MAX_REQUEST_ID: usize = 128;

impl Error {
    /// The PowerShell ErrorCategory of this error.
    pub fn category(&self) -> &'static str {
        self.status.category()
    }

    pub fn new(
        status: CkStatus,
        code: &str,
        message: impl Into<String>,
        target: impl Into<String>,
    ) -> Self {
        Error {
            status,
            code: code.to_string(),
            message: message.into(),
            target: target.into(),
            source: None,
            service_ids: None,
        }
    }

    /// This error as the service's answer with request id `request_id` (and ARM's correlation
    /// id) reported it: the ids kept, and written at the end of the message as Azure's tools
    /// write them, `(x-ms-request-id: <id>)`, so an admin sees them in PowerShell's error too.
    /// Ids that are empty, too long or not printable ASCII are not kept (a misbehaving endpoint
    /// cannot put text of its own into the message this way).
    pub fn with_request_id(
        mut self,
        request_id: Option<&str>,
        correlation_id: Option<&str>,
    ) -> Self {
        let clean = |id: Option<&str>| {
            id.map(str::trim)
                .filter(|id| {
                    !id.is_empty()
                        && id.len() <= MAX_REQUEST_ID
                        && id.bytes().all(|b| b.is_ascii_graphic())
                })
                .map(str::to_string)
        };
        let request_id = clean(request_id);
        let correlation_id = clean(correlation_id).filter(|c| Some(c) != request_id.as_ref());
        let mut ids = Vec::new();
        if let Some(id) = &request_id {
            ids.push(format!("x-ms-request-id: {id}"));
        }
        if let Some(id) = &correlation_id {
            ids.push(format!("x-ms-correlation-request-id: {id}"));
        }
        if !ids.is_empty() {
            self.message = format!("{} ({})", self.message, ids.join(", "));
        }
        self.service_ids = (request_id.is_some() || correlation_id.is_some()).then(|| {
            Box::new(ServiceIds {
                request_id,
                correlation_id,
            })
        });
        self
    }

    /// Whether the work was stopped (cancelled, or past its deadline) rather than refused: trying
    /// the next key or the availability key would only be stopped too, and a job is not at fault.
    pub fn is_stop(&self) -> bool {
        matches!(self.status, CkStatus::Cancelled | CkStatus::TimedOut)
    }

    /// The `x-ms-request-id` of the answer this error reports, if it came from one.
    pub fn request_id(&self) -> Option<&str> {
        self.service_ids.as_ref()?.request_id.as_deref()
    }

    /// Azure Resource Manager's `x-ms-correlation-request-id`, if the answer had one.
    pub fn correlation_id(&self) -> Option<&str> {
        self.service_ids.as_ref()?.correlation_id.as_deref()
    }

    /// This error with `source` as its cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// A parameter broke a rule; the message names the parameter and the rule.
    /// The same failure, reported against another parameter (the one the caller gave).
    pub fn with_target(mut self, target: impl Into<String>) -> Self {
        self.target = target.into();
        self
    }

    pub fn invalid_argument(parameter: &str, rule: impl fmt::Display) -> Self {
        Error::new(
            CkStatus::InvalidArgument,
            "BadParameter",
            format!("Parameter '{parameter}': {rule}"),
            parameter,
        )
    }

    pub fn not_found(code: &str, message: impl Into<String>, target: impl Into<String>) -> Self {
        Error::new(CkStatus::NotFound, code, message, target)
    }

    pub fn conflict(message: impl Into<String>, target: impl Into<String>) -> Self {
        Error::new(CkStatus::Conflict, "Conflict", message, target)
    }

    pub fn forbidden(message: impl Into<String>, target: impl Into<String>) -> Self {
        Error::new(CkStatus::Forbidden, "Forbidden", message, target)
    }

    pub fn invalid_operation(
        code: &str,
        message: impl Into<String>,
        target: impl Into<String>,
    ) -> Self {
        Error::new(CkStatus::InvalidOperation, code, message, target)
    }

    pub fn io(message: impl Into<String>, target: impl Into<String>) -> Self {
        Error::new(CkStatus::Io, "IOError", message, target)
    }

    /// A store whose schema (`found`) is newer than the newest this library knows
    /// (`supported`): refused before anything in it is written.
    pub fn store_version_too_new(found: i64, supported: usize, store: impl Into<String>) -> Self {
        let store = store.into();
        Error::new(
            CkStatus::Unsupported,
            "StoreVersionTooNew",
            format!(
                "The store {store} has schema version {found}, written by a newer CustomerKey; this CustomerKey ({}) reads schema versions up to {supported}. Upgrade CustomerKey to open it (the store was left untouched)",
                crate::VERSION
            ),
            store,
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Error::new(CkStatus::Internal, "InternalError", message, "")
    }

    /// The JSON error envelope: `{"error": {"code", "category", "message", "target"}}`, with
    /// `requestId` (and `correlationId`) when the service's answer gave one.
    pub fn envelope(&self) -> serde_json::Value {
        let mut envelope = serde_json::json!({
            "error": {
                "code": self.code,
                "category": self.status.category(),
                "message": self.message,
                "target": self.target,
            }
        });
        if let Some(id) = self.request_id() {
            envelope["error"]["requestId"] = serde_json::Value::from(id);
        }
        if let Some(id) = self.correlation_id() {
            envelope["error"]["correlationId"] = serde_json::Value::from(id);
        }
        envelope
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<crate::rt::Unavailable> for Error {
    fn from(e: crate::rt::Unavailable) -> Self {
        Error::internal(e.to_string())
    }
}

/// SQLite's failures by what an admin does about them: wait (busy), fix the data or the call
/// (constraint), restore (corrupt), free space (full), check the disk (read), each with its own
/// code and category. The SQLite error stays attached as the source.
impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode as C;
        let (status, code, message) = match &e {
            rusqlite::Error::SqliteFailure(failure, _) => match failure.code {
                C::DatabaseBusy | C::DatabaseLocked => (
                    CkStatus::Busy,
                    "StoreBusy",
                    "The store is busy in another process; try again".to_string(),
                ),
                C::ConstraintViolation => (
                    CkStatus::InvalidOperation,
                    "StoreConstraint",
                    format!("The store refused a change that breaks one of its rules: {e}"),
                ),
                C::DatabaseCorrupt | C::NotADatabase => (
                    CkStatus::InvalidData,
                    "StoreCorrupt",
                    format!("The store file is damaged ({e}); restore the store from a backup"),
                ),
                C::DiskFull => (
                    CkStatus::Io,
                    "StoreFull",
                    format!(
                        "The disk holding the store is full ({e}); free some space and try again"
                    ),
                ),
                C::SystemIoFailure if is_read_failure(failure.extended_code) => (
                    CkStatus::ReadError,
                    "StoreReadError",
                    format!("The store could not be read from disk: {e}"),
                ),
                C::CannotOpen => (
                    CkStatus::ReadError,
                    "StoreReadError",
                    format!("The store file could not be opened: {e}"),
                ),
                _ => (CkStatus::Io, "StoreError", format!("Store error: {e}")),
            },
            // A value that is not what the schema says: the row was read, but cannot be used.
            rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::IntegralValueOutOfRange(..)
            | rusqlite::Error::Utf8Error(..) => (
                CkStatus::ReadError,
                "StoreReadError",
                format!("A value in the store could not be read: {e}"),
            ),
            _ => (CkStatus::Io, "StoreError", format!("Store error: {e}")),
        };
        Error::new(status, code, message, "").with_source(e)
    }
}

/// SQLite's extended result codes for a failed read (SQLITE_IOERR_READ, _SHORT_READ).
fn is_read_failure(extended_code: i32) -> bool {
    matches!(
        extended_code,
        rusqlite::ffi::SQLITE_IOERR_READ | rusqlite::ffi::SQLITE_IOERR_SHORT_READ
    )
}

#[cfg(test)]
mod tests {
    use super::{CkStatus, Error};
    use rusqlite::Connection;
    use std::path::PathBuf;
    use std::time::Duration;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "ck-error-{name}-{}-{}",
            std::process::id(),
            crate::crypto::hex(&crate::crypto::random_bytes(4).unwrap())
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The code, the category the envelope carries, and SQLite's error kept as the source.
    fn check(e: rusqlite::Error, code: &str, category: &str) -> Error {
        let e = Error::from(e);
        assert_eq!(e.code, code, "{e:?}");
        assert_eq!(e.envelope()["error"]["category"], category, "{e:?}");
        let source = std::error::Error::source(&e).expect("the SQLite error is kept");
        assert!(
            source.downcast_ref::<rusqlite::Error>().is_some(),
            "{source:?}"
        );
        e
    }

    #[test]
    fn the_envelope_and_message_carry_the_request_id_only_when_there_is_one() {
        let plain = Error::not_found("KeyNotFound", "A key k9 was not found", "v1/k9");
        assert!(plain.envelope()["error"].get("requestId").is_none());
        assert!(plain.envelope()["error"].get("correlationId").is_none());
        assert!(!plain.message.contains("x-ms-request-id"));

        let id = "0f6a1f3e-6b1e-4c43-9d87-3a1c5e0b2d11";
        let e = plain.clone().with_request_id(Some(id), None);
        assert_eq!(e.request_id(), Some(id));
        assert_eq!(e.envelope()["error"]["requestId"], id);
        assert!(e.envelope()["error"].get("correlationId").is_none());
        assert_eq!(
            e.envelope()["error"]["message"],
            format!("A key k9 was not found (x-ms-request-id: {id})")
        );
        assert!(e.to_string().ends_with(&format!("(x-ms-request-id: {id})")));
        assert_eq!(
            (e.code.as_str(), e.target.as_str()),
            ("KeyNotFound", "v1/k9")
        );

        // ARM's correlation id, when it is not the request id.
        let e = plain.clone().with_request_id(Some(id), Some("corr-1"));
        assert_eq!(e.envelope()["error"]["correlationId"], "corr-1");
        assert!(e.message.ends_with(&format!(
            "(x-ms-request-id: {id}, x-ms-correlation-request-id: corr-1)"
        )));
        let same = plain.clone().with_request_id(Some(id), Some(id));
        assert!(same.correlation_id().is_none());

        // Nothing but an id goes into the message.
        for bad in ["", " ", "two words", "line\nbreak", &"x".repeat(200)] {
            let e = plain.clone().with_request_id(Some(bad), None);
            assert!(e.request_id().is_none(), "{bad:?}");
            assert_eq!(e.message, plain.message);
        }
    }

    #[test]
    fn constraint_failures_keep_their_kind() {
        let db = Connection::open_in_memory().unwrap();
        db.execute_batch("CREATE TABLE t (name TEXT UNIQUE); INSERT INTO t VALUES ('a');")
            .unwrap();
        let e = db.execute("INSERT INTO t VALUES ('a')", []).unwrap_err();
        check(e, "StoreConstraint", "InvalidOperation");
    }

    #[test]
    fn a_corrupt_file_is_store_corrupt() {
        let dir = scratch("corrupt");
        let path = dir.join("store.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
        // Overwrite the header ("SQLite format 3\0" and the page size after it).
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[..32].fill(0x5A);
        std::fs::write(&path, &bytes).unwrap();
        let e = Connection::open(&path)
            .and_then(|db| db.query_row("SELECT x FROM t", [], |r| r.get::<_, i64>(0)))
            .unwrap_err();
        let e = check(e, "StoreCorrupt", "InvalidData");
        assert_eq!(e.status, CkStatus::InvalidData);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_full_store_is_store_full() {
        let db = Connection::open_in_memory().unwrap();
        // SQLite's own limit on the file's size: the same SQLITE_FULL a full disk gives.
        db.execute_batch("PRAGMA max_page_count = 2; CREATE TABLE t (x BLOB);")
            .unwrap();
        let e = db
            .execute("INSERT INTO t VALUES (zeroblob(100000))", [])
            .unwrap_err();
        check(e, "StoreFull", "WriteError");
    }

    #[test]
    fn a_busy_store_is_store_busy() {
        let dir = scratch("busy");
        let path = dir.join("store.db");
        let holder = Connection::open(&path).unwrap();
        holder
            .execute_batch("CREATE TABLE t (x); BEGIN EXCLUSIVE; INSERT INTO t VALUES (1);")
            .unwrap();
        let other = Connection::open(&path).unwrap();
        other.busy_timeout(Duration::from_millis(50)).unwrap();
        let e = other.execute("INSERT INTO t VALUES (2)", []).unwrap_err();
        let e = check(e, "StoreBusy", "ResourceBusy");
        assert_eq!(e.status, CkStatus::Busy);
        drop(holder);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_unreadable_value_is_a_read_error() {
        let db = Connection::open_in_memory().unwrap();
        let e = db
            .query_row("SELECT 'not a number'", [], |r| r.get::<_, i64>(0))
            .unwrap_err();
        check(e, "StoreReadError", "ReadError");
    }

    #[test]
    fn a_store_with_a_corrupt_header_does_not_open_as_a_write_error() {
        let dir = scratch("store");
        drop(crate::store::Store::open(&dir, false).unwrap());
        let db = dir.join("store.db");
        let mut bytes = std::fs::read(&db).unwrap();
        bytes[..32].fill(0x5A);
        std::fs::write(&db, &bytes).unwrap();
        for side in ["store.db-wal", "store.db-shm"] {
            let _ = std::fs::remove_file(dir.join(side));
        }
        let e = match crate::store::Store::open(&dir, false) {
            Ok(_) => panic!("a store with a corrupt header opened"),
            Err(e) => e,
        };
        assert_eq!(
            (e.code.as_str(), e.category()),
            ("StoreCorrupt", "InvalidData"),
            "{e:?}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
