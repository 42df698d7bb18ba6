//! Bearer tokens for Key Vault, from the first source that is set, in the issue's order: a
//! token the caller gave (`AccessToken`, as from `Get-AzAccessToken`); client credentials
//! from `AZURE_TENANT_ID` / `AZURE_CLIENT_ID` / `AZURE_CLIENT_SECRET` (Entra ID's v2 token
//! endpoint, `AZURE_AUTHORITY_HOST` honoured); managed identity (IMDS, or `IDENTITY_ENDPOINT`
//! with `IDENTITY_HEADER`). A token is cached until shortly before it expires and refreshed
//! once when the vault answers 401; that answer's challenge (`authorization`, `resource`)
//! picks the tenant and scope, after checking that the resource is the vault's own domain.
//! Tokens and secrets live in wiping strings and never reach an error or a log.

use crate::error::{CkStatus, Error, Result};
use crate::time::Clock;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// A cached token is replaced this long before it expires (or at half its life if shorter).
const REFRESH_MARGIN: Duration = Duration::from_secs(300);
const IMDS_ENDPOINT: &str = "http://169.254.169.254/metadata/identity/oauth2/token";

/// Where tokens come from.
pub enum Source {
    Given(Zeroizing<String>),
    ClientSecret {
        tenant: String,
        client_id: String,
        secret: Zeroizing<String>,
    },
    ManagedIdentity {
        /// `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` (App Service, Functions, Arc); IMDS else.
        endpoint: Option<(String, Zeroizing<String>)>,
        client_id: Option<String>,
    },
}

impl Source {
    /// The caller's token if given, else the environment's client credentials, else managed
    /// identity.
    pub fn choose(given: Option<Zeroizing<String>>) -> Source {
        if let Some(t) = given {
            return Source::Given(t);
        }
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        if let (Some(tenant), Some(client_id), Some(secret)) = (
            env("AZURE_TENANT_ID"),
            env("AZURE_CLIENT_ID"),
            env("AZURE_CLIENT_SECRET"),
        ) {
            return Source::ClientSecret {
                tenant,
                client_id,
                secret: Zeroizing::new(secret),
            };
        }
        let endpoint = match (env("IDENTITY_ENDPOINT"), env("IDENTITY_HEADER")) {
            (Some(e), Some(h)) => Some((e, Zeroizing::new(h))),
            _ => None,
        };
        Source::ManagedIdentity {
            endpoint,
            client_id: env("AZURE_CLIENT_ID"),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Source::Given(_) => "AccessToken",
            Source::ClientSecret { .. } => "client credentials (AZURE_CLIENT_ID)",
            Source::ManagedIdentity { .. } => "managed identity",
        }
    }
}

struct Cached {
    token: Zeroizing<String>,
    /// On the clock's monotonic side: a token's lifetime is a span, and the wall clock being
    /// set must not keep an expired one or drop a fresh one.
    refresh_at: Instant,
}

struct State {
    /// The tenant a challenge named, over the configured one.
    tenant: Option<String>,
    scope: String,
    cached: Option<Cached>,
}

/// The service a token is for: its name in messages, the session option that gives one, and
/// whether its 401 challenge names the tenant and resource (Key Vault's does; Azure Resource
/// Manager's and Microsoft Graph's name a generic authority, which is not followed).
#[derive(Debug, Clone, Copy)]
pub struct Audience {
    pub service: &'static str,
    pub option: &'static str,
    pub follows_challenge: bool,
}

pub const KEY_VAULT: Audience = Audience {
    service: "Key Vault",
    option: "AccessToken",
    follows_challenge: true,
};
pub const RESOURCE_MANAGER: Audience = Audience {
    service: "Azure Resource Manager",
    option: "ManagementAccessToken",
    follows_challenge: false,
};
pub const GRAPH: Audience = Audience {
    service: "Microsoft Graph",
    option: "GraphAccessToken",
    follows_challenge: false,
};

/// The tokens of one audience (one scope), cached apart from the others'.
pub struct Credentials {
    source: Source,
    authority_host: String,
    audience: Audience,
    state: Mutex<State>,
    clock: Clock,
}

fn auth_error_for(option: &str, message: impl Into<String>) -> Error {
    Error::new(
        CkStatus::Unauthenticated,
        "AuthenticationFailed",
        message,
        option,
    )
}

fn auth_error(message: impl Into<String>) -> Error {
    auth_error_for(KEY_VAULT.option, message)
}

/// Percent-encodes one value (RFC 3986 unreserved characters kept): a form field of the token
/// request, a URL path segment or a query value.
pub(crate) fn percent_encode(value: &str) -> String {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    const RESERVED: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    utf8_percent_encode(value, RESERVED).to_string()
}

/// Seconds in a token answer, given as a number or as a string (IMDS).
fn seconds(v: &serde_json::Value) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

/// A challenge's parameters: `Bearer authorization="…", resource="…"` (or `scope="…"`).
pub fn parse_challenge(header: &str) -> Vec<(String, String)> {
    let rest = header.trim();
    let rest = rest
        .strip_prefix("Bearer")
        .or_else(|| rest.strip_prefix("bearer"))
        .unwrap_or(rest);
    rest.split(',')
        .filter_map(|part| {
            let (k, v) = part.trim().split_once('=')?;
            Some((
                k.trim().to_ascii_lowercase(),
                v.trim().trim_matches('"').to_string(),
            ))
        })
        .collect()
}

/// The host of an https URL, without port, lower-cased.
fn https_host(url: &str) -> Option<String> {
    let url = url::Url::parse(url)
        .ok()
        .filter(|u| u.scheme() == "https")?;
    url.host_str().map(str::to_string)
}

impl Credentials {
    pub fn new(source: Source, authority_host: String, default_scope: String) -> Credentials {
        Credentials::for_audience(source, authority_host, default_scope, KEY_VAULT)
    }

    /// Credentials for another service than Key Vault (its own scope and cache).
    pub fn for_audience(
        source: Source,
        authority_host: String,
        default_scope: String,
        audience: Audience,
    ) -> Credentials {
        Credentials {
            source,
            authority_host: authority_host.trim_end_matches('/').to_string(),
            audience,
            state: Mutex::new(State {
                tenant: None,
                scope: default_scope,
                cached: None,
            }),
            clock: Clock::system(),
        }
    }

    /// The same on the session's clock.
    pub fn with_clock(mut self, clock: Clock) -> Credentials {
        self.clock = clock;
        self
    }

    /// The clock the tokens' lifetimes run on.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Whether tokens come from something the admin set up (a given token, client credentials,
    /// an `IDENTITY_ENDPOINT`) rather than the guess of IMDS, which off Azure only times out:
    /// optional lookups (display names) are made only then.
    pub fn is_configured(&self) -> bool {
        match &self.source {
            Source::Given(_) | Source::ClientSecret { .. } => true,
            Source::ManagedIdentity { endpoint, .. } => endpoint.is_some(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The `Authorization` header's value: a cached token, or a new one.
    pub async fn bearer(&self, http: &reqwest::Client) -> Result<Zeroizing<String>> {
        if let Source::Given(t) = &self.source {
            return Ok(Zeroizing::new(format!("Bearer {}", t.as_str())));
        }
        let (tenant, scope) = {
            let state = self.state();
            if let Some(c) = &state.cached {
                if self.clock.monotonic() < c.refresh_at {
                    return Ok(Zeroizing::new(format!("Bearer {}", c.token.as_str())));
                }
            }
            (state.tenant.clone(), state.scope.clone())
        };
        let (token, lifetime) = self.fetch(http, tenant.as_deref(), &scope).await?;
        let margin = REFRESH_MARGIN.min(lifetime / 2);
        let header = Zeroizing::new(format!("Bearer {}", token.as_str()));
        self.state().cached = Some(Cached {
            token,
            refresh_at: self.clock.monotonic() + lifetime.saturating_sub(margin),
        });
        Ok(header)
    }

    /// After a 401 from `vault_host`: takes the challenge's tenant and scope when its resource
    /// is the vault's domain, and drops the cached token. Whether a retry can do better (a
    /// given token cannot be refreshed).
    pub fn on_unauthorized(&self, challenge: Option<&str>, vault_host: &str) -> Result<bool> {
        let mut state = self.state();
        state.cached = None;
        if !self.audience.follows_challenge {
            return Ok(!matches!(self.source, Source::Given(_)));
        }
        if let Some(header) = challenge {
            let params = parse_challenge(header);
            let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            let resource = get("resource")
                .or_else(|| get("scope").map(|s| s.trim_end_matches("/.default").to_string()));
            if let Some(resource) = resource {
                let host = https_host(&resource).ok_or_else(|| {
                    auth_error("the vault's challenge names a resource that is not an https URL")
                })?;
                let vault_host = vault_host.to_ascii_lowercase();
                if !vault_host.ends_with(&format!(".{host}")) {
                    return Err(auth_error(format!(
                        "the vault {vault_host} asked for a token for {host}, which is not its domain; no token is sent for another resource"
                    )));
                }
                state.scope = format!("{}/.default", resource.trim_end_matches('/'));
            }
            if let Some(authority) = get("authorization").or_else(|| get("authorization_uri")) {
                let tenant = authority
                    .trim_end_matches('/')
                    .rsplit('/')
                    .next()
                    .filter(|t| {
                        !t.is_empty()
                            && t.chars()
                                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
                    })
                    .map(str::to_string);
                if tenant.is_some() {
                    state.tenant = tenant;
                }
            }
        }
        Ok(!matches!(self.source, Source::Given(_)))
    }

    /// A new token from the source: (token, lifetime).
    async fn fetch(
        &self,
        http: &reqwest::Client,
        challenge_tenant: Option<&str>,
        scope: &str,
    ) -> Result<(Zeroizing<String>, Duration)> {
        let request = match &self.source {
            Source::Given(_) => unreachable!("a given token is never fetched"),
            Source::ClientSecret {
                tenant,
                client_id,
                secret,
            } => {
                let tenant = challenge_tenant.unwrap_or(tenant);
                let form = Zeroizing::new(format!(
                    "grant_type=client_credentials&client_id={}&client_secret={}&scope={}",
                    percent_encode(client_id),
                    percent_encode(secret),
                    percent_encode(scope)
                ));
                http.post(format!(
                    "{}/{}/oauth2/v2.0/token",
                    self.authority_host,
                    percent_encode(tenant)
                ))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form.as_bytes().to_vec())
            }
            Source::ManagedIdentity {
                endpoint,
                client_id,
            } => {
                let resource = scope.trim_end_matches("/.default");
                let mut query = vec![("resource", resource.to_string())];
                if let Some(id) = client_id {
                    query.push(("client_id", id.clone()));
                }
                let (url, header) = match endpoint {
                    Some((url, header)) => {
                        query.push(("api-version", "2019-08-01".into()));
                        (url.as_str(), ("x-identity-header", header.as_str()))
                    }
                    None => {
                        query.push(("api-version", "2018-02-01".into()));
                        (IMDS_ENDPOINT, ("metadata", "true"))
                    }
                };
                let q: Vec<String> = query
                    .iter()
                    .map(|(k, v)| format!("{k}={}", percent_encode(v)))
                    .collect();
                let sep = if url.contains('?') { '&' } else { '?' };
                http.get(format!("{url}{sep}{}", q.join("&")))
                    .header(header.0, header.1)
            }
        };
        self.read_token(request.send().await).await
    }

    async fn read_token(
        &self,
        sent: std::result::Result<reqwest::Response, reqwest::Error>,
    ) -> Result<(Zeroizing<String>, Duration)> {
        let source = self.source.name();
        let Audience {
            service, option, ..
        } = self.audience;
        let auth_error = |message: String| auth_error_for(option, message);
        let response = sent.map_err(|e| {
            let why = super::errors::from_transport(e, "");
            let error = match self.source {
                Source::ManagedIdentity { endpoint: None, .. } => auth_error(format!(
                    "no credentials for {service}: {option} was not given, AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET are not all set, and managed identity did not answer ({})",
                    why.message
                )),
                _ => auth_error(format!("no token for {service} from {source}: {}", why.message)),
            };
            // reqwest's error under the connection error, kept as the chain.
            error.with_source(why)
        })?;
        let status = response.status().as_u16();
        let (request_id, correlation_id) = super::errors::request_ids(response.headers());
        let body = Zeroizing::new(
            response
                .bytes()
                .await
                .map(|b| b.to_vec())
                .unwrap_or_default(),
        );
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        if status != 200 {
            // Entra ID's error and description carry no secret (AADSTS codes and text).
            let code = json["error"].as_str().unwrap_or("");
            let description: String = json["error_description"]
                .as_str()
                .unwrap_or("")
                .chars()
                .take(400)
                .collect();
            return Err(auth_error(format!(
                "the token request for {service} ({source}) was refused with HTTP {status} {code}: {description}"
            ))
            .with_request_id(request_id.as_deref(), correlation_id.as_deref()));
        }
        let token = json["access_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                auth_error(format!(
                    "the token answer for {service} ({source}) has no access_token"
                ))
            })?;
        let lifetime = seconds(&json["expires_in"]).unwrap_or(300);
        let token = Zeroizing::new(token.to_string());
        // The parsed copy held the token as well.
        drop(json);
        Ok((token, Duration::from_secs(lifetime)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_give_the_tenant_and_scope_and_must_name_the_vaults_domain() {
        let c = Credentials::new(
            Source::ClientSecret {
                tenant: "t0".into(),
                client_id: "c".into(),
                secret: Zeroizing::new("s".into()),
            },
            "https://login.microsoftonline.com/".into(),
            "https://vault.azure.net/.default".into(),
        );
        let header = r#"Bearer authorization="https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47", resource="https://vault.azure.net""#;
        assert!(c
            .on_unauthorized(Some(header), "contoso.vault.azure.net")
            .unwrap());
        let s = c.state();
        assert_eq!(
            s.tenant.as_deref(),
            Some("72f988bf-86f1-41af-91ab-2d7cd011db47")
        );
        assert_eq!(s.scope, "https://vault.azure.net/.default");
        drop(s);
        let elsewhere = r#"Bearer authorization="https://login.microsoftonline.com/t", resource="https://graph.microsoft.com""#;
        let e = c
            .on_unauthorized(Some(elsewhere), "contoso.vault.azure.net")
            .unwrap_err();
        assert_eq!(e.category(), "AuthenticationError");
        let served = r#"Bearer authorization="https://localhost:8443/customerkey", resource="https://localhost:8443""#;
        c.on_unauthorized(Some(served), "v1.localhost").unwrap();
        assert_eq!(c.state().scope, "https://localhost:8443/.default");
    }

    #[test]
    fn a_given_token_cannot_be_refreshed() {
        let c = Credentials::new(
            Source::Given(Zeroizing::new("t".into())),
            "https://login.microsoftonline.com".into(),
            "https://vault.azure.net/.default".into(),
        );
        assert!(!c.on_unauthorized(None, "v.vault.azure.net").unwrap());
    }

    #[test]
    fn form_values_are_percent_encoded() {
        assert_eq!(percent_encode("a b/c~-._+="), "a%20b%2Fc~-._%2B%3D");
    }
}
