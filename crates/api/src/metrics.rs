//! `GET /metrics`: the Prometheus text format. HTTP requests by method, route pattern and
//! status with a duration histogram; bookings appended; the write path's batch sizes and
//! commit latency (through `app::set_append_hook`); the database pool, read at each scrape;
//! rate-limit refusals.

use actix_web::HttpResponse;
use prometheus::{
    exponential_buckets, Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter,
    IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};
use std::sync::OnceLock;

struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
    bookings: IntCounter,
    batch_size: Histogram,
    commit_seconds: Histogram,
    pool: IntGaugeVec,
    pool_waiting: IntGauge,
    refusals: IntCounterVec,
}

static METRICS: OnceLock<Metrics> = OnceLock::new();

fn metrics() -> &'static Metrics {
    METRICS.get_or_init(|| {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("kontor_http_requests_total", "HTTP requests answered"),
            &["method", "route", "status"],
        )
        .expect("metric");
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "kontor_http_request_duration_seconds",
                "time from a request's headers to its answer",
            ),
            &["method", "route"],
        )
        .expect("metric");
        let bookings = IntCounter::new(
            "kontor_bookings_appended_total",
            "bookings, opening balances and reversals appended by the write path",
        )
        .expect("metric");
        let batch_size = Histogram::with_opts(
            HistogramOpts::new(
                "kontor_append_batch_size",
                "commands per committed append transaction (group commit)",
            )
            .buckets(exponential_buckets(1.0, 2.0, 9).expect("buckets")),
        )
        .expect("metric");
        let commit_seconds = Histogram::with_opts(HistogramOpts::new(
            "kontor_append_commit_seconds",
            "duration of a committed append transaction",
        ))
        .expect("metric");
        let pool = IntGaugeVec::new(
            Opts::new(
                "kontor_db_pool_connections",
                "database connections of this process: in_use, idle, max",
            ),
            &["state"],
        )
        .expect("metric");
        let pool_waiting = IntGauge::new(
            "kontor_db_pool_waiting",
            "requests waiting for a database connection",
        )
        .expect("metric");
        let refusals = IntCounterVec::new(
            Opts::new(
                "kontor_rate_limit_refusals_total",
                "requests refused with 429: `api_key` (the key's rate-limit tier exceeded, by tier) or `login` (login and password-reset throttling)",
            ),
            &["limit", "tier"],
        )
        .expect("metric");
        for m in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(refusals.clone()),
            Box::new(duration.clone()),
            Box::new(bookings.clone()),
            Box::new(batch_size.clone()),
            Box::new(commit_seconds.clone()),
            Box::new(pool.clone()),
            Box::new(pool_waiting.clone()),
        ] {
            registry.register(m).expect("unique metric");
        }
        Metrics {
            registry,
            requests,
            duration,
            bookings,
            batch_size,
            commit_seconds,
            pool,
            pool_waiting,
            refusals,
        }
    })
}

fn record_append(batch: usize, appended: usize, seconds: f64) {
    let m = metrics();
    m.bookings.inc_by(appended as u64);
    m.batch_size.observe(batch as f64);
    m.commit_seconds.observe(seconds);
}

/// Makes the metrics and installs the write path's hook (once per process).
pub fn init() {
    metrics();
    app::set_append_hook(record_append);
}

/// Counts one answered request; `route` is the route's pattern (`/v1/accounts/{number}`).
pub fn observe_request(method: &str, route: &str, status: u16, seconds: f64) {
    let m = metrics();
    m.requests
        .with_label_values(&[method, route, status.to_string().as_str()])
        .inc();
    m.duration
        .with_label_values(&[method, route])
        .observe(seconds);
}

/// Counts a request refused with 429: `limit` is `api_key` (with the key's tier) or `login`.
pub fn count_refusal(limit: &str, tier: &str) {
    metrics().refusals.with_label_values(&[limit, tier]).inc();
}

/// `GET /metrics` on the main address: no credentials.
pub async fn scrape(state: actix_web::web::Data<crate::AppState>) -> HttpResponse {
    render(&state.app)
}

/// `GET /metrics` on the metrics address of its own.
pub async fn scrape_app(app: actix_web::web::Data<app::App>) -> HttpResponse {
    render(&app)
}

fn render(app: &app::App) -> HttpResponse {
    let m = metrics();
    let pool = app.pool_status();
    for (label, value) in [
        ("in_use", pool.in_use),
        ("idle", pool.idle),
        ("max", pool.max),
    ] {
        m.pool.with_label_values(&[label]).set(value as i64);
    }
    m.pool_waiting.set(pool.waiting as i64);
    let mut body = Vec::new();
    let encoder = TextEncoder::new();
    if let Err(e) = encoder.encode(&m.registry.gather(), &mut body) {
        tracing::error!(error = %e, "encoding metrics");
        return HttpResponse::InternalServerError().finish();
    }
    HttpResponse::Ok()
        .content_type(encoder.format_type())
        .body(body)
}
