//! Bank accounts, statement imports, the reads of bank transactions, their evidence, the
//! balance history and the reconciliation view (issue 10, part 1).
//!
//! The rules are `bank`'s: `decide_bank_account`, the import plans (`plan_file_import`,
//! `plan_json_import`: which statements belong to the account, which rows are acceptable,
//! their fingerprints), the parsers, the balance check and `daily_balances`. This module
//! loads, decides with them and writes through `store::bank`, each import in one transaction:
//! a malformed file imports nothing.

use crate::{App, AppError, AppResult};
use bank::account::{
    decide_bank_account, plan_file_import, plan_json_import, requested_ledger_account,
    stated_balances, BankAccountContext, ImportPlan, ImportTarget, NewBankAccount, RowError,
    StatedBalance,
};
use bank::{BalanceCheck, BankTransaction, CsvMapping, Format};
use chrono::NaiveDate;
use journal::Actor;
use rust_decimal::Decimal;
use std::collections::{HashMap, HashSet};
use store::bank as rows;
pub use store::bank::{
    ActiveMatch, BankAccount, BankTransactionRow, Evidence, NewEvidence, StatusSums,
    TransactionFilter,
};
use store::idempotency::Idempotent;
use uuid::Uuid;

/// A statement file to import.
pub struct StatementFile {
    pub bank_account_id: Uuid,
    pub content: Vec<u8>,
    pub file_name: Option<String>,
    /// Sniffed from the content when `None`.
    pub format: Option<Format>,
    pub csv_mapping: Option<CsvMapping>,
    /// Import statements of other accounts too (`?force=true`).
    pub force: bool,
}

/// One statement of an import as the response shows it.
#[derive(Debug, Clone)]
pub struct ImportedStatement {
    /// The stored statement's id (None when skipped).
    pub id: Option<Uuid>,
    /// The bank's id of the statement (camt `Stmt/Id`, MT940 `:28C:`).
    pub statement_id: Option<String>,
    /// The account the statement names.
    pub account: Option<String>,
    pub transactions: usize,
    pub balance_check: BalanceCheck,
    pub skipped: bool,
}

/// The answer of an import.
#[derive(Debug, Clone)]
pub struct ImportResult {
    pub batch_id: Uuid,
    pub format: &'static str,
    pub document_id: Option<Uuid>,
    pub total_rows: usize,
    pub imported: u64,
    pub skipped_duplicates: u64,
    pub errors: Vec<RowError>,
    pub statements: Vec<ImportedStatement>,
}

/// `GET /v1/bank-accounts/balance-history`.
#[derive(Debug, Clone)]
pub struct BalanceHistory {
    pub currency: String,
    pub history: Vec<(NaiveDate, Decimal)>,
    pub start_balance: Decimal,
    pub current_balance: Decimal,
    /// The accounts summed up.
    pub bank_account_ids: Vec<Uuid>,
}

/// `GET /v1/bank-accounts/{id}/reconciliation`.
#[derive(Debug, Clone)]
pub struct Reconciliation {
    pub account: BankAccount,
    pub base_currency: String,
    pub open: StatusSums,
    pub reconciled: StatusSums,
    pub dismissed: StatusSums,
    pub ledger: rows::LedgerSums,
    /// The bank's balance and the day it is for (None: no transactions, no statements).
    pub bank_balance: Decimal,
    pub bank_balance_date: Option<NaiveDate>,
    /// `statement` (a stated balance) or `transactions` (the sum of the transactions).
    pub bank_balance_source: &'static str,
    /// The bank balance in the base currency, through the latest rate (foreign currency).
    pub bank_base_amount: Option<Decimal>,
    pub fx_rate: Option<Decimal>,
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Camt => "camt",
        Format::Mt940 => "mt940",
        Format::Csv => "csv",
    }
}

fn mime_of(f: Format) -> &'static str {
    match f {
        Format::Camt => "application/xml",
        Format::Mt940 => "text/plain",
        Format::Csv => "text/csv",
    }
}

impl App {
    pub async fn list_bank_accounts(&self, tenant_id: Uuid) -> AppResult<Vec<BankAccount>> {
        let client = self.client().await?;
        Ok(rows::list_accounts(&**client, tenant_id).await?)
    }

    pub async fn get_bank_account(&self, tenant_id: Uuid, id: Uuid) -> AppResult<BankAccount> {
        let client = self.client().await?;
        Ok(rows::get_account(&**client, tenant_id, id).await?)
    }

    /// A bank account without its counts: what an import needs (cheap on large accounts).
    pub async fn bank_account_basics(&self, tenant_id: Uuid, id: Uuid) -> AppResult<BankAccount> {
        let client = self.client().await?;
        Ok(rows::get_account_row(&**client, tenant_id, id).await?)
    }

    /// `POST /v1/bank-accounts`.
    pub async fn create_bank_account(
        &self,
        tenant_id: Uuid,
        new: NewBankAccount,
        actor: &Actor,
        idempotency: Option<Idempotent<BankAccount>>,
    ) -> AppResult<BankAccount> {
        self.in_transaction(async |tx| {
            let account = self
                .create_bank_account_in_tx(tx, tenant_id, &new, actor)
                .await?;
            if let Some(idem) = &idempotency {
                store::idempotency::store_in_tx(tx, &idem.key, &(idem.render)(&account)).await?;
            }
            Ok(account)
        })
        .await
    }

    pub async fn create_bank_account_in_tx(
        &self,
        tx: &store::Transaction<'_>,
        tenant_id: Uuid,
        new: &NewBankAccount,
        actor: &Actor,
    ) -> AppResult<BankAccount> {
        let info = self.store().tenant_info(tenant_id).await?;
        // Bank accounts of a tenant are created one at a time: "the first" is well defined.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('kontor.bank_accounts.' || $1::uuid::text, 0))",
            &[&tenant_id],
        )
        .await
        .map_err(store::StoreError::from)?;
        let (existing, _, _) = rows::new_account_facts(&**tx, tenant_id, None, None).await?;
        let ledger = requested_ledger_account(new, existing, info.role("bank"));
        let iban = new
            .iban
            .as_deref()
            .and_then(|i| receivables::validate_iban(i).ok());
        let (existing, ledger_ref, iban_taken) =
            rows::new_account_facts(&**tx, tenant_id, ledger.as_deref(), iban.as_deref()).await?;
        let ctx = BankAccountContext {
            base_currency: info.base_currency,
            existing_accounts: existing,
            bank_role: info.role("bank").map(str::to_string),
            ledger: ledger_ref,
            iban_taken,
        };
        let decided = decide_bank_account(new, &ctx)?;
        let id = Uuid::now_v7();
        rows::insert_account(tx, tenant_id, id, &decided, actor).await?;
        Ok(rows::get_account(&**tx, tenant_id, id).await?)
    }

    /// `PUT /v1/bank-accounts/{id}`: the name only.
    pub async fn rename_bank_account(
        &self,
        tenant_id: Uuid,
        id: Uuid,
        name: &str,
    ) -> AppResult<BankAccount> {
        let name = bank::account::check_name(name)?;
        self.in_transaction(async |tx| {
            rows::rename_account(tx, tenant_id, id, &name).await?;
            Ok(rows::get_account(&**tx, tenant_id, id).await?)
        })
        .await
    }

    /// `POST /v1/bank-transactions/import-file`, `POST /v1/bank-accounts/{id}/upload`: parses
    /// the file (off the async workers), plans and writes the import in one transaction, and
    /// keeps the file as a document of the batch.
    pub async fn import_statement_file(
        &self,
        tenant_id: Uuid,
        file: StatementFile,
        actor: &Actor,
        idempotency: Option<Idempotent<ImportResult>>,
    ) -> AppResult<ImportResult> {
        // The account first: another tenant's id is a 404 before any parsing.
        let account = self
            .bank_account_basics(tenant_id, file.bank_account_id)
            .await?;
        let format = match file.format {
            Some(f) => f,
            None => bank::sniff(&file.content).ok_or(bank::ParseError::UnknownFormat)?,
        };
        let StatementFile {
            content,
            csv_mapping,
            force,
            ..
        } = file;
        let target = import_target(&account);
        let started = std::time::Instant::now();
        // Parsing and fingerprinting are CPU work: on the blocking pool, not an HTTP worker.
        let (content, planned) = tokio::task::spawn_blocking(move || {
            let planned = bank::parse(content.as_slice(), format, csv_mapping.as_ref())
                .map_err(AppError::from)
                .and_then(|statements| {
                    plan_file_import(&target, statements, force).map_err(AppError::from)
                });
            (content, planned)
        })
        .await
        .map_err(|e| store::StoreError::Internal(format!("statement parser: {e}")))?;
        let plan = planned?;
        tracing::info!(
            target: "app::bank",
            rows = plan.rows.len(),
            bytes = content.len(),
            ms = started.elapsed().as_millis() as u64,
            "statement file parsed and planned"
        );
        self.in_transaction(async |tx| {
            let document_id = rows::insert_document(
                tx,
                tenant_id,
                &content,
                mime_of(format),
                file.file_name.as_deref().unwrap_or("statement"),
                actor,
            )
            .await?;
            let result = self
                .write_import(
                    tx,
                    tenant_id,
                    &account,
                    &plan,
                    format_name(format),
                    file.file_name.as_deref(),
                    Some(document_id),
                    actor,
                )
                .await?;
            if let Some(idem) = &idempotency {
                store::idempotency::store_in_tx(tx, &idem.key, &(idem.render)(&result)).await?;
            }
            tracing::info!(
                target: "app::bank",
                imported = result.imported,
                skipped = result.skipped_duplicates,
                ms = started.elapsed().as_millis() as u64,
                "statement file written (before the commit)"
            );
            Ok(result)
        })
        .await
    }

    /// `POST /v1/bank-transactions`: rows as JSON, imported like a file (fingerprints, per-row
    /// errors), without a statement.
    pub async fn import_bank_transactions(
        &self,
        tenant_id: Uuid,
        bank_account_id: Uuid,
        transactions: Vec<BankTransaction>,
        actor: &Actor,
        idempotency: Option<Idempotent<ImportResult>>,
    ) -> AppResult<ImportResult> {
        let account = self.bank_account_basics(tenant_id, bank_account_id).await?;
        let plan = plan_json_import(&import_target(&account), transactions)?;
        self.in_transaction(async |tx| {
            let result = self
                .write_import(tx, tenant_id, &account, &plan, "json", None, None, actor)
                .await?;
            if let Some(idem) = &idempotency {
                store::idempotency::store_in_tx(tx, &idem.key, &(idem.render)(&result)).await?;
            }
            Ok(result)
        })
        .await
    }

    /// Writes a planned import: the account's row lock (imports into one account one at a
    /// time, so the duplicate count is exact), the fingerprints the account has, the batch,
    /// its statements and the new transactions.
    #[allow(clippy::too_many_arguments)]
    async fn write_import(
        &self,
        tx: &store::Transaction<'_>,
        tenant_id: Uuid,
        account: &BankAccount,
        plan: &ImportPlan,
        format: &'static str,
        file_name: Option<&str>,
        document_id: Option<Uuid>,
        actor: &Actor,
    ) -> AppResult<ImportResult> {
        rows::lock_account(tx, tenant_id, account.id).await?;
        let fps: Vec<&[u8]> = plan
            .rows
            .iter()
            .map(|r| r.fingerprint.0.as_slice())
            .collect();
        let days = plan.rows.iter().map(|r| r.transaction.booking_date).fold(
            None,
            |acc: Option<(NaiveDate, NaiveDate)>, d| {
                Some(acc.map_or((d, d), |(a, b)| (a.min(d), b.max(d))))
            },
        );
        let existing = match days {
            Some(days) => {
                rows::existing_fingerprints(tx, tenant_id, account.id, &fps, days).await?
            }
            None => HashSet::new(),
        };
        let mut seen: HashSet<&[u8]> = HashSet::with_capacity(fps.len());
        let mut statement_ids: Vec<Option<Uuid>> = plan
            .statements
            .iter()
            .map(|s| (!s.skipped).then(Uuid::now_v7))
            .collect();
        let mut stored: Vec<rows::NewStatement> = Vec::new();
        for (s, id) in plan.statements.iter().zip(statement_ids.iter_mut()) {
            let Some(new_id) = *id else { continue };
            let row = rows::NewStatement {
                id: new_id,
                statement_id: s.statement_id.clone(),
                currency: s.currency.code().to_string(),
                opening_balance: s.opening_balance,
                closing_balance: s.closing_balance,
                computed_closing: s.balance_check.computed_closing,
                difference: s.balance_check.difference,
                balance_ok: s.balance_check.ok,
                from_date: s.from_date,
                to_date: s.to_date,
                transactions: i32::try_from(s.transactions).unwrap_or(i32::MAX),
            };
            // A statement imported before is stored once: its rows keep the earlier id.
            match rows::same_statement(tx, tenant_id, account.id, &row).await? {
                Some(existing) => *id = Some(existing),
                None => stored.push(row),
            }
        }
        // The statement's rate of the base currency, for foreign-currency accounts: what
        // reconciling converts with (else the request must give one).
        let base = self.store().tenant_info(tenant_id).await?.base_currency;
        let account_currency = journal::Currency::from_code(&account.currency).map_err(|_| {
            store::StoreError::Internal(format!(
                "currency {:?} of a bank account",
                account.currency
            ))
        })?;
        let new_rows: Vec<rows::NewTransaction> = plan
            .rows
            .iter()
            .filter(|r| {
                let fp = r.fingerprint.0.as_slice();
                !existing.contains(fp) && seen.insert(fp)
            })
            .map(|r| rows::NewTransaction {
                id: Uuid::now_v7(),
                statement_id: r
                    .statement
                    .and_then(|i| statement_ids.get(i).copied().flatten()),
                fingerprint: r.fingerprint.0.as_slice(),
                fx_rate: r
                    .transaction
                    .exchange
                    .and_then(|x| x.base_rate(account_currency, base)),
                tx: &r.transaction,
            })
            .collect();
        let imported = new_rows.len() as u64;
        let skipped = plan.rows.len() as u64 - imported;
        let batch_id = Uuid::now_v7();
        let count = |n: u64| i32::try_from(n).unwrap_or(i32::MAX);
        rows::insert_batch(
            tx,
            tenant_id,
            &rows::NewBatch {
                id: batch_id,
                bank_account_id: account.id,
                format,
                file_name,
                document_id,
                total_rows: count(plan.total_rows as u64),
                imported: count(imported),
                skipped_duplicates: count(skipped),
            },
            actor,
        )
        .await?;
        rows::insert_statements(tx, tenant_id, batch_id, account.id, &stored).await?;
        let written =
            rows::insert_transactions(tx, tenant_id, account.id, batch_id, &new_rows).await?;
        if written != imported {
            // The row lock makes this impossible; if it happens, nothing is committed.
            return Err(store::StoreError::Internal(format!(
                "import wrote {written} of {imported} new transactions"
            ))
            .into());
        }
        if imported > 0 {
            // One event per import, however many rows it brought (webhooks, issue 15).
            const MAX_IDS: usize = 1000;
            let ids: Vec<Uuid> = new_rows.iter().take(MAX_IDS).map(|r| r.id).collect();
            crate::webhooks::emit(
                tx,
                tenant_id,
                webhooks::EventType::BankTransactionImported,
                serde_json::json!({
                    "batch_id": batch_id,
                    "bank_account_id": account.id,
                    "format": format,
                    "file_name": file_name,
                    "document_id": document_id,
                    "total_rows": plan.total_rows,
                    "imported": imported,
                    "skipped_duplicates": skipped,
                    "bank_transaction_ids": ids,
                    "bank_transaction_ids_truncated": new_rows.len() > MAX_IDS,
                }),
            )
            .await?;
        }
        Ok(ImportResult {
            batch_id,
            format,
            document_id,
            total_rows: plan.total_rows,
            imported,
            skipped_duplicates: skipped,
            errors: plan.errors.clone(),
            statements: plan
                .statements
                .iter()
                .zip(&statement_ids)
                .map(|(s, id)| ImportedStatement {
                    id: *id,
                    statement_id: s.statement_id.clone(),
                    account: s.account.clone(),
                    transactions: s.transactions,
                    balance_check: s.balance_check.clone(),
                    skipped: s.skipped,
                })
                .collect(),
        })
    }

    pub async fn list_bank_transactions(
        &self,
        tenant_id: Uuid,
        filter: &TransactionFilter,
        limit: i64,
        offset: i64,
    ) -> AppResult<(
        Vec<BankTransactionRow>,
        store::Total,
        Option<store::ListCursor>,
    )> {
        Ok(self
            .store()
            .list_bank_transactions(tenant_id, filter, limit, offset)
            .await?)
    }

    /// One transaction with its active match (None when it has none).
    pub async fn get_bank_transaction(
        &self,
        tenant_id: Uuid,
        id: Uuid,
    ) -> AppResult<(BankTransactionRow, Option<ActiveMatch>)> {
        let client = self.client().await?;
        let t = rows::get_transaction(&**client, tenant_id, id).await?;
        let m = rows::active_match(&**client, tenant_id, id).await?;
        Ok((t, m))
    }

    pub async fn unreconciled_count(&self, tenant_id: Uuid) -> AppResult<i64> {
        let client = self.client().await?;
        Ok(rows::unreconciled_count(&**client, tenant_id).await?)
    }

    pub async fn get_evidence(&self, tenant_id: Uuid, id: Uuid) -> AppResult<Option<Evidence>> {
        let client = self.client().await?;
        rows::get_transaction(&**client, tenant_id, id).await?;
        Ok(rows::get_evidence(&**client, tenant_id, id).await?)
    }

    /// `PUT /v1/bank-transactions/{id}/evidence`: replaces the transaction's evidence.
    pub async fn put_evidence(
        &self,
        tenant_id: Uuid,
        id: Uuid,
        evidence: &rows::NewEvidence<'_>,
        actor: &Actor,
    ) -> AppResult<Evidence> {
        let evidence_type = evidence.evidence_type.trim();
        if evidence_type.is_empty() || evidence_type.chars().count() > 50 {
            return Err(AppError::invalid(
                "invalid_field",
                "evidence_type must be 1 to 50 characters",
                Some("evidence_type"),
            ));
        }
        for (field, text, max) in [
            ("title", evidence.title, 500),
            ("note", evidence.note, 10_000),
        ] {
            if text.is_some_and(|t| t.chars().count() > max) {
                return Err(AppError::invalid(
                    "invalid_field",
                    format!("{field} must be at most {max} characters"),
                    Some(field),
                ));
            }
        }
        self.in_transaction(async |tx| {
            rows::get_transaction(&**tx, tenant_id, id).await?;
            if let Some(doc) = evidence.document_id {
                if !rows::document_exists(&**tx, tenant_id, doc).await? {
                    return Err(AppError::invalid(
                        "unknown_document",
                        format!("document {doc} does not exist"),
                        Some("document_id"),
                    ));
                }
            }
            let written = rows::NewEvidence {
                evidence_type,
                ..*evidence
            };
            Ok(rows::put_evidence(tx, tenant_id, id, &written, actor).await?)
        })
        .await
    }

    /// The balance at the end of each of the last `days` days through today (see
    /// `bank::account::daily_balances`), over one bank account or over every bank account
    /// in the base currency.
    pub async fn balance_history(
        &self,
        tenant_id: Uuid,
        days: i64,
        bank_account_id: Option<Uuid>,
    ) -> AppResult<BalanceHistory> {
        let info = self.store().tenant_info(tenant_id).await?;
        let client = self.client().await?;
        let (accounts, currency) = match bank_account_id {
            Some(id) => {
                let a = rows::get_account(&**client, tenant_id, id).await?;
                (vec![a.id], a.currency)
            }
            None => {
                let base = info.base_currency.code().to_string();
                let all = rows::list_accounts(&**client, tenant_id).await?;
                let ids = all
                    .into_iter()
                    .filter(|a| a.currency == base)
                    .map(|a| a.id)
                    .collect();
                (ids, base)
            }
        };
        let today = self.today();
        let first = today - chrono::Duration::days(days);
        let series = self
            .account_series(&client, tenant_id, &accounts, first, today)
            .await?;
        let mut totals: Vec<(NaiveDate, Decimal)> = Vec::new();
        for s in series.values() {
            if totals.is_empty() {
                totals = s.clone();
            } else {
                for (t, (_, b)) in totals.iter_mut().zip(s) {
                    t.1 = t.1.saturating_add(*b);
                }
            }
        }
        if totals.is_empty() {
            totals = bank::account::daily_balances(&[], &[], first, today);
        }
        let start_balance = totals.first().map(|t| t.1).unwrap_or_default();
        let current_balance = totals.last().map(|t| t.1).unwrap_or_default();
        Ok(BalanceHistory {
            currency,
            history: totals.into_iter().skip(1).collect(),
            start_balance,
            current_balance,
            bank_account_ids: accounts,
        })
    }

    /// Each account's daily balances from `first` to `last`.
    async fn account_series(
        &self,
        client: &store::Client,
        tenant_id: Uuid,
        accounts: &[Uuid],
        first: NaiveDate,
        last: NaiveDate,
    ) -> AppResult<HashMap<Uuid, Vec<(NaiveDate, Decimal)>>> {
        let statements = rows::statement_balances(&***client, tenant_id, accounts).await?;
        let sums = rows::daily_sums(&***client, tenant_id, accounts).await?;
        let mut stated: HashMap<Uuid, Vec<StatedBalance>> = HashMap::new();
        for s in &statements {
            stated
                .entry(s.bank_account_id)
                .or_default()
                .extend(stated_balances(
                    s.from_date,
                    s.to_date,
                    s.opening_balance,
                    s.closing_balance,
                ));
        }
        let mut per_day: HashMap<Uuid, Vec<(NaiveDate, Decimal)>> = HashMap::new();
        for (a, d, s) in sums {
            per_day.entry(a).or_default().push((d, s));
        }
        Ok(accounts
            .iter()
            .map(|a| {
                let series = bank::account::daily_balances(
                    stated.get(a).map(Vec::as_slice).unwrap_or(&[]),
                    per_day.get(a).map(Vec::as_slice).unwrap_or(&[]),
                    first,
                    last,
                );
                (*a, series)
            })
            .collect())
    }

    /// `GET /v1/bank-accounts/{id}/reconciliation`.
    pub async fn reconciliation(&self, tenant_id: Uuid, id: Uuid) -> AppResult<Reconciliation> {
        let info = self.store().tenant_info(tenant_id).await?;
        let client = self.client().await?;
        let account = rows::get_account(&**client, tenant_id, id).await?;
        let [open, reconciled, dismissed] =
            rows::status_sums(&**client, tenant_id, account.id).await?;
        let ledger = rows::ledger_sums(
            &**client,
            tenant_id,
            &account.ledger_account,
            &account.currency,
        )
        .await?;
        let statements = rows::statement_balances(&**client, tenant_id, &[account.id]).await?;
        let last_statement = statements.iter().filter_map(|s| s.to_date).max();
        let as_of = match (account.last_tx_date, last_statement) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let bank_balance = match as_of {
            Some(day) => self
                .account_series(&client, tenant_id, &[account.id], day, day)
                .await?
                .get(&account.id)
                .and_then(|s| s.last().map(|x| x.1))
                .unwrap_or_default(),
            None => Decimal::ZERO,
        };
        let base = info.base_currency.code().to_string();
        let fx_rate = if account.currency == base {
            None
        } else {
            rows::latest_fx_rate(&**client, tenant_id, account.id).await?
        };
        let bank_base_amount = if account.currency == base {
            Some(bank_balance)
        } else {
            fx_rate
                .filter(|r| !r.is_zero())
                .and_then(|r| bank_balance.checked_div(r))
                .map(|b| info.base_currency.round(b))
        };
        Ok(Reconciliation {
            bank_balance_source: if statements.is_empty() {
                "transactions"
            } else {
                "statement"
            },
            account,
            base_currency: base,
            open,
            reconciled,
            dismissed,
            ledger,
            bank_balance,
            bank_balance_date: as_of,
            bank_base_amount,
            fx_rate,
        })
    }
}

fn import_target(account: &BankAccount) -> ImportTarget {
    ImportTarget {
        iban: account.iban.clone(),
        account_number: account.account_number.clone(),
        currency: journal::Currency::from_code(&account.currency).unwrap_or(journal::Currency::EUR),
        fallback_key: account.id.to_string(),
    }
}
