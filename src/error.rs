//! The one error type every operation returns, and the status codes the C ABI exposes.

use std::fmt;

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
}

pub type Result<T> = std::result::Result<T, Error>;

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
        }
    }

    /// A parameter broke a rule; the message names the parameter and the rule.
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

    pub fn internal(message: impl Into<String>) -> Self {
        Error::new(CkStatus::Internal, "InternalError", message, "")
    }

    /// The JSON error envelope: `{"error": {"code", "category", "message", "target"}}`.
    pub fn envelope(&self) -> serde_json::Value {
        serde_json::json!({
            "error": {
                "code": self.code,
                "category": self.status.category(),
                "message": self.message,
                "target": self.target,
            }
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(code, _) = &e {
            if matches!(
                code.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) {
                return Error::new(
                    CkStatus::Busy,
                    "StoreBusy",
                    "The store is busy in another process; try again",
                    "",
                );
            }
        }
        Error::new(CkStatus::Io, "StoreError", format!("Store error: {e}"), "")
    }
}
