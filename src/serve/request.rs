//! One authenticated request to a vault host, and what its api-version decides: the fields
//! its bodies carry and the operations it has. Shared by the keys routes, their bodies and the
//! cryptographic operations, which name this module rather than each other.

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
    /// Runs `operation` as the request's principal on its vault; its result struct.
    pub(super) fn call<R: 'static>(
        &self,
        operation: &str,
        mut args: Map<String, Value>,
    ) -> Result<R, ApiError> {
        args.insert("VaultName".into(), json!(self.vault));
        engine::registry()
            .call_typed_as::<R>(
                self.session,
                self.principal,
                operation,
                &Value::Object(args),
            )?
            .map_err(|_| {
                ApiError::from(engine::Error::internal(format!(
                    "{operation} gave a result of another type"
                )))
            })
    }

    pub(super) fn kid(&self, name: &str, version: Option<&str>) -> String {
        engine::wire::Kid::id(self.base, name, version)
    }
}

/// The arguments of an operation on the key `name`.
pub(super) fn named(name: &str) -> Map<String, Value> {
    Map::from_iter([("Name".to_string(), json!(name))])
}

/// The fields a version's bodies carry beyond those every version has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct BodyShape {
    /// `attributes.recoverableDays`: 7.1 and later.
    pub recoverable_days: bool,
    /// `attributes.exportable`: 7.3 and later.
    pub exportable: bool,
}

impl VaultRequest<'_> {
    /// What the request's api-version writes.
    pub(super) fn shape(&self) -> BodyShape {
        BodyShape {
            recoverable_days: super::api_version_at_least(self.api_version, "7.1"),
            exportable: super::api_version_at_least(self.api_version, "7.3"),
        }
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
