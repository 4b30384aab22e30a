//! Reports and the DATEV export. `store` aggregates (per-account sums from the balance
//! projection, per-tax-code sums) or streams the journal lines; the `reports` crate computes the
//! reports and writes the DATEV files; this module joins the two with the tenant's settings.

use crate::{App, AppError, AppResult};
use chrono::NaiveDate;
use journal::{Currency, FiscalCalendar, JournalLine};
use receivables::Direction;
use reports::{
    AccountSums, DatevFacts, DatevIntent, DatevPartner, DatevSettings, MonthRow, PeriodMovement,
    Report, RowType, StatementRow, TrialBalanceRow, VatCodeSums, VatFacts, VatMethod, VatRow,
};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Seek, Write};
use store::reports::{ExportLine, ExportPartner, Sums};
use store::StoreError;
use uuid::Uuid;

/// How many journal lines the export reads per round trip.
pub const EXPORT_BATCH: i32 = 5_000;

/// DATEV's Umsatz holds ten integer digits.
pub const DATEV_AMOUNT_LIMIT: i64 = 10_000_000_000;

/// A date range of a report, `start..=end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl Range {
    /// 400 `invalid_date_range` when `start` is after `end`.
    pub fn new(start: NaiveDate, end: NaiveDate) -> AppResult<Range> {
        if start > end {
            return Err(AppError::invalid(
                "invalid_date_range",
                "startDate must not be after endDate",
                Some("endDate"),
            ));
        }
        Ok(Range { start, end })
    }
}

/// A row of the open-items report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenItemRow {
    pub row_type: RowType,
    /// `receivable` or `payable`; empty on the totals row.
    pub side: String,
    pub invoice_id: Option<Uuid>,
    pub invoice_number: Option<String>,
    pub invoice_type: Option<String>,
    pub partner_name: Option<String>,
    /// The partner's personal account.
    pub account: Option<String>,
    pub invoice_date: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    pub days_overdue: Option<i64>,
    pub aging_bucket: Option<String>,
    pub currency: Option<String>,
    pub total_gross: Decimal,
    /// What is left, signed: a credit note negative.
    pub remaining_amount: Decimal,
    /// Totals row: receivables left less payables left.
    pub receivables: Decimal,
    pub payables: Decimal,
}

/// A row of an account statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementLine {
    pub row_type: RowType,
    pub booking_date: Option<NaiveDate>,
    pub intent_id: Option<Uuid>,
    pub seq: Option<i64>,
    pub account: String,
    pub description: String,
    pub external_reference: Option<String>,
    pub tax_code: Option<String>,
    pub debit: Decimal,
    pub credit: Decimal,
    /// Debit-positive running balance after the row.
    pub balance: Decimal,
}

/// The monthly figures of a fiscal year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Monthly {
    pub fiscal_year: i32,
    pub months: Vec<MonthRow>,
    /// Year-end adjustments (period 13): revenue, expenses, result.
    pub adjustments: MonthRow,
}

/// What `?format=` of the DATEV export asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatevFormat {
    /// The Buchungsstapel (CSV).
    Bookings,
    /// The Debitoren/Kreditoren file (CSV).
    Partners,
    /// Both, in one ZIP.
    Zip,
}

/// A written export: an unnamed temporary file, rewound, and how to present it.
#[derive(Debug)]
pub struct DatevExport {
    pub file: std::fs::File,
    pub len: u64,
    pub file_name: String,
    pub content_type: &'static str,
    /// Buchungsstapel rows written (0 for the partner file).
    pub rows: u64,
}

fn sums_of(map: &HashMap<String, Sums>, account: &str) -> Sums {
    map.get(account).copied().unwrap_or_default()
}

fn io(e: std::io::Error) -> AppError {
    AppError::Store(StoreError::Internal(format!("writing the export: {e}")))
}

fn export_error(e: reports::ExportError) -> AppError {
    match e {
        reports::ExportError::Rule(r) => AppError::Datev(r),
        reports::ExportError::Io(e) => io(e),
    }
}

impl App {
    /// The tenant's fiscal calendar as the settings hold it now.
    async fn calendar(&self, tenant_id: Uuid) -> AppResult<(reports::Settings, FiscalCalendar)> {
        let settings = self.report_settings(tenant_id).await?;
        let calendar = FiscalCalendar::new(settings.fiscal_year_start_month).ok_or_else(|| {
            AppError::Store(StoreError::Internal("stored fiscal year start".into()))
        })?;
        Ok((settings, calendar))
    }

    /// Every account with its sums for the range: opening balance (before the fiscal year of
    /// `end`), the range's and the year-to-date debits and credits.
    pub async fn account_sums(&self, tenant_id: Uuid, range: Range) -> AppResult<Vec<AccountSums>> {
        let (_, calendar) = self.calendar(tenant_id).await?;
        let accounts = self.store().report_accounts(tenant_id).await?;
        let [before_start, before_year, through_end] = self
            .store()
            .range_sums(tenant_id, &calendar, range.start, range.end)
            .await?;
        Ok(accounts
            .into_iter()
            .map(|a| {
                let (s, y, e) = (
                    sums_of(&before_start, &a.number),
                    sums_of(&before_year, &a.number),
                    sums_of(&through_end, &a.number),
                );
                let period = e.minus(&s);
                let ytd = e.minus(&y);
                AccountSums {
                    number: a.number,
                    name: a.name,
                    account_type: a.account_type,
                    report_group: a.report_group,
                    collective_account: a.collective_account,
                    opening: y.net(),
                    period_debit: period.debit,
                    period_credit: period.credit,
                    ytd_debit: ytd.debit,
                    ytd_credit: ytd.credit,
                }
            })
            .collect())
    }

    /// The Summen- und Saldenliste.
    pub async fn trial_balance(
        &self,
        tenant_id: Uuid,
        range: Range,
    ) -> AppResult<Report<TrialBalanceRow>> {
        let sums = self.account_sums(tenant_id, range).await?;
        Ok(reports::trial_balance(&sums)?)
    }

    async fn labels(&self, tenant_id: Uuid) -> AppResult<BTreeMap<String, String>> {
        let settings = self.report_settings(tenant_id).await?;
        Ok(store::tenants::chart(&settings.chart)
            .map(|c| c.report_groups)
            .unwrap_or_default())
    }

    /// The P&L of the range (HGB §275, profit positive). Balanced when the year-to-date P&L
    /// result at `end` equals the balance sheet's result and the balance sheet balances.
    pub async fn profit_and_loss(
        &self,
        tenant_id: Uuid,
        range: Range,
    ) -> AppResult<Report<StatementRow>> {
        let sums = self.account_sums(tenant_id, range).await?;
        let labels = self.labels(tenant_id).await?;
        let (ytd, _) = reports::financial_statements(&sums, &labels)?;
        let mut pl = reports::profit_and_loss(&sums, &labels, reports::Span::Period)?;
        pl.balanced = ytd.balanced;
        Ok(pl)
    }

    /// The balance sheet at `end` (HGB §266, liabilities positive).
    pub async fn balance_sheet(
        &self,
        tenant_id: Uuid,
        range: Range,
    ) -> AppResult<Report<StatementRow>> {
        let sums = self.account_sums(tenant_id, range).await?;
        let labels = self.labels(tenant_id).await?;
        let (_, bs) = reports::financial_statements(&sums, &labels)?;
        Ok(bs)
    }

    /// The UStVA of the range, by the tax codes' Kennzahlen. Soll-Versteuerung by booking date;
    /// with `vat_method: ist` the sales codes count on payment. Balanced (Soll) when Kennzahl 83
    /// equals what the VAT accounts of those codes owe; under Ist, when the purchase side's
    /// input tax equals its VAT accounts' movement (the sales side's accounts still hold the tax
    /// of unpaid invoices).
    pub async fn vat_return(&self, tenant_id: Uuid, range: Range) -> AppResult<Report<VatRow>> {
        let settings = self.report_settings(tenant_id).await?;
        let codes = self.store().list_tax_codes(tenant_id, true).await?;
        let facts: HashMap<String, VatFacts> = codes
            .iter()
            .filter_map(|c| Some((c.code.clone(), reports::vat_facts(&to_facts(&c.facts))?)))
            .collect();
        let side_codes = |side: reports::VatSide| -> Vec<String> {
            facts
                .iter()
                .filter(|(_, f)| f.side == side)
                .map(|(c, _)| c.clone())
                .collect()
        };
        let (sales, purchases) = (
            side_codes(reports::VatSide::Sales),
            side_codes(reports::VatSide::Purchase),
        );
        let all: Vec<String> = facts.keys().cloned().collect();
        let (soll, movement) = self
            .store()
            .tax_code_sums(tenant_id, range.start, range.end, &all)
            .await?;
        let mut sums: Vec<VatCodeSums> = soll
            .into_iter()
            .filter(|s| facts.contains_key(&s.code))
            .filter(|s| settings.vat_method == VatMethod::Soll || purchases.contains(&s.code))
            .map(vat_sums)
            .collect();
        let mut check = movement;
        if settings.vat_method == VatMethod::Ist {
            let paid = self
                .store()
                .tax_code_sums_paid(tenant_id, range.start, range.end, &sales)
                .await?;
            sums.extend(paid.into_iter().map(vat_sums));
            let (_, purchase_movement) = self
                .store()
                .tax_code_sums(tenant_id, range.start, range.end, &purchases)
                .await?;
            check = purchase_movement;
        }
        sums.sort_by(|a, b| a.code.cmp(&b.code));
        let mut report = reports::vat_return(&sums, &facts, check)?;
        if settings.vat_method == VatMethod::Ist {
            let deductible: Decimal = report
                .rows
                .iter()
                .filter(|r| r.kind == reports::KennzahlKind::InputTax)
                .map(|r| r.amount)
                .sum();
            let purchase_owed: Decimal = sums
                .iter()
                .filter(|s| purchases.contains(&s.code))
                .map(|s| -s.self_assessed)
                .sum();
            report.balanced = purchase_owed - deductible == -check;
        }
        Ok(report)
    }

    /// Open receivables and payables at the end of `end`, aged against `end`. Balanced when
    /// the receivables left equal the balances of the customers' personal accounts and the
    /// payables left the (credit) balances of the vendors' (nothing booked on them by hand).
    pub async fn open_items_report(
        &self,
        tenant_id: Uuid,
        range: Range,
    ) -> AppResult<Report<OpenItemRow>> {
        let filter = store::invoices::OpenItemFilter {
            as_of: Some(range.end),
            limit: i64::MAX,
            ..Default::default()
        };
        let mut rows = Vec::new();
        let (mut receivables, mut payables) = (Decimal::ZERO, Decimal::ZERO);
        for (direction, side) in [
            (Direction::Outgoing, "receivable"),
            (Direction::Incoming, "payable"),
        ] {
            let (items, _, _) = self
                .store()
                .open_items(tenant_id, direction, &filter, range.end)
                .await?;
            for item in items {
                let inv = &item.invoice;
                let remaining = inv.signed_remaining();
                match direction {
                    Direction::Outgoing => receivables += remaining,
                    Direction::Incoming => payables += remaining,
                }
                rows.push(OpenItemRow {
                    row_type: RowType::Item,
                    side: side.into(),
                    invoice_id: Some(inv.id),
                    invoice_number: Some(inv.invoice_number.clone()),
                    invoice_type: Some(inv.invoice_type.as_str().into()),
                    partner_name: Some(inv.partner_name.clone()),
                    account: Some(inv.account_number.clone()),
                    invoice_date: Some(inv.invoice_date),
                    due_date: inv.due_date,
                    days_overdue: Some(item.days_overdue),
                    aging_bucket: Some(item.aging_bucket.as_str().into()),
                    currency: Some(inv.currency.clone()),
                    total_gross: inv.total_gross,
                    remaining_amount: remaining,
                    receivables: Decimal::ZERO,
                    payables: Decimal::ZERO,
                });
            }
        }
        let sums = self.account_sums(tenant_id, range).await?;
        let closing: HashMap<&str, Decimal> = sums
            .iter()
            .map(|s| (s.number.as_str(), s.closing()))
            .collect();
        let partners = self.store().export_partners(tenant_id).await?;
        let (mut customers_balance, mut vendors_balance) = (Decimal::ZERO, Decimal::ZERO);
        for p in &partners {
            let c = closing
                .get(p.account_number.as_str())
                .copied()
                .unwrap_or_default();
            if p.kind == "customer" {
                customers_balance += c;
            } else {
                vendors_balance -= c;
            }
        }
        let balanced = receivables == customers_balance && payables == vendors_balance;
        Ok(Report {
            rows,
            totals: OpenItemRow {
                row_type: RowType::Total,
                side: String::new(),
                invoice_id: None,
                invoice_number: None,
                invoice_type: None,
                partner_name: None,
                account: None,
                invoice_date: None,
                due_date: None,
                days_overdue: None,
                aging_bucket: None,
                currency: None,
                total_gross: Decimal::ZERO,
                remaining_amount: receivables - payables,
                receivables,
                payables,
            },
            balanced,
        })
    }

    /// The lines of an account (a collective account with its personal accounts) in the range,
    /// with the balance before and a running balance. Balanced when the opening balance plus
    /// the lines equals the account's balance at `end` read from the balance projection.
    pub async fn account_statement(
        &self,
        tenant_id: Uuid,
        account: &str,
        range: Range,
    ) -> AppResult<Report<StatementLine>> {
        let (opening, lines) = self
            .store()
            .statement_lines(tenant_id, account, range.start, range.end)
            .await?;
        let closing = self
            .store()
            .balance_at(tenant_id, account, range.end)
            .await?;
        let mut balance = opening;
        let mut rows = Vec::with_capacity(lines.len() + 1);
        rows.push(StatementLine {
            row_type: RowType::Opening,
            booking_date: range.start.pred_opt(),
            intent_id: None,
            seq: None,
            account: account.to_string(),
            description: "Anfangsbestand".into(),
            external_reference: None,
            tax_code: None,
            debit: Decimal::ZERO,
            credit: Decimal::ZERO,
            balance,
        });
        let (mut debit, mut credit) = (Decimal::ZERO, Decimal::ZERO);
        for e in lines {
            balance += e.debit - e.credit;
            debit += e.debit;
            credit += e.credit;
            rows.push(StatementLine {
                row_type: RowType::Entry,
                booking_date: Some(e.booking_date),
                intent_id: Some(e.intent_id),
                seq: Some(e.seq),
                account: e.account,
                description: e.line_description.unwrap_or(e.description),
                external_reference: e.external_reference,
                tax_code: e.tax_code,
                debit: e.debit,
                credit: e.credit,
                balance,
            });
        }
        Ok(Report {
            rows,
            totals: StatementLine {
                row_type: RowType::Total,
                booking_date: Some(range.end),
                intent_id: None,
                seq: None,
                account: account.to_string(),
                description: "Endbestand".into(),
                external_reference: None,
                tax_code: None,
                debit,
                credit,
                balance,
            },
            balanced: balance == closing,
        })
    }

    /// Revenue, expenses and result of each period of `fiscal_year` (default: the fiscal year
    /// of today).
    pub async fn monthly_revenue_expenses(
        &self,
        tenant_id: Uuid,
        fiscal_year: Option<i32>,
    ) -> AppResult<Monthly> {
        let (_, calendar) = self.calendar(tenant_id).await?;
        let fy = fiscal_year.unwrap_or_else(|| calendar.fiscal_year_of(self.today()));
        if !(1900..=2199).contains(&fy) {
            return Err(AppError::invalid(
                "invalid_fiscal_year",
                "fiscal_year must be 1900 to 2199",
                Some("fiscal_year"),
            ));
        }
        let movements: HashMap<u32, PeriodMovement> = self
            .store()
            .monthly_movements(tenant_id, fy)
            .await?
            .into_iter()
            .map(|(n, revenue, expenses)| (n, PeriodMovement { revenue, expenses }))
            .collect();
        let (months, adjustment) = reports::monthly_revenue_expenses(&calendar, fy, &movements);
        let (start, end) = calendar
            .checked_bounds(journal::PeriodId {
                fiscal_year: fy,
                number: 13,
            })
            .ok_or_else(|| AppError::invalid("invalid_fiscal_year", "fiscal_year", None))?;
        let revenue = -adjustment.revenue;
        Ok(Monthly {
            fiscal_year: fy,
            months,
            adjustments: MonthRow {
                period: format!("{fy:04}-13"),
                fiscal_year: fy,
                period_number: 13,
                start_date: start,
                end_date: end,
                revenue,
                expenses: adjustment.expenses,
                result: revenue - adjustment.expenses,
            },
        })
    }

    /// The DATEV settings of an export of `range`, checked (400 before anything is written).
    async fn datev_settings(&self, tenant_id: Uuid, range: Range) -> AppResult<DatevSettings> {
        let (settings, calendar) = self.calendar(tenant_id).await?;
        let locked = self.store().locked_periods(tenant_id).await?;
        let all_locked = range_periods(&calendar, range)
            .iter()
            .all(|p| locked.contains(p));
        let s = DatevSettings {
            consultant_number: settings.datev_consultant_number.unwrap_or(0),
            client_number: settings.datev_client_number.unwrap_or(0),
            account_length: settings.account_length,
            calendar,
            chart: match settings.chart.as_str() {
                "skr04" => "04".into(),
                _ => "03".into(),
            },
            currency: settings.base_currency,
            date_from: range.start,
            date_to: range.end,
            description: format!(
                "Buchungen {}-{}",
                range.start.format("%Y%m%d"),
                range.end.format("%Y%m%d")
            ),
            dictation_code: String::new(),
            locked: all_locked,
            created_at: self.now().naive_utc(),
        };
        s.check()?;
        Ok(s)
    }

    /// The DATEV export of `range` into an unnamed temporary file: every rule is checked and
    /// every row converted before the caller sends a byte, so a refusal is a clean 400; memory
    /// stays at one batch of lines however long the range.
    pub async fn datev_export(
        &self,
        tenant_id: Uuid,
        range: Range,
        format: DatevFormat,
    ) -> AppResult<DatevExport> {
        let settings = self.datev_settings(tenant_id, range).await?;
        let stem = format!(
            "{}_{}_{}_{}",
            settings.consultant_number,
            settings.client_number,
            range.start.format("%Y%m%d"),
            range.end.format("%Y%m%d")
        );
        let mut file = tempfile::tempfile().map_err(io)?;
        let rows = match format {
            DatevFormat::Bookings => {
                let out = std::io::BufWriter::with_capacity(1 << 16, &mut file);
                let (rows, mut out) = self
                    .write_bookings(tenant_id, range, &settings, out)
                    .await?;
                out.flush().map_err(io)?;
                rows
            }
            DatevFormat::Partners => {
                let out = std::io::BufWriter::with_capacity(1 << 16, &mut file);
                self.write_partner_file(tenant_id, &settings, out).await?;
                0
            }
            DatevFormat::Zip => {
                let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(&mut file));
                let options = zip::write::SimpleFileOptions::default()
                    .compression_method(zip::CompressionMethod::Deflated);
                zip.start_file(format!("EXTF_Buchungsstapel_{stem}.csv"), options)
                    .map_err(|e| io(e.into()))?;
                let (rows, zip_back) = self
                    .write_bookings(tenant_id, range, &settings, zip)
                    .await?;
                let mut zip = zip_back;
                zip.start_file(format!("EXTF_Debitoren_Kreditoren_{stem}.csv"), options)
                    .map_err(|e| io(e.into()))?;
                let zip = self.write_partner_file(tenant_id, &settings, zip).await?;
                let mut out = zip.finish().map_err(|e| io(e.into()))?;
                out.flush().map_err(io)?;
                rows
            }
        };
        let len = file.seek(std::io::SeekFrom::End(0)).map_err(io)?;
        file.rewind().map_err(io)?;
        let (file_name, content_type) = match format {
            DatevFormat::Bookings => (
                format!("EXTF_Buchungsstapel_{stem}.csv"),
                "text/csv; charset=windows-1252",
            ),
            DatevFormat::Partners => (
                format!("EXTF_Debitoren_Kreditoren_{stem}.csv"),
                "text/csv; charset=windows-1252",
            ),
            DatevFormat::Zip => (format!("DATEV_{stem}.zip"), "application/zip"),
        };
        Ok(DatevExport {
            file,
            len,
            file_name,
            content_type,
            rows,
        })
    }

    /// Writes the Buchungsstapel of `range` to `out`; returns the rows written and `out`.
    pub async fn write_bookings<W: Write>(
        &self,
        tenant_id: Uuid,
        range: Range,
        settings: &DatevSettings,
        out: W,
    ) -> AppResult<(u64, W)> {
        let limit = Decimal::from(DATEV_AMOUNT_LIMIT);
        if let Some((intent, amount)) = self
            .store()
            .booking_reaching(tenant_id, range.start, range.end, limit)
            .await?
        {
            return Err(reports::DatevError::AmountTooLarge {
                booking: intent.to_string(),
                column: "Umsatz",
                amount: amount.to_string(),
            }
            .into());
        }
        let facts = self.datev_facts(tenant_id).await?;
        let locked = self.store().locked_periods(tenant_id).await?;
        let mut writer = reports::BuchungsstapelWriter::new(out, settings).map_err(export_error)?;
        let mut pending: Option<DatevIntent> = None;
        self.store()
            .stream_lines(tenant_id, range.start, range.end, EXPORT_BATCH, |batch| {
                for line in batch {
                    let id = line.entry.intent_id.to_string();
                    let intent = match pending.take() {
                        Some(intent) if intent.booking == id => intent,
                        Some(done) => {
                            write_intent(&mut writer, &done, &facts)?;
                            new_intent(&line, &locked)
                        }
                        None => new_intent(&line, &locked),
                    };
                    let intent = pending.insert(intent);
                    intent.lines.push(journal_line(&line)?);
                }
                Ok::<(), AppError>(())
            })
            .await?;
        if let Some(intent) = pending.take() {
            write_intent(&mut writer, &intent, &facts)?;
        }
        let rows = writer.rows_written();
        Ok((rows, writer.finish().map_err(export_error)?))
    }

    async fn write_partner_file<W: Write>(
        &self,
        tenant_id: Uuid,
        settings: &DatevSettings,
        mut out: W,
    ) -> AppResult<W> {
        let partners = self.store().export_partners(tenant_id).await?;
        reports::write_partners(&mut out, settings, partners.into_iter().map(datev_partner))
            .map_err(export_error)?;
        Ok(out)
    }

    /// The BU-Schlüssel of the tax codes and the automatic accounts.
    async fn datev_facts(&self, tenant_id: Uuid) -> AppResult<DatevFacts> {
        let codes = self.store().list_tax_codes(tenant_id, true).await?;
        let accounts = self.store().report_accounts(tenant_id).await?;
        Ok(DatevFacts {
            bu_keys: codes
                .into_iter()
                .filter_map(|c| Some((c.code, c.facts.datev_bu_key?)))
                .collect(),
            automatic_accounts: accounts
                .into_iter()
                .filter(|a| a.datev_automatic)
                .map(|a| a.number)
                .collect(),
            cancel_automatic_key: Some(CANCEL_AUTOMATIC_KEY.into()),
        })
    }
}

/// A change of a tax code's VAT-return and DATEV facts: an absent field keeps its value, `null`
/// (`Some(None)`) clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FactsChange {
    pub vat_side: Option<Option<String>>,
    pub base_kennzahl: Option<Option<String>>,
    pub tax_kennzahl: Option<Option<String>>,
    pub input_tax_kennzahl: Option<Option<String>>,
    pub datev_bu_key: Option<Option<String>>,
}

impl FactsChange {
    pub fn is_empty(&self) -> bool {
        *self == FactsChange::default()
    }

    fn apply(&self, mut f: reports::TaxCodeFacts) -> reports::TaxCodeFacts {
        let set = |field: &mut Option<String>, v: &Option<Option<String>>| {
            if let Some(v) = v {
                *field = v.clone();
            }
        };
        set(&mut f.vat_side, &self.vat_side);
        set(&mut f.base_kennzahl, &self.base_kennzahl);
        set(&mut f.tax_kennzahl, &self.tax_kennzahl);
        set(&mut f.input_tax_kennzahl, &self.input_tax_kennzahl);
        set(&mut f.datev_bu_key, &self.datev_bu_key);
        f
    }
}

impl App {
    /// `PATCH /v1/tax-codes/{code}` with facts: the tax code's change and its facts' change in
    /// one transaction (`reports::check_facts` decides the facts).
    pub async fn update_tax_code_and_facts(
        &self,
        tenant_id: Uuid,
        code: &str,
        change: journal::master_data::TaxCodeChange,
        facts: FactsChange,
    ) -> AppResult<store::tax_codes::TaxCodeRecord> {
        self.in_transaction(async |tx| {
            let record = self
                .update_tax_code_in_tx(tx, tenant_id, code, &change)
                .await?;
            if facts.is_empty() {
                return Ok(record);
            }
            let next = facts.apply(to_facts(&record.facts));
            reports::check_facts(&next)?;
            let stored = store::tax_codes::TaxCodeFacts {
                vat_side: next.vat_side,
                base_kennzahl: next.base_kennzahl,
                tax_kennzahl: next.tax_kennzahl,
                input_tax_kennzahl: next.input_tax_kennzahl,
                datev_bu_key: next.datev_bu_key,
            };
            Ok(store::tax_codes::write_tax_code_facts(tx, tenant_id, code, &stored).await?)
        })
        .await
    }
}

/// DATEV's Berichtigungsschlüssel 4 with tax key 0: "Aufhebung der Automatik".
pub const CANCEL_AUTOMATIC_KEY: &str = "40";

fn to_facts(f: &store::tax_codes::TaxCodeFacts) -> reports::TaxCodeFacts {
    reports::TaxCodeFacts {
        vat_side: f.vat_side.clone(),
        base_kennzahl: f.base_kennzahl.clone(),
        tax_kennzahl: f.tax_kennzahl.clone(),
        input_tax_kennzahl: f.input_tax_kennzahl.clone(),
        datev_bu_key: f.datev_bu_key.clone(),
    }
}

fn vat_sums(s: store::reports::TaxCodeSums) -> VatCodeSums {
    VatCodeSums {
        code: s.code,
        base: s.base,
        tax: s.tax,
        self_assessed: s.self_assessed,
    }
}

/// The regular periods (`YYYY-PP`) a range touches.
fn range_periods(calendar: &FiscalCalendar, range: Range) -> Vec<String> {
    let mut out = Vec::new();
    let mut p = calendar.period_of(range.start);
    let last = calendar.period_of(range.end);
    loop {
        out.push(p.to_string());
        if p == last {
            break;
        }
        match p.next_regular() {
            Some(n) => p = n,
            None => break,
        }
    }
    out
}

fn new_intent(line: &ExportLine, locked: &HashSet<String>) -> DatevIntent {
    let e = &line.entry;
    DatevIntent {
        booking: e.intent_id.to_string(),
        date: e.booking_date,
        document_number: line
            .invoice_number
            .clone()
            .or_else(|| e.external_reference.clone()),
        description: Some(e.description.clone()).filter(|d| !d.is_empty()),
        document_link: line
            .document_id
            .map(|id| format!("/v1/documents/{id}/file")),
        locked: locked.contains(&e.period),
        lines: Vec::new(),
    }
}

fn journal_line(line: &ExportLine) -> AppResult<JournalLine> {
    let e = &line.entry;
    let currency = Currency::from_code(&e.currency).map_err(|err| {
        AppError::Store(StoreError::Internal(format!(
            "stored currency {:?}: {err}",
            e.currency
        )))
    })?;
    Ok(JournalLine {
        account: e.account.clone(),
        side: e.side(),
        amount: e.amount,
        currency,
        base_amount: if e.debit.is_zero() { e.credit } else { e.debit },
        tax_code: e.tax_code.clone(),
        tax_rate: line.tax_rate,
        generated: e.generated,
        description: e.line_description.clone(),
        cost_center: e.cost_center.clone(),
    })
}

fn write_intent<W: Write>(
    writer: &mut reports::BuchungsstapelWriter<W>,
    intent: &DatevIntent,
    facts: &DatevFacts,
) -> AppResult<()> {
    for row in reports::intent_rows(intent, facts)? {
        writer.write_row(&row).map_err(export_error)?;
    }
    Ok(())
}

fn datev_partner(p: ExportPartner) -> DatevPartner {
    DatevPartner {
        account: p.account_number,
        addressee_type: reports::AddresseeType::Company,
        name: p.name,
        first_name: None,
        short_name: None,
        vat_id: p.vat_id,
        street: p.street,
        postal_code: p.postal_code,
        city: p.city,
        country: p.country,
        phone: None,
        email: None,
        website: None,
        iban: p.iban,
        bic: p.bic,
        partner_number: None,
        tax_number: p.tax_id,
    }
}
