//! Microsoft Graph lookups for the management plane: the object id an access policy names,
//! from `-UserPrincipalName` (`GET /v1.0/users/{upn}`) or `-ServicePrincipalName`
//! (`GET /v1.0/servicePrincipals?$filter=appId eq '{id}'`, or by service principal name).
//! `-ObjectId` needs no lookup and always works: when Graph refuses the session's token (401,
//! 403) or no Graph token can be had, the error says to pass `-ObjectId`.

use super::auth::percent_encode as encode;
use super::{RemoteVaults, Replay};
use crate::error::{CkStatus, Error, Result};
use crate::vault::{is_guid, PrincipalArgument};
use crate::wire::graph::{DirectoryObject, GetByIdsParameters};
use crate::wire::keyvault::ListResult;
use reqwest::Method;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use zeroize::Zeroizing;

/// Ids per `directoryObjects/getByIds` request, Graph's limit.
const IDS_PER_LOOKUP: usize = 1000;

/// An OData string literal's content: single quotes doubled.
fn odata(value: &str) -> String {
    value.replace('\'', "''")
}

impl RemoteVaults {
    /// `GET {graph}{path_and_query}`, JSON out.
    fn graph_get<T: DeserializeOwned>(&self, path_and_query: &str, target: &str) -> Result<T> {
        let url = format!("{}{path_and_query}", self.graph_url);
        self.graph
            .get_blocking(url, target, &self.stop)?
            .typed(target)
    }

    /// `POST {graph}{path}` of a read (`getByIds`), JSON out.
    fn graph_post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &GetByIdsParameters,
        target: &str,
    ) -> Result<T> {
        let url = format!("{}{path}", self.graph_url);
        let body =
            serde_json::to_vec(body).map_err(|e| Error::internal(e.to_string()).with_source(e))?;
        self.graph
            .call_blocking(
                Method::POST,
                url,
                Some(Zeroizing::new(body)),
                Replay::Harmless,
                target,
                &self.stop,
            )?
            .typed(target)
    }
}

/// A principal as Az shows it in an access policy: `displayName (userPrincipalName)` for a
/// user, `displayName (appId)` for a service principal, a group's display name.
fn shown_name(o: &DirectoryObject) -> Option<String> {
    let name = o.display_name.as_deref().unwrap_or_default().trim();
    let qualifier = o.user_principal_name.as_ref().or(o.app_id.as_ref());
    let qualifier = qualifier.map_or("", |q| q.trim());
    match (name.is_empty(), qualifier.is_empty()) {
        (true, true) => None,
        (true, false) => Some(qualifier.to_string()),
        (false, true) => Some(name.to_string()),
        (false, false) if name.eq_ignore_ascii_case(qualifier) => Some(name.to_string()),
        (false, false) => Some(format!("{name} ({qualifier})")),
    }
}

/// The display names of the principals `object_ids` name, by lower-cased object id, from
/// Graph's `directoryObjects/getByIds`. Names are for people to read and the object id stays
/// the policy's identity, so any failure (no Graph token set up, 403) only leaves names out;
/// without configured Graph credentials Graph is not asked at all (off Azure, managed identity
/// would only time out).
pub fn display_names(r: &RemoteVaults, object_ids: &[&str]) -> HashMap<String, String> {
    let mut names = HashMap::new();
    if !r.graph.has_configured_credentials() {
        return names;
    }
    let mut ids: Vec<String> = object_ids
        .iter()
        .filter(|id| is_guid(id))
        .map(|id| id.to_ascii_lowercase())
        .collect();
    ids.sort();
    ids.dedup();
    for chunk in ids.chunks(IDS_PER_LOOKUP) {
        let body = GetByIdsParameters {
            ids: chunk.to_vec(),
            types: vec!["user".into(), "servicePrincipal".into(), "group".into()],
        };
        let found = r.graph_post("/v1.0/directoryObjects/getByIds", &body, "ObjectId");
        let Ok(ListResult::<DirectoryObject> { value, .. }) = found else {
            break;
        };
        for o in &value {
            if let (Some(id), Some(name)) = (&o.id, shown_name(o)) {
                names.insert(id.to_ascii_lowercase(), name);
            }
        }
    }
    names
}

/// A lookup Graph would not answer for this session: the way round is `-ObjectId`. Graph's
/// error stays the cause, and its request id stays on the error.
fn pass_object_id(e: Error, parameter: &str, what: &str) -> Error {
    let passed = match e.status {
        CkStatus::Unauthenticated | CkStatus::Forbidden => Error::new(
            e.status,
            &e.code,
            format!(
                "Parameter '{parameter}': Microsoft Graph could not be asked for {what} with this session's credentials ({}). Pass the principal's object id with -ObjectId instead (Get-AzADUser or Get-AzADServicePrincipal shows it), or give a GraphAccessToken that may read the directory.",
                e.message
            ),
            parameter,
        ),
        CkStatus::NotFound => Error::not_found(
            "PrincipalNotFound",
            format!("Parameter '{parameter}': Microsoft Graph has no {what} ({})", e.message),
            parameter,
        ),
        _ => return e,
    };
    // The ids are in the message already (within Graph's message).
    Error {
        service_ids: e.service_ids.clone(),
        ..passed
    }
    .with_source(e)
}

fn id_of(v: &DirectoryObject, parameter: &str, what: &str) -> Result<String> {
    v.id.as_deref()
        .filter(|id| is_guid(id))
        .map(str::to_ascii_lowercase)
        .ok_or_else(|| {
            Error::new(
                CkStatus::Unavailable,
                "UnexpectedResponse",
                format!("Microsoft Graph's answer for {what} has no object id"),
                parameter,
            )
        })
}

/// The object id of a principal (its arguments checked already), from Microsoft Graph unless
/// given.
pub fn object_id(r: &RemoteVaults, who: PrincipalArgument<'_>) -> Result<String> {
    match who {
        PrincipalArgument::ObjectId(o) => Ok(o.to_ascii_lowercase()),
        PrincipalArgument::User(u) => {
            let what = format!("the user '{u}'");
            let user: DirectoryObject = r
                .graph_get(
                    &format!(
                        "/v1.0/users/{}?$select=id,userPrincipalName,displayName",
                        encode(u)
                    ),
                    "UserPrincipalName",
                )
                .map_err(|e| pass_object_id(e, "UserPrincipalName", &what))?;
            id_of(&user, "UserPrincipalName", &what)
        }
        PrincipalArgument::Service(s) => {
            let filter = if is_guid(s) {
                format!("appId eq '{}'", odata(s))
            } else {
                format!("servicePrincipalNames/any(n:n eq '{}')", odata(s))
            };
            let what = format!("the service principal '{s}'");
            let found: ListResult<DirectoryObject> = r
                .graph_get(
                    &format!(
                        "/v1.0/servicePrincipals?$filter={}&$select=id,appId,displayName",
                        encode(&filter)
                    ),
                    "ServicePrincipalName",
                )
                .map_err(|e| pass_object_id(e, "ServicePrincipalName", &what))?;
            match found.value.as_slice() {
                [one] => id_of(one, "ServicePrincipalName", &what),
                [] => Err(Error::not_found(
                    "PrincipalNotFound",
                    format!("Parameter 'ServicePrincipalName': Microsoft Graph has no {what}"),
                    "ServicePrincipalName",
                )),
                _ => Err(Error::invalid_argument(
                    "ServicePrincipalName",
                    format!("names more than one service principal in Microsoft Graph ('{s}'); pass -ObjectId"),
                )),
            }
        }
    }
}

/// The application id of a service principal given by object id, when Graph tells it (for
/// the change-impact preview; any failure is "not known").
pub fn application_id_of(r: &RemoteVaults, object_id: &str) -> Option<String> {
    if !is_guid(object_id) {
        return None;
    }
    let path = format!(
        "/v1.0/servicePrincipals/{}?$select=id,appId",
        encode(object_id)
    );
    r.graph_get::<DirectoryObject>(&path, "ObjectId")
        .ok()?
        .app_id
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    fn shown_name(o: serde_json::Value) -> Option<String> {
        super::shown_name(&serde_json::from_value(o).unwrap())
    }

    #[test]
    fn principals_are_shown_as_az_shows_them() {
        let user = json!({"displayName": "Carol Jones", "userPrincipalName": "carol@contoso.com"});
        assert_eq!(
            shown_name(user).as_deref(),
            Some("Carol Jones (carol@contoso.com)")
        );
        let app = json!({"displayName": "ck-automation", "appId": "a1"});
        assert_eq!(shown_name(app).as_deref(), Some("ck-automation (a1)"));
        let same =
            json!({"displayName": "carol@contoso.com", "userPrincipalName": "Carol@contoso.com"});
        assert_eq!(shown_name(same).as_deref(), Some("carol@contoso.com"));
        assert_eq!(
            shown_name(json!({"displayName": "Admins"})).as_deref(),
            Some("Admins")
        );
        assert_eq!(shown_name(json!({"id": "x"})), None);
    }
}
