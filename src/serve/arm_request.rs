//! One authenticated request to Azure Resource Manager's routes, and what they share: the
//! engine's operations run as the token's principal with their errors as ARM's, api-versions,
//! the store's one subscription and resource group, and the vault a path names.

use super::http::ApiError;
use super::State;
use engine::identity::Principal;
use engine::vault::model::KeyVaultOut;
use hyper::{Method, StatusCode};
use serde_json::{json, Value};

pub(super) const RESOURCE_GROUP: &str = engine::vault::model::LOCAL_RESOURCE_GROUP;
pub(super) const READ: &str = "Microsoft.KeyVault/vaults/read";

#[derive(Clone)]
pub(super) struct ArmRequest<'a> {
    pub state: &'a State,
    pub principal: &'a Principal,
    /// `https://{host}` as the client addressed us: nextLinks point back here.
    pub base: String,
    pub query: &'a [(String, String)],
    /// Whether a 404 or 409 keeps the engine's code (Microsoft.Authorization's routes, whose
    /// codes are the engine's: RoleAssignmentNotFound...) rather than ARM's generic one.
    pub engine_codes: bool,
}

/// Whether the path's segment `i` is `word`.
pub(super) fn is(s: &[&str], i: usize, word: &str) -> bool {
    s.get(i).is_some_and(|w| w.eq_ignore_ascii_case(word))
}

/// ARM's 400 for an api-version a provider does not have.
pub(super) fn check_api_version(version: &str, supported: &[&str]) -> Result<(), ApiError> {
    if supported.contains(&version) {
        return Ok(());
    }
    let shown: String = version.chars().take(32).collect();
    Err(ApiError::new(
        StatusCode::BAD_REQUEST,
        "InvalidApiVersionParameter",
        format!(
            "The api-version '{shown}' is invalid. The supported versions are '{}'.",
            supported.join(",")
        ),
    ))
}

/// ARM's 404 for a path outside the store's subscription or its resource group (`s` are the
/// path's segments, beginning `subscriptions/{id}`), if it is.
pub(super) fn outside(state: &State, s: &[&str]) -> Option<ApiError> {
    if !is(s, 1, state.session.store().subscription_id()) {
        let message = format!(
            "The subscription '{}' could not be found.",
            s.get(1).unwrap_or(&"")
        );
        return Some(ApiError::new(
            StatusCode::NOT_FOUND,
            "SubscriptionNotFound",
            message,
        ));
    }
    let group = s.get(3).filter(|_| is(s, 2, "resourceGroups"))?;
    (!group.eq_ignore_ascii_case(RESOURCE_GROUP)).then(|| {
        let message = format!("Resource group '{group}' could not be found.");
        ApiError::new(StatusCode::NOT_FOUND, "ResourceGroupNotFound", message)
    })
}

pub(super) fn no_route(method: &Method, path: &str) -> ApiError {
    let message = format!("No route for {method} {path}");
    ApiError::new(StatusCode::NOT_FOUND, "NotFound", message)
}

impl<'a> ArmRequest<'a> {
    /// The request with the engine's codes on its 404s and 409s (see `engine_codes`).
    pub fn with_engine_codes(&self) -> ArmRequest<'a> {
        ArmRequest {
            engine_codes: true,
            ..self.clone()
        }
    }

    pub fn subscription(&self) -> &str {
        self.state.session.store().subscription_id()
    }

    pub fn vault_id(&self, name: &str) -> String {
        engine::vault::role_assignments::vault_scope(self.subscription(), name)
    }

    pub fn query(&self, name: &str) -> Option<&str> {
        let found = self.query.iter().find(|(k, _)| k == name);
        found.map(|(_, v)| v.as_str())
    }

    /// An engine operation as the token's principal; its result struct.
    pub fn try_call<R: 'static>(&self, operation: &str, args: Value) -> engine::Result<R> {
        engine::registry()
            .call_typed_as::<R>(&self.state.session, self.principal, operation, &args)?
            .map_err(|_| engine::Error::internal(format!("{operation} gave another result")))
    }

    /// [`ArmRequest::try_call`] with its errors as ARM's, `action` over `scope` refused.
    pub fn call<R: 'static>(
        &self,
        operation: &str,
        args: Value,
        scope: &str,
        action: &str,
    ) -> Result<R, ApiError> {
        self.try_call(operation, args)
            .map_err(|e| self.engine_error(e, scope, action))
    }

    pub fn engine_error(&self, e: engine::Error, scope: &str, action: &str) -> ApiError {
        use engine::CkStatus;
        let code = |generic: &'static str| {
            if self.engine_codes {
                e.code.clone()
            } else {
                generic.to_string()
            }
        };
        let (status, code) = match e.status {
            CkStatus::NotFound if e.code == "VaultNotFound" && !self.engine_codes => {
                return self.vault_not_found(scope.rsplit('/').next().unwrap_or_default())
            }
            CkStatus::NotFound => (StatusCode::NOT_FOUND, code("NotFound")),
            CkStatus::Forbidden => {
                let message = format!(
                    "The client '{}' with object id '{}' does not have authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. ({})",
                    self.principal.name(),
                    engine::vault::roles::object_id_of(self.principal),
                    e.message
                );
                return ApiError::new(StatusCode::FORBIDDEN, "AuthorizationFailed", message);
            }
            CkStatus::InvalidArgument | CkStatus::InvalidOperation => {
                (StatusCode::BAD_REQUEST, "BadRequest".to_string())
            }
            CkStatus::Conflict => (StatusCode::CONFLICT, code("Conflict")),
            CkStatus::Busy => (
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable".to_string(),
            ),
            _ => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerError".to_string(),
            ),
        };
        ApiError::new(status, &code, e.message)
    }

    pub fn vault_not_found(&self, vault: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            format!("The Resource 'Microsoft.KeyVault/vaults/{vault}' under resource group '{RESOURCE_GROUP}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"),
        )
    }

    /// A live vault of the store (ARM's 404 otherwise).
    pub fn get_vault(&self, name: &str) -> Result<KeyVaultOut, ApiError> {
        if engine::vault::model::check_vault_name(name).is_err() {
            return Err(self.vault_not_found(name));
        }
        let args = json!({"VaultName": name});
        let found: Vec<KeyVaultOut> =
            self.call("Get-KeyVault", args, &self.vault_id(name), READ)?;
        found
            .into_iter()
            .next()
            .ok_or_else(|| self.vault_not_found(name))
    }
}
