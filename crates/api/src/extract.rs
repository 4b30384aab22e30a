//! Request extractors: strict JSON bodies, lenient list parameters, decimal amounts.

use crate::error::ApiError;
use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest};
use chrono::NaiveDate;
use futures_util::future::LocalBoxFuture;
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use std::collections::HashMap;

/// A JSON body: `Content-Type: application/json` (else 415), within the size limit (else 413),
/// syntactically valid (else 400 `malformed_json`), without unknown fields (400 `unknown_field`)
/// and with every field of the right type (400 `invalid_field`, naming the field's path).
pub struct JsonBody<T>(pub T);

pub fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().eq_ignore_ascii_case("application/json"))
        .unwrap_or(false)
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(req);
        let timeout = body_timeout(req);
        let body = web::Bytes::from_request(req, payload);
        let body = async move {
            tokio::time::timeout(timeout, body)
                .await
                .map_err(|_| request_timeout())
        };
        Box::pin(async move {
            if !json {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "Content-Type must be application/json",
                ));
            }
            let bytes = body.await?.map_err(|e| {
                if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "payload_too_large",
                        "Request body is too large",
                    )
                } else {
                    ApiError::bad_request(
                        "malformed_body",
                        format!("Could not read the request body: {e}"),
                    )
                }
            })?;
            parse_json(&bytes).map(JsonBody)
        })
    }
}

/// How long a client may take to send a body: `KONTOR_REQUEST_TIMEOUT_SECS`.
pub fn body_timeout(req: &HttpRequest) -> std::time::Duration {
    req.app_data::<web::Data<crate::AppState>>()
        .map(|s| s.config.request_timeout)
        .unwrap_or(std::time::Duration::from_secs(30))
}

/// A body that did not arrive in time.
pub fn request_timeout() -> ApiError {
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "request_timeout",
        "The request body did not arrive in time",
    )
}

/// Reads a JSON body of a route with a size limit of its own (`KONTOR_MAX_BULK_BYTES`):
/// `Content-Type: application/json` (else 415), at most `limit` bytes (else 413, a declared
/// length above it before anything is read), within the request timeout (else 408).
pub async fn read_json_limited(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, ApiError> {
    use futures_util::StreamExt;
    if !is_json(req) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Content-Type must be application/json",
        ));
    }
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("Request body is too large (at most {limit} bytes)"),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let read = async {
        let mut body = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| {
                if matches!(e, actix_web::error::PayloadError::Overflow) {
                    too_large()
                } else {
                    ApiError::bad_request(
                        "malformed_body",
                        format!("Could not read the request body: {e}"),
                    )
                }
            })?;
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    };
    tokio::time::timeout(body_timeout(req), read)
        .await
        .map_err(|_| request_timeout())?
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Syntax first: a truncated or broken document is `malformed_json` even when the typed
    // parse would stop earlier at an unknown field or a wrong type.
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes).map_err(|e| {
        ApiError::bad_request(
            "malformed_json",
            format!("Request body is not valid JSON: {e}"),
        )
    })?;
    // PostgreSQL text cannot hold U+0000, and no field has a use for it: refuse it here rather
    // than fail deep in the store. Only bodies that spell the escape at all are walked.
    if bytes.windows(5).any(|w| w.eq_ignore_ascii_case(b"u0000")) {
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
            ApiError::bad_request(
                "malformed_json",
                format!("Request body is not valid JSON: {e}"),
            )
        })?;
        if let Some(path) = find_nul(&value, "") {
            return Err(ApiError::bad_request(
                "invalid_character",
                format!("{path}: text must not contain U+0000"),
            )
            .with_field(path, "must not contain U+0000"));
        }
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    // Objects only: no struct from serde's positional (array) form, at any depth.
    let result: Result<T, _> = serde_path_to_error::deserialize(crate::strict::Strict(&mut de));
    let value = result.map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let clean = message
                    .split(" at line ")
                    .next()
                    .unwrap_or(&message)
                    .to_string();
                let code = if clean.starts_with("unknown field") {
                    "unknown_field"
                } else if clean.contains(DATE_ERROR) {
                    "invalid_date"
                } else {
                    "invalid_field"
                };
                let clean = clean.replace(&format!("{DATE_ERROR} "), "");
                let field = if path == "." {
                    "body".to_string()
                } else {
                    path
                };
                ApiError::bad_request(code, format!("{field}: {clean}")).with_field(field, clean)
            }
            _ => ApiError::bad_request(
                "malformed_json",
                format!("Request body is not valid JSON: {message}"),
            ),
        }
    })?;
    de.end().map_err(|e| {
        ApiError::bad_request(
            "malformed_json",
            format!("Request body is not valid JSON: {e}"),
        )
    })?;
    Ok(value)
}

/// The path of the first string (or key) containing U+0000.
fn find_nul(value: &serde_json::Value, path: &str) -> Option<String> {
    let here = || {
        if path.is_empty() {
            "body".to_string()
        } else {
            path.to_string()
        }
    };
    match value {
        serde_json::Value::String(s) if s.contains('\0') => Some(here()),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| find_nul(v, &format!("{path}[{i}]"))),
        serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
            let p = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            if k.contains('\0') {
                Some(p)
            } else {
                find_nul(v, &p)
            }
        }),
        _ => None,
    }
}

/// Query parameters of list endpoints. A malformed parameter falls back to its default.
pub struct Params(HashMap<String, String>);

impl FromRequest for Params {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let map = web::Query::<HashMap<String, String>>::from_query(req.query_string())
            .map(|q| q.into_inner())
            .unwrap_or_default();
        // PostgreSQL text cannot hold U+0000 and no parameter has a use for it: refused here,
        // for every parameter of every list, rather than failing deep in the store.
        let nul = map
            .iter()
            .find(|(k, v)| k.contains('\0') || v.contains('\0'))
            .map(|(k, _)| k.replace('\0', "\\u0000"));
        std::future::ready(match nul {
            Some(name) => Err(ApiError::bad_request(
                "invalid_character",
                format!("query parameter {name}: text must not contain U+0000"),
            )
            .with_field(name, "must not contain U+0000")),
            None => Ok(Params(map)),
        })
    }
}

impl Params {
    /// 1..500, default 100.
    pub fn limit(&self) -> i64 {
        self.0
            .get("limit")
            .and_then(|v| v.parse::<i64>().ok())
            .filter(|v| (1..=500).contains(v))
            .unwrap_or(100)
    }

    pub fn offset(&self) -> i64 {
        self.0
            .get("offset")
            .and_then(|v| v.parse::<i64>().ok())
            .filter(|v| *v >= 0)
            .unwrap_or(0)
    }

    pub fn text(&self, name: &str) -> Option<String> {
        self.0
            .get(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty() && v.chars().count() <= 200)
    }

    /// A date parameter, strictly `YYYY-MM-DD` from 1900 to 2199. Like every list parameter, a
    /// malformed one falls back to its default, none (CONTRACT.md); a body's date never does.
    pub fn date(&self, name: &str) -> Option<NaiveDate> {
        self.0.get(name).and_then(|v| parse_date(v))
    }

    pub fn flag(&self, name: &str) -> bool {
        matches!(
            self.0.get(name).map(String::as_str),
            Some("true" | "1" | "yes")
        )
    }

    pub fn int(&self, name: &str) -> Option<i64> {
        self.0.get(name).and_then(|v| v.parse().ok())
    }
}

fn decimal_from_value(v: serde_json::Value) -> Result<Decimal, String> {
    let text = match v {
        serde_json::Value::String(s) => s,
        serde_json::Value::Number(n) => n.to_string(),
        _ => return Err("must be a decimal amount, as a string (\"119.00\") or a number".into()),
    };
    journal::money::parse_decimal(&text).map_err(|_| format!("{text:?} is not a decimal amount"))
}

/// The dates kontor accepts anywhere: `YYYY-MM-DD`, from 1900-01-01 to 2199-12-31.
pub const DATE_RULE: &str = "must be a date YYYY-MM-DD from 1900-01-01 to 2199-12-31";
/// How a date error is recognised in serde's message (it becomes the code `invalid_date`).
const DATE_ERROR: &str = "invalid_date:";

/// A date exactly as `YYYY-MM-DD` (no sign, no blanks, no time) within the supported years.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|d| (1900..=2199).contains(&chrono::Datelike::year(d)))
}

fn date_from_value(v: serde_json::Value) -> Result<NaiveDate, String> {
    let text = match &v {
        serde_json::Value::String(s) => s.as_str(),
        _ => return Err(format!("{DATE_ERROR} {v} {DATE_RULE}")),
    };
    parse_date(text).ok_or_else(|| format!("{DATE_ERROR} {text:?} {DATE_RULE}"))
}

/// Deserializes a required date strictly (see `parse_date`).
pub fn date<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    date_from_value(serde_json::Value::deserialize(d)?).map_err(serde::de::Error::custom)
}

/// Deserializes an optional date strictly; null is None.
pub fn opt_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v) => date_from_value(v)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

/// For PATCH bodies: an absent date (None), null (Some(None)) or a strict date.
pub fn double_option_date<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<NaiveDate>>, D::Error> {
    opt_date(d).map(Some)
}

/// Deserializes an optional amount given as a string or a JSON number, never via a float.
pub fn opt_decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v) => decimal_from_value(v)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

/// Deserializes a required amount given as a string or a JSON number.
pub fn decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    decimal_from_value(serde_json::Value::deserialize(d)?).map_err(serde::de::Error::custom)
}

/// For PATCH bodies: distinguishes an absent field (None) from an explicit null (Some(None)).
pub fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// The request's `Idempotency-Key`, once the guard has checked it and found no stored answer.
/// A use case that creates something stores its answer under the key in its own transaction.
pub struct IdempotencyKeyOf(pub Option<app::IdempotencyKey>);

impl FromRequest for IdempotencyKeyOf {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        use actix_web::HttpMessage;
        std::future::ready(Ok(IdempotencyKeyOf(
            req.extensions().get::<app::IdempotencyKey>().cloned(),
        )))
    }
}

impl IdempotencyKeyOf {
    /// The key with how to answer `T`, for the use case to store in its transaction.
    pub fn with<T: ?Sized>(
        &self,
        render: impl Fn(&T) -> app::StoredResponse + Send + Sync + 'static,
    ) -> Option<app::Idempotent<T>> {
        self.0.clone().map(|key| app::Idempotent {
            key,
            render: Box::new(render),
        })
    }
}

/// The answer as rendered for the `Idempotency-Key` record, byte for byte; marked so that the
/// guard does not store it a second time when the use case stored it with what it created.
pub fn stored_answer(answer: app::StoredResponse, stored_in_tx: bool) -> actix_web::HttpResponse {
    let mut res = actix_web::HttpResponse::build(
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK),
    );
    if let Some(ct) = answer.content_type {
        res.insert_header((header::CONTENT_TYPE, ct));
    }
    let mut res = res.body(answer.body);
    if stored_in_tx {
        res.extensions_mut()
            .insert(crate::guard::StoredInTransaction);
    }
    res
}
