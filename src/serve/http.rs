//! What every route shares: Key Vault's error body (KeyVaultError with innererror), the engine's
//! errors mapped to the service's status codes, JSON bodies in and out, and the query string.

use engine::error::{CkStatus, Error};
use engine::wire::keyvault::{ErrorDetail, KeyVaultError};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{header, Response, StatusCode};

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
        let detail = |code| ErrorDetail {
            code: Some(code),
            ..ErrorDetail::default()
        };
        let error = ErrorDetail {
            message: Some(self.message),
            innererror: self.inner_code.map(|inner| Box::new(detail(inner))),
            ..detail(self.code)
        };
        let body = KeyVaultError { error: Some(error) };
        json_response(self.status, &body)
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

/// A 200 with `body`.
pub fn ok(body: impl serde::Serialize) -> Result<HttpResponse, ApiError> {
    Ok(json_response(StatusCode::OK, &body))
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
    let query = query.unwrap_or("").as_bytes();
    url::form_urlencoded::parse(query).into_owned().collect()
}

/// `application/x-www-form-urlencoded` and query decoding: `+` is a space, `%XX` a byte.
pub fn percent_decode(text: &str) -> String {
    let spaced = text.replace('+', " ");
    let decoded = percent_encoding::percent_decode_str(&spaced);
    decoded.decode_utf8_lossy().into_owned()
}

/// Key Vault's base64url (padded or not, standard base64 accepted as well) of the request
/// body's `field`.
pub fn from_base64url(field: &str, text: &str) -> Result<Vec<u8>, ApiError> {
    engine::wire::from_base64url(text).ok_or_else(|| {
        ApiError::bad_parameter(format!(
            "Property '{field}' must be base64url-encoded bytes"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
