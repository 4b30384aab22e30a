//! kontor's application layer: the use cases.
//!
//! Domain crates (`journal`, `periods`, `receivables`) decide; this crate orchestrates; `store`
//! persists; `api` and the CLI translate. Each use case is one function. A write use case `x`
//! opens a transaction, calls `x_in_tx(tx, ..)` and commits; `x_in_tx` loads through store what
//! the decision needs, decides with a pure domain function, writes through store, and returns
//! what it wrote instead of reading it back — so that use cases compose in one transaction (a
//! bank match books and records the match; a payment run completes and books its payments).

/// The write path's metrics hook (`GET /metrics`): `api` installs it.
pub use store::metrics::{set_append_hook, PoolStatus};
pub mod bookings;
// Bank accounts, statement imports, transaction reads (issue 10, part 1).
pub mod bank;
pub mod error;
pub mod idempotency;
pub mod identity;
// The inbox: e-invoices, PDF and scan extraction, review cases (issue 14).
pub mod inbox;
pub mod invoices;
pub mod ledger;
pub mod mailer;
pub mod partners;
pub mod passwords;
pub mod payment_runs;
pub mod periods;
pub mod reconcile;
pub mod reports;
pub mod scopes;
pub mod settings;
pub mod settlements;
pub mod startup;
pub mod webhooks;

pub use error::{AppError, AppResult};
pub use store::idempotency::{IdempotencyKey, Idempotent, Lookup, StoredResponse};
pub use store::{ListCursor, Store};

use chrono::{DateTime, Utc};
use std::sync::Arc;

/// The clock a use case reads: the system clock in production, a fixed one in tests.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The application: the store and what the use cases share.
#[derive(Clone)]
pub struct App {
    store: Store,
    clock: Clock,
    /// Limits, session length and mail settings of the identity use cases.
    identity: Arc<identity::IdentityConfig>,
    mailer: Arc<mailer::LazyMailer>,
    /// Where the appenders run (see `with_appender_runtime`); None: the caller's runtime.
    appender_runtime: Option<tokio::runtime::Handle>,
    /// Webhook delivery settings (issue 15).
    webhooks: Arc<webhooks::WebhookConfig>,
    /// The inbox's domain and OCR settings (issue 14).
    inbox: Arc<inbox::InboxConfig>,
}

impl App {
    pub fn new(store: Store) -> App {
        let identity = identity::IdentityConfig::default();
        App {
            store,
            clock: Arc::new(Utc::now),
            mailer: Arc::new(mailer::LazyMailer::new(identity.mail.clone())),
            identity: Arc::new(identity),
            appender_runtime: None,
            webhooks: Arc::new(webhooks::WebhookConfig::default()),
            inbox: Arc::new(inbox::InboxConfig::default()),
        }
    }

    /// The same application with its appenders (the batched write path) on `runtime`, which
    /// must outlive every request: `kontor serve` passes its main runtime, so that a batch in
    /// flight is not cut off when one HTTP worker's runtime stops during a graceful shutdown.
    pub fn with_appender_runtime(mut self, runtime: tokio::runtime::Handle) -> App {
        self.appender_runtime = Some(runtime);
        self
    }

    /// The same application with these identity settings. The mailer is made on first use;
    /// `check_mailer` makes it at once.
    pub fn with_identity(mut self, config: identity::IdentityConfig) -> App {
        self.mailer = Arc::new(mailer::LazyMailer::new(config.mail.clone()));
        self.identity = Arc::new(config);
        self
    }

    /// The same application with these webhook delivery settings.
    pub fn with_webhooks(mut self, config: webhooks::WebhookConfig) -> App {
        self.webhooks = Arc::new(config);
        self
    }

    /// The same application reading `clock` instead of the system clock.
    pub fn with_clock(mut self, clock: Clock) -> App {
        self.clock = clock;
        self
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    pub fn today(&self) -> chrono::NaiveDate {
        self.now().date_naive()
    }

    /// The database connection pool now (`GET /metrics`).
    pub fn pool_status(&self) -> PoolStatus {
        self.store.pool_status()
    }

    /// True when the database answers (`GET /health`).
    pub async fn database_answers(&self) -> bool {
        self.store.ping().await.is_ok()
    }

    /// True when the database answers and every migration of this build is applied with its
    /// checksum (`GET /ready`).
    pub async fn ready(&self) -> bool {
        matches!(self.store.migrations_current().await, Ok(true))
    }

    /// The store, for use cases in this crate only: `api` and the CLI go through use cases.
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// The `x` of a use case: runs its `x_in_tx` in a new transaction and commits when it
    /// succeeds (a failure rolls everything back).
    pub(crate) async fn in_transaction<T>(
        &self,
        f: impl AsyncFnOnce(&store::Transaction<'_>) -> AppResult<T>,
    ) -> AppResult<T> {
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(store::StoreError::from)?;
        let written = f(&tx).await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        store::fault::point(store::fault::AFTER_COMMIT);
        Ok(written)
    }

    /// A connection from the pool, with the transaction a use case opens on it.
    pub(crate) async fn client(&self) -> AppResult<store::Client> {
        Ok(self.store.client().await?)
    }
}
