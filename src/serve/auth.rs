//! Sign-in and bearer tokens. The token route takes the client-credentials grant of Entra ID
//! (`client_id`, `client_secret`, `scope`, `grant_type=client_credentials`) and answers an
//! opaque random token. Only its SHA-256 is kept, in memory, with the principal, the tenant and
//! the expiry: a leaked memory dump holds no usable token, and a restart signs everyone out.

use super::http::{json_response, percent_decode, HttpResponse};
use engine::error::Result;
use engine::identity::Principal;
use engine::store::Store;
use hyper::StatusCode;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Mutex;
use zeroize::Zeroizing;

const TOKEN_BYTES: usize = 32;
/// Tokens kept at most; past it, expired ones are dropped first, then the oldest.
const MAX_TOKENS: usize = 100_000;

/// The service a token is for (its `aud`): a token works only at its own service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// `https://vault.azure.net/.default`, or this endpoint's resource.
    KeyVault,
    /// `https://management.azure.com/.default`: the ARM routes (`/subscriptions/...`).
    ResourceManager,
    /// `https://graph.microsoft.com/.default`: the Graph routes (`/v1.0/...`).
    Graph,
}

pub const MANAGEMENT_SCOPE: &str = "https://management.azure.com/.default";
pub const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";

struct IssuedToken {
    application_id: String,
    audience: Audience,
    expires: i64,
}

pub struct Tokens {
    tenant: String,
    lifetime_seconds: i64,
    issued: Mutex<HashMap<[u8; 32], IssuedToken>>,
}

fn digest(token: &str) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Why a request's token was refused (all answered with 401 and the challenge).
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    Missing,
    Unknown,
    Expired,
    Revoked,
}

impl Tokens {
    pub fn new(tenant: &str, lifetime_seconds: i64) -> Tokens {
        Tokens {
            tenant: tenant.to_string(),
            lifetime_seconds,
            issued: Mutex::new(HashMap::new()),
        }
    }

    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    fn issue(
        &self,
        application_id: &str,
        audience: Audience,
        now: i64,
    ) -> Result<Zeroizing<String>> {
        let token = Zeroizing::new(engine::wire::to_base64url(&Zeroizing::new(
            engine::crypto::random_bytes(TOKEN_BYTES)?,
        )));
        let mut issued = self.issued.lock().unwrap_or_else(|p| p.into_inner());
        if issued.len() >= MAX_TOKENS {
            issued.retain(|_, t| t.expires > now);
            if issued.len() >= MAX_TOKENS {
                if let Some(oldest) = issued
                    .iter()
                    .min_by_key(|(_, t)| t.expires)
                    .map(|(k, _)| *k)
                {
                    issued.remove(&oldest);
                }
            }
        }
        issued.insert(
            digest(&token),
            IssuedToken {
                application_id: application_id.to_string(),
                audience,
                expires: now + self.lifetime_seconds,
            },
        );
        Ok(token)
    }

    /// The principal an `Authorization: Bearer` header signs in, while its token has not
    /// expired and its service principal still exists (a removed one is refused at once).
    /// A token for another service is refused as one this endpoint did not issue for Key
    /// Vault (AKV10022 names both cases).
    pub fn principal(
        &self,
        store: &Store,
        authorization: Option<&str>,
        now: i64,
    ) -> std::result::Result<Principal, Refusal> {
        match self.principal_for(store, authorization, now, Audience::KeyVault) {
            Ok(p) => Ok(p),
            Err(None) => Err(Refusal::Unknown),
            Err(Some(r)) => Err(r),
        }
    }

    /// [`Tokens::principal`] for `audience`: `Err(None)` when the token is for another one.
    pub fn principal_for(
        &self,
        store: &Store,
        authorization: Option<&str>,
        now: i64,
        audience: Audience,
    ) -> std::result::Result<Principal, Option<Refusal>> {
        let token = authorization
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(Some(Refusal::Missing))?;
        let application_id = {
            let issued = self.issued.lock().unwrap_or_else(|p| p.into_inner());
            let entry = issued.get(&digest(token)).ok_or(Some(Refusal::Unknown))?;
            if now >= entry.expires {
                return Err(Some(Refusal::Expired));
            }
            if entry.audience != audience {
                return Err(None);
            }
            entry.application_id.clone()
        };
        match engine::directory::may_sign_in(store, &application_id, now) {
            Ok(true) => Ok(Principal::service(application_id)),
            _ => Err(Some(Refusal::Revoked)),
        }
    }

    /// `POST /{tenant}/oauth2/v2.0/token`: Entra ID's answers, errors included
    /// (`invalid_request`, `unsupported_grant_type`, `invalid_scope`, `invalid_client`).
    pub fn token_route(
        &self,
        store: &Store,
        tenant: &str,
        form: &[u8],
        resource: &str,
        now: i64,
    ) -> HttpResponse {
        let oauth_error = |status: StatusCode, error: &str, description: &str| {
            json_response(
                status,
                &json!({"error": error, "error_description": description}),
            )
        };
        if !tenant.eq_ignore_ascii_case(&self.tenant) {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "AADSTS90002: Tenant not found. This endpoint serves one tenant; see the TokenUrl customer-key serve printed",
            );
        }
        let Ok(text) = std::str::from_utf8(form) else {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "The request body must be UTF-8 form data",
            );
        };
        let mut grant = None;
        let mut client_id = None;
        let mut client_secret: Option<Zeroizing<String>> = None;
        let mut scope = None;
        for pair in text.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match percent_decode(k).as_str() {
                "grant_type" => grant = Some(percent_decode(v)),
                "client_id" => client_id = Some(percent_decode(v)),
                "client_secret" => client_secret = Some(Zeroizing::new(percent_decode(v))),
                "scope" => scope = Some(percent_decode(v)),
                _ => {}
            }
        }
        if grant.as_deref() != Some("client_credentials") {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "AADSTS70003: grant_type must be client_credentials",
            );
        }
        let audience_of = |s: &str| {
            if s == "https://vault.azure.net/.default"
                || s == format!("{resource}/.default")
                || s == format!("{resource}.default")
            {
                Some(Audience::KeyVault)
            } else if s == MANAGEMENT_SCOPE {
                Some(Audience::ResourceManager)
            } else if s == GRAPH_SCOPE {
                Some(Audience::Graph)
            } else {
                None
            }
        };
        let audiences: Vec<Option<Audience>> = scope
            .as_deref()
            .unwrap_or("")
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(audience_of)
            .collect();
        let audience = match audiences.split_first() {
            Some((Some(first), rest)) if rest.iter().all(|a| *a == Some(*first)) => *first,
            Some((Some(_), rest)) if rest.iter().all(Option::is_some) => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    "AADSTS28000: the scopes name more than one resource; a token is for one resource",
                )
            }
            _ => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    "AADSTS70011: scope must be https://vault.azure.net/.default (or this endpoint's resource followed by /.default), https://management.azure.com/.default or https://graph.microsoft.com/.default",
                )
            }
        };
        let (Some(client_id), Some(client_secret)) = (client_id, client_secret) else {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "AADSTS900144: client_id and client_secret are required",
            );
        };
        let principal =
            match engine::directory::authenticate_client(store, &client_id, &client_secret, now) {
                Ok(p) => p,
                Err(_) => return oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "AADSTS7000215: Invalid client secret provided, or the application is unknown",
                ),
            };
        match self.issue(principal.name(), audience, now) {
            Ok(token) => json_response(
                StatusCode::OK,
                &json!({
                    "token_type": "Bearer",
                    "expires_in": self.lifetime_seconds,
                    "ext_expires_in": self.lifetime_seconds,
                    "access_token": token.as_str(),
                }),
            ),
            Err(_) => oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "The token could not be issued",
            ),
        }
    }
}
