//! What the database tests of this crate share: a migrated store on the throwaway cluster that
//! `scripts/test.sh -p app` starts (DATABASE_URL), and new tenants on it.
#![allow(dead_code)]

use rand::Rng;
use store::tenants::NewTenant;
use store::Store;
use uuid::Uuid;

pub fn database_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        panic!("DATABASE_URL is not set: run the tests with `scripts/test.sh -p app`, which starts a throwaway PostgreSQL")
    })
}

/// A store as a process has it (its own pool of `pool_size` connections and its own
/// appenders), on a migrated database.
pub async fn store_with_pool(pool_size: usize) -> Store {
    let pool = store::connect(&database_url(), pool_size).expect("pool");
    let mut client = pool.get().await.expect("database connection");
    store::migrate::migrate(&mut client)
        .await
        .expect("migrations");
    drop(client);
    Store::new(pool, rand::thread_rng().gen())
}

pub async fn test_store() -> Store {
    store_with_pool(4).await
}

/// A new tenant with a random slug: `chart` ("skr03", "skr04"), EUR, the fiscal year starting
/// in `fiscal_year_start_month`.
pub async fn tenant(store: &Store, chart: &str, fiscal_year_start_month: u32) -> Uuid {
    store
        .create_tenant(NewTenant {
            slug: format!("t-{:08x}", rand::thread_rng().gen::<u32>()),
            name: "Test GmbH".into(),
            chart: chart.into(),
            fiscal_year_start_month,
            currency: "EUR".into(),
        })
        .await
        .expect("tenant")
        .id
}
