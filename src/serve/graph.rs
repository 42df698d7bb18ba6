//! Microsoft Graph's directory reads on `localhost:{port}/v1.0/`, for the management plane's
//! principal lookups: `GET /v1.0/users/{upn}`, `GET /v1.0/servicePrincipals?$filter=appId eq
//! '{id}'` (or `servicePrincipalNames/any(n:n eq '{id}')`), `GET
//! /v1.0/servicePrincipals/{id}`, and `POST /v1.0/directoryObjects/getByIds` (the display
//! names of access policies' object ids).
//!
//! The directory is the store's: users are who sign in by user principal name (the engine
//! registers none, so every `user@domain` is a user), service principals are those of
//! `New-ServicePrincipal` and the Microsoft 365 workloads' (Exchange, SharePoint, AIP). Object
//! ids are the ones the engine gives their access policies: a name-based GUID of the lower-cased
//! user principal name, or of `spn:` and the lower-cased application id. So an object id from
//! Graph names the same principal in an access policy.
//!
//! Who may read: a service principal that owns a vault of the store (the tenant's administrator
//! here; in Entra ID, an app granted User.Read.All and Application.Read.All). Others get Graph's
//! 403 Authorization_RequestDenied.

use super::http::{ok, percent_decode, ApiError, HttpResponse};
use super::State;
use engine::identity::{service_object_id, user_object_id, Principal, WORKLOAD_SERVICE_PRINCIPALS};
use engine::wire::graph::{DirectoryObject, GetByIdsParameters};
use engine::wire::keyvault::ListResult;
use hyper::{Method, StatusCode};
use std::collections::HashMap;
use std::sync::Mutex;

/// Users Graph was asked about, by object id: an access policy set by object id through ARM
/// then names the user by user principal name, as the engine's own policies do.
#[derive(Default)]
pub(super) struct SeenUsers(Mutex<HashMap<String, String>>);

/// Bounds the memory a client can make the endpoint hold.
const MAX_SEEN: usize = 10_000;

impl SeenUsers {
    fn record(&self, object_id: &str, upn: &str) {
        let mut seen = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() < MAX_SEEN || seen.contains_key(object_id) {
            seen.insert(object_id.to_string(), upn.to_string());
        }
    }

    fn all(&self) -> Vec<(String, String)> {
        let seen = self.0.lock().unwrap_or_else(|p| p.into_inner());
        seen.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    pub(super) fn user(&self, object_id: &str) -> Option<String> {
        let seen = self.0.lock().unwrap_or_else(|p| p.into_inner());
        seen.get(&object_id.to_ascii_lowercase()).cloned()
    }
}

/// Every service principal of the directory: (application id, display name).
pub(super) fn service_principals(state: &State) -> Result<Vec<(String, String)>, ApiError> {
    let mut all: Vec<(String, String)> = WORKLOAD_SERVICE_PRINCIPALS
        .iter()
        .map(|(id, w)| {
            (
                id.to_string(),
                engine::identity::workload_display_name(w)
                    .unwrap_or(w)
                    .to_string(),
            )
        })
        .collect();
    let registered = state
        .session
        .store()
        .read(engine::store::directory::list_service_principals)
        .map_err(ApiError::from)?;
    all.extend(
        registered
            .into_iter()
            .map(|r| (r.application_id, r.display_name)),
    );
    Ok(all)
}

fn service_principal(application_id: &str, display_name: &str) -> DirectoryObject {
    DirectoryObject {
        id: Some(service_object_id(application_id)),
        app_id: Some(application_id.into()),
        display_name: Some(display_name.into()),
        service_principal_names: Some(vec![application_id.into()]),
        service_principal_type: Some("Application".into()),
        ..DirectoryObject::default()
    }
}

fn user_object(object_id: String, upn: &str) -> DirectoryObject {
    DirectoryObject {
        id: Some(object_id),
        user_principal_name: Some(upn.into()),
        display_name: Some(upn.into()),
        ..DirectoryObject::default()
    }
}

fn graph_error(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(status, code, message)
}

fn not_found(what: &str) -> ApiError {
    graph_error(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        format!("Resource '{what}' does not exist or one of its queried reference-property objects are not present."),
    )
}

/// Whether `principal` owns a vault of the store (live or deleted).
pub(super) fn owns_a_vault(state: &State, principal: &Principal) -> Result<bool, ApiError> {
    let name = principal.name();
    state
        .session
        .store()
        .read(|tx| {
            let mut vaults = engine::store::vaults::list_vaults(tx, false)?;
            vaults.extend(engine::store::vaults::list_vaults(tx, true)?);
            Ok(vaults.iter().any(|v| v.owner.eq_ignore_ascii_case(name)))
        })
        .map_err(ApiError::from)
}

/// Users by object id: those Graph was asked about, those access policies name by user
/// principal name, and vault owners who are users.
fn known_users(state: &State) -> Result<HashMap<String, String>, ApiError> {
    let upns = state
        .session
        .store()
        .read(|tx| {
            let mut upns = Vec::new();
            for vault in engine::store::vaults::list_vaults(tx, false)? {
                if vault.owner.contains('@') {
                    upns.push(vault.owner.clone());
                }
                upns.extend(
                    engine::store::vaults::list_policies(tx, &vault.name)?
                        .into_iter()
                        .filter_map(|p| p.user_principal_name),
                );
            }
            Ok(upns)
        })
        .map_err(ApiError::from)?;
    let mut users: HashMap<String, String> = upns
        .into_iter()
        .map(|upn| (user_object_id(&upn), upn))
        .collect();
    users.extend(state.directory.all());
    Ok(users)
}

/// `POST /v1.0/directoryObjects/getByIds`: the directory objects of the ids that name one (of
/// the types asked for), each with its `@odata.type`; unknown ids are left out, as Graph does.
fn by_object_ids(state: &State, body: &[u8]) -> Result<ListResult<DirectoryObject>, ApiError> {
    let asked: GetByIdsParameters = super::http::parse_json(body)?;
    if asked.ids.len() > 1000 {
        return Err(graph_error(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "Too many ids: getByIds takes at most 1000",
        ));
    }
    let wanted =
        |t: &str| asked.types.is_empty() || asked.types.iter().any(|x| x.eq_ignore_ascii_case(t));
    let services = service_principals(state)?;
    let users = known_users(state)?;
    let mut found = Vec::new();
    for id in &asked.ids {
        let id = id.to_ascii_lowercase();
        let service = services
            .iter()
            .find(|(app, _)| service_object_id(app) == id);
        match (service, users.get(&id)) {
            (Some((app, name)), _) if wanted("servicePrincipal") => found.push(DirectoryObject {
                odata_type: Some("#microsoft.graph.servicePrincipal".into()),
                ..service_principal(app, name)
            }),
            (_, Some(upn)) if wanted("user") => found.push(DirectoryObject {
                odata_type: Some("#microsoft.graph.user".into()),
                ..user_object(id, upn)
            }),
            _ => {}
        }
    }
    Ok(ListResult {
        value: found,
        next_link: None,
    })
}

/// The value an OData `$filter` compares with: `appId eq '...'` or
/// `servicePrincipalNames/any(x:x eq '...')`.
fn filter_value(filter: &str) -> Option<String> {
    let f = filter.trim();
    let quoted = if let Some(rest) = f.strip_prefix("appId eq ") {
        rest.trim()
    } else {
        let inner = f
            .strip_prefix("servicePrincipalNames/any(")?
            .strip_suffix(')')?;
        let (var, cond) = inner.split_once(':')?;
        cond.trim()
            .strip_prefix(&format!("{} eq ", var.trim()))?
            .trim()
    };
    let text = quoted.strip_prefix('\'')?.strip_suffix('\'')?;
    Some(text.replace("''", "'"))
}

/// Routes a Graph request (`path` begins with `/v1.0/`).
pub(super) fn handle(
    state: &State,
    principal: &Principal,
    method: &Method,
    path: &str,
    query: &[(String, String)],
    body: &[u8],
) -> Result<HttpResponse, ApiError> {
    let by_ids = path.trim_matches('/') == "v1.0/directoryObjects/getByIds";
    if *method != Method::GET && !(by_ids && *method == Method::POST) {
        return Err(graph_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Request_BadRequest",
            "This endpoint's Graph answers GET, and POST of directoryObjects/getByIds",
        ));
    }
    if !owns_a_vault(state, principal)? {
        return Err(graph_error(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        ));
    }
    let segments: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    if by_ids {
        return ok(by_object_ids(state, body)?);
    }
    match segments.as_slice() {
        ["v1.0", "users", upn] => {
            let upn = upn.trim();
            let (user, domain) = upn.split_once('@').unwrap_or(("", ""));
            if user.is_empty() || domain.is_empty() || upn.len() > 113 {
                return Err(not_found(upn));
            }
            let id = user_object_id(upn);
            state.directory.record(&id, upn);
            ok(user_object(id, upn))
        }
        ["v1.0", "servicePrincipals"] => {
            let Some(filter) = query.iter().find(|(k, _)| k == "$filter").map(|(_, v)| v) else {
                return Err(graph_error(
                    StatusCode::BAD_REQUEST,
                    "Request_UnsupportedQuery",
                    "This endpoint lists service principals by $filter=appId eq '{id}' only",
                ));
            };
            let value = filter_value(filter).ok_or_else(|| {
                graph_error(
                    StatusCode::BAD_REQUEST,
                    "Request_UnsupportedQuery",
                    "Unsupported $filter: this endpoint takes appId eq '{id}' or servicePrincipalNames/any(n:n eq '{id}')",
                )
            })?;
            let found = service_principals(state)?
                .iter()
                .filter(|(id, _)| id.eq_ignore_ascii_case(&value))
                .map(|(id, name)| service_principal(id, name))
                .collect();
            ok(ListResult {
                value: found,
                next_link: None,
            })
        }
        ["v1.0", "servicePrincipals", object_id] => service_principals(state)?
            .iter()
            .find(|(id, _)| service_object_id(id).eq_ignore_ascii_case(object_id))
            .map(|(id, name)| ok(service_principal(id, name)))
            .unwrap_or_else(|| Err(not_found(object_id))),
        _ => Err(graph_error(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "This endpoint's Graph serves /v1.0/users/{upn} and /v1.0/servicePrincipals",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_name_the_application_id_in_either_form() {
        assert_eq!(filter_value("appId eq 'a-b'").as_deref(), Some("a-b"));
        assert_eq!(
            filter_value("servicePrincipalNames/any(n:n eq 'x''y')").as_deref(),
            Some("x'y")
        );
        assert_eq!(filter_value("displayName eq 'x'"), None);
    }
}
