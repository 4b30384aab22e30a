//! kontor's PostgreSQL store.
//!
//! Domain crates decide; this crate loads what a decision needs, persists the events it returns
//! together with their projections in one transaction, and reads the projections back.

pub mod accounts;
pub mod appender;
pub mod documents;
pub mod error;
pub mod identity;
pub mod invoices;
pub mod journal;
pub mod keys;
pub mod migrate;
pub mod partners;
pub mod periods;
pub mod tax_codes;
pub mod tenants;

pub use error::StoreError;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use std::sync::Arc;
use std::time::Duration;

pub type Db = Pool;

/// Opens a connection pool for `database_url` (a libpq-style URL or key=value string).
pub fn connect(database_url: &str, max_size: usize) -> Result<Pool, StoreError> {
    let config: tokio_postgres::Config = database_url
        .parse()
        .map_err(|e| StoreError::Config(format!("DATABASE_URL: {e}")))?;
    let manager = Manager::from_config(
        config,
        tokio_postgres::NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(Duration::from_secs(30)))
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()
        .map_err(|e| StoreError::Config(format!("pool: {e}")))
}

/// The store: a pool, the installation's secret, the per-tenant appenders and caches.
#[derive(Clone)]
pub struct Store {
    pub pool: Pool,
    secret: Arc<[u8; 32]>,
    appenders: Arc<appender::Appenders>,
    tenants: Arc<tenants::TenantCache>,
}

impl Store {
    /// Builds the store. `secret` keys the API-key hashes: `KONTOR_SECRET` when configured,
    /// else the installation secret kept in the database (see `keys::installation_secret`).
    pub fn new(pool: Pool, secret: [u8; 32]) -> Store {
        Store {
            pool,
            secret: Arc::new(secret),
            appenders: Arc::new(appender::Appenders::default()),
            tenants: Arc::new(tenants::TenantCache::default()),
        }
    }

    pub fn secret(&self) -> &[u8; 32] {
        &self.secret
    }

    pub async fn client(&self) -> Result<deadpool_postgres::Client, StoreError> {
        Ok(self.pool.get().await?)
    }
}
