//! Who acts: the identity every call, access check and audit row names.

/// The Microsoft 365 services that use customer keys, by the application id their access
/// policies name, with the workload name their key references are recorded under.
pub const WORKLOAD_SERVICE_PRINCIPALS: &[(&str, &str)] = &[
    ("00000002-0000-0ff1-ce00-000000000000", "Exchange"),
    ("00000003-0000-0ff1-ce00-000000000000", "SharePoint"),
    ("00000012-0000-0000-c000-000000000000", "AIP"),
    ("c066d759-24ae-40e7-a56f-027002b5d3e4", "MultiWorkload"),
];

/// The workload a service principal's application id is, if it is one.
pub fn workload_of(application_id: &str) -> Option<&'static str> {
    WORKLOAD_SERVICE_PRINCIPALS
        .iter()
        .find(|(id, _)| id.eq_ignore_ascii_case(application_id))
        .map(|(_, workload)| *workload)
}

/// The display name Entra ID gives a workload's service principal.
pub fn workload_display_name(workload: &str) -> Option<&'static str> {
    match workload {
        "Exchange" => Some("Office 365 Exchange Online"),
        "SharePoint" => Some("Office 365 SharePoint Online"),
        "AIP" => Some("Microsoft Rights Management Services"),
        "MultiWorkload" => Some("M365DataAtRestEncryption"),
        _ => None,
    }
}

/// The object id the engine gives a user: a name-based GUID of the lower-cased user principal
/// name, as its access policies and the endpoint's Graph routes give it.
pub fn user_object_id(upn: &str) -> String {
    crate::crypto::name_guid(&upn.to_lowercase())
}

/// The object id the engine gives a service principal: a name-based GUID of `spn:` and the
/// lower-cased application id.
pub fn service_object_id(application_id: &str) -> String {
    crate::crypto::name_guid(&format!("spn:{}", application_id.to_lowercase()))
}

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
