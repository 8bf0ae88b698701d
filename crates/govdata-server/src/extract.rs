//! Request extractors whose rejections are our error body, naming the field
//! at fault: `Json` (with `deny_unknown_fields` types), `Path` and `Query`.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use govdata_model::ErrorCode;
use serde::de::DeserializeOwned;

use crate::error::HttpError;

/// A JSON body. Malformed JSON is 400; a wrong type, missing or unknown field
/// is 422 with `field` set to its path (`roles[1]`, `name`).
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = HttpError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim();
                mime == "application/json" || mime.ends_with("+json")
            });
        if !is_json {
            return Err(HttpError::new(
                ErrorCode::UnsupportedMediaType,
                "expected a body with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(body_rejection)?;
        parse_json(&bytes).map(Json)
    }
}

fn body_rejection(rejection: BytesRejection) -> HttpError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        HttpError::new(ErrorCode::PayloadTooLarge, "request body is larger than the configured limit")
    } else {
        HttpError::new(ErrorCode::BadRequest, rejection.body_text())
    }
}

/// Text with a NUL character is refused at the edge: PostgreSQL cannot store
/// it, and no legitimate value needs it.
fn nul_refused(place: &str) -> HttpError {
    HttpError::new(ErrorCode::BadRequest, format!("{place} must not contain NUL characters"))
}

fn has_escaped_nul(bytes: &[u8]) -> bool {
    bytes.windows(6).any(|w| w[0] == b'\\' && w[1] == b'u' && &w[2..] == b"0000")
}

/// Parses JSON, reporting the path of the value that does not fit `T`.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, HttpError> {
    if has_escaped_nul(bytes) {
        return Err(nul_refused("JSON strings"));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed: Result<T, _> = serde_path_to_error::deserialize(&mut de);
    let value = parsed.map_err(|err| {
        let inner = err.inner();
        let path = err.path().to_string();
        if inner.is_syntax() || inner.is_eof() || inner.is_io() {
            return HttpError::new(ErrorCode::BadRequest, format!("malformed JSON: {inner}"));
        }
        let message = inner.to_string();
        // The path already ends at an unknown key; a missing one is named only in the message.
        let field = match missing_field(&message) {
            Some(name) if path == "." => name.to_owned(),
            Some(name) => format!("{path}.{name}"),
            None => path,
        };
        HttpError::field(ErrorCode::InvalidInput, field, strip_position(&message))
    })?;
    de.end().map_err(|e| HttpError::new(ErrorCode::BadRequest, format!("malformed JSON: {e}")))?;
    Ok(value)
}

fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.split('`').next()
}

/// serde names missing and unknown fields only in its message.
fn field_from_message(message: &str) -> Option<&str> {
    missing_field(message).or_else(|| message.strip_prefix("unknown field `")?.split('`').next())
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// Path parameters; a value of the wrong type is 400 naming the parameter.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = HttpError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        if parts.uri.path().to_ascii_lowercase().contains("%00") {
            return Err(nul_refused("path parameters"));
        }
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|rejection: PathRejection| HttpError::new(ErrorCode::BadRequest, rejection.body_text()))
    }
}

/// Query parameters; an unknown or malformed one is 400 naming it.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = HttpError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state).await.map(|q| Query(q.0)).map_err(
            |rejection: QueryRejection| {
                let text = rejection.body_text();
                let detail = text.trim_start_matches("Failed to deserialize query string: ");
                // axum prefixes the parameter's path when it knows it: "name: reason".
                let (field, message) = match detail.split_once(": ") {
                    Some((path, reason)) if !path.contains(' ') => (path.to_owned(), reason),
                    _ => (field_from_message(detail).unwrap_or("query").to_owned(), detail),
                };
                HttpError::field(ErrorCode::BadRequest, field, message.to_owned())
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        tags: Vec<u32>,
    }

    #[test]
    fn errors_name_the_field() {
        let err = parse_json::<Body>(br#"{"name": "a", "tags": [1, "x"]}"#).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("tags[1]"));
        assert_eq!(err.code, ErrorCode::InvalidInput);
        let err = parse_json::<Body>(br#"{"name": "a", "tags": [], "extra": 1}"#).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("extra"));
        let err = parse_json::<Body>(br#"{"tags": []}"#).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("name"));
        let err = parse_json::<Vec<Body>>(br#"[{"tags": []}]"#).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("[0].name"));
        let err = parse_json::<Body>(br#"{"name": "a""#).unwrap_err();
        assert_eq!(err.code, ErrorCode::BadRequest);
        let err = parse_json::<Body>(br#"{"name": "a\u0000", "tags": []}"#).unwrap_err();
        assert_eq!(err.code, ErrorCode::BadRequest);
        let err = parse_json::<Body>(br#"{"name": "a", "tags": []} trailing"#).unwrap_err();
        assert_eq!(err.code, ErrorCode::BadRequest);
    }
}
