//! What every route shares: Key Vault's error body (KeyVaultError with innererror), the engine's
//! errors mapped to the service's status codes, JSON bodies in and out, and the query string.

use engine::error::{CkStatus, Error};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{header, Response, StatusCode};
use serde_json::{json, Value};

pub type HttpResponse = Response<Full<Bytes>>;

/// A failure to answer with a KeyVaultError body.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub inner_code: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.to_string(),
            message: message.into(),
            inner_code: None,
        }
    }

    pub fn bad_parameter(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "BadParameter", message)
    }

    /// A handler that panicked or was cancelled: the service's 500, nothing of the cause.
    pub fn unexpected() -> Self {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "The operation failed unexpectedly",
        )
    }

    pub fn into_response(self) -> HttpResponse {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(inner) = &self.inner_code {
            error["innererror"] = json!({ "code": inner });
        }
        json_response(self.status, &json!({ "error": error }))
    }
}

/// The engine's error as the service answers it: 404 KeyNotFound, 409 Conflict, 403 Forbidden
/// (the missing permission named in the message), 400 BadParameter.
impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let (status, code) = match e.status {
            CkStatus::NotFound => (StatusCode::NOT_FOUND, e.code.as_str()),
            CkStatus::Conflict => (StatusCode::CONFLICT, "Conflict"),
            CkStatus::Forbidden => (StatusCode::FORBIDDEN, "Forbidden"),
            CkStatus::InvalidArgument | CkStatus::InvalidOperation => {
                (StatusCode::BAD_REQUEST, "BadParameter")
            }
            CkStatus::Busy => (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError"),
        };
        let inner = match (e.status, e.code.as_str()) {
            (CkStatus::Forbidden, "Forbidden") => Some("AccessDenied".to_string()),
            (_, c) if c != code => Some(c.to_string()),
            _ => None,
        };
        ApiError {
            status,
            code: code.to_string(),
            message: e.message,
            inner_code: inner,
        }
    }
}

pub fn json_response(status: StatusCode, body: &impl serde::Serialize) -> HttpResponse {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = Response::new(Full::new(Bytes::from(bytes)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

pub fn empty_response(status: StatusCode) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response
}

/// Decodes a request body into `T`. serde's message is not passed on: it can quote a value, and
/// a value may be a key to wrap.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.is_empty() {
        return Err(ApiError::bad_parameter(
            "The request body is empty; a JSON object is expected",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Data => "does not have the shape this operation takes (a field is missing, unknown or of the wrong type)",
            serde_json::error::Category::Eof => "ends before the JSON is complete",
            _ => "is not valid JSON",
        };
        ApiError::bad_parameter(format!(
            "The request body {what} (line {}, column {})",
            e.line(),
            e.column()
        ))
    })
}

/// The query string's parameters, percent-decoded.
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// `application/x-www-form-urlencoded` and query decoding: `+` is a space, `%XX` a byte.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match (hex_digit(bytes[i + 1]), hex_digit(bytes[i + 2])) {
                    (Some(high), Some(low)) => {
                        out.push(high << 4 | low);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_digit(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// base64url without padding, as Key Vault's JSON carries bytes.
pub fn base64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// base64url with or without padding (clients send both); standard base64 accepted as well.
pub fn from_base64url(field: &str, text: &str) -> Result<Vec<u8>, ApiError> {
    use base64::Engine;
    let trimmed = text.trim_end_matches('=');
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(trimmed)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(trimmed))
        .map_err(|_| {
            ApiError::bad_parameter(format!(
                "Property '{field}' must be base64url-encoded bytes"
            ))
        })
}

/// Standard base64 (the engine's) as base64url without padding (JWK's): the same digits but
/// two, so no decoding is needed.
pub fn std_to_url_b64(standard: &str) -> String {
    let mut digits = standard.trim_end_matches('=').as_bytes().to_vec();
    for d in &mut digits {
        match d {
            b'+' => *d = b'-',
            b'/' => *d = b'_',
            _ => {}
        }
    }
    // Only ASCII bytes were swapped for ASCII bytes: still the UTF-8 it was.
    String::from_utf8(digits).unwrap_or_default()
}

/// [`std_to_url_b64`] of a JSON string; empty for anything else.
pub fn std_b64_to_url(v: &Value) -> String {
    v.as_str().map(std_to_url_b64).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_base64_becomes_base64url_without_padding() {
        assert_eq!(std_to_url_b64("+/+/AA=="), "-_-_AA");
        assert_eq!(std_to_url_b64("AQAB"), "AQAB");
    }

    #[test]
    fn percent_decoding_handles_escapes_plus_and_truncated_escapes() {
        assert_eq!(percent_decode("a%2Fb+c"), "a/b c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%4"), "%4");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("é%41"), "éA");
    }

    #[test]
    fn engine_errors_map_to_the_service_status_and_codes() {
        let e = ApiError::from(Error::forbidden("no keys/get", "v"));
        assert_eq!(e.status, StatusCode::FORBIDDEN);
        assert_eq!(e.inner_code.as_deref(), Some("AccessDenied"));
        let e = ApiError::from(Error::not_found("KeyNotFound", "gone", "k"));
        assert_eq!(
            (e.status, e.code.as_str()),
            (StatusCode::NOT_FOUND, "KeyNotFound")
        );
        let e = ApiError::from(Error::invalid_argument("Size", "must be 2048"));
        assert_eq!(
            (e.status, e.code.as_str()),
            (StatusCode::BAD_REQUEST, "BadParameter")
        );
    }
}
