//! What distributing the schema by tenant (Citus) needs, checked on the real catalog after all
//! migrations: every table is either a reference table (global, looked up before the tenant
//! is known) or distributed by `tenant_id`; in a distributed table every primary key, unique
//! constraint and unique index begins with `tenant_id`; a foreign key between distributed
//! tables includes `tenant_id` on both sides at the same position; no reference table points
//! into a distributed one. docs/operations.md (Scale-out) lists the same tables.
//!
//! Needs DATABASE_URL (`make test` starts a throwaway PostgreSQL).

use std::collections::BTreeSet;

/// Global tables: Citus reference tables (or coordinator-local ones).
const REFERENCE: &[&str] = &[
    "tenants",
    "users",
    "api_keys",
    "sessions",
    "auth_tokens",
    "login_failures",
    "rate_limit_windows",
    "contact_messages",
    "instance_secrets",
    "schema_migrations",
    // The inbox address is looked up by its local part before the tenant is known (issue 14).
    "inbox_addresses",
];

async fn client() -> tokio_postgres::Client {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL is not set: run `make test`");
    let pool = store::connect(&url, 2).unwrap();
    let mut c = pool.get().await.unwrap();
    store::migrate::migrate(&mut c).await.unwrap();
    drop(c);
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
}

#[tokio::test]
async fn every_table_can_be_distributed_by_tenant_or_is_a_reference_table() {
    let db = client().await;
    let tables: Vec<(String, bool)> = db
        .query(
            "SELECT c.relname,
                    EXISTS (SELECT 1 FROM pg_attribute a
                             WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
              ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let reference: BTreeSet<&str> = REFERENCE.iter().copied().collect();
    let mut distributed = BTreeSet::new();
    for (table, has_tenant) in &tables {
        if reference.contains(table.as_str()) {
            continue;
        }
        assert!(
            has_tenant,
            "table {table} has no tenant_id and is not a reference table: decide which it is"
        );
        distributed.insert(table.clone());
    }
    assert!(distributed.contains("journal_events") && distributed.contains("invoices"));
    for name in REFERENCE {
        assert!(
            tables.iter().any(|(t, _)| t == name),
            "reference table {name} does not exist any more: update the list and the docs"
        );
    }

    // Unique keys (constraints and plain unique indexes, partial ones included) of distributed
    // tables begin with tenant_id.
    let uniques = db
        .query(
            "SELECT t.relname, i.relname,
                    (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attnum = x.indkey[0])
               FROM pg_index x
               JOIN pg_class i ON i.oid = x.indexrelid
               JOIN pg_class t ON t.oid = x.indrelid
               JOIN pg_namespace n ON n.oid = t.relnamespace
              WHERE n.nspname = 'public' AND x.indisunique",
            &[],
        )
        .await
        .unwrap();
    let mut checked = 0;
    for r in uniques {
        let (table, index, first): (String, String, Option<String>) =
            (r.get(0), r.get(1), r.get(2));
        if distributed.contains(&table) {
            assert_eq!(
                first.as_deref(),
                Some("tenant_id"),
                "unique index {index} of {table} does not begin with tenant_id"
            );
            checked += 1;
        }
    }
    assert!(
        checked >= distributed.len(),
        "every distributed table has a primary key"
    );

    // Foreign keys.
    let fks = db
        .query(
            "SELECT src.relname, dst.relname, con.conname,
                    ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, o)
                            JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.o),
                    ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, o)
                            JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.o)
               FROM pg_constraint con
               JOIN pg_class src ON src.oid = con.conrelid
               JOIN pg_class dst ON dst.oid = con.confrelid
               JOIN pg_namespace n ON n.oid = src.relnamespace
              WHERE n.nspname = 'public' AND con.contype = 'f'",
            &[],
        )
        .await
        .unwrap();
    for r in fks {
        let (src, dst, name): (String, String, String) = (r.get(0), r.get(1), r.get(2));
        let (from, to): (Vec<String>, Vec<String>) = (r.get(3), r.get(4));
        match (distributed.contains(&src), distributed.contains(&dst)) {
            (true, true) => {
                let at = from.iter().position(|c| c == "tenant_id");
                assert!(
                    at.is_some() && at == to.iter().position(|c| c == "tenant_id"),
                    "foreign key {name} ({src} → {dst}) does not carry tenant_id on both sides: {from:?} → {to:?}"
                );
            }
            (false, true) => panic!("reference table {src} points into distributed {dst} ({name})"),
            // Distributed → reference, and reference → reference, are fine.
            _ => {}
        }
    }
}
