//! Bank matches: reconciling bank transactions with bookings and open items, dismissing them,
//! and what the suggestions load. Rows of schema/0009_bank.sql (`bank_matches`,
//! `bank_match_transactions`, `bank_transactions.dismissed_*`).
//!
//! Nothing here decides (`bank::reconcile` does). Concurrency: a use case locks the
//! transactions it matches (`FOR UPDATE`, in id order) before it reads their state, so two
//! requests for one transaction run one after the other; the partial unique indexes
//! `bank_match_transactions_one_active` and `bank_matches_linked_intent` enforce the same
//! across replicas, and their violation is reported as the conflict it stands for.

use crate::StoreError;
use chrono::{DateTime, NaiveDate, Utc};
use journal::Actor;
use rust_decimal::Decimal;
use serde_json::Value;
use tokio_postgres::error::SqlState;
use uuid::Uuid;

/// A bank transaction with its bank account, locked for a match.
#[derive(Debug, Clone)]
pub struct MatchableTransaction {
    pub id: Uuid,
    pub bank_account_id: Uuid,
    pub ledger_account: String,
    pub account_currency: String,
    pub account_iban: Option<String>,
    pub booking_date: NaiveDate,
    pub amount: Decimal,
    pub currency: String,
    pub fx_rate: Option<Decimal>,
    pub counterparty_name: Option<String>,
    pub counterparty_iban: Option<String>,
    pub remittance_info: Option<String>,
    pub end_to_end_id: Option<String>,
    pub dismissed: bool,
    /// The active match it is in.
    pub match_id: Option<Uuid>,
}

const TX_COLUMNS: &str = "t.id, t.bank_account_id, a.ledger_account, a.currency AS account_currency,
    a.iban AS account_iban, t.booking_date, t.amount, t.currency, t.fx_rate, t.counterparty_name,
    t.counterparty_iban, t.remittance_info, t.end_to_end_id, t.dismissed_at IS NOT NULL AS dismissed,
    (SELECT m.match_id FROM bank_match_transactions m
      WHERE m.tenant_id = t.tenant_id AND m.bank_transaction_id = t.id AND m.active) AS match_id";

fn tx_from_row(r: &tokio_postgres::Row) -> MatchableTransaction {
    MatchableTransaction {
        id: r.get("id"),
        bank_account_id: r.get("bank_account_id"),
        ledger_account: r.get("ledger_account"),
        account_currency: r.get("account_currency"),
        account_iban: r.get("account_iban"),
        booking_date: r.get("booking_date"),
        amount: r.get("amount"),
        currency: r.get("currency"),
        fx_rate: r.get("fx_rate"),
        counterparty_name: r.get("counterparty_name"),
        counterparty_iban: r.get("counterparty_iban"),
        remittance_info: r.get("remittance_info"),
        end_to_end_id: r.get("end_to_end_id"),
        dismissed: r.get("dismissed"),
        match_id: r.get("match_id"),
    }
}

/// Locks the named transactions (`FOR UPDATE`, in id order, so that two requests locking
/// overlapping sets cannot deadlock) and reads them with their state. Missing ids are left
/// out; the caller compares.
pub async fn lock_transactions(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> Result<Vec<MatchableTransaction>, StoreError> {
    let rows = tx
        .query(
            &format!(
                "SELECT {TX_COLUMNS} FROM bank_transactions t
                   JOIN bank_accounts a ON a.tenant_id = t.tenant_id AND a.id = t.bank_account_id
                  WHERE t.tenant_id = $1 AND t.id = ANY($2)
                  ORDER BY t.id FOR UPDATE OF t"
            ),
            &[&tenant_id, &ids],
        )
        .await?;
    Ok(rows.iter().map(tx_from_row).collect())
}

/// One transaction of the tenant (unlocked), when it exists.
pub async fn read_transaction(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<MatchableTransaction>, StoreError> {
    let row = tx
        .query_opt(
            &format!(
                "SELECT {TX_COLUMNS} FROM bank_transactions t
                   JOIN bank_accounts a ON a.tenant_id = t.tenant_id AND a.id = t.bank_account_id
                  WHERE t.tenant_id = $1 AND t.id = $2"
            ),
            &[&tenant_id, &id],
        )
        .await?;
    Ok(row.as_ref().map(tx_from_row))
}

/// Marks a transaction dismissed (`Some(actor)`) or clears the dismissal (`None`).
pub async fn set_dismissed(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    id: Uuid,
    actor: Option<&Actor>,
) -> Result<(), StoreError> {
    let by = actor.map(Actor::to_json);
    tx.execute(
        "UPDATE bank_transactions
            SET dismissed_at = CASE WHEN $3::jsonb IS NULL THEN NULL ELSE now() END, dismissed_by = $3
          WHERE tenant_id = $1 AND id = $2",
        &[&tenant_id, &id, &by],
    )
    .await?;
    Ok(())
}

/// A match as recorded.
#[derive(Debug, Clone)]
pub struct BankMatch {
    pub id: Uuid,
    pub is_group: bool,
    pub mode: String,
    pub intent_id: Uuid,
    pub detail: Value,
    pub created_at: DateTime<Utc>,
    pub ended: bool,
    pub reversal_intent_id: Option<Uuid>,
    pub transaction_ids: Vec<Uuid>,
}

/// A new match to record.
#[derive(Debug, Clone)]
pub struct NewMatch<'a> {
    pub id: Uuid,
    pub is_group: bool,
    /// `linked` or `booked`.
    pub mode: &'a str,
    pub intent_id: Uuid,
    pub detail: Value,
    pub transaction_ids: &'a [Uuid],
    /// The existing bookings the match links (`journal_entry`): one active match each.
    pub linked_intents: &'a [Uuid],
}

/// Whether a booking is named by an active match: its booking, or a booking it links (alias
/// given for the row with `tenant_id` and `intent_id`). A macro, so that queries can `concat!` it.
#[macro_export]
macro_rules! intent_matched_sql {
    ($n:literal) => {
        concat!(
            "(EXISTS (SELECT 1 FROM bank_matches m WHERE m.tenant_id = ",
            $n,
            ".tenant_id AND m.intent_id = ",
            $n,
            ".intent_id
                        AND m.ended_at IS NULL)
     OR EXISTS (SELECT 1 FROM bank_match_links l WHERE l.tenant_id = ",
            $n,
            ".tenant_id AND l.intent_id = ",
            $n,
            ".intent_id
                        AND l.active))"
        )
    };
}

/// Which unique rule a concurrent request broke first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchClash {
    /// A transaction is in another active match.
    TransactionMatched,
    /// The linked booking is in another active match.
    IntentLinked,
}

fn clash(e: &tokio_postgres::Error) -> Option<MatchClash> {
    if e.code() != Some(&SqlState::UNIQUE_VIOLATION) {
        return None;
    }
    match e.as_db_error().and_then(|d| d.constraint()) {
        Some("bank_match_transactions_one_active") => Some(MatchClash::TransactionMatched),
        Some("bank_matches_linked_intent") | Some("bank_match_links_one_active") => {
            Some(MatchClash::IntentLinked)
        }
        _ => None,
    }
}

/// Records a match with its transactions; or the rule a concurrent request broke first.
pub async fn insert_match(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    m: &NewMatch<'_>,
    actor: &Actor,
) -> Result<Result<BankMatch, MatchClash>, StoreError> {
    let inserted = tx
        .query_one(
            "INSERT INTO bank_matches (tenant_id, id, is_group, mode, intent_id, detail, actor)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING created_at",
            &[
                &tenant_id,
                &m.id,
                &m.is_group,
                &m.mode,
                &m.intent_id,
                &m.detail,
                &actor.to_json(),
            ],
        )
        .await;
    let row = match inserted {
        Ok(row) => row,
        Err(e) => {
            return match clash(&e) {
                Some(c) => Ok(Err(c)),
                None => Err(e.into()),
            }
        }
    };
    let linked = tx
        .execute(
            "INSERT INTO bank_match_transactions (tenant_id, match_id, bank_transaction_id)
             SELECT $1, $2, unnest($3::uuid[])",
            &[&tenant_id, &m.id, &m.transaction_ids],
        )
        .await;
    if let Err(e) = linked {
        return match clash(&e) {
            Some(c) => Ok(Err(c)),
            None => Err(e.into()),
        };
    }
    if !m.linked_intents.is_empty() {
        let links = tx
            .execute(
                "INSERT INTO bank_match_links (tenant_id, match_id, intent_id)
                 SELECT $1, $2, unnest($3::uuid[])",
                &[&tenant_id, &m.id, &m.linked_intents],
            )
            .await;
        if let Err(e) = links {
            return match clash(&e) {
                Some(c) => Ok(Err(c)),
                None => Err(e.into()),
            };
        }
    }
    Ok(Ok(BankMatch {
        id: m.id,
        is_group: m.is_group,
        mode: m.mode.to_string(),
        intent_id: m.intent_id,
        detail: m.detail.clone(),
        created_at: row.get("created_at"),
        ended: false,
        reversal_intent_id: None,
        transaction_ids: m.transaction_ids.to_vec(),
    }))
}

const MATCH_SQL: &str =
    "SELECT id, is_group, mode, intent_id, detail, created_at, ended_at IS NOT NULL AS ended,
        reversal_intent_id,
        ARRAY(SELECT bank_transaction_id FROM bank_match_transactions t
               WHERE t.tenant_id = m.tenant_id AND t.match_id = m.id
               ORDER BY bank_transaction_id) AS transaction_ids
   FROM bank_matches m WHERE tenant_id = $1 AND id = $2";

fn match_from_row(r: &tokio_postgres::Row) -> BankMatch {
    BankMatch {
        id: r.get("id"),
        is_group: r.get("is_group"),
        mode: r.get("mode"),
        intent_id: r.get("intent_id"),
        detail: r.get("detail"),
        created_at: r.get("created_at"),
        ended: r.get("ended"),
        reversal_intent_id: r.get("reversal_intent_id"),
        transaction_ids: r.get("transaction_ids"),
    }
}

/// Locks a match (`FOR UPDATE`) and reads it with its transactions.
pub async fn lock_match(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<BankMatch>, StoreError> {
    Ok(tx
        .query_opt(&format!("{MATCH_SQL} FOR UPDATE"), &[&tenant_id, &id])
        .await?
        .as_ref()
        .map(match_from_row))
}

/// A match with its transactions, unlocked.
pub async fn read_match(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<BankMatch>, StoreError> {
    Ok(tx
        .query_opt(MATCH_SQL, &[&tenant_id, &id])
        .await?
        .as_ref()
        .map(match_from_row))
}

/// Ends a match: its transactions become unmatched; `reversal_intent_id` for a booked one.
pub async fn end_match(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    id: Uuid,
    reversal_intent_id: Option<Uuid>,
    actor: &Actor,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE bank_matches SET ended_at = now(), ended_by = $3, reversal_intent_id = $4
          WHERE tenant_id = $1 AND id = $2",
        &[&tenant_id, &id, &actor.to_json(), &reversal_intent_id],
    )
    .await?;
    tx.execute(
        "UPDATE bank_match_transactions SET active = false WHERE tenant_id = $1 AND match_id = $2",
        &[&tenant_id, &id],
    )
    .await?;
    tx.execute(
        "UPDATE bank_match_links SET active = false
          WHERE tenant_id = $1 AND match_id = $2 AND active",
        &[&tenant_id, &id],
    )
    .await?;
    Ok(())
}

/// An existing booking as linking it to a transaction needs to know it.
#[derive(Debug, Clone)]
pub struct LinkableIntent {
    pub is_reversal: bool,
    /// Its reversal, when reversed.
    pub reversal: Option<Uuid>,
    /// Lines on the ledger account.
    pub on_ledger: bool,
    /// Net amount on the ledger account (debit − credit) in the intent's own currency (the
    /// foreign amount for an fx booking), and in the base currency.
    pub ledger_amount: Decimal,
    pub ledger_base_amount: Decimal,
    pub currency: String,
    /// An active match names it (linked, or booked by one).
    pub matched: bool,
}

/// Loads an intent for a `linked` match against `ledger_account`.
pub async fn load_linkable_intent(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    intent_id: Uuid,
    ledger_account: &str,
) -> Result<Option<LinkableIntent>, StoreError> {
    let row = tx
        .query_opt(
            concat!("SELECT n.kind = 'reversal' AS is_reversal, n.currency,
                    (SELECT r.intent_id FROM intents r WHERE r.tenant_id = n.tenant_id AND r.reversal_of = n.intent_id) AS reversal,
                    ", intent_matched_sql!("n"), " AS matched,
                    (SELECT count(*) FROM entries e WHERE e.tenant_id = n.tenant_id AND e.intent_id = n.intent_id
                        AND e.account = $3) AS ledger_lines,
                    (SELECT coalesce(sum(CASE WHEN e.debit <> 0 THEN e.amount ELSE -e.amount END), 0) FROM entries e
                      WHERE e.tenant_id = n.tenant_id AND e.intent_id = n.intent_id AND e.account = $3) AS ledger_amount,
                    (SELECT coalesce(sum(e.debit - e.credit), 0) FROM entries e
                      WHERE e.tenant_id = n.tenant_id AND e.intent_id = n.intent_id AND e.account = $3) AS ledger_base_amount
               FROM intents n WHERE n.tenant_id = $1 AND n.intent_id = $2"),
            &[&tenant_id, &intent_id, &ledger_account],
        )
        .await?;
    Ok(row.map(|r| LinkableIntent {
        is_reversal: r.get("is_reversal"),
        reversal: r.get("reversal"),
        on_ledger: r.get::<_, i64>("ledger_lines") > 0,
        ledger_amount: r.get("ledger_amount"),
        ledger_base_amount: r.get("ledger_base_amount"),
        currency: r.get("currency"),
        matched: r.get("matched"),
    }))
}

/// The reversal of an intent, when it is reversed.
pub async fn reversal_of(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    intent_id: Uuid,
) -> Result<Option<Uuid>, StoreError> {
    Ok(tx
        .query_opt(
            "SELECT intent_id FROM intents WHERE tenant_id = $1 AND reversal_of = $2",
            &[&tenant_id, &intent_id],
        )
        .await?
        .map(|r| r.get(0)))
}

/// A payment applied to an open item by a match group's booking.
#[derive(Debug, Clone)]
pub struct GroupApplication {
    pub invoice_id: Uuid,
    pub amount: Decimal,
    pub date: NaiveDate,
    pub counter_account: String,
}

/// Records the payments a match group's booking applied to its open items.
pub async fn insert_group_applications(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    applications: &[GroupApplication],
    intent_id: Uuid,
    actor: &Actor,
) -> Result<(), StoreError> {
    let ids: Vec<Uuid> = applications.iter().map(|_| Uuid::now_v7()).collect();
    let invoices: Vec<Uuid> = applications.iter().map(|a| a.invoice_id).collect();
    let amounts: Vec<Decimal> = applications.iter().map(|a| a.amount).collect();
    let dates: Vec<NaiveDate> = applications.iter().map(|a| a.date).collect();
    let accounts: Vec<&str> = applications
        .iter()
        .map(|a| a.counter_account.as_str())
        .collect();
    tx.execute(
        "INSERT INTO open_item_applications (tenant_id, id, invoice_id, kind, amount, application_date,
            counter_account, intent_id, actor)
         SELECT $1, a.id, a.invoice_id, 'payment', a.amount, a.date, a.account, $7, $8
           FROM unnest($2::uuid[], $3::uuid[], $4::numeric[], $5::date[], $6::text[])
                AS a (id, invoice_id, amount, date, account)",
        &[
            &tenant_id,
            &ids,
            &invoices,
            &amounts,
            &dates,
            &accounts,
            &intent_id,
            &actor.to_json(),
        ],
    )
    .await?;
    Ok(())
}

// ------------------------------------------------------------------ suggestions

/// An open invoice as the suggestions score it.
#[derive(Debug, Clone)]
pub struct OpenInvoice {
    pub id: Uuid,
    pub direction: String,
    pub invoice_type: String,
    pub invoice_number: String,
    pub invoice_date: NaiveDate,
    pub due_date: Option<NaiveDate>,
    pub currency: String,
    pub intent_id: Uuid,
    pub partner_name: String,
    pub partner_iban: Option<String>,
    pub partner_account: String,
    pub open_amount: Decimal,
    /// Nothing applied yet.
    pub untouched: bool,
    pub cash_discount_percent: Option<Decimal>,
    pub cash_discount_days: Option<i32>,
}

/// Every open item of the tenant (invoices not cancelled, with an amount left), in one
/// query: applications are summed once per invoice instead of per row.
pub const OPEN_INVOICES_SQL: &str = "WITH settled AS (
    SELECT a.invoice_id, sum(a.amount) AS settled
      FROM open_item_applications a
     WHERE a.tenant_id = $1
       AND NOT EXISTS (SELECT 1 FROM intents r WHERE r.tenant_id = a.tenant_id AND r.reversal_of = a.intent_id)
     GROUP BY a.invoice_id)
SELECT i.id, i.direction, i.type, i.invoice_number, i.invoice_date, i.due_date, i.currency, i.intent_id,
       p.name AS partner_name, p.iban AS partner_iban, p.account_number AS partner_account,
       i.total_gross - coalesce(s.settled, 0) AS open_amount, s.settled IS NULL AS untouched,
       i.cash_discount_percent, i.cash_discount_days
  FROM invoices i
  JOIN partners p ON p.tenant_id = i.tenant_id AND p.id = i.partner_id
  LEFT JOIN settled s ON s.invoice_id = i.id
 WHERE i.tenant_id = $1
   AND i.total_gross - coalesce(s.settled, 0) > 0
   AND NOT EXISTS (SELECT 1 FROM intents r WHERE r.tenant_id = i.tenant_id AND r.reversal_of = i.intent_id)
 ORDER BY i.id";

/// An unmatched booking on a ledger account.
#[derive(Debug, Clone)]
pub struct UnmatchedEntry {
    pub intent_id: Uuid,
    pub booking_date: NaiveDate,
    /// Debit − credit on the ledger account, in the account's currency.
    pub amount: Decimal,
    pub external_reference: Option<String>,
    pub end_to_end_id: Option<String>,
}

/// Bookings on the ledger account that no active match names, neither reversals nor
/// reversed, with their net amount on the account.
pub const UNMATCHED_ENTRIES_SQL: &str = concat!("SELECT e.intent_id, min(e.booking_date) AS booking_date,
       sum(CASE WHEN e.debit <> 0 THEN e.amount ELSE -e.amount END) AS amount,
       n.external_reference, n.custom_metadata->>'end_to_end_id' AS end_to_end_id
  FROM entries e
  JOIN intents n ON n.tenant_id = e.tenant_id AND n.intent_id = e.intent_id
 WHERE e.tenant_id = $1 AND e.account = $2 AND n.kind <> 'reversal'
   AND NOT EXISTS (SELECT 1 FROM intents r WHERE r.tenant_id = n.tenant_id AND r.reversal_of = n.intent_id)
   AND NOT ", intent_matched_sql!("n"), "
 GROUP BY e.intent_id, n.external_reference, n.custom_metadata
 LIMIT 100000");

/// The counterparties of earlier `account` reconciliations, newest first.
#[derive(Debug, Clone)]
pub struct LearnedRow {
    pub counterparty_iban: Option<String>,
    pub counterparty_name: Option<String>,
    pub account: String,
    pub tax_code: Option<String>,
}

pub const LEARNED_SQL: &str = "SELECT * FROM (
    SELECT DISTINCT ON (coalesce(t.counterparty_iban, ''), coalesce(t.counterparty_name, ''))
           t.counterparty_iban, t.counterparty_name, m.detail->>'account' AS account,
           m.detail->>'tax_code' AS tax_code, m.created_at
      FROM bank_matches m
      JOIN bank_match_transactions x ON x.tenant_id = m.tenant_id AND x.match_id = m.id
      JOIN bank_transactions t ON t.tenant_id = x.tenant_id AND t.id = x.bank_transaction_id
     WHERE m.tenant_id = $1 AND NOT m.is_group AND m.detail->>'candidate_kind' = 'account'
       AND m.detail->>'account' IS NOT NULL
       AND (t.counterparty_iban IS NOT NULL OR t.counterparty_name IS NOT NULL)
     ORDER BY coalesce(t.counterparty_iban, ''), coalesce(t.counterparty_name, ''), m.created_at DESC) l
 ORDER BY created_at DESC
 LIMIT 10000";

/// Unmatched, undismissed transactions of one bank account (or of every other one), oldest
/// first. $1 tenant, $2 bank account, $3 true: of that account, false: of the others, $4 limit.
pub const OPEN_TRANSACTIONS_SQL: &str = "SELECT t.id, t.bank_account_id, t.booking_date, t.amount, t.currency,
       t.counterparty_name, t.counterparty_iban, t.remittance_info, t.end_to_end_id, a.iban AS account_iban
  FROM bank_transactions t
  JOIN bank_accounts a ON a.tenant_id = t.tenant_id AND a.id = t.bank_account_id
 WHERE t.tenant_id = $1 AND ((t.bank_account_id = $2) = $3) AND t.dismissed_at IS NULL
   AND NOT EXISTS (SELECT 1 FROM bank_match_transactions x
                    WHERE x.tenant_id = t.tenant_id AND x.bank_transaction_id = t.id AND x.active)
 ORDER BY t.booking_date, t.id
 LIMIT $4";

/// An unmatched transaction for the suggestions.
#[derive(Debug, Clone)]
pub struct OpenTransaction {
    pub id: Uuid,
    pub bank_account_id: Uuid,
    pub booking_date: NaiveDate,
    pub amount: Decimal,
    pub currency: String,
    pub counterparty_name: Option<String>,
    pub counterparty_iban: Option<String>,
    pub remittance_info: Option<String>,
    pub end_to_end_id: Option<String>,
    pub account_iban: Option<String>,
}

/// Everything the suggestions for one bank account score against, loaded in one snapshot.
#[derive(Debug, Clone, Default)]
pub struct SuggestionData {
    pub transactions: Vec<OpenTransaction>,
    pub open_invoices: Vec<OpenInvoice>,
    pub journal: Vec<UnmatchedEntry>,
    pub learned: Vec<LearnedRow>,
    pub transfers: Vec<OpenTransaction>,
}

/// The bank account's ledger account and currency, when it is the tenant's.
pub async fn bank_account(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<(String, String)>, StoreError> {
    Ok(tx
        .query_opt(
            "SELECT ledger_account, currency FROM bank_accounts WHERE tenant_id = $1 AND id = $2",
            &[&tenant_id, &id],
        )
        .await?
        .map(|r| (r.get(0), r.get(1))))
}

fn open_tx(r: &tokio_postgres::Row) -> OpenTransaction {
    OpenTransaction {
        id: r.get("id"),
        bank_account_id: r.get("bank_account_id"),
        booking_date: r.get("booking_date"),
        amount: r.get("amount"),
        currency: r.get("currency"),
        counterparty_name: r.get("counterparty_name"),
        counterparty_iban: r.get("counterparty_iban"),
        remittance_info: r.get("remittance_info"),
        end_to_end_id: r.get("end_to_end_id"),
        account_iban: r.get("account_iban"),
    }
}

/// Loads what the suggestions for `bank_account_id` need, the five queries pipelined on one
/// connection inside the caller's (read-only, repeatable-read) transaction.
pub async fn load_suggestion_data(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    bank_account_id: Uuid,
    ledger_account: &str,
    limit: i64,
) -> Result<SuggestionData, StoreError> {
    let transfer_limit: i64 = 100_000;
    let (own, others) = (true, false);
    let p_own: [&(dyn tokio_postgres::types::ToSql + Sync); 4] =
        [&tenant_id, &bank_account_id, &own, &limit];
    let p_others: [&(dyn tokio_postgres::types::ToSql + Sync); 4] =
        [&tenant_id, &bank_account_id, &others, &transfer_limit];
    let p_tenant: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&tenant_id];
    let p_ledger: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&tenant_id, &ledger_account];
    let (txs, invoices, journal, learned, transfers) = futures_util::try_join!(
        tx.query(OPEN_TRANSACTIONS_SQL, &p_own),
        tx.query(OPEN_INVOICES_SQL, &p_tenant),
        tx.query(UNMATCHED_ENTRIES_SQL, &p_ledger),
        tx.query(LEARNED_SQL, &p_tenant),
        tx.query(OPEN_TRANSACTIONS_SQL, &p_others),
    )?;
    Ok(SuggestionData {
        transactions: txs.iter().map(open_tx).collect(),
        open_invoices: invoices
            .iter()
            .map(|r| OpenInvoice {
                id: r.get("id"),
                direction: r.get("direction"),
                invoice_type: r.get("type"),
                invoice_number: r.get("invoice_number"),
                invoice_date: r.get("invoice_date"),
                due_date: r.get("due_date"),
                currency: r.get("currency"),
                intent_id: r.get("intent_id"),
                partner_name: r.get("partner_name"),
                partner_iban: r.get("partner_iban"),
                partner_account: r.get("partner_account"),
                open_amount: r.get("open_amount"),
                untouched: r.get("untouched"),
                cash_discount_percent: r.get("cash_discount_percent"),
                cash_discount_days: r.get("cash_discount_days"),
            })
            .collect(),
        journal: journal
            .iter()
            .map(|r| UnmatchedEntry {
                intent_id: r.get("intent_id"),
                booking_date: r.get("booking_date"),
                amount: r.get("amount"),
                external_reference: r.get("external_reference"),
                end_to_end_id: r.get("end_to_end_id"),
            })
            .collect(),
        learned: learned_rows(&learned),
        transfers: transfers.iter().map(open_tx).collect(),
    })
}

fn learned_rows(rows: &[tokio_postgres::Row]) -> Vec<LearnedRow> {
    rows.iter()
        .map(|r| LearnedRow {
            counterparty_iban: r.get("counterparty_iban"),
            counterparty_name: r.get("counterparty_name"),
            account: r.get("account"),
            tax_code: r.get("tax_code"),
        })
        .collect()
}
