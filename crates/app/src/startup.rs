//! Opening the database: what `kontor serve`, `migrate`, `admin` and `verify` start with.

use crate::{App, AppResult};
pub use store::ReadRoute;
use store::Store;
use uuid::Uuid;

/// Where the database is and how to use it.
#[derive(Debug, Clone)]
pub struct Database {
    /// A libpq-style URL or key=value string.
    pub url: String,
    pub pool_size: usize,
    /// `KONTOR_SECRET`, when configured; else the installation secret kept in the database.
    pub secret: Option<String>,
    /// Cancels statements that run longer (`KONTOR_STATEMENT_TIMEOUT_SECS`); None: no bound.
    pub statement_timeout: Option<std::time::Duration>,
    /// A streaming replica (`KONTOR_READ_DATABASE_URL`) and the reads it serves.
    pub replica: Option<(String, Vec<store::ReadRoute>)>,
}

impl App {
    /// Connects, applies the migrations that are missing and loads the installation secret.
    /// Returns the application and the migrations it applied.
    pub async fn open(db: &Database) -> AppResult<(App, Vec<String>)> {
        let pool = store::connect_with(&db.url, db.pool_size, db.statement_timeout)?;
        let mut client = pool.get().await.map_err(store::StoreError::from)?;
        let applied = store::migrate::migrate(&mut client).await?;
        let secret = store::keys::installation_secret(&client, db.secret.as_deref()).await?;
        drop(client);
        let mut store = Store::new(pool, secret);
        if let Some((url, routes)) = &db.replica {
            let replica = store::connect_with(url, db.pool_size, db.statement_timeout)?;
            store = store.with_replica(replica, routes.clone());
        }
        Ok((App::new(store), applied))
    }

    /// Connects without migrating and without the installation secret: enough for reading
    /// the journal (an auditor's read-only database role can run `kontor verify`).
    pub fn open_read_only(url: &str) -> AppResult<App> {
        let pool = store::connect(url, 2)?;
        Ok(App::new(Store::new(pool, [0u8; 32])))
    }

    /// Every tenant's id and slug, or the one with `slug`, ordered by slug.
    pub async fn tenant_slugs(&self, slug: Option<&str>) -> AppResult<Vec<(Uuid, String)>> {
        Ok(self.store().tenant_slugs(slug).await?)
    }
}
