//! Sign-in and bearer tokens. The token route takes the client-credentials grant of Entra ID
//! (`client_id`, `client_secret`, `scope`, `grant_type=client_credentials`) and answers an
//! opaque random token. Only its SHA-256 is kept, in memory, with the principal, the tenant and
//! the expiry: a leaked memory dump holds no usable token, and a restart signs everyone out.

use super::http::{json_response, percent_decode, HttpResponse};
use crate::error::Result;
use crate::identity::Principal;
use crate::store::Store;
use hyper::StatusCode;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Mutex;
use zeroize::Zeroizing;

const TOKEN_BYTES: usize = 32;
/// Tokens kept at most; past it, expired ones are dropped first, then the oldest.
const MAX_TOKENS: usize = 100_000;

struct IssuedToken {
    application_id: String,
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

    fn issue(&self, application_id: &str, now: i64) -> Result<Zeroizing<String>> {
        let token = Zeroizing::new(super::http::base64url(&Zeroizing::new(
            crate::crypto::random_bytes(TOKEN_BYTES)?,
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
                expires: now + self.lifetime_seconds,
            },
        );
        Ok(token)
    }

    /// The principal an `Authorization: Bearer` header signs in, while its token has not
    /// expired and its service principal still exists (a removed one is refused at once).
    pub fn principal(
        &self,
        store: &Store,
        authorization: Option<&str>,
        now: i64,
    ) -> std::result::Result<Principal, Refusal> {
        let token = authorization
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(Refusal::Missing)?;
        let application_id = {
            let issued = self.issued.lock().unwrap_or_else(|p| p.into_inner());
            let entry = issued.get(&digest(token)).ok_or(Refusal::Unknown)?;
            if now >= entry.expires {
                return Err(Refusal::Expired);
            }
            entry.application_id.clone()
        };
        match crate::directory::may_sign_in(store, &application_id, now) {
            Ok(true) => Ok(Principal::service(application_id)),
            _ => Err(Refusal::Revoked),
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
        let scopes_ok = scope.as_deref().is_some_and(|s| {
            s.split(' ').filter(|s| !s.is_empty()).all(|s| {
                s == "https://vault.azure.net/.default"
                    || s == format!("{resource}/.default")
                    || s == format!("{resource}.default")
            })
        });
        if !scopes_ok {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                "AADSTS70011: scope must be https://vault.azure.net/.default (or this endpoint's resource followed by /.default)",
            );
        }
        let (Some(client_id), Some(client_secret)) = (client_id, client_secret) else {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "AADSTS900144: client_id and client_secret are required",
            );
        };
        let principal =
            match crate::directory::authenticate_client(store, &client_id, &client_secret, now) {
                Ok(p) => p,
                Err(_) => return oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "AADSTS7000215: Invalid client secret provided, or the application is unknown",
                ),
            };
        match self.issue(principal.name(), now) {
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
