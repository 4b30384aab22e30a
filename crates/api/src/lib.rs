//! kontor's HTTP API. Thin: parse, authorize, call a use case of `app`, map the result.

pub mod auth;
pub mod error;
pub mod extract;
pub mod guard;
pub mod openapi;
pub mod routes;

/// Password hashing and the mailer are the application's; re-exported for existing callers.
pub use app::{mailer, passwords};

use actix_web::dev::{Server, Service};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{web, App, HttpServer};
use error::{ApiError, REQUEST_ID};
use std::net::TcpListener;

/// Limits and settings of the HTTP layer (from `KONTOR_*` variables, see docs/operations.md).
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Largest JSON body accepted (413 above).
    pub max_json_bytes: usize,
    /// Largest document upload accepted (413 above).
    pub max_document_bytes: usize,
    /// HTTP worker threads.
    pub workers: usize,
    /// Requests per window for each API-key tier.
    pub rate_limits: guard::RateLimits,
    /// How long a login session lasts.
    pub session_ttl: chrono::Duration,
    pub mail: mailer::MailConfig,
    /// Failed logins that block an account, and a client address, for 15 minutes.
    pub login_failures_per_account: i64,
    pub login_failures_per_address: i64,
    /// Take the client address from the first `X-Forwarded-For` entry (only behind a proxy
    /// that sets it); else the TCP peer address is used.
    pub trust_forwarded_for: bool,
    /// Requests per client address and hour to the public forms (contact, forgot-password).
    pub public_requests_per_address_per_hour: i64,
}

impl Default for ApiConfig {
    fn default() -> Self {
        let identity = app::identity::IdentityConfig::default();
        ApiConfig {
            max_json_bytes: 1024 * 1024,
            max_document_bytes: 20 * 1024 * 1024,
            workers: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            rate_limits: identity.rate_limits,
            session_ttl: identity.session_ttl,
            mail: identity.mail,
            login_failures_per_account: identity.login_failures_per_account,
            login_failures_per_address: identity.login_failures_per_address,
            trust_forwarded_for: false,
            public_requests_per_address_per_hour: identity.public_requests_per_address_per_hour,
        }
    }
}

pub struct AppState {
    /// The use cases: every handler goes through them.
    pub app: app::App,
    pub config: ApiConfig,
    pub auth_cache: auth::AuthCache,
    /// `Idempotency-Key`s being served in this process.
    pub key_locks: guard::KeyLocks,
}

impl ApiConfig {
    /// The settings of the identity use cases.
    pub fn identity(&self) -> app::identity::IdentityConfig {
        app::identity::IdentityConfig {
            rate_limits: self.rate_limits.clone(),
            session_ttl: self.session_ttl,
            login_failures_per_account: self.login_failures_per_account,
            login_failures_per_address: self.login_failures_per_address,
            public_requests_per_address_per_hour: self.public_requests_per_address_per_hour,
            mail: self.mail.clone(),
        }
    }
}

impl AppState {
    /// Fails when the mail configuration is unusable (bad sender, unwritable mail folder).
    /// `app` gets the identity settings of `config`.
    pub fn new(app: app::App, config: ApiConfig) -> Result<AppState, String> {
        let app = app.with_identity(config.identity());
        app.check_mailer()?;
        Ok(AppState {
            app,
            config,
            auth_cache: auth::AuthCache::default(),
            key_locks: guard::KeyLocks::default(),
        })
    }
}

fn request_id_of(req: &actix_web::dev::ServiceRequest) -> String {
    req.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 100 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
}

async fn unknown_route() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::not_found("No such endpoint"))
}

/// Starts the HTTP server on an already bound listener (port 0 in tests).
pub fn serve(listener: TcpListener, state: AppState) -> std::io::Result<Server> {
    let workers = state.config.workers.max(1);
    let max_json = state.config.max_json_bytes;
    let state = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(web::PayloadConfig::new(max_json))
            .wrap(guard::Guard)
            .wrap_fn(|req, srv| {
                let id = request_id_of(&req);
                let method = req.method().clone();
                let path = req.path().to_string();
                let fut = REQUEST_ID.scope(id.clone(), srv.call(req));
                async move {
                    let mut res = fut.await?;
                    tracing::debug!(request_id = %id, %method, %path, status = res.status().as_u16(), "request");
                    if let Ok(v) = HeaderValue::from_str(&id) {
                        res.headers_mut().insert(HeaderName::from_static("x-request-id"), v);
                    }
                    Ok(res)
                }
            })
            .route("/health", web::get().to(routes::meta::health))
            .route("/openapi.json", web::get().to(routes::meta::openapi_public))
            .configure(routes::configure)
            .default_service(web::to(unknown_route))
    })
    .workers(workers)
    .backlog(2048)
    .listen(listener)?
    .run();
    Ok(server)
}
