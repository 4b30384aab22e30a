//! The error envelope and the one place that decides every error status code.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use app::AppError;
use journal::{BookingError, Rule, RuleKind};
use serde_json::{json, Map, Value};

tokio::task_local! {
    /// The id of the request being served, for the envelope's `request_id`.
    pub static REQUEST_ID: String;
}

pub fn current_request_id() -> String {
    REQUEST_ID.try_with(|id| id.clone()).unwrap_or_default()
}

/// An error as the client sees it: status, human message, machine code, optional details.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Option<Value>,
    pub retry_after: Option<u64>,
    /// Another request stored this request's `Idempotency-Key` first: the guard replays that.
    pub replay_stored: bool,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after: None,
            replay_stored: false,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, code, message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, code, message)
    }

    pub fn too_many(code: &'static str, message: impl Into<String>, retry_after: u64) -> ApiError {
        let mut e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, code, message);
        e.retry_after = Some(retry_after.max(1));
        e
    }

    pub fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal server error",
        )
    }

    /// Adds `details.field_errors[field] = [message]`.
    pub fn with_field(mut self, field: impl Into<String>, message: impl Into<String>) -> ApiError {
        let mut errors = Map::new();
        errors.insert(field.into(), json!([message.into()]));
        self.details = Some(json!({ "field_errors": errors }));
        self
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut body = json!({
            "error": self.message,
            "code": self.code,
            "request_id": current_request_id(),
        });
        if let Some(d) = &self.details {
            body["details"] = d.clone();
        }
        let mut response = HttpResponse::build(self.status);
        if let Some(secs) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"kontor\""));
        }
        let mut response = response.json(body);
        if self.replay_stored {
            response.extensions_mut().insert(crate::guard::ReplayStored);
        }
        response
    }
}

impl From<BookingError> for ApiError {
    fn from(e: BookingError) -> ApiError {
        let status = if e.is_conflict() {
            StatusCode::CONFLICT
        } else {
            StatusCode::BAD_REQUEST
        };
        let message = e.to_string();
        let error = ApiError::new(status, e.code(), message.clone());
        match e.field() {
            Some(field) => error.with_field(field, message),
            None => error,
        }
    }
}

impl ApiError {
    /// A broken domain rule, by its own code, kind and field.
    pub fn from_rule(rule: &dyn Rule) -> ApiError {
        let status = match rule.kind() {
            RuleKind::Invalid => StatusCode::BAD_REQUEST,
            RuleKind::Conflict => StatusCode::CONFLICT,
            RuleKind::NotFound => StatusCode::NOT_FOUND,
        };
        let message = rule.to_string();
        let error = ApiError::new(status, rule.code(), message.clone());
        match rule.field() {
            Some(field) => error.with_field(field, message),
            None => error,
        }
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> ApiError {
        ApiError::of(&e)
    }
}

impl ApiError {
    /// What the client sees of a use case's error: the one mapping, also for the items of a
    /// bulk request.
    pub fn of(e: &AppError) -> ApiError {
        if let Some(rule) = e.rule() {
            return ApiError::from_rule(rule);
        }
        match e {
            AppError::NotFound { what } => ApiError::not_found(format!("{what} not found")),
            AppError::Invalid {
                code,
                message,
                field,
            } => {
                let error = ApiError::bad_request(code, message.clone());
                match field {
                    Some(f) => error.with_field(f.clone(), message.clone()),
                    None => error,
                }
            }
            AppError::Conflict { code, message } => ApiError::conflict(code, message.clone()),
            AppError::Unauthenticated { code, message } => {
                ApiError::new(StatusCode::UNAUTHORIZED, code, message.clone())
            }
            AppError::Forbidden { code, message } => ApiError::forbidden(code, message.clone()),
            AppError::TooMany {
                code,
                message,
                retry_after,
            } => {
                crate::metrics::count_refusal("login", "");
                ApiError::too_many(code, message.clone(), *retry_after)
            }
            AppError::Upstream { code, message } => {
                ApiError::new(StatusCode::BAD_GATEWAY, code, message.clone())
            }
            // The guard replays the stored answer before this could reach a client; if it does,
            // the retry is the client's to make.
            AppError::IdempotencyReplay => {
                let mut e = ApiError::conflict(
                    "idempotency_in_progress",
                    "A request with this Idempotency-Key was answered concurrently; retry to get its answer",
                );
                e.replay_stored = true;
                e
            }
            other if other.is_statement_timeout() => {
                tracing::warn!(request_id = %current_request_id(), error = %other, "statement timeout");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "statement_timeout",
                    "The database took longer than KONTOR_STATEMENT_TIMEOUT_SECS for this request; narrow it (a date range, a smaller page) or retry later",
                )
            }
            other => {
                // Opaque to the client; the cause goes to the log with the request id.
                tracing::error!(request_id = %current_request_id(), error = ?other, "request failed");
                ApiError::internal()
            }
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
