//! kontor's HTTP API. Thin: parse, authorize, call a use case of `app`, map the result.

pub mod auth;
pub mod error;
pub mod extract;
pub mod guard;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod strict;
pub mod webhook_docs;

/// Password hashing and the mailer are the application's; re-exported for existing callers.
pub use app::{mailer, passwords};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Server, Service, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{web, App, HttpServer};
use actix_web::{HttpMessage, ResponseError};
use error::{ApiError, REQUEST_ID};
use futures_util::FutureExt;
use std::net::TcpListener;

/// Limits and settings of the HTTP layer (from `KONTOR_*` variables, see docs/operations.md).
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Largest JSON body accepted (413 above).
    pub max_json_bytes: usize,
    /// Largest document upload accepted (413 above).
    pub max_document_bytes: usize,
    /// Largest bank statement file accepted (413 above): `KONTOR_MAX_STATEMENT_BYTES`.
    pub max_statement_bytes: usize,
    /// Largest `POST /v1/bookings/bulk` body accepted (413 above): `KONTOR_MAX_BULK_BYTES`.
    pub max_bulk_bytes: usize,
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
    /// How long a client may take to send a request's headers, and then its body (408).
    pub request_timeout: std::time::Duration,
    /// How long an idle keep-alive connection stays open.
    pub keep_alive: std::time::Duration,
    /// On a graceful stop, how long requests in flight may take to finish.
    pub shutdown_timeout: std::time::Duration,
    /// Serve `GET /metrics` on the main address (false: `serve_metrics` serves it elsewhere).
    pub metrics_on_main: bool,
}

impl Default for ApiConfig {
    fn default() -> Self {
        let identity = app::identity::IdentityConfig::default();
        ApiConfig {
            max_json_bytes: 1024 * 1024,
            max_document_bytes: 20 * 1024 * 1024,
            max_statement_bytes: 256 * 1024 * 1024,
            max_bulk_bytes: 32 * 1024 * 1024,
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
            request_timeout: std::time::Duration::from_secs(30),
            keep_alive: std::time::Duration::from_secs(75),
            shutdown_timeout: std::time::Duration::from_secs(30),
            metrics_on_main: true,
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

/// The outermost layer of every request: gives it its request id (the `X-Request-Id` it came
/// with, or a new one) for the error envelope and the response header, and turns a panic
/// anywhere below — guard, handler, use case — into a 500 for this request alone, logged with
/// its request id, instead of a dropped connection.
fn serve_request<S, B>(
    req: ServiceRequest,
    srv: &S,
) -> impl std::future::Future<Output = Result<ServiceResponse<BoxBody>, actix_web::Error>>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody + 'static,
{
    let id = request_id_of(&req);
    let method = req.method().clone();
    let path = req.path().to_string();
    let started = std::time::Instant::now();
    let fut = REQUEST_ID.scope(
        id.clone(),
        std::panic::AssertUnwindSafe(srv.call(req)).catch_unwind(),
    );
    async move {
        let mut res = match fut.await {
            Ok(res) => res?.map_into_boxed_body(),
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                tracing::error!(request_id = %id, %method, %path, panic = %what, "request panicked");
                // The request went down with the panic: the server answers this error for it.
                return Err(Panicked(id).into());
            }
        };
        let route = res.request().match_pattern();
        metrics::observe_request(
            method.as_str(),
            route.as_deref().unwrap_or("unmatched"),
            res.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
        if tracing::enabled!(target: "api", tracing::Level::INFO) {
            let tenant = res
                .request()
                .extensions()
                .get::<auth::Principal>()
                .map(|p| p.tenant_id);
            tracing::info!(
                target: "api",
                request_id = %id,
                %method,
                %path,
                status = res.status().as_u16(),
                tenant = tenant.map(tracing::field::display),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "request"
            );
        }
        if let Ok(v) = HeaderValue::from_str(&id) {
            res.headers_mut()
                .insert(HeaderName::from_static("x-request-id"), v);
        }
        Ok(res)
    }
}

/// The answer to a request whose handling panicked: 500 in the error envelope, with its id.
#[derive(Debug)]
struct Panicked(String);

impl std::fmt::Display for Panicked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "request {} panicked", self.0)
    }
}

impl ResponseError for Panicked {
    fn status_code(&self) -> actix_web::http::StatusCode {
        actix_web::http::StatusCode::INTERNAL_SERVER_ERROR
    }

    fn error_response(&self) -> actix_web::HttpResponse {
        let mut res =
            REQUEST_ID.sync_scope(self.0.clone(), || ApiError::internal().error_response());
        if let Ok(v) = HeaderValue::from_str(&self.0) {
            res.headers_mut()
                .insert(HeaderName::from_static("x-request-id"), v);
        }
        res
    }
}

/// Starts the HTTP server on an already bound listener (port 0 in tests). It does not handle
/// signals itself: the caller stops it through `Server::handle` (`kontor serve` on SIGTERM and
/// SIGINT, gracefully: no new connections, requests in flight finish within
/// `shutdown_timeout`).
pub fn serve(listener: TcpListener, state: AppState) -> std::io::Result<Server> {
    let workers = state.config.workers.max(1);
    let request_timeout = state.config.request_timeout;
    let keep_alive = state.config.keep_alive;
    let shutdown_timeout = state.config.shutdown_timeout;
    let max_json = state.config.max_json_bytes;
    let metrics_on_main = state.config.metrics_on_main;
    metrics::init();
    let state = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(web::PayloadConfig::new(max_json))
            .wrap(guard::Guard)
            .wrap_fn(serve_request)
            .route("/health", web::get().to(routes::meta::health))
            .route("/ready", web::get().to(routes::meta::ready))
            .configure(|cfg| {
                if metrics_on_main {
                    cfg.route("/metrics", web::get().to(metrics::scrape));
                }
            })
            .route("/openapi.json", web::get().to(routes::meta::openapi_public))
            .route("/docs", web::get().to(routes::meta::docs_redirect))
            .service(
                utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}")
                    .external_urls_from_iter_unchecked([(
                        "/docs/openapi.json",
                        openapi::document().clone(),
                    )]),
            )
            .configure(routes::configure)
            .default_service(web::to(unknown_route))
    })
    .workers(workers)
    .client_request_timeout(request_timeout)
    .client_disconnect_timeout(std::time::Duration::from_secs(5))
    .keep_alive(keep_alive)
    .shutdown_timeout(shutdown_timeout.as_secs())
    .disable_signals()
    .backlog(2048)
    .listen(listener)?
    .run();
    Ok(server)
}

/// Serves only `GET /metrics` (one worker, no credentials) on `listener`: the metrics address
/// of its own (`KONTOR_METRICS_BIND`). `app` is the one the main server uses.
pub fn serve_metrics(listener: TcpListener, app: app::App) -> std::io::Result<Server> {
    metrics::init();
    let app = web::Data::new(app);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(app.clone())
            .route("/metrics", web::get().to(metrics::scrape_app))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)?
    .run();
    Ok(server)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test;

    async fn boom() -> actix_web::HttpResponse {
        panic!("a handler bug")
    }

    async fn fine() -> actix_web::HttpResponse {
        actix_web::HttpResponse::Ok().body("fine")
    }

    #[actix_web::test]
    async fn a_panicking_handler_answers_500_with_its_request_id_and_others_go_on() {
        let app = test::init_service(
            App::new()
                .wrap_fn(serve_request)
                .route("/boom", web::get().to(boom))
                .route("/fine", web::get().to(fine)),
        )
        .await;
        let req = test::TestRequest::get()
            .uri("/boom")
            .insert_header(("x-request-id", "req-42"))
            .to_request();
        let err = test::try_call_service(&app, req).await.unwrap_err();
        let res = err.error_response();
        assert_eq!(res.status().as_u16(), 500);
        assert_eq!(res.headers().get("x-request-id").unwrap(), "req-42");
        let body = actix_web::body::to_bytes(res.into_body()).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["code"], "internal");
        assert_eq!(body["request_id"], "req-42");
        // The same service keeps serving.
        let res =
            test::call_service(&app, test::TestRequest::get().uri("/fine").to_request()).await;
        assert_eq!(res.status().as_u16(), 200);
    }

    #[actix_web::test]
    async fn over_http_the_panicking_request_gets_500_and_its_connection_an_answer() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let server = HttpServer::new(|| {
            App::new()
                .wrap_fn(serve_request)
                .route("/boom", web::get().to(boom))
                .route("/fine", web::get().to(fine))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        let mut answers = Vec::new();
        for path in ["/boom", "/fine"] {
            let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
            let request = format!(
                "GET {path} HTTP/1.1\r\nHost: test\r\nX-Request-Id: req-7\r\nConnection: close\r\n\r\n"
            );
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).await.unwrap();
            answers.push(answer);
        }
        handle.stop(true).await;
        assert!(answers[0].starts_with("HTTP/1.1 500"), "{}", answers[0]);
        assert!(
            answers[0]
                .to_ascii_lowercase()
                .contains("x-request-id: req-7"),
            "{}",
            answers[0]
        );
        assert!(
            answers[0].contains(r#""request_id":"req-7""#),
            "{}",
            answers[0]
        );
        assert!(answers[1].starts_with("HTTP/1.1 200"), "{}", answers[1]);
    }
}
