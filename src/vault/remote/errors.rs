//! Key Vault's answers that are not successes, as our error envelope: Key Vault's own code and
//! message kept, the category from the HTTP status. Nothing of the request (its token, its
//! values) goes into an error; only the service's error object and the object concerned.

use crate::error::{CkStatus, Error};
use crate::wire::keyvault::KeyVaultError;

/// A success whose body is not what `service` documents: `why`.
pub(crate) fn not_as_documented(service: &str, why: &str, target: &str) -> Error {
    let message = format!("{service}'s answer is not as documented: {why}");
    Error::new(CkStatus::Unavailable, "UnexpectedResponse", message, target)
}

/// The status Key Vault answered with, as our status.
pub fn status_of(http_status: u16) -> CkStatus {
    match http_status {
        400 => CkStatus::InvalidArgument,
        401 => CkStatus::Unauthenticated,
        403 => CkStatus::Forbidden,
        404 => CkStatus::NotFound,
        409 => CkStatus::Conflict,
        429 => CkStatus::LimitsExceeded,
        408 | 500..=599 => CkStatus::Unavailable,
        _ => CkStatus::InvalidOperation,
    }
}

/// Longest service message passed on: a misbehaving endpoint cannot flood an error.
const MAX_MESSAGE: usize = 1000;

/// An error answer (`body` is Key Vault's `{"error": {"code", "message", "innererror"}}`, or
/// anything else from a proxy in the way) for the object `target`.
pub fn from_response(http_status: u16, body: &[u8], target: &str) -> Error {
    let parsed = serde_json::from_slice::<KeyVaultError>(body)
        .ok()
        .and_then(|e| e.error);
    let (code, message) = match parsed {
        Some(inner) => {
            // The innermost code is the most precise (KeyNotFound under NotFound... or the
            // service's "ForbiddenByPolicy" under "Forbidden"): kept in the message.
            let mut detail = inner.innererror.as_deref().and_then(|i| i.code.clone());
            if detail.as_deref() == inner.code.as_deref() {
                detail = None;
            }
            let code = inner.code.unwrap_or_else(|| format!("Http{http_status}"));
            let mut message = inner
                .message
                .unwrap_or_else(|| format!("Key Vault answered HTTP {http_status}"));
            if let Some(d) = detail {
                message = format!("{message} ({d})");
            }
            (code, message)
        }
        None => (
            format!("Http{http_status}"),
            format!("Key Vault answered HTTP {http_status} without a Key Vault error"),
        ),
    };
    let message: String = message.chars().take(MAX_MESSAGE).collect();
    let message = match http_status {
        429 => format!("{message}; still throttled after the retries"),
        _ => message,
    };
    Error::new(status_of(http_status), &code, message, target)
}

/// The ids Azure gives an answer, from its headers: `x-ms-request-id` (Key Vault, Azure
/// Resource Manager, Microsoft Graph, Entra ID) and Resource Manager's
/// `x-ms-correlation-request-id`. Graph names its id `request-id` as well; that one is read
/// when `x-ms-request-id` is missing.
pub fn request_ids(headers: &reqwest::header::HeaderMap) -> (Option<String>, Option<String>) {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    (
        text("x-ms-request-id").or_else(|| text("request-id")),
        text("x-ms-correlation-request-id"),
    )
}

/// `error` as the answer with `headers` reported it: its request ids kept (see
/// [`Error::with_request_id`]).
pub fn with_ids(error: Error, headers: &reqwest::header::HeaderMap) -> Error {
    let (request_id, correlation_id) = request_ids(headers);
    error.with_request_id(request_id.as_deref(), correlation_id.as_deref())
}

/// A request that got no answer: the connection failed, was reset, or timed out. reqwest's
/// own text names the URL, which carries no secret (tokens go in a header). reqwest's error is
/// kept as the source.
pub fn from_transport(e: reqwest::Error, target: &str) -> Error {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "the connection failed"
    };
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(&e);
    let mut cause = String::new();
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    let url = e.url().map(|u| u.as_str().to_string()).unwrap_or_default();
    let message = if cause.is_empty() {
        format!("Key Vault request to {url} {what}")
    } else {
        format!("Key Vault request to {url} {what}: {cause}")
    };
    Error::new(CkStatus::Unavailable, "ConnectionError", message, target).with_source(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_vault_error_bodies_keep_their_code_and_message_and_get_the_status_category() {
        let body = br#"{"error":{"code":"KeyNotFound","message":"A key with (name/id) k9 was not found in this key vault."}}"#;
        let e = from_response(404, body, "v1/k9");
        assert_eq!(e.code, "KeyNotFound");
        assert_eq!(e.category(), "ObjectNotFound");
        assert!(e.message.contains("k9 was not found"));
        let forbidden = br#"{"error":{"code":"Forbidden","message":"The user, group or application does not have keys get permission.","innererror":{"code":"AccessDenied"}}}"#;
        let e = from_response(403, forbidden, "v1/k1");
        assert_eq!(
            (e.code.as_str(), e.category()),
            ("Forbidden", "PermissionDenied")
        );
        assert!(e.message.ends_with("(AccessDenied)"));
        for (status, category) in [
            (401, "AuthenticationError"),
            (409, "ResourceExists"),
            (429, "LimitsExceeded"),
            (500, "ConnectionError"),
            (503, "ConnectionError"),
            (400, "InvalidArgument"),
        ] {
            assert_eq!(from_response(status, b"{}", "t").category(), category);
        }
        let proxy = from_response(502, b"<html>Bad Gateway</html>", "t");
        assert_eq!(proxy.code, "Http502");
    }

    #[test]
    fn the_request_ids_are_read_from_the_answers_headers() {
        use reqwest::header::{HeaderMap, HeaderValue};
        let mut h = HeaderMap::new();
        assert_eq!(request_ids(&h), (None, None));
        h.insert("request-id", HeaderValue::from_static("graph-id"));
        assert_eq!(request_ids(&h).0.as_deref(), Some("graph-id"));
        h.insert("x-ms-request-id", HeaderValue::from_static("kv-id"));
        h.insert(
            "x-ms-correlation-request-id",
            HeaderValue::from_static("arm-corr"),
        );
        let e = with_ids(from_response(404, b"{}", "t"), &h);
        assert_eq!(e.request_id(), Some("kv-id"));
        assert_eq!(e.correlation_id(), Some("arm-corr"));
        assert!(e
            .message
            .ends_with("(x-ms-request-id: kv-id, x-ms-correlation-request-id: arm-corr)"));
        assert_eq!(e.envelope()["error"]["requestId"], "kv-id");
    }
}
