//! The reads behind reports and the DATEV export. They aggregate in the database and return
//! sums, or stream journal lines through a portal, so that neither the report's cost nor its
//! memory grows with the number of entries:
//!
//! - per-account debit and credit sums *through a day* (`sums_through`) from the
//!   `account_balances` projection (whole months) plus the `account_day_balances` rows of a
//!   partial month and the period-13 day rows dated before it (the rule of
//!   `account_balance_through`, for all accounts at once; see [`Cut`]). A range's sums are the
//!   difference of two such reads; none reads an entry, so their cost is accounts × (periods +
//!   days of one month), whatever the number of entries;
//! - per-tax-code sums of a range (`tax_code_sums`), and the movement of the VAT accounts;
//! - the journal lines of a range in (booking_date, seq) order, a batch at a time
//!   (`stream_lines`), in a `REPEATABLE READ` transaction so that the export sees one state.

use crate::journal::{entry_from_row, ENTRY_COLUMNS};
use crate::{Store, StoreError};
use chrono::{Datelike, Months, NaiveDate};
use journal::{AccountType, FiscalCalendar};
use rust_decimal::Decimal;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// An account as the reports need it.
#[derive(Debug, Clone)]
pub struct AccountFacts {
    pub number: String,
    pub name: String,
    pub account_type: AccountType,
    pub report_group: Option<String>,
    pub collective_account: Option<String>,
    pub datev_automatic: bool,
}

/// Debit and credit sums of one account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sums {
    pub debit: Decimal,
    pub credit: Decimal,
}

impl Sums {
    pub fn net(&self) -> Decimal {
        self.debit - self.credit
    }

    pub fn minus(&self, o: &Sums) -> Sums {
        Sums {
            debit: self.debit - o.debit,
            credit: self.credit - o.credit,
        }
    }
}

/// Per-tax-code sums of a range, debit-positive: the lines carrying the code that were not
/// generated, its generated tax lines and its self-assessment lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxCodeSums {
    pub code: String,
    pub base: Decimal,
    pub tax: Decimal,
    pub self_assessed: Decimal,
}

/// One journal line of the export, with what the conversion needs of its intent.
#[derive(Debug, Clone)]
pub struct ExportLine {
    pub entry: crate::journal::JournalEntry,
    /// The tax rate the line was booked with (lines with a tax code that were not generated).
    pub tax_rate: Option<Decimal>,
    /// On the first line of an intent: its document and its invoice's number.
    pub document_id: Option<Uuid>,
    pub invoice_number: Option<String>,
}

/// A partner as the Debitoren/Kreditoren file needs it.
#[derive(Debug, Clone)]
pub struct ExportPartner {
    pub account_number: String,
    pub kind: String,
    pub name: String,
    pub tax_id: Option<String>,
    pub vat_id: Option<String>,
    pub iban: Option<String>,
    pub bic: Option<String>,
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
}

const ACCOUNTS_SQL: &str =
    "SELECT number, name, type, report_group, collective_account, datev_automatic
     FROM accounts WHERE tenant_id = $1 ORDER BY number";

/// Sums through a day by [`Cut`]: $2 the cut, $3 the day, $4 the adjustment period, $5 whether
/// its early day rows are added. The partial month's day rows are read per account of the
/// chart (the day rows' key leads with the account: one index range per account, no scan of
/// the tenant's other days); the period-13 rows through their partial index (schema/0020).
pub const SUMS_THROUGH_SQL: &str = "SELECT account, coalesce(sum(d), 0), coalesce(sum(c), 0) FROM (
       SELECT account, debit AS d, credit AS c FROM account_balances
        WHERE tenant_id = $1 AND month_start < $2
       UNION ALL
       SELECT a.number, x.d, x.c
         FROM accounts a CROSS JOIN LATERAL (
              SELECT sum(b.debit) AS d, sum(b.credit) AS c FROM account_day_balances b
               WHERE b.tenant_id = $1 AND b.account = a.number
                 AND b.booking_date >= $2 AND b.booking_date <= $3) x
        WHERE $2 <= $3 AND a.tenant_id = $1 AND x.d IS NOT NULL
       UNION ALL
       SELECT account, debit, credit FROM account_day_balances
        WHERE $5 AND tenant_id = $1 AND period = $4 AND period LIKE '%-13' AND booking_date < $2
     ) x GROUP BY account";

const TAX_CODE_SUMS_SQL: &str = "SELECT tax_code,
       coalesce(sum(debit - credit) FILTER (WHERE generated IS NULL), 0),
       coalesce(sum(debit - credit) FILTER (WHERE generated = 'tax'), 0),
       coalesce(sum(debit - credit) FILTER (WHERE generated = 'self_assessment'), 0)
     FROM entries
    WHERE tenant_id = $1 AND booking_date >= $2 AND booking_date <= $3 AND tax_code IS NOT NULL
    GROUP BY tax_code ORDER BY tax_code";

/// Ist-Versteuerung: the sales codes' lines count when the invoice is paid, pro rata to the
/// share of its gross that each payment settles (payments not reversed, by payment date). The
/// invoice's lines give the net and tax per code; a credit note counts the other way.
const IST_PAID_SQL: &str = "SELECT il.tax_code,
       coalesce(sum(CASE i.type WHEN 'invoice' THEN -il.net ELSE il.net END * a.amount / i.total_gross), 0),
       coalesce(sum(CASE i.type WHEN 'invoice' THEN -il.tax ELSE il.tax END * a.amount / i.total_gross), 0)
     FROM open_item_applications a
     JOIN invoices i ON i.tenant_id = a.tenant_id AND i.id = a.invoice_id
     JOIN invoice_lines il ON il.tenant_id = i.tenant_id AND il.invoice_id = i.id
    WHERE a.tenant_id = $1 AND a.kind = 'payment' AND i.direction = 'outgoing'
      AND a.application_date >= $2 AND a.application_date <= $3
      AND il.tax_code = ANY($4) AND NOT kontor_is_reversed(a.tenant_id, a.intent_id, NULL)
    GROUP BY il.tax_code";

/// Ist-Versteuerung: the sales codes' lines of bookings that belong to no outgoing invoice
/// (a cash sale is paid when it is booked). The bookings of invoices, of their payments and
/// write-offs, and reversals of these, count through `IST_PAID_SQL` or not at all.
const IST_OTHER_SQL: &str = "SELECT e.tax_code,
       coalesce(sum(e.debit - e.credit) FILTER (WHERE e.generated IS NULL), 0),
       coalesce(sum(e.debit - e.credit) FILTER (WHERE e.generated = 'tax'), 0),
       coalesce(sum(e.debit - e.credit) FILTER (WHERE e.generated = 'self_assessment'), 0)
     FROM entries e JOIN intents n ON n.tenant_id = e.tenant_id AND n.intent_id = e.intent_id
    WHERE e.tenant_id = $1 AND e.booking_date >= $2 AND e.booking_date <= $3 AND e.tax_code = ANY($4)
      AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.tenant_id = e.tenant_id AND i.direction = 'outgoing'
                         AND i.intent_id IN (n.intent_id, n.reversal_of))
      AND NOT EXISTS (SELECT 1 FROM open_item_applications a JOIN invoices i ON i.tenant_id = a.tenant_id AND i.id = a.invoice_id
                       WHERE a.tenant_id = e.tenant_id AND i.direction = 'outgoing'
                         AND a.intent_id IN (n.intent_id, n.reversal_of))
    GROUP BY e.tax_code";

const VAT_MOVEMENT_SQL: &str = "SELECT coalesce(sum(debit - credit), 0) FROM entries
    WHERE tenant_id = $1 AND booking_date >= $2 AND booking_date <= $3
      AND account IN (SELECT vat_account FROM tax_codes WHERE tenant_id = $1 AND vat_account IS NOT NULL AND code = ANY($4)
                      UNION SELECT self_assess_account FROM tax_codes
                             WHERE tenant_id = $1 AND self_assess_account IS NOT NULL AND code = ANY($4))";

const MONTHLY_SQL: &str = "SELECT b.period, a.type, coalesce(sum(b.debit - b.credit), 0)
     FROM account_balances b JOIN accounts a ON a.tenant_id = b.tenant_id AND a.number = b.account
    WHERE b.tenant_id = $1 AND b.period LIKE $2 AND a.type IN ('revenue', 'expense')
    GROUP BY b.period, a.type";

/// The journal lines of a range in (booking_date, seq) order; the lines of one intent share its
/// date and follow each other. Intent facts are looked up on the intent's first line only. The
/// tax rate is the tax code's (a hash join with the tenant's few codes): looking up each line's
/// event for the rate it was booked with cost an index probe per taxed line. Should a code's
/// rate have changed since, its earlier tax lines no longer match the computed tax and stay
/// rows of their own: the file still books exactly what the journal booked.
fn lines_sql() -> String {
    let columns = ENTRY_COLUMNS
        .split(',')
        .map(|c| format!("e.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT {columns},
           CASE WHEN e.generated IS NULL THEN tc.rate END AS tax_rate,
           CASE WHEN e.line_no = 1 THEN
             (SELECT n.document_id FROM intents n
               WHERE n.tenant_id = e.tenant_id AND n.intent_id = e.intent_id) END AS document_id,
           CASE WHEN e.line_no = 1 THEN
             (SELECT i.invoice_number FROM invoices i
               WHERE i.tenant_id = e.tenant_id AND i.intent_id = e.intent_id) END AS invoice_number
         FROM entries e
         LEFT JOIN tax_codes tc ON tc.tenant_id = e.tenant_id AND tc.code = e.tax_code
        WHERE e.tenant_id = $1 AND e.booking_date >= $2 AND e.booking_date <= $3
        ORDER BY e.booking_date, e.seq"
    )
}

/// The first day of the month after `d` when `d` is a month's last day, else the first day of
/// `d`'s month: the balance rows before it are whole months up to `d`.
fn whole_months_before(d: NaiveDate) -> NaiveDate {
    let month = d.with_day(1).expect("day 1 exists");
    match month.checked_add_months(Months::new(1)) {
        Some(next) if d.succ_opt() == Some(next) => next,
        _ => month,
    }
}

/// How the sums through a day `d` are read from the projections, none of them `entries`:
///
/// - the `account_balances` rows (whole periods) with `month_start < cut`, where `cut` is the
///   first day of `d`'s month, or of the next month when `d` is a month's last day;
/// - the `account_day_balances` rows dated `cut..=d` (at most the days of one month; none
///   when `d` ends a month), of every period;
/// - the period-13 exception: its row sits on the fiscal year's last month, but its bookings
///   are dated on any day of that year. Unless that row is already before `cut` (`d` is the
///   year's last day), the day rows of `d`'s fiscal year's period 13 dated before `cut` are
///   added on their own (`add_adjustment`).
///
/// Every other period's bookings are dated inside its month, so the three parts are exactly
/// the entries dated up to `d`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    pub cut: NaiveDate,
    pub adjustment: String,
    pub add_adjustment: bool,
}

impl Cut {
    pub fn of(calendar: &FiscalCalendar, d: NaiveDate) -> Cut {
        let cut = whole_months_before(d);
        let adjustment = calendar.adjustment_period_of(d);
        // Period 13's row is dated on the first day of the fiscal year's last month.
        let add_adjustment = calendar
            .checked_bounds(adjustment)
            .is_none_or(|(last_month, _)| last_month >= cut);
        Cut {
            cut,
            adjustment: adjustment.to_string(),
            add_adjustment,
        }
    }
}

impl Store {
    /// Every account of the tenant (active or not), in number order.
    pub async fn report_accounts(&self, tenant_id: Uuid) -> Result<Vec<AccountFacts>, StoreError> {
        let client = self.read_client(crate::ReadRoute::Reports).await?;
        let rows = client.query(ACCOUNTS_SQL, &[&tenant_id]).await?;
        rows.iter()
            .map(|r| {
                let t: &str = r.get("type");
                let group: String = r.get("report_group");
                Ok(AccountFacts {
                    number: r.get("number"),
                    name: r.get("name"),
                    account_type: t
                        .parse::<AccountType>()
                        .map_err(|_| StoreError::Internal(format!("stored account type {t:?}")))?,
                    report_group: (!group.is_empty()).then_some(group),
                    collective_account: r.get("collective_account"),
                    datev_automatic: r.get("datev_automatic"),
                })
            })
            .collect()
    }

    /// Debit and credit sums of every account over everything dated up to and including `d`.
    pub async fn sums_through(
        &self,
        client: &tokio_postgres::Client,
        tenant_id: Uuid,
        calendar: &FiscalCalendar,
        d: NaiveDate,
    ) -> Result<HashMap<String, Sums>, StoreError> {
        let cut = Cut::of(calendar, d);
        let rows = client
            .query(
                SUMS_THROUGH_SQL,
                &[
                    &tenant_id,
                    &cut.cut,
                    &d,
                    &cut.adjustment,
                    &cut.add_adjustment,
                ],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    r.get::<_, String>(0),
                    Sums {
                        debit: r.get(1),
                        credit: r.get(2),
                    },
                )
            })
            .collect())
    }

    /// Per-account sums for `start..=end`: (before start, before the fiscal year of `end`,
    /// through end), read in one round trip.
    pub async fn range_sums(
        &self,
        tenant_id: Uuid,
        calendar: &FiscalCalendar,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Result<[HashMap<String, Sums>; 3], StoreError> {
        let client = self.read_client(crate::ReadRoute::Reports).await?;
        let fy_start = calendar.fiscal_year_start(calendar.fiscal_year_of(end));
        let before = |d: NaiveDate| d.pred_opt().expect("dates start at 1900");
        let (a, b, c) = futures_util::try_join!(
            self.sums_through(&client, tenant_id, calendar, before(start)),
            self.sums_through(&client, tenant_id, calendar, before(fy_start)),
            self.sums_through(&client, tenant_id, calendar, end),
        )?;
        Ok([a, b, c])
    }

    /// Per-tax-code sums of `start..=end` by booking date (Soll-Versteuerung), and the
    /// movement of the VAT accounts of `codes` over the range.
    pub async fn tax_code_sums(
        &self,
        tenant_id: Uuid,
        start: NaiveDate,
        end: NaiveDate,
        codes: &[String],
    ) -> Result<(Vec<TaxCodeSums>, Decimal), StoreError> {
        let client = self.read_client(crate::ReadRoute::Reports).await?;
        let p3: [&(dyn tokio_postgres::types::ToSql + Sync); 3] = [&tenant_id, &start, &end];
        let p4: [&(dyn tokio_postgres::types::ToSql + Sync); 4] =
            [&tenant_id, &start, &end, &codes];
        let (rows, movement) = futures_util::try_join!(
            client.query(TAX_CODE_SUMS_SQL, &p3),
            client.query_one(VAT_MOVEMENT_SQL, &p4),
        )?;
        Ok((
            rows.iter().map(tax_sums_from_row).collect(),
            movement.get(0),
        ))
    }

    /// Ist-Versteuerung (§ 20 UStG) of the sales codes `sales`: what their lines count in
    /// `start..=end` when revenue counts on payment (see `IST_PAID_SQL`, `IST_OTHER_SQL`),
    /// rounded to cents per code.
    pub async fn tax_code_sums_paid(
        &self,
        tenant_id: Uuid,
        start: NaiveDate,
        end: NaiveDate,
        sales: &[String],
    ) -> Result<Vec<TaxCodeSums>, StoreError> {
        let client = self.read_client(crate::ReadRoute::Reports).await?;
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 4] =
            [&tenant_id, &start, &end, &sales];
        let (paid, other) = futures_util::try_join!(
            client.query(IST_PAID_SQL, &params),
            client.query(IST_OTHER_SQL, &params),
        )?;
        let mut by_code: HashMap<String, TaxCodeSums> = HashMap::new();
        for r in &paid {
            let code: String = r.get(0);
            let s = by_code.entry(code.clone()).or_insert_with(|| zero(code));
            s.base += r.get::<_, Decimal>(1).round_dp(2);
            s.tax += r.get::<_, Decimal>(2).round_dp(2);
        }
        for r in &other {
            let o = tax_sums_from_row(r);
            let s = by_code
                .entry(o.code.clone())
                .or_insert_with(|| zero(o.code.clone()));
            s.base += o.base;
            s.tax += o.tax;
            s.self_assessed += o.self_assessed;
        }
        let mut out: Vec<TaxCodeSums> = by_code.into_values().collect();
        out.sort_by(|a, b| a.code.cmp(&b.code));
        Ok(out)
    }

    /// Debit-positive movements of the revenue and of the expense accounts per period of a
    /// fiscal year: `(period number, revenue, expenses)`.
    pub async fn monthly_movements(
        &self,
        tenant_id: Uuid,
        fiscal_year: i32,
    ) -> Result<Vec<(u32, Decimal, Decimal)>, StoreError> {
        let client = self.read_client(crate::ReadRoute::Reports).await?;
        let pattern = format!("{fiscal_year:04}-%");
        let rows = client.query(MONTHLY_SQL, &[&tenant_id, &pattern]).await?;
        let mut by_period: HashMap<u32, (Decimal, Decimal)> = HashMap::new();
        for r in &rows {
            let period: String = r.get(0);
            let Some(n) = period.get(5..).and_then(|p| p.parse::<u32>().ok()) else {
                return Err(StoreError::Internal(format!("stored period {period:?}")));
            };
            let e = by_period.entry(n).or_default();
            match r.get::<_, &str>(1) {
                "revenue" => e.0 += r.get::<_, Decimal>(2),
                _ => e.1 += r.get::<_, Decimal>(2),
            }
        }
        Ok(by_period.into_iter().map(|(n, (r, e))| (n, r, e)).collect())
    }

    /// The ids of the locked periods (`YYYY-PP`).
    pub async fn locked_periods(&self, tenant_id: Uuid) -> Result<HashSet<String>, StoreError> {
        let client = self.read_client(crate::ReadRoute::Exports).await?;
        let rows = client
            .query(
                "SELECT period FROM period_states WHERE tenant_id = $1 AND status = 'locked'",
                &[&tenant_id],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// The first booking of the range whose debits reach `limit` (DATEV's Umsatz has ten
    /// integer digits; no row of a booking is larger than its total).
    pub async fn booking_reaching(
        &self,
        tenant_id: Uuid,
        start: NaiveDate,
        end: NaiveDate,
        limit: Decimal,
    ) -> Result<Option<(Uuid, Decimal)>, StoreError> {
        let client = self.read_client(crate::ReadRoute::Exports).await?;
        let row = client
            .query_opt(
                "SELECT intent_id, greatest(abs(total_debit), abs(total_credit)) FROM intents
                  WHERE tenant_id = $1 AND booking_date >= $2 AND booking_date <= $3
                    AND greatest(abs(total_debit), abs(total_credit)) >= $4
                  ORDER BY booking_date, first_seq LIMIT 1",
                &[&tenant_id, &start, &end, &limit],
            )
            .await?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    /// Streams the journal lines of `start..=end` in (booking_date, seq) order to `each`, a
    /// batch of `batch` rows at a time through a portal: memory stays at one batch. Runs in a
    /// read-only `REPEATABLE READ` transaction, so the lines are one consistent state.
    pub async fn stream_lines<F, E>(
        &self,
        tenant_id: Uuid,
        start: NaiveDate,
        end: NaiveDate,
        batch: i32,
        mut each: F,
    ) -> Result<u64, E>
    where
        F: FnMut(Vec<ExportLine>) -> Result<(), E>,
        E: From<StoreError>,
    {
        let mut client = self.read_client(crate::ReadRoute::Exports).await?;
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(StoreError::from)?;
        // A long scan makes the planner JIT-compile the query, which costs more than it saves
        // on a stream that is read in batches. An export of a long range may take longer than
        // an interactive statement may: no statement timeout for this transaction.
        tx.batch_execute("SET LOCAL jit = off; SET LOCAL statement_timeout = 0")
            .await
            .map_err(StoreError::from)?;
        let sql = lines_sql();
        let portal = tx
            .bind(sql.as_str(), &[&tenant_id, &start, &end])
            .await
            .map_err(StoreError::from)?;
        let mut count = 0u64;
        loop {
            let rows = tx
                .query_portal(&portal, batch)
                .await
                .map_err(StoreError::from)?;
            if rows.is_empty() {
                break;
            }
            count += rows.len() as u64;
            let lines = rows
                .iter()
                .map(|r| {
                    Ok(ExportLine {
                        entry: entry_from_row(r)?,
                        tax_rate: r.get("tax_rate"),
                        document_id: r.get("document_id"),
                        invoice_number: r.get("invoice_number"),
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            each(lines)?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(count)
    }

    /// The partners with their personal accounts, in account order, for the Debitoren/
    /// Kreditoren file.
    pub async fn export_partners(&self, tenant_id: Uuid) -> Result<Vec<ExportPartner>, StoreError> {
        let client = self.read_client(crate::ReadRoute::Exports).await?;
        let rows = client
            .query(
                "SELECT account_number, kind, name, tax_id, vat_id, iban, bic,
                        address->>'street' AS street, address->>'postal_code' AS postal_code,
                        address->>'city' AS city, address->>'country' AS country
                   FROM partners WHERE tenant_id = $1 ORDER BY account_number",
                &[&tenant_id],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| ExportPartner {
                account_number: r.get("account_number"),
                kind: r.get("kind"),
                name: r.get("name"),
                tax_id: r.get("tax_id"),
                vat_id: r.get("vat_id"),
                iban: r.get("iban"),
                bic: r.get("bic"),
                street: r.get("street"),
                postal_code: r.get("postal_code"),
                city: r.get("city"),
                country: r.get("country"),
            })
            .collect())
    }

    /// The lines of one account (with its personal accounts, when it is a collective account)
    /// in `start..=end`, oldest first, and its balance before `start`.
    pub async fn statement_lines(
        &self,
        tenant_id: Uuid,
        number: &str,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Result<(Decimal, Vec<crate::journal::JournalEntry>), StoreError> {
        self.get_account(tenant_id, number).await?;
        let client = self.read_client(crate::ReadRoute::Reports).await?;
        let before = start.pred_opt().expect("dates start at 1900");
        let opening = self
            .account_balance_through(&client, tenant_id, number, Some(before))
            .await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {ENTRY_COLUMNS} FROM entries
                      WHERE tenant_id = $1
                        AND account IN (SELECT $2::text UNION ALL
                                        SELECT r.number FROM accounts r WHERE r.tenant_id = $1 AND r.collective_account = $2)
                        AND booking_date >= $3 AND booking_date <= $4
                      ORDER BY booking_date, seq"
                ),
                &[&tenant_id, &number, &start, &end],
            )
            .await?;
        let lines = rows.iter().map(entry_from_row).collect::<Result<_, _>>()?;
        Ok((opening, lines))
    }

    /// The balance of an account (rolled up) at the end of `d`, on a connection of its own.
    pub async fn balance_at(
        &self,
        tenant_id: Uuid,
        number: &str,
        d: NaiveDate,
    ) -> Result<Decimal, StoreError> {
        let client = self.read_client(crate::ReadRoute::Reports).await?;
        self.account_balance_through(&client, tenant_id, number, Some(d))
            .await
    }
}

fn zero(code: String) -> TaxCodeSums {
    TaxCodeSums {
        code,
        base: Decimal::ZERO,
        tax: Decimal::ZERO,
        self_assessed: Decimal::ZERO,
    }
}

fn tax_sums_from_row(r: &tokio_postgres::Row) -> TaxCodeSums {
    TaxCodeSums {
        code: r.get(0),
        base: r.get(1),
        tax: r.get(2),
        self_assessed: r.get(3),
    }
}

#[cfg(test)]
mod tests {
    use super::{whole_months_before, Cut};
    use chrono::{Datelike, NaiveDate};
    use journal::FiscalCalendar;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_month_end_makes_the_month_whole() {
        assert_eq!(whole_months_before(d("2026-03-31")), d("2026-04-01"));
        assert_eq!(whole_months_before(d("2026-02-28")), d("2026-03-01"));
        assert_eq!(whole_months_before(d("2024-02-28")), d("2024-02-01"));
        assert_eq!(whole_months_before(d("2026-03-30")), d("2026-03-01"));
        assert_eq!(whole_months_before(d("2026-12-31")), d("2027-01-01"));
        assert_eq!(whole_months_before(d("2026-01-01")), d("2026-01-01"));
    }

    #[test]
    fn the_cut_adds_period_13_until_the_fiscal_year_is_whole() {
        let calendar = FiscalCalendar::new(1).unwrap();
        let cut = |s: &str| Cut::of(&calendar, d(s));
        assert_eq!(
            cut("2026-06-17"),
            Cut {
                cut: d("2026-06-01"),
                adjustment: "2026-13".into(),
                add_adjustment: true
            }
        );
        assert_eq!(cut("2026-06-30").cut, d("2026-07-01"));
        assert!(cut("2026-06-30").add_adjustment);
        // December 1..30: period 13's row (on December) is not before the cut yet.
        assert!(cut("2026-12-30").add_adjustment);
        assert_eq!(cut("2026-12-30").cut, d("2026-12-01"));
        // The year's last day: period 13's row is before the cut, nothing is added.
        assert!(!cut("2026-12-31").add_adjustment);
        assert_eq!(cut("2026-12-31").cut, d("2027-01-01"));
        assert_eq!(cut("2027-01-01").adjustment, "2027-13");
        // A fiscal year from July: 2026-06-30 ends fiscal year 2025.
        let july = FiscalCalendar::new(7).unwrap();
        let c = Cut::of(&july, d("2026-06-30"));
        assert_eq!(
            (c.cut, c.adjustment.as_str(), c.add_adjustment),
            (d("2026-07-01"), "2025-13", false)
        );
        let c = Cut::of(&july, d("2026-06-29"));
        assert_eq!(
            (c.cut, c.adjustment.as_str(), c.add_adjustment),
            (d("2026-06-01"), "2025-13", true)
        );
        // The last representable month does not panic.
        let last = NaiveDate::MAX;
        assert_eq!(Cut::of(&calendar, last).cut, last.with_day(1).unwrap());
    }
}
