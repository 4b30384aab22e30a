//! Configuration from the environment. Every variable is listed in docs/operations.md.

use anyhow::{bail, Context};

pub struct Config {
    pub database_url: String,
    pub bind: String,
    /// Where `GET /metrics` is served instead of `bind`.
    pub metrics_bind: Option<String>,
    pub secret: Option<String>,
    pub pool_size: usize,
    /// `KONTOR_STATEMENT_TIMEOUT_SECS` (None: 0, no bound).
    pub statement_timeout: Option<std::time::Duration>,
    /// `KONTOR_READ_DATABASE_URL` and the reads it serves (`KONTOR_READ_DATABASE_ROUTES`).
    pub replica: Option<(String, Vec<app::startup::ReadRoute>)>,
    /// The HTTP settings, for `serve` only.
    pub api: api::ApiConfig,
    /// The settings of the identity use cases, for `serve` and the admin commands.
    pub identity: app::identity::IdentityConfig,
    /// Webhook delivery (issue 15), for `serve`.
    pub webhooks: app::webhooks::WebhookConfig,
    /// `KONTOR_WEBHOOK_WORKER`: whether this process runs the delivery worker.
    pub webhook_worker: bool,
    /// The inbox's domain and OCR settings (issue 14), for `serve` and `inbox deliver`.
    pub inbox: app::inbox::InboxConfig,
}

/// Every setting of `kontor serve`: (variable, default, meaning). The same as the table in
/// docs/operations.md (a test compares them); `kontor serve --help` prints it.
pub const SETTINGS: &[(&str, &str, &str)] = &[
    ("DATABASE_URL", "none, required", "PostgreSQL connection: a URL or a libpq key=value string"),
    ("KONTOR_BIND", "127.0.0.1:8080", "address and port to listen on"),
    ("KONTOR_METRICS_BIND", "unset", "serve GET /metrics on this address and port only, not on KONTOR_BIND; unset: on KONTOR_BIND"),
    ("KONTOR_SECRET", "unset", "key material (32+ characters) for the hashes of API keys, sessions and mailed tokens; unset: a random secret kept in the database"),
    ("KONTOR_DB_POOL_SIZE", "16", "maximum PostgreSQL connections per process (and as many to the read replica, when set)"),
    ("KONTOR_STATEMENT_TIMEOUT_SECS", "30", "PostgreSQL cancels a statement of a request that runs longer (500); 0: no bound; migrations and streamed exports are exempt"),
    ("KONTOR_READ_DATABASE_URL", "unset", "a streaming replica (standby) that serves the reads named by KONTOR_READ_DATABASE_ROUTES; unset: every read on DATABASE_URL"),
    ("KONTOR_READ_DATABASE_ROUTES", "reports,exports,audit", "comma-separated reads the replica serves: reports, exports, audit, journal, accounts (a standby may lag behind a write the same client just made)"),
    ("KONTOR_WORKERS", "number of CPUs", "HTTP worker threads"),
    ("KONTOR_MAX_JSON_BYTES", "1048576 (1 MiB)", "largest JSON request body (413 above)"),
    ("KONTOR_MAX_DOCUMENT_BYTES", "20971520 (20 MiB)", "largest document upload (413 above)"),
    ("KONTOR_MAX_STATEMENT_BYTES", "268435456 (256 MiB)", "largest bank statement file (camt, MT940, CSV) an import takes (413 above)"),
    ("KONTOR_MAX_BULK_BYTES", "33554432 (32 MiB)", "largest POST /v1/bookings/bulk body (413 above)"),
    ("KONTOR_REQUEST_TIMEOUT_SECS", "30", "time a client has for a request's headers, and again for its body (408); 1 to 3600"),
    ("KONTOR_KEEP_ALIVE_SECS", "75", "how long an idle keep-alive connection stays open; 1 to 3600"),
    ("KONTOR_RATE_LIMITS", "starter=100/900,professional=500/900,enterprise=2000/900", "requests per window (seconds) for each API-key tier"),
    ("KONTOR_SESSION_HOURS", "12", "lifetime of a login session, 1 to 720 hours"),
    ("KONTOR_LOGIN_FAILURES_PER_ACCOUNT", "5", "failed logins per email in 15 minutes before 429"),
    ("KONTOR_LOGIN_FAILURES_PER_ADDRESS", "20", "failed logins per client address in 15 minutes before 429"),
    ("KONTOR_PUBLIC_REQUESTS_PER_HOUR", "10", "password-reset requests and contact messages per client address and hour"),
    ("KONTOR_TRUST_FORWARDED_FOR", "off", "true or 1: the client address is the last X-Forwarded-For entry (behind exactly one proxy)"),
    ("KONTOR_SMTP_URL", "unset", "SMTP server for invite and reset mails"),
    ("KONTOR_MAIL_FROM", "kontor <no-reply@kontor.invalid>", "sender of those mails"),
    ("KONTOR_MAIL_DIR", "mail (relative to the working directory)", "without KONTOR_SMTP_URL, mails are written here as .eml files"),
    ("KONTOR_PUBLIC_URL", "http://127.0.0.1:8080", "base URL of the links in mails"),
    ("KONTOR_SHUTDOWN_TIMEOUT_SECS", "30", "on SIGTERM or SIGINT, how long requests in flight may take to finish; 0 to 3600"),
    ("KONTOR_WEBHOOK_RETRY_SCHEDULE", "60,300,1800,7200,28800", "seconds between a failed webhook delivery attempt and the next, comma-separated (1 min, 5 min, 30 min, 2 h, 8 h); empty: no retries"),
    ("KONTOR_WEBHOOKS_ALLOW_PRIVATE", "off", "true or 1: webhook URLs may resolve to loopback, link-local and private addresses (on-premise setups, tests); off: 400 webhook_url_forbidden, and deliveries to such addresses fail"),
    ("KONTOR_WEBHOOK_POLL_MS", "1000", "how often an idle webhook delivery worker looks for due deliveries, in milliseconds (10 to 60000)"),
    ("KONTOR_WEBHOOK_TENANTS", "unset", "comma-separated tenant ids: this process's delivery worker serves only these tenants (dedicated workers); unset: all"),
    ("KONTOR_WEBHOOK_WORKER", "on", "off or 0: this process does not deliver webhooks or emit invoice.overdue (another replica does; any number may)"),
    ("KONTOR_INBOX_DOMAIN", "inbox.localhost", "domain of the tenants' inbox addresses (GET /v1/inbox/address); kontor inbox deliver takes mail for it"),
    ("KONTOR_OCR_TIMEOUT_SECS", "60", "how long one Tesseract run (OCR of a scan or photo) may take before it is stopped (502 ocr_failed); 1 to 3600"),
    ("KONTOR_TESSERACT", "tesseract", "the Tesseract command (Debian packages tesseract-ocr, tesseract-ocr-deu)"),
    ("RUST_LOG", "info,tokio_postgres=warn", "log filter (tracing EnvFilter); each request is logged at info under the target api"),
    ("KONTOR_LOG_FORMAT", "json when stderr is not a terminal, else text", "json or text"),
];

/// The settings as the text after `kontor serve --help`.
pub fn settings_help() -> String {
    let mut text = String::from(
        "Settings (environment variables; an empty value counts as unset; details in docs/operations.md):\n",
    );
    for (name, default, meaning) in SETTINGS {
        text.push_str(&format!(
            "  {name}  (default: {default})\n      {meaning}\n"
        ));
    }
    text
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn number(name: &str, default: usize) -> anyhow::Result<usize> {
    match var(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .with_context(|| format!("{name} must be a whole number, got {v:?}")),
    }
}

impl Config {
    pub fn from_env() -> anyhow::Result<Config> {
        let Some(database_url) = var("DATABASE_URL") else {
            bail!("DATABASE_URL is not set (e.g. postgres://user@127.0.0.1:5432/kontor); `make run` starts a local database for you");
        };
        // The identity use cases' settings come first: the admin commands need them and
        // nothing of the HTTP layer; the HTTP settings of `serve` are built from them.
        let identity = identity_from_env()?;
        let defaults = api::ApiConfig::default();
        Ok(Config {
            database_url,
            bind: var("KONTOR_BIND").unwrap_or_else(|| "127.0.0.1:8080".into()),
            metrics_bind: var("KONTOR_METRICS_BIND"),
            secret: var("KONTOR_SECRET"),
            pool_size: number("KONTOR_DB_POOL_SIZE", 16)?,
            statement_timeout: match number("KONTOR_STATEMENT_TIMEOUT_SECS", 30)? {
                0 => None,
                secs => Some(std::time::Duration::from_secs(secs.min(86_400) as u64)),
            },
            replica: match var("KONTOR_READ_DATABASE_URL") {
                None => None,
                Some(url) => Some((url, read_routes()?)),
            },
            api: api::ApiConfig {
                max_json_bytes: number("KONTOR_MAX_JSON_BYTES", defaults.max_json_bytes)?,
                max_document_bytes: number(
                    "KONTOR_MAX_DOCUMENT_BYTES",
                    defaults.max_document_bytes,
                )?,
                max_statement_bytes: number(
                    "KONTOR_MAX_STATEMENT_BYTES",
                    defaults.max_statement_bytes,
                )?,
                max_bulk_bytes: number("KONTOR_MAX_BULK_BYTES", defaults.max_bulk_bytes)?,
                workers: number("KONTOR_WORKERS", defaults.workers)?,
                rate_limits: identity.rate_limits.clone(),
                session_ttl: identity.session_ttl,
                login_failures_per_account: identity.login_failures_per_account,
                login_failures_per_address: identity.login_failures_per_address,
                public_requests_per_address_per_hour: identity.public_requests_per_address_per_hour,
                request_timeout: std::time::Duration::from_secs(
                    number("KONTOR_REQUEST_TIMEOUT_SECS", 30)?.clamp(1, 3600) as u64,
                ),
                keep_alive: std::time::Duration::from_secs(
                    number("KONTOR_KEEP_ALIVE_SECS", 75)?.clamp(1, 3600) as u64,
                ),
                shutdown_timeout: std::time::Duration::from_secs(
                    number("KONTOR_SHUTDOWN_TIMEOUT_SECS", 30)?.min(3600) as u64,
                ),
                metrics_on_main: var("KONTOR_METRICS_BIND").is_none(),
                trust_forwarded_for: var("KONTOR_TRUST_FORWARDED_FOR")
                    .is_some_and(|v| v == "true" || v == "1"),
                mail: identity.mail.clone(),
            },
            identity,
            webhooks: webhooks_from_env()?,
            webhook_worker: !var("KONTOR_WEBHOOK_WORKER").is_some_and(|v| v == "off" || v == "0"),
            inbox: inbox_from_env()?,
        })
    }
}

/// The webhook delivery settings from the environment.
fn webhooks_from_env() -> anyhow::Result<app::webhooks::WebhookConfig> {
    let defaults = app::webhooks::WebhookConfig::default();
    Ok(app::webhooks::WebhookConfig {
        retry_schedule: match std::env::var("KONTOR_WEBHOOK_RETRY_SCHEDULE") {
            Ok(text) => webhooks::RetrySchedule::parse(&text)
                .map_err(|e| anyhow::anyhow!("KONTOR_WEBHOOK_RETRY_SCHEDULE: {e}"))?,
            Err(_) => defaults.retry_schedule,
        },
        allow_private: var("KONTOR_WEBHOOKS_ALLOW_PRIVATE")
            .is_some_and(|v| v == "true" || v == "1"),
        poll_interval: std::time::Duration::from_millis(
            number("KONTOR_WEBHOOK_POLL_MS", 1000)?.clamp(10, 60_000) as u64,
        ),
        timeout: defaults.timeout,
        tenants: match var("KONTOR_WEBHOOK_TENANTS") {
            None => None,
            Some(text) => Some(
                text.split(',')
                    .map(|t| t.trim().parse::<uuid::Uuid>())
                    .collect::<Result<Vec<_>, _>>()
                    .context("KONTOR_WEBHOOK_TENANTS: tenant ids (UUIDs), comma-separated")?,
            ),
        },
    })
}

/// The inbox's settings: `KONTOR_INBOX_DOMAIN`, `KONTOR_OCR_TIMEOUT_SECS`, `KONTOR_TESSERACT`.
fn inbox_from_env() -> anyhow::Result<app::inbox::InboxConfig> {
    let defaults = app::inbox::InboxConfig::default();
    let domain = var("KONTOR_INBOX_DOMAIN")
        .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
        .unwrap_or(defaults.domain);
    if domain.contains(['@', ' ', '/']) || !domain.contains('.') {
        bail!("KONTOR_INBOX_DOMAIN must be a domain name like inbox.example.com, got {domain:?}");
    }
    Ok(app::inbox::InboxConfig {
        domain,
        ocr_timeout: std::time::Duration::from_secs(
            number("KONTOR_OCR_TIMEOUT_SECS", 60)?.clamp(1, 3600) as u64,
        ),
        tesseract: var("KONTOR_TESSERACT").unwrap_or(defaults.tesseract),
        ocr_languages: defaults.ocr_languages,
    })
}

/// `KONTOR_READ_DATABASE_ROUTES`: which reads the replica serves.
fn read_routes() -> anyhow::Result<Vec<app::startup::ReadRoute>> {
    match var("KONTOR_READ_DATABASE_ROUTES") {
        None => Ok(app::startup::ReadRoute::DEFAULT.to_vec()),
        Some(text) => text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                app::startup::ReadRoute::parse(s).with_context(|| {
                    format!("KONTOR_READ_DATABASE_ROUTES: {s:?} is none of reports, exports, audit, journal, accounts")
                })
            })
            .collect(),
    }
}

/// The settings of the identity use cases (mail, limits, session length), from the environment.
fn identity_from_env() -> anyhow::Result<app::identity::IdentityConfig> {
    let defaults = app::identity::IdentityConfig::default();
    Ok(app::identity::IdentityConfig {
        rate_limits: match var("KONTOR_RATE_LIMITS") {
            Some(text) => app::scopes::RateLimits::parse(&text)
                .map_err(|e| anyhow::anyhow!("KONTOR_RATE_LIMITS: {e}"))?,
            None => defaults.rate_limits,
        },
        session_ttl: chrono_hours(number("KONTOR_SESSION_HOURS", 12)?),
        login_failures_per_account: number("KONTOR_LOGIN_FAILURES_PER_ACCOUNT", 5)? as i64,
        login_failures_per_address: number("KONTOR_LOGIN_FAILURES_PER_ADDRESS", 20)? as i64,
        public_requests_per_address_per_hour: number("KONTOR_PUBLIC_REQUESTS_PER_HOUR", 10)? as i64,
        mail: app::mailer::MailConfig {
            smtp_url: var("KONTOR_SMTP_URL"),
            from: var("KONTOR_MAIL_FROM").unwrap_or(defaults.mail.from),
            dir: var("KONTOR_MAIL_DIR")
                .map(Into::into)
                .unwrap_or(defaults.mail.dir),
            public_url: var("KONTOR_PUBLIC_URL").unwrap_or(defaults.mail.public_url),
        },
    })
}

fn chrono_hours(h: usize) -> chrono::Duration {
    chrono::Duration::hours(h.clamp(1, 24 * 30) as i64)
}
