//! Applies `schema/*.sql` in order, once each, under an advisory lock so that replicas starting
//! together do not race. An applied migration whose file changed afterwards stops start-up.

use crate::StoreError;
use tokio_postgres::Client;

/// The migrations, in order. Files are embedded at build time.
pub const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_foundation",
        include_str!("../../../schema/0001_foundation.sql"),
    ),
    (
        "0002_periods",
        include_str!("../../../schema/0002_periods.sql"),
    ),
    (
        "0003_identity",
        include_str!("../../../schema/0003_identity.sql"),
    ),
    (
        "0004_receivables",
        include_str!("../../../schema/0004_receivables.sql"),
    ),
    (
        "0005_api_key_expiry",
        include_str!("../../../schema/0005_api_key_expiry.sql"),
    ),
    (
        "0006_journal_write_path",
        include_str!("../../../schema/0006_journal_write_path.sql"),
    ),
    (
        "0007_idempotency_in_transaction",
        include_str!("../../../schema/0007_idempotency_in_transaction.sql"),
    ),
    (
        "0008_write_off_roles",
        include_str!("../../../schema/0008_write_off_roles.sql"),
    ),
    ("0009_bank", include_str!("../../../schema/0009_bank.sql")),
    (
        "0012_reports_settings",
        include_str!("../../../schema/0012_reports_settings.sql"),
    ),
    (
        "0013_payment_runs",
        include_str!("../../../schema/0013_payment_runs.sql"),
    ),
    ("0014_inbox", include_str!("../../../schema/0014_inbox.sql")),
    (
        "0015_webhooks",
        include_str!("../../../schema/0015_webhooks.sql"),
    ),
    (
        "0016_bank_match_links",
        include_str!("../../../schema/0016_bank_match_links.sql"),
    ),
    ("0017_vst0", include_str!("../../../schema/0017_vst0.sql")),
    (
        "0018_pipelined_appends",
        include_str!("../../../schema/0018_pipelined_appends.sql"),
    ),
    (
        "0019_account_day_balances",
        include_str!("../../../schema/0019_account_day_balances.sql"),
    ),
    (
        "0020_account_day_balances_adjustment",
        include_str!("../../../schema/0020_account_day_balances_adjustment.sql"),
    ),
];

const LOCK_KEY: i64 = 0x6b6f_6e74_6f72; // "kontor"

pub async fn migrate(client: &mut Client) -> Result<Vec<String>, StoreError> {
    // A migration may take longer than the server's statement timeout; the pooled connection
    // gets the timeout back below.
    client.batch_execute("SET statement_timeout = 0").await?;
    // The lock comes first: two processes starting at once on a fresh database would otherwise
    // race on creating the bookkeeping table (CREATE TABLE IF NOT EXISTS is not atomic).
    client
        .execute("SELECT pg_advisory_lock($1)", &[&LOCK_KEY])
        .await?;
    let result = match client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    text PRIMARY KEY,
                 checksum   text NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now()
             )",
        )
        .await
    {
        Ok(()) => apply(client).await,
        Err(e) => Err(e.into()),
    };
    client
        .execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY])
        .await?;
    client.batch_execute("RESET statement_timeout").await?;
    result
}

/// Whether every migration of [`MIGRATIONS`] is applied with its checksum (`GET /ready`).
/// False when one is missing or was changed, or `schema_migrations` does not exist yet.
pub async fn current(client: &Client) -> Result<bool, StoreError> {
    let exists: bool = client
        .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])
        .await?
        .get(0);
    if !exists {
        return Ok(false);
    }
    let rows = client
        .query("SELECT version, checksum FROM schema_migrations", &[])
        .await?;
    let applied: std::collections::HashMap<String, String> =
        rows.into_iter().map(|r| (r.get(0), r.get(1))).collect();
    Ok(MIGRATIONS.iter().all(|(version, sql)| {
        applied.get(*version).map(String::as_str)
            == Some(blake3::hash(sql.as_bytes()).to_hex().as_str())
    }))
}

async fn apply(client: &mut Client) -> Result<Vec<String>, StoreError> {
    let mut applied = Vec::new();
    for (version, sql) in MIGRATIONS {
        let checksum = blake3::hash(sql.as_bytes()).to_hex().to_string();
        let row = client
            .query_opt(
                "SELECT checksum FROM schema_migrations WHERE version = $1",
                &[version],
            )
            .await?;
        match row {
            Some(row) => {
                let stored: String = row.get(0);
                if stored != checksum {
                    return Err(StoreError::Config(format!(
                        "migration {version} was changed after it was applied (checksum {stored} in the database, {checksum} in schema/); add a new migration instead"
                    )));
                }
            }
            None => {
                let tx = client.transaction().await?;
                tx.batch_execute(sql).await?;
                tx.execute(
                    "INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)",
                    &[version, &checksum],
                )
                .await?;
                tx.commit().await?;
                applied.push(version.to_string());
            }
        }
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    /// Every file in schema/ is listed, in order, under its own name.
    #[test]
    fn every_schema_file_is_a_migration() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".sql"))
            .map(|n| n.trim_end_matches(".sql").to_string())
            .collect();
        files.sort();
        let listed: Vec<&str> = super::MIGRATIONS.iter().map(|(v, _)| *v).collect();
        assert_eq!(listed, files);
    }
}
