//! Azure Resource Manager's `Microsoft.KeyVault/vaults` on `localhost:{port}/subscriptions/`,
//! over the engine's own vaults, and the door to the Graph routes ([`super::graph`]): GET a
//! vault, list the vaults of the subscription or of its resource group (pages of
//! [`PAGE_SIZE`] with `nextLink`), the door to [`super::access_policies`] (`PUT
//! .../accessPolicies/{add|replace|remove}`) and to [`super::rbac`]: a vault's PUT and PATCH
//! (its permission model) and `Microsoft.Authorization` (role assignments and role
//! definitions). The bodies are [`engine::wire::arm`]'s and [`engine::wire::authorization`]'s.
//!
//! The endpoint is one subscription, the store's (`Get-KeyVault` shows it in each ResourceId),
//! with one resource group, `customer-key`, holding every vault; another subscription or
//! resource group is ARM's 404. Tokens must be for ARM (`https://management.azure.com/.default`)
//! or Graph (`https://graph.microsoft.com/.default`) respectively: a Key Vault token is refused
//! here, and these are refused by the vaults.
//!

use super::arm_request::{check_api_version, is, no_route, outside, ArmRequest, READ};
use super::auth::{Audience, Refusal};
use super::http::{json_response, ok, percent_decode, query_pairs, ApiError, HttpResponse};
use super::State;
use engine::vault::model::KeyVaultOut;
use engine::wire::arm::VaultProperties;
use engine::wire::arm::{AccessPolicyEntry, Permissions, Sku, Vault, VaultListResult};
use hyper::body::Incoming;
use hyper::{header, Method, Request, StatusCode};
use serde_json::json;
use std::sync::Arc;

/// The api-versions of `Microsoft.KeyVault` this endpoint answers.
pub const ARM_API_VERSIONS: &[&str] = &["2023-07-01", "2024-11-01", "2026-02-01", "2026-05-15"];
/// Vaults per listing page.
pub const PAGE_SIZE: usize = 10;

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
            engine_codes: false,
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

impl ArmRequest<'_> {
    /// The engine's vault output as ARM's Vault resource.
    fn resource(&self, v: &KeyVaultOut) -> Vault {
        let none = || Some(Vec::new());
        let policies = v.access_policies.iter().map(|p| AccessPolicyEntry {
            tenant_id: p.tenant_id.clone(),
            object_id: p.object_id.clone(),
            application_id: None,
            permissions: Permissions {
                keys: Some(p.permissions_to_keys.clone()),
                secrets: none(),
                certificates: none(),
                storage: none(),
            },
        });
        let name = &v.vault_name;
        Vault {
            id: Some(self.vault_id(name)),
            name: Some(name.clone()),
            resource_type: Some("Microsoft.KeyVault/vaults".into()),
            location: Some(v.location.clone()),
            tags: Some(v.tags.clone()),
            properties: VaultProperties {
                sku: Some(Sku {
                    family: Some("A".into()),
                    name: Some(v.sku.to_ascii_lowercase()),
                }),
                tenant_id: Some(v.tenant_id.clone()),
                access_policies: Some(policies.collect()),
                enabled_for_deployment: Some(false),
                enabled_for_disk_encryption: Some(false),
                enabled_for_template_deployment: Some(false),
                enable_soft_delete: Some(v.enable_soft_delete),
                soft_delete_retention_in_days: Some(v.soft_delete_retention_in_days),
                enable_purge_protection: Some(v.enable_purge_protection),
                enable_rbac_authorization: Some(v.enable_rbac_authorization),
                vault_uri: Some(format!("https://{name}.localhost:{}/", self.state.port)),
                provisioning_state: Some("Succeeded".into()),
                public_network_access: Some("Enabled".into()),
                other: Default::default(),
            },
        }
    }

    fn list(&self, path: &str) -> Result<VaultListResult, ApiError> {
        let all: Vec<KeyVaultOut> =
            self.call("Get-KeyVault", json!({}), &self.vault_id(""), READ)?;
        let skip = self
            .query("$skiptoken")
            .and_then(|v| v.parse::<usize>().ok());
        let skip = skip.unwrap_or(0);
        let page = all.iter().skip(skip).take(PAGE_SIZE);
        let next_link = (skip + PAGE_SIZE < all.len()).then(|| {
            format!(
                "{}{path}?api-version={}&$skiptoken={}",
                self.base,
                self.query("api-version").unwrap_or_default(),
                skip + PAGE_SIZE
            )
        });
        Ok(VaultListResult {
            value: page.map(|v| self.resource(v)).collect(),
            next_link,
        })
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
        return super::rbac::handle(req, method, &s, at, body);
    }
    let version = req.query("api-version").unwrap_or_default();
    check_api_version(version, ARM_API_VERSIONS)?;
    if let Some(e) = outside(req.state, &s) {
        return Err(e);
    }
    let provider_at = |i: usize| {
        is(&s, i, "providers") && is(&s, i + 1, "Microsoft.KeyVault") && is(&s, i + 2, "vaults")
    };
    if s.len() == 5 && provider_at(2) && method == Method::GET {
        return ok(req.list(path)?);
    }
    if s.len() < 4 || !is(&s, 2, "resourceGroups") {
        return Err(no_route(method, path));
    }
    match (method, s.len()) {
        (&Method::GET, 7) if provider_at(4) => ok(req.list(path)?),
        (&Method::GET, 8) if provider_at(4) => ok(req.resource(&req.get_vault(s[7])?)),
        (&Method::PUT, 8) if provider_at(4) => {
            if engine::vault::model::check_vault_name(s[7]).is_err() {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "VaultNameNotValid",
                    format!("The vault name '{}' is invalid: 3-24 characters, letters, digits and dashes, beginning with a letter", s[7]),
                ));
            }
            let (v, created) = super::rbac::put_vault(req, s[7], version, body)?;
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok(json_response(status, &req.resource(&v)))
        }
        (&Method::PATCH, 8) if provider_at(4) => {
            let current = req.get_vault(s[7])?;
            ok(req.resource(&super::rbac::patch_vault(req, current, body)?))
        }
        (&Method::PUT, 10) if provider_at(4) && is(&s, 8, "accessPolicies") => {
            ok(super::access_policies::update(req, s[7], s[9], body)?)
        }
        _ => Err(no_route(method, path)),
    }
}
