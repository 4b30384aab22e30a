//! kontor's PostgreSQL store.
//!
//! Domain crates decide; this crate loads what a decision needs, persists the events it returns
//! together with their projections in one transaction, and reads the projections back.

pub mod accounts;
// Bank accounts, statement imports, transaction reads (issue 10, part 1).
pub mod appender;
pub mod bank;
pub mod bank_match;
pub mod documents;
pub mod error;
pub mod fault;
pub mod idempotency;
pub mod identity;
pub mod inbox;
pub mod invoices;
pub mod journal;
pub mod keys;
pub mod metrics;
pub mod migrate;
pub mod partners;
pub mod payment_runs;
pub mod periods;
pub mod reports;
pub mod settings;
pub mod tax_codes;
pub mod tenants;
pub mod webhooks;

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
    connect_with(database_url, max_size, None)
}

/// Opens a connection pool whose connections cancel a statement that runs longer than
/// `statement_timeout` (PostgreSQL `statement_timeout`, SQLSTATE 57014): the bound of the
/// server's interactive requests. Work that may take longer (migrations, streamed exports)
/// lifts it for its own session or transaction (`SET LOCAL statement_timeout = 0`).
pub fn connect_with(
    database_url: &str,
    max_size: usize,
    statement_timeout: Option<Duration>,
) -> Result<Pool, StoreError> {
    let mut config: tokio_postgres::Config = database_url
        .parse()
        .map_err(|e| StoreError::Config(format!("DATABASE_URL: {e}")))?;
    if let Some(timeout) = statement_timeout {
        let options = format!(
            "{} -c statement_timeout={}",
            config.get_options().unwrap_or_default(),
            timeout.as_millis()
        );
        config.options(options.trim());
    }
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
    /// A streaming replica for some reads (`KONTOR_READ_DATABASE_URL`).
    replica: Option<Arc<Replica>>,
}

/// Reads that may be served by a streaming replica: a standby can lag behind the primary, so a
/// client may not see there what it just wrote. Writes, rate-limit counters, sessions and
/// `Idempotency-Key` answers always go to the primary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReadRoute {
    /// Reports (`GET /v1/reports…`).
    Reports,
    /// File exports (DATEV).
    Exports,
    /// The audit export (`GET /v1/audit/events`).
    Audit,
    /// The journal list and one intent (`GET /v1/journal…`).
    Journal,
    /// Account lists and entries (`GET /v1/accounts…`).
    Accounts,
}

impl ReadRoute {
    pub const ALL: [ReadRoute; 5] = [
        ReadRoute::Reports,
        ReadRoute::Exports,
        ReadRoute::Audit,
        ReadRoute::Journal,
        ReadRoute::Accounts,
    ];
    /// The routes a replica serves unless configured otherwise.
    pub const DEFAULT: [ReadRoute; 3] = [ReadRoute::Reports, ReadRoute::Exports, ReadRoute::Audit];

    pub fn as_str(&self) -> &'static str {
        match self {
            ReadRoute::Reports => "reports",
            ReadRoute::Exports => "exports",
            ReadRoute::Audit => "audit",
            ReadRoute::Journal => "journal",
            ReadRoute::Accounts => "accounts",
        }
    }

    pub fn parse(s: &str) -> Option<ReadRoute> {
        ReadRoute::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// The replica's pool and the reads it serves.
pub struct Replica {
    pub pool: Pool,
    pub routes: Vec<ReadRoute>,
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
            replica: None,
        }
    }

    /// The same store, serving the reads of `routes` from a streaming replica's pool.
    pub fn with_replica(mut self, pool: Pool, routes: Vec<ReadRoute>) -> Store {
        self.replica = Some(Arc::new(Replica { pool, routes }));
        self
    }

    /// A connection for a read of `route`: the replica's when one is configured for it, else
    /// the primary's.
    pub async fn read_client(
        &self,
        route: ReadRoute,
    ) -> Result<deadpool_postgres::Client, StoreError> {
        match &self.replica {
            Some(r) if r.routes.contains(&route) => Ok(r.pool.get().await?),
            _ => self.client().await,
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

/// `text` with `\`, `%` and `_` escaped, to be taken literally inside a LIKE pattern.
pub(crate) fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
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

/// A position in a list: the sort key of the last row of a page, for keyset paging (the next
/// page is the rows after it), so that page N costs what page 1 costs. Its text form is
/// opaque to clients: `c1` and the lowercase hex of the JSON array of the key's values as
/// text. A cursor of one list given to another is a cursor of the wrong length or shape: it
/// is refused like a malformed one (the list starts at its first page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListCursor(pub Vec<String>);

impl ListCursor {
    const PREFIX: &'static str = "c1";

    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(&self.0).unwrap_or_default();
        format!("{}{}", Self::PREFIX, hex::encode(json))
    }

    /// None for anything [`ListCursor::encode`] cannot have made (at most 2,000 characters).
    pub fn decode(text: &str) -> Option<ListCursor> {
        let hex_part = text.strip_prefix(Self::PREFIX)?;
        if text.len() > 2000 {
            return None;
        }
        let bytes = hex::decode(hex_part).ok()?;
        let values: Vec<String> = serde_json::from_slice(&bytes).ok()?;
        (!values.is_empty() && values.iter().all(|v| !v.contains('\0')))
            .then_some(ListCursor(values))
    }
}

/// The sort of a list for keyset paging: its key expressions (with the SQL type each cursor
/// value is cast to), all in one direction, the last one unique (an id).
pub(crate) struct Keyset<'a> {
    pub keys: &'a [(&'a str, &'a str)],
    pub descending: bool,
}

/// A page of a list by keyset: rows, the size of the whole list, the cursor of the next page.
pub(crate) struct KeysetPage {
    pub rows: Vec<tokio_postgres::Row>,
    pub total: Total,
    pub next: Option<ListCursor>,
}

/// One page of a filtered list in `keyset`'s order: after `after` when given (then `offset`
/// is ignored), else from `offset`; one row more than `limit` tells whether there is a next
/// page. The page and its capped count ([`capped_count`], [`total_of`]) are pipelined on the
/// connection: one round trip. A cursor of another list (another number of values, or values
/// that are not of the key's types) is ignored like a malformed one.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn keyset_paged(
    client: &tokio_postgres::Client,
    cap: i64,
    columns: &str,
    from_where: &str,
    keyset: &Keyset<'_>,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    limit: i64,
    offset: i64,
    after: Option<&ListCursor>,
) -> Result<KeysetPage, StoreError> {
    let n = params.len();
    let dir = if keyset.descending { "DESC" } else { "ASC" };
    let order_by = keyset
        .keys
        .iter()
        .map(|(k, _)| format!("{k} {dir}"))
        .collect::<Vec<_>>()
        .join(", ");
    let key_columns = keyset
        .keys
        .iter()
        .enumerate()
        .map(|(i, (k, _))| format!("({k})::text AS keyset_{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    // A cursor of another list (other length, or values that are not of the key's types) is
    // ignored like a malformed one: never a database error.
    let after = after.filter(|c| {
        c.0.len() == keyset.keys.len()
            && c.0.iter().zip(keyset.keys).all(|(v, (_, ty))| match *ty {
                "date" => chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").is_ok(),
                "uuid" => uuid::Uuid::parse_str(v).is_ok(),
                "bigint" => v.parse::<i64>().is_ok(),
                _ => true,
            })
    });
    let fetch = limit.saturating_add(1);
    let mut all: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params.to_vec();
    let (condition, paging) = match after {
        Some(cursor) => {
            let lhs = keyset
                .keys
                .iter()
                .map(|(k, _)| *k)
                .collect::<Vec<_>>()
                .join(", ");
            let rhs = keyset
                .keys
                .iter()
                .enumerate()
                .map(|(i, (_, ty))| format!("${}::text::{ty}", n + 1 + i))
                .collect::<Vec<_>>()
                .join(", ");
            for v in &cursor.0 {
                all.push(v);
            }
            let op = if keyset.descending { "<" } else { ">" };
            all.push(&fetch);
            (
                format!(" AND ({lhs}) {op} ({rhs})"),
                format!("LIMIT ${}", all.len()),
            )
        }
        None => {
            all.push(&fetch);
            all.push(&offset);
            (String::new(), format!("LIMIT ${} OFFSET ${}", n + 1, n + 2))
        }
    };
    let sql = format!(
        "SELECT {columns}, {key_columns} {from_where}{condition} ORDER BY {order_by} {paging}"
    );
    let (mut rows, count) = futures_util::try_join!(
        async { client.query(&sql, &all).await.map_err(StoreError::from) },
        capped_count(client, cap, from_where, params),
    )?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit.max(0) as usize);
    let next = match rows.last() {
        Some(last) if more => Some(ListCursor(
            (0..keyset.keys.len())
                .map(|i| last.get::<_, String>(format!("keyset_{i}").as_str()))
                .collect(),
        )),
        _ => None,
    };
    // Rows known to exist: those before this page (by offset) and on it; a cursor page does
    // not know its position, so it vouches only for its own rows.
    let seen = match (after, rows.is_empty()) {
        (_, true) => 0,
        (Some(_), false) => rows.len() as i64,
        (None, false) => offset + rows.len() as i64,
    };
    let total = total_of(client, count, cap, from_where, params, seen).await?;
    Ok(KeysetPage { rows, total, next })
}

/// `SELECT count(*) FROM (SELECT 1 {from_where} LIMIT cap+1)`: counting never reads more than
/// `cap + 1` rows. Above the cap, [`total_of`] takes the planner's row estimate
/// (`EXPLAIN (FORMAT JSON)`), never less than `cap + 1` nor than the rows known to exist, and
/// marks the total as estimated.
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
