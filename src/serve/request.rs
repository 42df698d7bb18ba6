//! One authenticated request to a vault host, and what its api-version decides: the fields
//! its bodies carry and the operations it has. Shared by the keys routes, the typed KeyBundle
//! and the cryptographic operations, which name this module rather than each other.

use super::http::ApiError;
use engine::identity::Principal;
use engine::session::Session;
use serde_json::{json, Map, Value};

/// One authenticated request to a vault host.
pub struct VaultRequest<'a> {
    pub session: &'a Session,
    pub principal: &'a Principal,
    pub vault: &'a str,
    /// `https://{vault}.localhost:{port}` from the request's Host: ids point where the client
    /// sent the request, so SDK crypto clients follow them back here.
    pub base: &'a str,
    pub api_version: &'a str,
    pub query: &'a [(String, String)],
}

impl VaultRequest<'_> {
    pub(super) fn call(
        &self,
        operation: &str,
        mut args: Map<String, Value>,
    ) -> Result<Value, ApiError> {
        args.insert("VaultName".into(), json!(self.vault));
        engine::registry()
            .call_value_as(
                self.session,
                self.principal,
                operation,
                &Value::Object(args),
            )
            .map_err(ApiError::from)
    }

    pub(super) fn kid(&self, name: &str, version: Option<&str>) -> String {
        kid_at(self.base, name, version)
    }
}

pub(super) fn kid_at(base: &str, name: &str, version: Option<&str>) -> String {
    match version {
        Some(v) => format!("{base}/keys/{name}/{v}"),
        None => format!("{base}/keys/{name}"),
    }
}

/// The fields a version's bodies carry beyond those every version has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct BodyShape {
    /// `attributes.recoverableDays`: 7.1 and later.
    pub recoverable_days: bool,
    /// `attributes.exportable`: 7.3 and later.
    pub exportable: bool,
}

impl BodyShape {
    pub(super) fn of(api_version: &str) -> BodyShape {
        BodyShape {
            recoverable_days: super::api_version_at_least(api_version, "7.1"),
            exportable: super::api_version_at_least(api_version, "7.3"),
        }
    }
}

impl VaultRequest<'_> {
    pub(super) fn shape(&self) -> BodyShape {
        BodyShape::of(self.api_version)
    }

    /// The 400 of an operation the request's api-version did not have yet.
    pub(super) fn needs_version(&self, since: &str) -> Result<(), ApiError> {
        if super::api_version_at_least(self.api_version, since) {
            return Ok(());
        }
        Err(ApiError::bad_parameter(format!(
            "The specified version ({}) does not support this operation; it needs version {since} or later",
            self.api_version
        )))
    }
}
