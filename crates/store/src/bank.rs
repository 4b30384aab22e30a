//! Bank accounts, statement imports and the reads of bank transactions (issue 10, part 1).
//! Loads what `bank::account`'s decisions need and writes what they decided; decides
//! nothing. A transaction's status is derived, never stored: `matched` while it is in an
//! active `bank_match_transactions` row, else `dismissed` when `dismissed_at` is set, else
//! `unmatched`.

use crate::{StoreError, Total, Transaction};
use bank::account::{BankAccountDecision, LedgerAccountRef};
use chrono::{DateTime, NaiveDate, Utc};
use journal::Actor;
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::HashSet;
use tokio_postgres::GenericClient;
use uuid::Uuid;

/// A bank account with the counts `GET /v1/bank-accounts` shows.
#[derive(Debug, Clone)]
pub struct BankAccount {
    pub id: Uuid,
    pub name: String,
    pub iban: Option<String>,
    pub bic: Option<String>,
    pub account_number: Option<String>,
    pub currency: String,
    pub ledger_account: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub tx_count: i64,
    pub unreconciled_count: i64,
    pub last_tx_date: Option<NaiveDate>,
    /// Statements whose balances do not add up (`balance_ok` false).
    pub incomplete_statements: i64,
}

/// `matched`: in an active match; `dismissed`; else `unmatched` (see the module).
const MATCHED: &str = "EXISTS (SELECT 1 FROM bank_match_transactions m
                         WHERE m.tenant_id = t.tenant_id AND m.bank_transaction_id = t.id AND m.active)";

fn account_columns() -> String {
    format!(
        "a.id, a.name, a.iban, a.bic, a.account_number, a.currency, a.ledger_account, a.created_at, a.updated_at,
         (SELECT count(*) FROM bank_transactions t WHERE t.tenant_id = a.tenant_id AND t.bank_account_id = a.id) AS tx_count,
         (SELECT count(*) FROM bank_transactions t WHERE t.tenant_id = a.tenant_id AND t.bank_account_id = a.id
             AND t.dismissed_at IS NULL AND NOT {MATCHED}) AS unreconciled_count,
         (SELECT max(t.booking_date) FROM bank_transactions t WHERE t.tenant_id = a.tenant_id AND t.bank_account_id = a.id) AS last_tx_date,
         (SELECT count(*) FROM bank_statements s WHERE s.tenant_id = a.tenant_id AND s.bank_account_id = a.id
             AND NOT s.balance_ok) AS incomplete_statements"
    )
}

fn account_from_row(r: &tokio_postgres::Row) -> BankAccount {
    BankAccount {
        id: r.get("id"),
        name: r.get("name"),
        iban: r.get("iban"),
        bic: r.get("bic"),
        account_number: r.get("account_number"),
        currency: r.get("currency"),
        ledger_account: r.get("ledger_account"),
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
        tx_count: r.get("tx_count"),
        unreconciled_count: r.get("unreconciled_count"),
        last_tx_date: r.get("last_tx_date"),
        incomplete_statements: r.get("incomplete_statements"),
    }
}

/// The tenant's bank accounts, oldest first.
pub async fn list_accounts(
    client: &impl GenericClient,
    tenant_id: Uuid,
) -> Result<Vec<BankAccount>, StoreError> {
    let rows = client
        .query(
            &format!(
                "SELECT {} FROM bank_accounts a WHERE a.tenant_id = $1 ORDER BY a.created_at, a.id",
                account_columns()
            ),
            &[&tenant_id],
        )
        .await?;
    Ok(rows.iter().map(account_from_row).collect())
}

/// One bank account with its counts.
pub async fn get_account(
    client: &impl GenericClient,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<BankAccount, StoreError> {
    let row = client
        .query_opt(
            &format!(
                "SELECT {} FROM bank_accounts a WHERE a.tenant_id = $1 AND a.id = $2",
                account_columns()
            ),
            &[&tenant_id, &id],
        )
        .await?
        .ok_or_else(|| StoreError::not_found(format!("bank account {id}")))?;
    Ok(account_from_row(&row))
}

/// One bank account without its counts (what an import needs).
pub async fn get_account_row(
    client: &impl GenericClient,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<BankAccount, StoreError> {
    let row = client
        .query_opt(
            "SELECT a.id, a.name, a.iban, a.bic, a.account_number, a.currency, a.ledger_account,
                    a.created_at, a.updated_at, 0::bigint AS tx_count, 0::bigint AS unreconciled_count,
                    NULL::date AS last_tx_date, 0::bigint AS incomplete_statements
               FROM bank_accounts a WHERE a.tenant_id = $1 AND a.id = $2",
            &[&tenant_id, &id],
        )
        .await?
        .ok_or_else(|| StoreError::not_found(format!("bank account {id}")))?;
    Ok(account_from_row(&row))
}

/// The stored statements of an account that are the same as a new one (same bank id, dates
/// and balances): a re-imported statement is stored once.
pub async fn same_statement(
    tx: &Transaction<'_>,
    tenant_id: Uuid,
    bank_account_id: Uuid,
    s: &NewStatement,
) -> Result<Option<Uuid>, StoreError> {
    Ok(tx
        .query_opt(
            "SELECT id FROM bank_statements
              WHERE tenant_id = $1 AND bank_account_id = $2
                AND statement_id IS NOT DISTINCT FROM $3 AND from_date IS NOT DISTINCT FROM $4
                AND to_date IS NOT DISTINCT FROM $5 AND opening_balance IS NOT DISTINCT FROM $6
                AND closing_balance IS NOT DISTINCT FROM $7 AND transactions = $8
              ORDER BY created_at, id LIMIT 1",
            &[
                &tenant_id,
                &bank_account_id,
                &s.statement_id,
                &s.from_date,
                &s.to_date,
                &s.opening_balance,
                &s.closing_balance,
                &s.transactions,
            ],
        )
        .await?
        .map(|r| r.get(0)))
}

/// Takes a bank account's row lock until the transaction ends: imports into one account run
/// one at a time, so that the duplicate count of an import is exact.
pub async fn lock_account(
    tx: &Transaction<'_>,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<(), StoreError> {
    tx.query_opt(
        "SELECT 1 FROM bank_accounts WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
        &[&tenant_id, &id],
    )
    .await?
    .ok_or_else(|| StoreError::not_found(format!("bank account {id}")))?;
    Ok(())
}

/// What deciding a new bank account needs: how many the tenant has, the named ledger
/// account (type, active, taken), whether the IBAN is taken.
pub async fn new_account_facts(
    client: &impl GenericClient,
    tenant_id: Uuid,
    ledger_account: Option<&str>,
    iban: Option<&str>,
) -> Result<(i64, Option<LedgerAccountRef>, bool), StoreError> {
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM bank_accounts WHERE tenant_id = $1),
                    (SELECT type FROM accounts WHERE tenant_id = $1 AND number = $2),
                    (SELECT is_active FROM accounts WHERE tenant_id = $1 AND number = $2),
                    EXISTS (SELECT 1 FROM bank_accounts WHERE tenant_id = $1 AND ledger_account = $2),
                    EXISTS (SELECT 1 FROM bank_accounts WHERE tenant_id = $1 AND iban = $3)",
            &[&tenant_id, &ledger_account, &iban],
        )
        .await?;
    let kind: Option<String> = row.get(1);
    let ledger = match (ledger_account, kind) {
        (Some(number), Some(kind)) => Some(LedgerAccountRef {
            number: number.to_string(),
            is_asset: kind == "asset",
            is_active: row.get::<_, Option<bool>>(2).unwrap_or(false),
            taken: row.get(3),
        }),
        _ => None,
    };
    Ok((row.get(0), ledger, row.get(4)))
}

/// Writes a new bank account; a concurrent one with the same ledger account or IBAN is a
/// conflict.
pub async fn insert_account(
    tx: &Transaction<'_>,
    tenant_id: Uuid,
    id: Uuid,
    account: &BankAccountDecision,
    actor: &Actor,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO bank_accounts (tenant_id, id, name, iban, bic, account_number, currency, ledger_account, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &tenant_id,
            &id,
            &account.name,
            &account.iban,
            &account.bic,
            &account.account_number,
            &account.currency.code(),
            &account.ledger_account,
            &actor.to_json(),
        ],
    )
    .await
    .map_err(|e| {
        let e = StoreError::from(e);
        if e.is_unique_violation() {
            StoreError::conflict(
                "bank_account_exists",
                "a bank account with this ledger account or IBAN exists already",
            )
        } else {
            e
        }
    })?;
    Ok(())
}

/// Renames a bank account (its only change).
pub async fn rename_account(
    tx: &Transaction<'_>,
    tenant_id: Uuid,
    id: Uuid,
    name: &str,
) -> Result<(), StoreError> {
    let n = tx
        .execute(
            "UPDATE bank_accounts SET name = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2",
            &[&tenant_id, &id, &name],
        )
        .await?;
    if n == 0 {
        return Err(StoreError::not_found(format!("bank account {id}")));
    }
    Ok(())
}

/// Keeps an uploaded statement file as a document (content-addressed, like
/// `Store::store_document`) inside the import's transaction; returns its id.
pub async fn insert_document(
    tx: &Transaction<'_>,
    tenant_id: Uuid,
    content: &[u8],
    mime_type: &str,
    original_name: &str,
    actor: &Actor,
) -> Result<Uuid, StoreError> {
    let hash = blake3::hash(content);
    let size = content.len() as i64;
    tx.execute(
        "INSERT INTO document_blobs (tenant_id, hash, size, content) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, hash) DO NOTHING",
        &[&tenant_id, &hash.as_bytes().as_slice(), &size, &content],
    )
    .await?;
    let id = Uuid::now_v7();
    tx.execute(
        "INSERT INTO documents (tenant_id, id, hash, mime_type, original_name, size, uploaded_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &tenant_id,
            &id,
            &hash.as_bytes().as_slice(),
            &mime_type,
            &original_name,
            &size,
            &actor.to_json(),
        ],
    )
    .await?;
    Ok(id)
}

/// An import batch's own row.
pub struct NewBatch<'a> {
    pub id: Uuid,
    pub bank_account_id: Uuid,
    pub format: &'a str,
    pub file_name: Option<&'a str>,
    pub document_id: Option<Uuid>,
    pub total_rows: i32,
    pub imported: i32,
    pub skipped_duplicates: i32,
}

pub async fn insert_batch(
    tx: &Transaction<'_>,
    tenant_id: Uuid,
    batch: &NewBatch<'_>,
    actor: &Actor,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO bank_import_batches (tenant_id, id, bank_account_id, format, file_name, document_id,
                                          total_rows, imported, skipped_duplicates, actor)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            &tenant_id,
            &batch.id,
            &batch.bank_account_id,
            &batch.format,
            &batch.file_name,
            &batch.document_id,
            &batch.total_rows,
            &batch.imported,
            &batch.skipped_duplicates,
            &actor.to_json(),
        ],
    )
    .await?;
    Ok(())
}

/// A statement's row.
pub struct NewStatement {
    pub id: Uuid,
    pub statement_id: Option<String>,
    pub currency: String,
    pub opening_balance: Option<Decimal>,
    pub closing_balance: Option<Decimal>,
    pub computed_closing: Option<Decimal>,
    pub difference: Option<Decimal>,
    pub balance_ok: bool,
    pub from_date: Option<NaiveDate>,
    pub to_date: Option<NaiveDate>,
    pub transactions: i32,
}

/// Writes the statements of a batch in one statement.
pub async fn insert_statements(
    tx: &Transaction<'_>,
    tenant_id: Uuid,
    batch_id: Uuid,
    bank_account_id: Uuid,
    statements: &[NewStatement],
) -> Result<(), StoreError> {
    if statements.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = statements.iter().map(|s| s.id).collect();
    let sids: Vec<Option<&str>> = statements
        .iter()
        .map(|s| s.statement_id.as_deref())
        .collect();
    let currencies: Vec<&str> = statements.iter().map(|s| s.currency.as_str()).collect();
    let opening: Vec<Option<Decimal>> = statements.iter().map(|s| s.opening_balance).collect();
    let closing: Vec<Option<Decimal>> = statements.iter().map(|s| s.closing_balance).collect();
    let computed: Vec<Option<Decimal>> = statements.iter().map(|s| s.computed_closing).collect();
    let difference: Vec<Option<Decimal>> = statements.iter().map(|s| s.difference).collect();
    let ok: Vec<bool> = statements.iter().map(|s| s.balance_ok).collect();
    let from: Vec<Option<NaiveDate>> = statements.iter().map(|s| s.from_date).collect();
    let to: Vec<Option<NaiveDate>> = statements.iter().map(|s| s.to_date).collect();
    let count: Vec<i32> = statements.iter().map(|s| s.transactions).collect();
    tx.execute(
        "INSERT INTO bank_statements (tenant_id, id, batch_id, bank_account_id, statement_id, currency,
                                      opening_balance, closing_balance, computed_closing, difference,
                                      balance_ok, from_date, to_date, transactions)
         SELECT $1, u.id, $2, $3, u.sid, u.cur, u.op, u.cl, u.co, u.di, u.ok, u.fr, u.tt, u.n
           FROM unnest($4::uuid[], $5::text[], $6::text[], $7::numeric[], $8::numeric[], $9::numeric[],
                       $10::numeric[], $11::bool[], $12::date[], $13::date[], $14::int[])
                AS u (id, sid, cur, op, cl, co, di, ok, fr, tt, n)",
        &[
            &tenant_id,
            &batch_id,
            &bank_account_id,
            &ids,
            &sids,
            &currencies,
            &opening,
            &closing,
            &computed,
            &difference,
            &ok,
            &from,
            &to,
            &count,
        ],
    )
    .await?;
    Ok(())
}

/// Fingerprints per probe query: large enough that 100,000 take few round trips, small
/// enough that one statement's parameters stay a few MiB.
const CHUNK: usize = 5_000;

/// The fingerprints among `fingerprints` (of transactions booked from `from` to `to`) that the
/// account has already. A fingerprint covers the booking date (`bank::fingerprint`), so only
/// transactions of those days can share one: when the account has no more of them than the
/// import has rows, they are read by the account's date index in one range scan (a first
/// import reads nothing, a re-import reads its own days); else each fingerprint is probed.
pub async fn existing_fingerprints(
    tx: &Transaction<'_>,
    tenant_id: Uuid,
    bank_account_id: Uuid,
    fingerprints: &[&[u8]],
    (from, to): (NaiveDate, NaiveDate),
) -> Result<HashSet<Vec<u8>>, StoreError> {
    if fingerprints.is_empty() {
        return Ok(HashSet::new());
    }
    let in_range: i64 = tx
        .query_one(
            "SELECT count(*) FROM bank_transactions
              WHERE tenant_id = $1 AND bank_account_id = $2 AND booking_date BETWEEN $3 AND $4",
            &[&tenant_id, &bank_account_id, &from, &to],
        )
        .await?
        .get(0);
    if in_range == 0 {
        return Ok(HashSet::new());
    }
    if in_range as usize <= fingerprints.len() {
        let wanted: HashSet<&[u8]> = fingerprints.iter().copied().collect();
        let rows = tx
            .query(
                "SELECT fingerprint FROM bank_transactions
                  WHERE tenant_id = $1 AND bank_account_id = $2 AND booking_date BETWEEN $3 AND $4",
                &[&tenant_id, &bank_account_id, &from, &to],
            )
            .await?;
        return Ok(rows
            .into_iter()
            .map(|r| r.get::<_, Vec<u8>>(0))
            .filter(|fp| wanted.contains(fp.as_slice()))
            .collect());
    }
    let stmt = tx
        .prepare(
            // One index probe per fingerprint, whatever the planner knows about the table.
            "SELECT f.fp FROM unnest($3::bytea[]) AS f (fp)
              WHERE EXISTS (SELECT 1 FROM bank_transactions t
                             WHERE t.tenant_id = $1 AND t.bank_account_id = $2 AND t.fingerprint = f.fp)",
        )
        .await?;
    let chunks: Vec<Vec<&[u8]>> = fingerprints.chunks(CHUNK).map(<[_]>::to_vec).collect();
    // Pipelined on the connection: one round trip for all chunks.
    type Param<'p> = &'p (dyn tokio_postgres::types::ToSql + Sync);
    let params: Vec<[Param; 3]> = chunks
        .iter()
        .map(|chunk| {
            [
                &tenant_id as Param,
                &bank_account_id as Param,
                chunk as Param,
            ]
        })
        .collect();
    let pages =
        futures_util::future::try_join_all(params.iter().map(|p| tx.query(&stmt, p))).await?;
    Ok(pages
        .into_iter()
        .flatten()
        .map(|r| r.get::<_, Vec<u8>>(0))
        .collect())
}

/// One transaction to write.
pub struct NewTransaction<'a> {
    pub id: Uuid,
    pub statement_id: Option<Uuid>,
    pub fingerprint: &'a [u8],
    /// Units of the account's currency per 1 unit of the base currency (foreign-currency
    /// accounts, when the statement gives the rate).
    pub fx_rate: Option<Decimal>,
    pub tx: &'a bank::BankTransaction,
}

/// Writes transactions with one binary `COPY` (the fastest way into PostgreSQL: no SQL to
/// parse per row, no text conversion of numbers and dates). The caller holds the bank
/// account's row lock and has left out every fingerprint the account has and every repeat
/// within the import, so no row can conflict; if one does anyway (a bug), the unique index
/// fails the COPY and nothing of the import is committed. Returns how many rows were written.
pub async fn insert_transactions(
    tx: &Transaction<'_>,
    tenant_id: Uuid,
    bank_account_id: Uuid,
    batch_id: Uuid,
    rows: &[NewTransaction<'_>],
) -> Result<u64, StoreError> {
    use tokio_postgres::binary_copy::BinaryCopyInWriter;
    use tokio_postgres::types::Type;
    if rows.is_empty() {
        return Ok(0);
    }
    let sink = tx
        .copy_in(
            "COPY bank_transactions (tenant_id, id, bank_account_id, batch_id, statement_id, fingerprint,
                                     booking_date, value_date, amount, currency, counterparty_name,
                                     counterparty_iban, remittance_info, end_to_end_id, bank_reference, raw,
                                     fx_rate)
             FROM STDIN (FORMAT binary)",
        )
        .await?;
    let types = [
        Type::UUID,
        Type::UUID,
        Type::UUID,
        Type::UUID,
        Type::UUID,
        Type::BYTEA,
        Type::DATE,
        Type::DATE,
        Type::NUMERIC,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::NUMERIC,
    ];
    let mut writer = std::pin::pin!(BinaryCopyInWriter::new(sink, &types));
    for r in rows {
        let t = r.tx;
        writer
            .as_mut()
            .write(&[
                &tenant_id,
                &r.id,
                &bank_account_id,
                &batch_id,
                &r.statement_id,
                &r.fingerprint,
                &t.booking_date,
                &t.value_date,
                &t.amount,
                &t.currency.code(),
                &t.counterparty_name,
                &t.counterparty_iban,
                &t.remittance_info,
                &t.end_to_end_id,
                &t.bank_reference,
                &t.raw,
                &r.fx_rate,
            ])
            .await?;
    }
    Ok(writer.finish().await?)
}

/// A bank transaction as the API shows it.
#[derive(Debug, Clone)]
pub struct BankTransactionRow {
    pub id: Uuid,
    pub bank_account_id: Uuid,
    pub batch_id: Uuid,
    pub statement_id: Option<Uuid>,
    pub booking_date: NaiveDate,
    pub value_date: Option<NaiveDate>,
    pub amount: Decimal,
    pub currency: String,
    pub fx_rate: Option<Decimal>,
    pub counterparty_name: Option<String>,
    pub counterparty_iban: Option<String>,
    pub remittance_info: Option<String>,
    pub end_to_end_id: Option<String>,
    pub bank_reference: Option<String>,
    pub status: String,
    pub dismissed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The source as the bank sent it (`GET /v1/bank-transactions/{id}` only).
    pub raw: Option<String>,
}

fn tx_columns(with_raw: bool) -> String {
    format!(
        "t.id, t.bank_account_id, t.batch_id, t.statement_id, t.booking_date, t.value_date, t.amount, t.currency,
         t.fx_rate, t.counterparty_name, t.counterparty_iban, t.remittance_info, t.end_to_end_id,
         t.bank_reference, t.dismissed_at, t.created_at,
         CASE WHEN {MATCHED} THEN 'matched' WHEN t.dismissed_at IS NOT NULL THEN 'dismissed' ELSE 'unmatched' END AS status,
         {} AS raw",
        if with_raw { "t.raw" } else { "NULL::text" }
    )
}

fn tx_from_row(r: &tokio_postgres::Row) -> BankTransactionRow {
    BankTransactionRow {
        id: r.get("id"),
        bank_account_id: r.get("bank_account_id"),
        batch_id: r.get("batch_id"),
        statement_id: r.get("statement_id"),
        booking_date: r.get("booking_date"),
        value_date: r.get("value_date"),
        amount: r.get("amount"),
        currency: r.get("currency"),
        fx_rate: r.get("fx_rate"),
        counterparty_name: r.get("counterparty_name"),
        counterparty_iban: r.get("counterparty_iban"),
        remittance_info: r.get("remittance_info"),
        end_to_end_id: r.get("end_to_end_id"),
        bank_reference: r.get("bank_reference"),
        status: r.get("status"),
        dismissed_at: r.get("dismissed_at"),
        created_at: r.get("created_at"),
        raw: r.get("raw"),
    }
}

/// The filters of `GET /v1/bank-transactions`.
#[derive(Debug, Clone, Default)]
pub struct TransactionFilter {
    pub bank_account_id: Option<Uuid>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    /// A part of the counterparty's name or IBAN, the remittance information, the end-to-end
    /// id or the bank reference (case-insensitive).
    pub search: Option<String>,
    /// `unmatched`, `matched` or `dismissed`.
    pub status: Option<String>,
    /// Keyset paging: the transactions after this one (`offset` is then ignored).
    pub after: Option<crate::ListCursor>,
}

/// `%`, `_` and `\` taken literally in a LIKE pattern.
fn like_pattern(text: &str) -> String {
    format!("%{}%", crate::like_escape(text))
}

impl crate::Store {
    /// A page of bank transactions, newest booking date first, and the size of the whole list.
    pub async fn list_bank_transactions(
        &self,
        tenant_id: Uuid,
        filter: &TransactionFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<BankTransactionRow>, Total, Option<crate::ListCursor>), StoreError> {
        let client = self.client().await?;
        list_transactions(&client, self.count_cap, tenant_id, filter, limit, offset).await
    }
}

async fn list_transactions(
    client: &tokio_postgres::Client,
    cap: i64,
    tenant_id: Uuid,
    filter: &TransactionFilter,
    limit: i64,
    offset: i64,
) -> Result<(Vec<BankTransactionRow>, Total, Option<crate::ListCursor>), StoreError> {
    let pattern = filter.search.as_deref().map(like_pattern);
    let status_condition = match filter.status.as_deref() {
        Some("matched") => format!("AND {MATCHED}"),
        Some("dismissed") => format!("AND t.dismissed_at IS NOT NULL AND NOT {MATCHED}"),
        Some("unmatched") => format!("AND t.dismissed_at IS NULL AND NOT {MATCHED}"),
        _ => String::new(),
    };
    let from_where = format!(
        "FROM bank_transactions t
          WHERE t.tenant_id = $1
            AND ($2::uuid IS NULL OR t.bank_account_id = $2)
            AND ($3::date IS NULL OR t.booking_date >= $3)
            AND ($4::date IS NULL OR t.booking_date <= $4)
            AND ($5::text IS NULL OR t.counterparty_name ILIKE $5 OR t.remittance_info ILIKE $5
                 OR t.counterparty_iban ILIKE $5 OR t.end_to_end_id ILIKE $5 OR t.bank_reference ILIKE $5)
            {status_condition}"
    );
    let page = crate::keyset_paged(
        client,
        cap,
        &tx_columns(false),
        &from_where,
        &crate::Keyset {
            keys: &[("t.booking_date", "date"), ("t.id", "uuid")],
            descending: true,
        },
        &[
            &tenant_id,
            &filter.bank_account_id,
            &filter.start_date,
            &filter.end_date,
            &pattern,
        ],
        limit,
        offset,
        filter.after.as_ref(),
    )
    .await?;
    Ok((
        page.rows.iter().map(tx_from_row).collect(),
        page.total,
        page.next,
    ))
}

/// One bank transaction with its raw source.
pub async fn get_transaction(
    client: &impl GenericClient,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<BankTransactionRow, StoreError> {
    let row = client
        .query_opt(
            &format!(
                "SELECT {} FROM bank_transactions t WHERE t.tenant_id = $1 AND t.id = $2",
                tx_columns(true)
            ),
            &[&tenant_id, &id],
        )
        .await?
        .ok_or_else(|| StoreError::not_found(format!("bank transaction {id}")))?;
    Ok(tx_from_row(&row))
}

/// The active match of a transaction, as stored.
#[derive(Debug, Clone)]
pub struct ActiveMatch {
    pub id: Uuid,
    pub mode: String,
    pub is_group: bool,
    pub intent_id: Uuid,
    pub detail: Value,
    pub created_at: DateTime<Utc>,
}

pub async fn active_match(
    client: &impl GenericClient,
    tenant_id: Uuid,
    transaction_id: Uuid,
) -> Result<Option<ActiveMatch>, StoreError> {
    let row = client
        .query_opt(
            "SELECT b.id, b.mode, b.is_group, b.intent_id, b.detail, b.created_at
               FROM bank_match_transactions m
               JOIN bank_matches b ON b.tenant_id = m.tenant_id AND b.id = m.match_id
              WHERE m.tenant_id = $1 AND m.bank_transaction_id = $2 AND m.active",
            &[&tenant_id, &transaction_id],
        )
        .await?;
    Ok(row.map(|r| ActiveMatch {
        id: r.get(0),
        mode: r.get(1),
        is_group: r.get(2),
        intent_id: r.get(3),
        detail: r.get(4),
        created_at: r.get(5),
    }))
}

/// `GET /v1/bank-transactions/unreconciled-count`: the unmatched transactions of all accounts.
pub async fn unreconciled_count(
    client: &impl GenericClient,
    tenant_id: Uuid,
) -> Result<i64, StoreError> {
    Ok(client
        .query_one(
            &format!(
                "SELECT count(*) FROM bank_transactions t
                  WHERE t.tenant_id = $1 AND t.dismissed_at IS NULL AND NOT {MATCHED}"
            ),
            &[&tenant_id],
        )
        .await?
        .get(0))
}

/// A transaction's evidence (seed 003).
#[derive(Debug, Clone)]
pub struct Evidence {
    pub bank_transaction_id: Uuid,
    pub evidence_type: String,
    pub title: Option<String>,
    pub note: Option<String>,
    pub document_id: Option<Uuid>,
    pub metadata: Option<Value>,
    pub updated_by: Value,
    pub updated_at: DateTime<Utc>,
}

fn evidence_from_row(r: &tokio_postgres::Row) -> Evidence {
    Evidence {
        bank_transaction_id: r.get("bank_transaction_id"),
        evidence_type: r.get("evidence_type"),
        title: r.get("title"),
        note: r.get("note"),
        document_id: r.get("document_id"),
        metadata: r.get("metadata"),
        updated_by: r.get("updated_by"),
        updated_at: r.get("updated_at"),
    }
}

const EVIDENCE_COLUMNS: &str =
    "bank_transaction_id, evidence_type, title, note, document_id, metadata, updated_by, updated_at";

pub async fn get_evidence(
    client: &impl GenericClient,
    tenant_id: Uuid,
    transaction_id: Uuid,
) -> Result<Option<Evidence>, StoreError> {
    let row = client
        .query_opt(
            &format!(
                "SELECT {EVIDENCE_COLUMNS} FROM bank_transaction_evidence
                  WHERE tenant_id = $1 AND bank_transaction_id = $2"
            ),
            &[&tenant_id, &transaction_id],
        )
        .await?;
    Ok(row.as_ref().map(evidence_from_row))
}

/// The evidence to write (`PUT …/evidence` replaces the whole record).
pub struct NewEvidence<'a> {
    pub evidence_type: &'a str,
    pub title: Option<&'a str>,
    pub note: Option<&'a str>,
    pub document_id: Option<Uuid>,
    pub metadata: Option<&'a Value>,
}

pub async fn document_exists(
    client: &impl GenericClient,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<bool, StoreError> {
    Ok(client
        .query_opt(
            "SELECT 1 FROM documents WHERE tenant_id = $1 AND id = $2",
            &[&tenant_id, &id],
        )
        .await?
        .is_some())
}

pub async fn put_evidence(
    tx: &Transaction<'_>,
    tenant_id: Uuid,
    transaction_id: Uuid,
    evidence: &NewEvidence<'_>,
    actor: &Actor,
) -> Result<Evidence, StoreError> {
    let row = tx
        .query_one(
            &format!(
                "INSERT INTO bank_transaction_evidence
                        (tenant_id, bank_transaction_id, evidence_type, title, note, document_id, metadata, updated_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (tenant_id, bank_transaction_id) DO UPDATE
                    SET evidence_type = EXCLUDED.evidence_type, title = EXCLUDED.title, note = EXCLUDED.note,
                        document_id = EXCLUDED.document_id, metadata = EXCLUDED.metadata,
                        updated_by = EXCLUDED.updated_by, updated_at = now()
                 RETURNING {EVIDENCE_COLUMNS}"
            ),
            &[
                &tenant_id,
                &transaction_id,
                &evidence.evidence_type,
                &evidence.title,
                &evidence.note,
                &evidence.document_id,
                &evidence.metadata,
                &actor.to_json(),
            ],
        )
        .await?;
    Ok(evidence_from_row(&row))
}

/// A statement's balances, for the balance rule (`balance-history`, reconciliation).
#[derive(Debug, Clone)]
pub struct StatementBalance {
    pub bank_account_id: Uuid,
    pub from_date: Option<NaiveDate>,
    pub to_date: Option<NaiveDate>,
    pub opening_balance: Option<Decimal>,
    pub closing_balance: Option<Decimal>,
}

/// The statements of the given accounts that have a balance and a date.
pub async fn statement_balances(
    client: &impl GenericClient,
    tenant_id: Uuid,
    accounts: &[Uuid],
) -> Result<Vec<StatementBalance>, StoreError> {
    let rows = client
        .query(
            "SELECT bank_account_id, from_date, to_date, opening_balance, closing_balance
               FROM bank_statements
              WHERE tenant_id = $1 AND bank_account_id = ANY($2) AND to_date IS NOT NULL
                AND (opening_balance IS NOT NULL OR closing_balance IS NOT NULL)
              ORDER BY to_date, created_at, id",
            &[&tenant_id, &accounts],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| StatementBalance {
            bank_account_id: r.get(0),
            from_date: r.get(1),
            to_date: r.get(2),
            opening_balance: r.get(3),
            closing_balance: r.get(4),
        })
        .collect())
}

/// The sum of the transactions of each account per booking day, in date order.
pub async fn daily_sums(
    client: &impl GenericClient,
    tenant_id: Uuid,
    accounts: &[Uuid],
) -> Result<Vec<(Uuid, NaiveDate, Decimal)>, StoreError> {
    let rows = client
        .query(
            "SELECT bank_account_id, booking_date, sum(amount)
               FROM bank_transactions
              WHERE tenant_id = $1 AND bank_account_id = ANY($2)
              GROUP BY bank_account_id, booking_date
              ORDER BY booking_date",
            &[&tenant_id, &accounts],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

/// Count and sums of an account's transactions of one status.
#[derive(Debug, Clone, Default)]
pub struct StatusSums {
    pub count: i64,
    pub amount: Decimal,
    /// Σ amount / fx_rate, when every transaction has a rate (else None).
    pub base_amount: Option<Decimal>,
}

/// The account's transactions by status: (unmatched, matched, dismissed).
pub async fn status_sums(
    client: &impl GenericClient,
    tenant_id: Uuid,
    bank_account_id: Uuid,
) -> Result<[StatusSums; 3], StoreError> {
    let rows = client
        .query(
            &format!(
                "SELECT s.status, count(*), coalesce(sum(s.amount), 0),
                        CASE WHEN bool_and(s.fx_rate IS NOT NULL) THEN round(sum(s.amount / s.fx_rate), 6) END
                   FROM (SELECT t.amount, t.fx_rate,
                                CASE WHEN {MATCHED} THEN 1 WHEN t.dismissed_at IS NOT NULL THEN 2 ELSE 0 END AS status
                           FROM bank_transactions t
                          WHERE t.tenant_id = $1 AND t.bank_account_id = $2) s
                  GROUP BY s.status"
            ),
            &[&tenant_id, &bank_account_id],
        )
        .await?;
    let mut out: [StatusSums; 3] = Default::default();
    for r in rows {
        let i: i32 = r.get(0);
        if let Some(slot) = out.get_mut(i as usize) {
            *slot = StatusSums {
                count: r.get(1),
                amount: r.get(2),
                base_amount: r.get(3),
            };
        }
    }
    Ok(out)
}

/// The ledger side of the reconciliation: the ledger account's balance in the account's
/// currency and in the base currency, over all entries and over the entries whose intent
/// no active bank match names (not yet reconciled).
#[derive(Debug, Clone, Default)]
pub struct LedgerSums {
    pub amount: Decimal,
    pub base_amount: Decimal,
    pub unmatched_count: i64,
    pub unmatched_amount: Decimal,
    pub unmatched_base_amount: Decimal,
}

pub async fn ledger_sums(
    client: &impl GenericClient,
    tenant_id: Uuid,
    account: &str,
    currency: &str,
) -> Result<LedgerSums, StoreError> {
    // A line's amount in its own currency, debit-positive (negative lines of a Generalumkehr
    // keep their sign on their side).
    let row = client
        .query_one(
            concat!("WITH e AS (
                SELECT e.debit - e.credit AS base,
                       CASE WHEN e.currency <> $3 THEN 0 WHEN e.debit <> 0 THEN e.amount ELSE -e.amount END AS cur,
                       NOT ", crate::intent_matched_sql!("e"), " AS open
                  FROM entries e
                 WHERE e.tenant_id = $1 AND e.account = $2)
             SELECT coalesce(sum(cur), 0), coalesce(sum(base), 0),
                    count(*) FILTER (WHERE open),
                    coalesce(sum(cur) FILTER (WHERE open), 0), coalesce(sum(base) FILTER (WHERE open), 0)
               FROM e"),
            &[&tenant_id, &account, &currency],
        )
        .await?;
    Ok(LedgerSums {
        amount: row.get(0),
        base_amount: row.get(1),
        unmatched_count: row.get(2),
        unmatched_amount: row.get(3),
        unmatched_base_amount: row.get(4),
    })
}

/// The latest known rate of an account's transactions (foreign currency per 1 base unit).
pub async fn latest_fx_rate(
    client: &impl GenericClient,
    tenant_id: Uuid,
    bank_account_id: Uuid,
) -> Result<Option<Decimal>, StoreError> {
    Ok(client
        .query_opt(
            "SELECT fx_rate FROM bank_transactions
              WHERE tenant_id = $1 AND bank_account_id = $2 AND fx_rate IS NOT NULL
              ORDER BY booking_date DESC, id DESC LIMIT 1",
            &[&tenant_id, &bank_account_id],
        )
        .await?
        .map(|r| r.get(0)))
}
