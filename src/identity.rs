//! Who acts: the identity every call, access check and audit row names.

/// Who a call acts as. Access policies are matched against it the way Key Vault matches them:
/// a user by user principal name or object id, a service principal by application id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A user, by user principal name (or object id).
    User(String),
    /// A service principal, by application id (Exchange Online is
    /// `00000002-0000-0ff1-ce00-000000000000`).
    ServicePrincipal(String),
}

impl Principal {
    pub fn user(name: impl Into<String>) -> Self {
        Principal::User(name.into())
    }
    pub fn service(application_id: impl Into<String>) -> Self {
        Principal::ServicePrincipal(application_id.into())
    }
    /// The name the audit table and error messages show.
    pub fn name(&self) -> &str {
        match self {
            Principal::User(n) | Principal::ServicePrincipal(n) => n,
        }
    }
    pub fn is_service_principal(&self) -> bool {
        matches!(self, Principal::ServicePrincipal(_))
    }
}
