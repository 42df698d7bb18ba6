//! Azure Resource Manager's `Microsoft.KeyVault/vaults` on `localhost:{port}/subscriptions/`,
//! over the engine's own vaults, and the door to the Graph routes ([`super::graph`]): GET a
//! vault, list the vaults of the subscription or of its resource group (pages of
//! [`PAGE_SIZE`] with `nextLink`), `PUT .../accessPolicies/{add|replace|remove}`, and the door
//! to [`super::rbac`]: a vault's PUT and PATCH (its permission model) and
//! `Microsoft.Authorization` (role assignments and role definitions).
//!
//! The endpoint is one subscription, the store's (`Get-KeyVault` shows it in each ResourceId),
//! with one resource group, `customer-key`, holding every vault; another subscription or
//! resource group is ARM's 404. Tokens must be for ARM (`https://management.azure.com/.default`)
//! or Graph (`https://graph.microsoft.com/.default`) respectively: a Key Vault token is refused
//! here, and these are refused by the vaults.
//!
//! Policy changes run the registry's Set- and Remove-KeyVaultAccessPolicy as the token's
//! service principal, so the engine's rule holds: only the vault's owner changes its access
//! policies (in Azure, the role that may write `Microsoft.KeyVault/vaults/accessPolicies`);
//! anyone else gets ARM's 403 AuthorizationFailed. Reads are the engine's Get-KeyVault, which
//! any signed-in principal may call. `add` merges permissions into the principal's entry,
//! `replace` makes the vault's policies exactly the list given, `remove` takes the given
//! permissions away (the entry goes when none is left). An entry's object id is mapped back to
//! the principal the engine knows: the vault's own policy of that id, a service principal of
//! the directory, a user Graph was asked about, a vault owner; else the policy names the bare
//! object id, as `-ObjectId` does.

use super::auth::{Audience, Refusal};
use super::http::{json_response, parse_json, percent_decode, query_pairs, ApiError, HttpResponse};
use super::State;
use engine::identity::Principal;
use engine::store::vaults::PolicyRow;
use engine::vault::model::KEY_PERMISSION_VALUES;
use hyper::body::Incoming;
use hyper::{header, Method, Request, StatusCode};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// The api-versions of `Microsoft.KeyVault` this endpoint answers.
pub const ARM_API_VERSIONS: &[&str] = &["2023-07-01", "2024-11-01", "2026-02-01", "2026-05-15"];
/// Vaults per listing page.
pub const PAGE_SIZE: usize = 10;
const RESOURCE_GROUP: &str = engine::vault::model::LOCAL_RESOURCE_GROUP;

/// Answers a request to `localhost` whose path is ARM's or Graph's.
pub(super) async fn answer(state: Arc<State>, req: Request<Incoming>, path: &str) -> HttpResponse {
    let graph = path.starts_with("/v1.0/");
    let audience = if graph {
        Audience::Graph
    } else {
        Audience::ResourceManager
    };
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok());
    let now = state.session.now();
    let principal =
        match state
            .tokens
            .principal_for(state.session.store(), authorization, now, audience)
        {
            Ok(p) => p,
            Err(refusal) => return unauthorized(&state, graph, refusal),
        };
    // ARM throttles by subscription, Graph by tenant: one bucket each here.
    let throttled = if graph {
        state.throttled("graph:", |_| {
            (
                "TooManyRequests",
                "Too many requests. Please retry after the time in the Retry-After header."
                    .to_string(),
            )
        })
    } else {
        let subscription = state.session.store().subscription_id().to_string();
        state.throttled("arm:", |wait| {
            (
                "SubscriptionRequestsThrottled",
                format!("Number of requests for subscription '{subscription}' exceeded. Please try again after '{wait}' seconds."),
            )
        })
    };
    if let Some(response) = throttled {
        return response;
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map_or_else(|| format!("localhost:{}", state.port), str::to_string);
    let query = query_pairs(req.uri().query());
    let method = req.method().clone();
    let declared = super::declared_length(&req);
    let body = match super::read_body(req.into_body(), declared, state.header_timeout * 3).await {
        Ok(b) => b,
        Err(response) => return response,
    };
    let path = path.to_string();
    let worker = Arc::clone(&state);
    tokio::task::spawn_blocking(move || {
        let request = ArmRequest {
            state: &worker,
            principal: &principal,
            base: format!("https://{host}"),
            query: &query,
        };
        let answered = if graph {
            super::graph::handle(&worker, &principal, &method, &path, &query, &body)
        } else {
            handle(&request, &method, &path, &body)
        };
        answered.unwrap_or_else(ApiError::into_response)
    })
    .await
    .unwrap_or_else(|_| ApiError::unexpected().into_response())
}

/// ARM's and Graph's 401: their error bodies, and a challenge naming this endpoint's
/// authority (no resource: neither service names one).
fn unauthorized(state: &State, graph: bool, refusal: Option<Refusal>) -> HttpResponse {
    let service = if graph {
        "Microsoft Graph (https://graph.microsoft.com/.default)"
    } else {
        "Azure Resource Manager (https://management.azure.com/.default)"
    };
    let (code, message) = match refusal {
        Some(Refusal::Missing) => (
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.".to_string(),
        ),
        Some(Refusal::Expired) => (
            "ExpiredAuthenticationToken",
            "The access token expiry UTC time is earlier than current UTC time.".to_string(),
        ),
        Some(Refusal::Revoked) => (
            "InvalidAuthenticationToken",
            "The service principal was removed or its secret is no longer valid.".to_string(),
        ),
        Some(Refusal::Unknown) => (
            "InvalidAuthenticationToken",
            "The access token is invalid: it was not issued by this endpoint.".to_string(),
        ),
        None => (
            "InvalidAuthenticationToken",
            format!("The access token has an invalid audience: it is not for {service}."),
        ),
    };
    let mut response = ApiError::new(StatusCode::UNAUTHORIZED, code, message).into_response();
    let value = format!(
        "Bearer authorization_uri=\"https://localhost:{}/{}\", error=\"invalid_token\"",
        state.port,
        state.tokens.tenant()
    );
    if let Ok(v) = header::HeaderValue::from_str(&value) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
}

struct ArmRequest<'a> {
    state: &'a State,
    principal: &'a Principal,
    /// `https://{host}` as the client addressed us: nextLinks point back here.
    base: String,
    query: &'a [(String, String)],
}

fn arm_error(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(status, code, message)
}

impl ArmRequest<'_> {
    fn subscription(&self) -> &str {
        self.state.session.store().subscription_id()
    }

    fn vault_id(&self, name: &str) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{RESOURCE_GROUP}/providers/Microsoft.KeyVault/vaults/{name}",
            self.subscription()
        )
    }

    /// An engine operation as the token's principal; its errors as ARM's.
    fn call(
        &self,
        operation: &str,
        args: Value,
        vault: &str,
        action: &str,
    ) -> Result<Value, ApiError> {
        let text = engine::registry()
            .call_json_as(&self.state.session, self.principal, operation, &args)
            .map_err(|e| self.engine_error(e, vault, action))?;
        serde_json::from_str(&text)
            .map_err(|_| ApiError::from(engine::Error::internal("result decoding")))
    }

    fn engine_error(&self, e: engine::Error, vault: &str, action: &str) -> ApiError {
        use engine::CkStatus;
        match e.status {
            CkStatus::NotFound if e.code == "VaultNotFound" => self.vault_not_found(vault),
            CkStatus::NotFound => arm_error(StatusCode::NOT_FOUND, "NotFound", e.message),
            CkStatus::Forbidden => arm_error(
                StatusCode::FORBIDDEN,
                "AuthorizationFailed",
                format!(
                    "The client '{}' with object id '{}' does not have authorization to perform action '{action}' over scope '{}' or the scope is invalid. ({})",
                    self.principal.name(),
                    super::graph::service_object_id(self.principal.name()),
                    self.vault_id(vault),
                    e.message
                ),
            ),
            CkStatus::InvalidArgument | CkStatus::InvalidOperation => {
                arm_error(StatusCode::BAD_REQUEST, "BadRequest", e.message)
            }
            CkStatus::Conflict => arm_error(StatusCode::CONFLICT, "Conflict", e.message),
            CkStatus::Busy => arm_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                e.message,
            ),
            _ => arm_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerError",
                e.message,
            ),
        }
    }

    fn vault_not_found(&self, vault: &str) -> ApiError {
        arm_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            format!("The Resource 'Microsoft.KeyVault/vaults/{vault}' under resource group '{RESOURCE_GROUP}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"),
        )
    }

    /// The engine's vault output as ARM's Vault resource.
    fn resource(&self, v: &Value) -> Value {
        let name = v["VaultName"].as_str().unwrap_or_default();
        let tenant = v["TenantId"].clone();
        let policies: Vec<Value> = v["AccessPolicies"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|p| {
                json!({
                    "tenantId": p["TenantId"],
                    "objectId": p["ObjectId"],
                    "permissions": {"keys": p["PermissionsToKeys"], "secrets": [], "certificates": [], "storage": []},
                })
            })
            .collect();
        let port = self.state.port;
        json!({
            "id": self.vault_id(name),
            "name": name,
            "type": "Microsoft.KeyVault/vaults",
            "location": v["Location"],
            "tags": v["Tags"],
            "properties": {
                "sku": {"family": "A", "name": v["Sku"].as_str().unwrap_or("Standard").to_ascii_lowercase()},
                "tenantId": tenant,
                "accessPolicies": policies,
                "enabledForDeployment": false,
                "enabledForDiskEncryption": false,
                "enabledForTemplateDeployment": false,
                "enableSoftDelete": v["EnableSoftDelete"],
                "softDeleteRetentionInDays": v["SoftDeleteRetentionInDays"],
                "enablePurgeProtection": v["EnablePurgeProtection"],
                "enableRbacAuthorization": v["EnableRbacAuthorization"].as_bool().unwrap_or(false),
                "vaultUri": format!("https://{name}.localhost:{port}/"),
                "provisioningState": "Succeeded",
                "publicNetworkAccess": "Enabled",
            },
        })
    }

    fn get_vault(&self, name: &str) -> Result<Value, ApiError> {
        if engine::vault::model::check_vault_name(name).is_err() {
            return Err(self.vault_not_found(name));
        }
        let found = self.call(
            "Get-KeyVault",
            json!({"VaultName": name}),
            name,
            "Microsoft.KeyVault/vaults/read",
        )?;
        Ok(found[0].clone())
    }

    fn list(&self, path: &str) -> Result<Value, ApiError> {
        let all = self.call(
            "Get-KeyVault",
            json!({}),
            "",
            "Microsoft.KeyVault/vaults/read",
        )?;
        let all = all.as_array().cloned().unwrap_or_default();
        let skip = self
            .query
            .iter()
            .find(|(k, _)| k == "$skiptoken")
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(0);
        let page: Vec<Value> = all
            .iter()
            .skip(skip)
            .take(PAGE_SIZE)
            .map(|v| self.resource(v))
            .collect();
        let mut body = json!({ "value": page });
        if skip + PAGE_SIZE < all.len() {
            let version = self
                .query
                .iter()
                .find(|(k, _)| k == "api-version")
                .map(|(_, v)| v.as_str())
                .unwrap_or_default();
            body["nextLink"] = json!(format!(
                "{}{path}?api-version={version}&$skiptoken={}",
                self.base,
                skip + PAGE_SIZE
            ));
        }
        Ok(body)
    }
}

#[derive(Deserialize)]
struct PolicyParameters {
    properties: PolicyProperties,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PolicyProperties {
    access_policies: Vec<Entry>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct Entry {
    tenant_id: String,
    object_id: String,
    #[serde(default)]
    application_id: Option<String>,
    permissions: Permissions,
}

#[derive(Deserialize, Clone, Default)]
struct Permissions {
    #[serde(default)]
    keys: Vec<String>,
    #[serde(default)]
    secrets: Vec<String>,
    #[serde(default)]
    certificates: Vec<String>,
    #[serde(default)]
    storage: Vec<String>,
}

/// The parameter naming a policy's principal, as the engine's cmdlets take it.
fn identity_args(p: &PolicyRow) -> Map<String, Value> {
    let mut args = Map::new();
    match (&p.user_principal_name, &p.service_principal_name) {
        (Some(u), _) => args.insert("UserPrincipalName".into(), json!(u)),
        (None, Some(s)) => args.insert("ServicePrincipalName".into(), json!(s)),
        (None, None) => args.insert("ObjectId".into(), json!(p.object_id)),
    };
    args
}

impl ArmRequest<'_> {
    /// The principal an object id names, as a policy row (permissions empty).
    fn principal_of(&self, policies: &[PolicyRow], object_id: &str) -> Result<PolicyRow, ApiError> {
        let row = |upn: Option<String>, spn: Option<String>| PolicyRow {
            object_id: object_id.to_ascii_lowercase(),
            application_id: None,
            user_principal_name: upn,
            service_principal_name: spn,
            display_name: String::new(),
            permissions: vec![],
        };
        if let Some(p) = policies
            .iter()
            .find(|p| p.object_id.eq_ignore_ascii_case(object_id))
        {
            let mut p = p.clone();
            p.permissions.clear();
            return Ok(p);
        }
        if let Some((app, _)) = super::graph::service_principals(self.state)?
            .into_iter()
            .find(|(app, _)| super::graph::service_object_id(app).eq_ignore_ascii_case(object_id))
        {
            return Ok(row(None, Some(app)));
        }
        if let Some(upn) = self.state.directory.user(object_id) {
            return Ok(row(Some(upn), None));
        }
        let owners = self
            .state
            .session
            .store()
            .read(|tx| engine::store::vaults::list_vaults(tx, false))
            .map_err(ApiError::from)?;
        if let Some(owner) = owners.iter().map(|v| &v.owner).find(|o| {
            o.contains('@') && super::graph::user_object_id(o).eq_ignore_ascii_case(object_id)
        }) {
            return Ok(row(Some(owner.clone()), None));
        }
        Ok(row(None, None))
    }

    fn set(&self, vault: &str, who: &PolicyRow, permissions: &[String]) -> Result<(), ApiError> {
        let mut args = identity_args(who);
        args.insert("VaultName".into(), json!(vault));
        args.insert("PermissionsToKeys".into(), json!(permissions));
        self.call(
            "Set-KeyVaultAccessPolicy",
            Value::Object(args),
            vault,
            "Microsoft.KeyVault/vaults/accessPolicies/write",
        )
        .map(|_| ())
    }

    fn remove(&self, vault: &str, who: &PolicyRow) -> Result<(), ApiError> {
        let mut args = identity_args(who);
        args.insert("VaultName".into(), json!(vault));
        self.call(
            "Remove-KeyVaultAccessPolicy",
            Value::Object(args),
            vault,
            "Microsoft.KeyVault/vaults/accessPolicies/write",
        )
        .map(|_| ())
    }

    fn update_policies(&self, vault: &str, kind: &str, body: &[u8]) -> Result<Value, ApiError> {
        let kind = kind.to_ascii_lowercase();
        if !["add", "replace", "remove"].contains(&kind.as_str()) {
            return Err(arm_error(
                StatusCode::BAD_REQUEST,
                "InvalidOperationKind",
                format!("The operation kind '{kind}' is not add, replace or remove"),
            ));
        }
        // The vault exists and is live (its 404 otherwise).
        let current = self.get_vault(vault)?;
        let name = current["VaultName"].as_str().unwrap_or(vault).to_string();
        let parameters: PolicyParameters = parse_json(body)?;
        let tenant = self.state.session.store().tenant_id();
        let mut wanted: Vec<(PolicyRow, Vec<String>)> = Vec::new();
        let policies = self
            .state
            .session
            .store()
            .read(|tx| engine::store::vaults::list_policies(tx, &name))
            .map_err(ApiError::from)?;
        for e in &parameters.properties.access_policies {
            if !engine::vault::is_guid(&e.object_id) {
                return Err(arm_error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "An access policy's objectId must be a GUID",
                ));
            }
            if !e.tenant_id.eq_ignore_ascii_case(tenant) {
                return Err(arm_error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    format!("An access policy's tenantId must be the vault's tenant '{tenant}'"),
                ));
            }
            if e.application_id.as_deref().is_some_and(|a| !a.is_empty()) {
                return Err(arm_error(StatusCode::BAD_REQUEST, "BadRequest", "Compound identities (an access policy with an applicationId) are not supported by this endpoint"));
            }
            let p = &e.permissions;
            if !(p.secrets.is_empty() && p.certificates.is_empty() && p.storage.is_empty()) {
                return Err(arm_error(StatusCode::BAD_REQUEST, "BadRequest", "This endpoint's vaults hold keys only: secrets, certificates and storage permissions are not supported"));
            }
            let mut keys = Vec::new();
            for k in &p.keys {
                let known = KEY_PERMISSION_VALUES
                    .iter()
                    .find(|v| v.eq_ignore_ascii_case(k))
                    .ok_or_else(|| {
                        arm_error(
                            StatusCode::BAD_REQUEST,
                            "BadRequest",
                            format!("'{k}' is not a key permission"),
                        )
                    })?;
                keys.push(known.to_string());
            }
            wanted.push((
                self.principal_of(&policies, &e.object_id)?,
                engine::vault::granted_permissions(&keys),
            ));
        }
        let existing = |who: &PolicyRow| {
            policies
                .iter()
                .find(|p| p.object_id.eq_ignore_ascii_case(&who.object_id))
                .map(|p| p.permissions.clone())
        };
        match kind.as_str() {
            "add" => {
                for (who, keys) in &wanted {
                    let mut merged = existing(who).unwrap_or_default();
                    for k in keys {
                        if !merged.iter().any(|m| m.eq_ignore_ascii_case(k)) {
                            merged.push(k.clone());
                        }
                    }
                    self.set(&name, who, &merged)?;
                }
            }
            "replace" => {
                for (who, keys) in &wanted {
                    match (keys.is_empty(), existing(who)) {
                        (true, Some(_)) => self.remove(&name, who)?,
                        (true, None) => {}
                        (false, _) => self.set(&name, who, keys)?,
                    }
                }
                for p in &policies {
                    if !wanted
                        .iter()
                        .any(|(w, _)| w.object_id.eq_ignore_ascii_case(&p.object_id))
                    {
                        self.remove(&name, p)?;
                    }
                }
            }
            _ => {
                for (who, keys) in &wanted {
                    let Some(held) = existing(who) else { continue };
                    let everything = keys.len() == engine::vault::model::ALL_KEY_PERMISSIONS.len();
                    let left: Vec<String> = held
                        .into_iter()
                        .filter(|h| !everything && !keys.iter().any(|k| k.eq_ignore_ascii_case(h)))
                        .collect();
                    if left.is_empty() {
                        self.remove(&name, who)?;
                    } else {
                        self.set(&name, who, &left)?;
                    }
                }
            }
        }
        let given: Vec<Value> = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v["properties"]["accessPolicies"].as_array().cloned())
            .unwrap_or_default();
        Ok(json!({
            "id": format!("{}/accessPolicies/{kind}", self.vault_id(&name)),
            "type": "Microsoft.KeyVault/vaults/accessPolicies",
            "properties": {"accessPolicies": given},
        }))
    }
}

/// Routes an ARM request (`path` begins with `/subscriptions/`).
fn handle(
    req: &ArmRequest<'_>,
    method: &Method,
    path: &str,
    body: &[u8],
) -> Result<HttpResponse, ApiError> {
    let segments: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let s: Vec<&str> = segments.iter().map(String::as_str).collect();
    // Microsoft.Authorization at any scope: its own api-versions (super::rbac).
    if let Some(at) = s.windows(2).position(|w| {
        w[0].eq_ignore_ascii_case("providers")
            && w[1].eq_ignore_ascii_case("Microsoft.Authorization")
    }) {
        return super::rbac::handle(req.state, req.principal, method, &s, at, req.query, body);
    }
    let version = req
        .query
        .iter()
        .find(|(k, _)| k == "api-version")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    if !ARM_API_VERSIONS.contains(&version) {
        let shown: String = version.chars().take(32).collect();
        return Err(arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidApiVersionParameter",
            format!(
                "The api-version '{shown}' is invalid. The supported versions are '{}'.",
                ARM_API_VERSIONS.join(",")
            ),
        ));
    }
    let is = |i: usize, word: &str| s.get(i).is_some_and(|w| w.eq_ignore_ascii_case(word));
    if !s
        .get(1)
        .is_some_and(|sub| sub.eq_ignore_ascii_case(req.subscription()))
    {
        return Err(arm_error(
            StatusCode::NOT_FOUND,
            "SubscriptionNotFound",
            format!(
                "The subscription '{}' could not be found.",
                s.get(1).unwrap_or(&"")
            ),
        ));
    }
    let provider_at =
        |i: usize| is(i, "providers") && is(i + 1, "Microsoft.KeyVault") && is(i + 2, "vaults");
    let ok = |v: Value| Ok(json_response(StatusCode::OK, &v));
    if s.len() == 5 && provider_at(2) && method == Method::GET {
        return ok(req.list(path)?);
    }
    if s.len() < 4 || !is(2, "resourceGroups") {
        return Err(arm_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("No route for {method} {path}"),
        ));
    }
    if !s[3].eq_ignore_ascii_case(RESOURCE_GROUP) {
        return Err(arm_error(
            StatusCode::NOT_FOUND,
            "ResourceGroupNotFound",
            format!("Resource group '{}' could not be found.", s[3]),
        ));
    }
    match (method, s.len()) {
        (&Method::GET, 7) if provider_at(4) => ok(req.list(path)?),
        (&Method::GET, 8) if provider_at(4) => {
            let v = req.get_vault(s[7])?;
            ok(req.resource(&v))
        }
        (&Method::PUT, 8) if provider_at(4) => {
            if engine::vault::model::check_vault_name(s[7]).is_err() {
                return Err(arm_error(
                    StatusCode::BAD_REQUEST,
                    "VaultNameNotValid",
                    format!("The vault name '{}' is invalid: 3-24 characters, letters, digits and dashes, beginning with a letter", s[7]),
                ));
            }
            let (v, created) =
                super::rbac::put_vault(req.state, req.principal, s[7], version, body)?;
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok(json_response(status, &req.resource(&v)))
        }
        (&Method::PATCH, 8) if provider_at(4) => {
            let v = req.get_vault(s[7])?;
            let name = v["VaultName"].as_str().unwrap_or(s[7]).to_string();
            let v = super::rbac::patch_vault(req.state, req.principal, &name, body)?;
            ok(req.resource(&v))
        }
        (&Method::PUT, 10) if provider_at(4) && is(8, "accessPolicies") => {
            ok(req.update_policies(s[7], s[9], body)?)
        }
        _ => Err(arm_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("No route for {method} {path}"),
        )),
    }
}
