//! CSV exports of German banks: `;` between fields, decimal comma, dates `DD.MM.YYYY` (or
//! `DD.MM.YY`, or `YYYY-MM-DD`), UTF-8 or Windows-1252.
//!
//! A [`CsvMapping`] names the columns. Each column is a list of header names; the first one
//! the header row has is used (case and surrounding spaces ignored). The default mapping
//! reads the Sparkasse "CSV-CAMT" export and the Deutsche Bank / comdirect / DKB style
//! exports:
//!
//! | field | default header names |
//! |---|---|
//! | booking date (required) | `Buchungstag`, `Buchungsdatum` |
//! | value date | `Valutadatum`, `Wertstellung`, `Wert`, `Valuta` |
//! | amount (signed) | `Betrag`, `Betrag (EUR)`, `Umsatz` |
//! | debit / credit (when there is no amount column) | `Soll` / `Haben` |
//! | currency | `Waehrung`, `Währung` (else `default_currency`, EUR) |
//! | counterparty name | `Beguenstigter/Zahlungspflichtiger`, `Begünstigter / Auftraggeber`, `Name Zahlungsbeteiligter`, `Auftraggeber / Begünstigter`, `Zahlungsempfänger*in`, `Empfänger` |
//! | counterparty IBAN | `Kontonummer/IBAN`, `IBAN`, `IBAN Zahlungsbeteiligter`, `Kontonummer` |
//! | remittance | `Verwendungszweck` |
//! | reference (end-to-end id) | `Kundenreferenz (End-to-End)`, `Kundenreferenz`, `Referenz` |
//! | account (the statement's own) | `Auftragskonto`, `IBAN Auftragskonto` |
//! | exchange rate (units of the account's currency per 1 unit of the base currency; foreign-currency accounts) | `Kurs`, `Devisenkurs`, `Umrechnungskurs` |
//!
//! Lines before the header row (account preambles) are skipped: the header row is the first
//! one that names the booking-date column and an amount (or debit/credit) column. Rows whose
//! booking-date cell has no digit (empty lines, "Kontostand" footers) are skipped; any other
//! row must have a valid date and amount, else the file fails naming its line and column.
//! Amounts: optional sign, thousands `.` and decimal `,` (with `decimal_comma`, the default),
//! at most the currency's decimals. A debit column counts negative whatever its sign, a credit
//! column positive. CSV files carry no balances, so their statement has none.
//!
//! A mapping comes as JSON, every field optional; a string or a list of strings per column:
//! `{"booking_date": "Datum", "amount": ["Betrag", "Betrag EUR"], "delimiter": ","}`.

use crate::error::ParseError;
use crate::statement::{clean, decode, iban_or_none, BankTransaction, Statement};
use chrono::NaiveDate;
use journal::Currency;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};
use std::io::Read;
use std::str::FromStr;

/// The header names of one column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Columns(pub Vec<String>);

impl<'de> Deserialize<'de> for Columns {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Columns, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        Ok(match OneOrMany::deserialize(d)? {
            OneOrMany::One(s) => Columns(vec![s]),
            OneOrMany::Many(v) => Columns(v),
        })
    }
}

fn cols(names: &[&str]) -> Columns {
    Columns(names.iter().map(|s| s.to_string()).collect())
}

/// Which columns hold what. See the module documentation for the defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CsvMapping {
    pub delimiter: char,
    pub decimal_comma: bool,
    pub default_currency: String,
    pub booking_date: Columns,
    pub value_date: Columns,
    pub amount: Columns,
    pub debit: Columns,
    pub credit: Columns,
    pub currency: Columns,
    pub counterparty_name: Columns,
    pub counterparty_iban: Columns,
    pub remittance: Columns,
    pub reference: Columns,
    pub account: Columns,
    pub fx_rate: Columns,
}

impl Default for CsvMapping {
    fn default() -> CsvMapping {
        CsvMapping {
            delimiter: ';',
            decimal_comma: true,
            default_currency: "EUR".to_string(),
            booking_date: cols(&["Buchungstag", "Buchungsdatum"]),
            value_date: cols(&["Valutadatum", "Wertstellung", "Wert", "Valuta"]),
            amount: cols(&["Betrag", "Betrag (EUR)", "Umsatz"]),
            debit: cols(&["Soll"]),
            credit: cols(&["Haben"]),
            currency: cols(&["Waehrung", "Währung"]),
            counterparty_name: cols(&[
                "Beguenstigter/Zahlungspflichtiger",
                "Begünstigter / Auftraggeber",
                "Name Zahlungsbeteiligter",
                "Auftraggeber / Begünstigter",
                "Zahlungsempfänger*in",
                "Empfänger",
            ]),
            counterparty_iban: cols(&[
                "Kontonummer/IBAN",
                "IBAN",
                "IBAN Zahlungsbeteiligter",
                "Kontonummer",
            ]),
            remittance: cols(&["Verwendungszweck"]),
            reference: cols(&["Kundenreferenz (End-to-End)", "Kundenreferenz", "Referenz"]),
            account: cols(&["Auftragskonto", "IBAN Auftragskonto"]),
            fx_rate: cols(&["Kurs", "Devisenkurs", "Umrechnungskurs"]),
        }
    }
}

fn norm(s: &str) -> String {
    s.trim()
        .trim_start_matches('\u{feff}')
        .trim()
        .to_lowercase()
}

fn find(header: &[String], columns: &Columns) -> Option<usize> {
    columns
        .0
        .iter()
        .find_map(|c| header.iter().position(|h| norm(h) == norm(c)))
}

struct Index {
    booking_date: usize,
    value_date: Option<usize>,
    amount: Option<usize>,
    debit: Option<usize>,
    credit: Option<usize>,
    currency: Option<usize>,
    name: Option<usize>,
    iban: Option<usize>,
    remittance: Option<usize>,
    reference: Option<usize>,
    account: Option<usize>,
    fx_rate: Option<usize>,
}

impl Index {
    fn of(header: &[String], m: &CsvMapping) -> Option<Index> {
        let booking_date = find(header, &m.booking_date)?;
        let amount = find(header, &m.amount);
        let debit = find(header, &m.debit);
        let credit = find(header, &m.credit);
        if amount.is_none() && debit.is_none() && credit.is_none() {
            return None;
        }
        Some(Index {
            booking_date,
            value_date: find(header, &m.value_date),
            amount,
            debit,
            credit,
            currency: find(header, &m.currency),
            name: find(header, &m.counterparty_name),
            iban: find(header, &m.counterparty_iban),
            remittance: find(header, &m.remittance),
            reference: find(header, &m.reference),
            account: find(header, &m.account),
            fx_rate: find(header, &m.fx_rate),
        })
    }
}

fn err(line: u64, column: Option<&str>, message: impl Into<String>) -> ParseError {
    ParseError::Csv {
        line,
        column: column.map(str::to_string),
        message: message.into(),
    }
}

/// A CSV date: `DD.MM.YYYY`, `DD.MM.YY` (20YY) or `YYYY-MM-DD`.
pub(crate) fn date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().or_else(|| {
        let parts: Vec<&str> = s.split('.').collect();
        if parts.len() != 3
            || parts
                .iter()
                .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return None;
        }
        let d: u32 = parts[0].parse().ok()?;
        let m: u32 = parts[1].parse().ok()?;
        let y: i32 = match parts[2].len() {
            2 => 2000 + parts[2].parse::<i32>().ok()?,
            4 => parts[2].parse().ok()?,
            _ => return None,
        };
        NaiveDate::from_ymd_opt(y, m, d)
    })
}

/// A CSV amount: optional sign, thousands separators, decimal comma (or point).
pub(crate) fn amount(s: &str, decimal_comma: bool) -> Option<Decimal> {
    let s = s
        .trim()
        .trim_end_matches("EUR")
        .trim_end_matches('€')
        .trim();
    let (sign, body) = match s.as_bytes().first()? {
        b'-' => (Decimal::NEGATIVE_ONE, &s[1..]),
        b'+' => (Decimal::ONE, &s[1..]),
        _ => (Decimal::ONE, s),
    };
    let (thousands, dec) = if decimal_comma {
        ('.', ',')
    } else {
        (',', '.')
    };
    let (int, frac) = match body.split_once(dec) {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    if int.is_empty()
        || frac.is_some_and(|f| f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let groups: Vec<&str> = int.split(thousands).collect();
    let grouped_ok = groups.len() == 1
        || (groups[0].len() <= 3
            && !groups[0].is_empty()
            && groups[1..].iter().all(|g| g.len() == 3));
    if !grouped_ok || !groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let digits: String = groups.concat();
    if digits.len() > 15 {
        return None;
    }
    let text = match frac {
        Some(f) => format!("{digits}.{f}"),
        None => digits,
    };
    Decimal::from_str(&text).ok().map(|d| sign * d)
}

/// Parses a CSV export into one statement. The file is read into memory (CSV exports are
/// small; `raw` is each row's own text).
pub fn parse_csv(mut input: impl Read, mapping: &CsvMapping) -> Result<Vec<Statement>, ParseError> {
    let mut bytes = Vec::new();
    input
        .read_to_end(&mut bytes)
        .map_err(|e| ParseError::Read(e.to_string()))?;
    let delimiter = u8::try_from(mapping.delimiter)
        .ok()
        .filter(|d| d.is_ascii())
        .ok_or_else(|| err(0, None, "the delimiter must be one ASCII character"))?;
    let default_currency = Currency::from_code(mapping.default_currency.trim())
        .map_err(|e| err(0, None, format!("default_currency: {e}")))?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes.as_slice());
    let mut index: Option<(Index, Vec<String>)> = None;
    let mut transactions = Vec::new();
    let mut account: Option<String> = None;
    let mut record = csv::ByteRecord::new();
    loop {
        let more = reader.read_byte_record(&mut record).map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            err(line, None, format!("not readable as CSV: {e}"))
        })?;
        if !more {
            break;
        }
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let start = record.position().map(|p| p.byte()).unwrap_or(0);
        let end = reader.position().byte();
        let source = usize::try_from(start)
            .ok()
            .zip(usize::try_from(end).ok())
            .and_then(|(a, b)| bytes.get(a..b))
            .unwrap_or_default();
        let cells: Vec<String> = record.iter().map(decode).collect();
        let Some((ix, header)) = &index else {
            if let Some(ix) = Index::of(&cells, mapping) {
                index = Some((ix, cells));
            }
            continue;
        };
        let cell = |i: Option<usize>| {
            i.and_then(|i| cells.get(i))
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
        };
        let name_of = |i: usize| header.get(i).cloned().unwrap_or_default();
        let Some(booking) = cell(Some(ix.booking_date)) else {
            continue;
        };
        if !booking.bytes().any(|b| b.is_ascii_digit()) {
            continue;
        }
        let booking_date = date(booking).ok_or_else(|| {
            err(
                line,
                Some(&name_of(ix.booking_date)),
                format!("{booking:?} is not a date DD.MM.YYYY"),
            )
        })?;
        let value_date = match cell(ix.value_date) {
            Some(v) => Some(date(v).ok_or_else(|| {
                err(
                    line,
                    ix.value_date.map(name_of).as_deref(),
                    format!("{v:?} is not a date DD.MM.YYYY"),
                )
            })?),
            None => None,
        };
        let currency = match cell(ix.currency) {
            Some(c) => Currency::from_code(&c.to_uppercase())
                .map_err(|e| err(line, ix.currency.map(name_of).as_deref(), e.to_string()))?,
            None => default_currency,
        };
        let parse_amount = |i: usize| -> Result<Option<Decimal>, ParseError> {
            match cell(Some(i)) {
                None => Ok(None),
                Some(text) => {
                    let a = amount(text, mapping.decimal_comma).ok_or_else(|| {
                        err(
                            line,
                            Some(&name_of(i)),
                            format!("{text:?} is not an amount"),
                        )
                    })?;
                    if !currency.fits(a) {
                        return Err(err(
                            line,
                            Some(&name_of(i)),
                            format!("{text:?} has more decimals than {} allows", currency.code()),
                        ));
                    }
                    Ok(Some(a))
                }
            }
        };
        let mut value = match ix.amount {
            Some(i) => parse_amount(i)?,
            None => None,
        };
        if value.is_none() {
            let debit = match ix.debit {
                Some(i) => parse_amount(i)?,
                None => None,
            };
            let credit = match ix.credit {
                Some(i) => parse_amount(i)?,
                None => None,
            };
            value = match (debit, credit) {
                (Some(d), None) => Some(-d.abs()),
                (None, Some(c)) => Some(c.abs()),
                (Some(d), Some(c)) if d.is_zero() => Some(c.abs()),
                (Some(d), Some(c)) if c.is_zero() => Some(-d.abs()),
                (Some(_), Some(_)) => {
                    return Err(err(
                        line,
                        ix.debit.map(name_of).as_deref(),
                        "both debit and credit are given",
                    ))
                }
                (None, None) => None,
            };
        }
        let value = value.ok_or_else(|| {
            err(
                line,
                ix.amount.or(ix.debit).map(name_of).as_deref(),
                "no amount",
            )
        })?;
        if account.is_none() {
            account = cell(ix.account).map(str::to_string);
        }
        // A rate is no money, but money is converted with it: strict, like an amount.
        let exchange = match cell(ix.fx_rate) {
            None => None,
            Some(text) => {
                let rate = amount(text, mapping.decimal_comma)
                    .filter(|r| *r > Decimal::ZERO && r.scale() <= crate::statement::RATE_DECIMALS)
                    .ok_or_else(|| {
                        err(
                            line,
                            ix.fx_rate.map(name_of).as_deref(),
                            format!("exchange rate {text:?} is not a positive decimal"),
                        )
                    })?;
                Some(crate::statement::Exchange {
                    against: None,
                    rate,
                })
            }
        };
        transactions.push(BankTransaction {
            booking_date,
            value_date,
            amount: value,
            currency,
            counterparty_name: cell(ix.name).and_then(clean),
            counterparty_iban: cell(ix.iban).and_then(iban_or_none),
            remittance_info: cell(ix.remittance).and_then(clean),
            end_to_end_id: cell(ix.reference)
                .and_then(clean)
                .filter(|r| r != "NOTPROVIDED"),
            bank_reference: None,
            exchange,
            raw: decode(source).trim_matches(['\r', '\n']).to_string(),
        });
    }
    if index.is_none() {
        return Err(err(
            1,
            None,
            format!(
                "no header row with a booking-date column ({}) and an amount column ({})",
                mapping.booking_date.0.join(", "),
                mapping.amount.0.join(", ")
            ),
        ));
    }
    let currency = transactions
        .first()
        .map(|t| t.currency)
        .unwrap_or(default_currency);
    let (account_iban, account_number) = match account.as_deref().and_then(iban_or_none) {
        Some(iban) => (Some(iban), None),
        None => (None, account),
    };
    Ok(vec![Statement {
        account_iban,
        account_number,
        currency,
        statement_id: None,
        opening_balance: None,
        closing_balance: None,
        transactions,
    }])
}

/// Writes a statement as CSV with the default mapping's first header names (the inverse of
/// [`parse_csv`] for what CSV carries; used by tests and exports).
pub fn write_csv(statement: &Statement) -> String {
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(Vec::new());
    let _ = w.write_record([
        "Auftragskonto",
        "Buchungstag",
        "Valutadatum",
        "Verwendungszweck",
        "Kundenreferenz (End-to-End)",
        "Beguenstigter/Zahlungspflichtiger",
        "Kontonummer/IBAN",
        "Betrag",
        "Waehrung",
    ]);
    let account = statement
        .account_iban
        .clone()
        .or_else(|| statement.account_number.clone())
        .unwrap_or_default();
    for t in &statement.transactions {
        let _ = w.write_record([
            account.clone(),
            t.booking_date.format("%d.%m.%Y").to_string(),
            t.value_date
                .map(|d| d.format("%d.%m.%Y").to_string())
                .unwrap_or_default(),
            t.remittance_info.clone().unwrap_or_default(),
            t.end_to_end_id.clone().unwrap_or_default(),
            t.counterparty_name.clone().unwrap_or_default(),
            t.counterparty_iban.clone().unwrap_or_default(),
            t.amount.to_string().replace('.', ","),
            t.currency.code().to_string(),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}
