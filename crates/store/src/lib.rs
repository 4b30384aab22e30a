//! kontor's PostgreSQL store.
//!
//! Domain crates decide; this crate loads what a decision needs, persists the events it returns
//! together with their projections in one transaction, and reads the projections back.

pub mod accounts;
pub mod appender;
pub mod documents;
pub mod error;
pub mod fault;
pub mod idempotency;
pub mod identity;
pub mod invoices;
pub mod journal;
pub mod keys;
pub mod metrics;
pub mod migrate;
pub mod partners;
pub mod payment_runs;
pub mod periods;
pub mod tax_codes;
pub mod tenants;

pub use error::StoreError;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use std::sync::Arc;
use std::time::Duration;

pub type Db = Pool;
/// A pooled connection; use cases open their transaction on it.
pub type Client = deadpool_postgres::Client;
/// The transaction a use case passes to the `_in_tx` functions.
pub type Transaction<'a> = deadpool_postgres::Transaction<'a>;

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
    /// Lists count exactly up to this many matches (see [`Total`]).
    count_cap: i64,
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
            count_cap: COUNT_CAP,
        }
    }

    /// The same store with another count cap; tests use a small one to reach estimates cheaply.
    pub fn with_count_cap(mut self, cap: i64) -> Store {
        self.count_cap = cap.max(0);
        self
    }

    pub fn secret(&self) -> &[u8; 32] {
        &self.secret
    }

    pub async fn client(&self) -> Result<deadpool_postgres::Client, StoreError> {
        Ok(self.pool.get().await?)
    }

    /// Whether the database answers a query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.client().await?.simple_query("SELECT 1").await?;
        Ok(())
    }

    /// Whether the database answers and every migration is applied with its checksum.
    pub async fn migrations_current(&self) -> Result<bool, StoreError> {
        let client = self.client().await?;
        migrate::current(&client).await
    }
}

/// Lists count exactly up to this many matches; beyond it, `total` may be an estimate.
pub const COUNT_CAP: i64 = 10_000;

/// The size of a whole filtered list: exact up to the store's count cap (10,000), else an
/// estimate (`estimated`), so that counting never costs more than reading the cap's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Total {
    pub count: i64,
    pub estimated: bool,
}

/// One page of a filtered list, and the size of the whole list.
///
/// Runs `SELECT {columns} {from_where} ORDER BY {order_by} LIMIT $n+1 OFFSET $n+2` with
/// `params` as $1..$n, and counts the list with [`count_capped`].
#[allow(clippy::too_many_arguments)]
pub(crate) async fn paged(
    client: &tokio_postgres::Client,
    cap: i64,
    columns: &str,
    from_where: &str,
    order_by: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    limit: i64,
    offset: i64,
) -> Result<(Vec<tokio_postgres::Row>, Total), StoreError> {
    let n = params.len();
    let sql = format!(
        "SELECT {columns} {from_where} ORDER BY {order_by} LIMIT ${} OFFSET ${}",
        n + 1,
        n + 2
    );
    let mut all: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params.to_vec();
    all.push(&limit);
    all.push(&offset);
    // The page and the capped count are pipelined on the connection: one round trip.
    let (rows, count) = futures_util::try_join!(
        async { client.query(&sql, &all).await.map_err(StoreError::from) },
        capped_count(client, cap, from_where, params),
    )?;
    let seen = if rows.is_empty() {
        0
    } else {
        offset + rows.len() as i64
    };
    let total = total_of(client, count, cap, from_where, params, seen).await?;
    Ok((rows, total))
}

/// Counts `SELECT 1 {from_where}`, but reads at most `cap + 1` rows:
/// `SELECT count(*) FROM (SELECT 1 {from_where} LIMIT cap+1)`. Above the cap the total is the
/// planner's row estimate (`EXPLAIN (FORMAT JSON)`), never less than `cap + 1` nor than `seen`
/// (the rows known to exist, e.g. the offset plus the page), and marked as estimated.
pub(crate) async fn count_capped(
    client: &tokio_postgres::Client,
    cap: i64,
    from_where: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    seen: i64,
) -> Result<Total, StoreError> {
    let count = capped_count(client, cap, from_where, params).await?;
    total_of(client, count, cap, from_where, params, seen).await
}

/// `SELECT count(*) FROM (SELECT 1 {from_where} LIMIT cap+1)`.
async fn capped_count(
    client: &tokio_postgres::Client,
    cap: i64,
    from_where: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<i64, StoreError> {
    Ok(client
        .query_one(
            &format!(
                "SELECT count(*) FROM (SELECT 1 {from_where} LIMIT {}) capped",
                cap + 1
            ),
            params,
        )
        .await?
        .get(0))
}

/// The total from a capped count: exact up to `cap`, else the planner's estimate.
async fn total_of(
    client: &tokio_postgres::Client,
    count: i64,
    cap: i64,
    from_where: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    seen: i64,
) -> Result<Total, StoreError> {
    if count <= cap {
        return Ok(Total {
            count,
            estimated: false,
        });
    }
    let plan: serde_json::Value = client
        .query_one(
            &format!("EXPLAIN (FORMAT JSON) SELECT 1 {from_where}"),
            params,
        )
        .await?
        .get(0);
    let planned = plan[0]["Plan"]["Plan Rows"].as_f64().unwrap_or(0.0) as i64;
    Ok(Total {
        count: planned.max(cap + 1).max(seen),
        estimated: true,
    })
}
