//! The DATEV EXTF Buchungsstapel (header 700, category 21, format version 13, 125 columns).
//!
//! The file: Windows-1252 (characters outside it become `?`), CRLF, `;` between fields, text
//! in double quotes with a quote inside doubled (an empty text field is `""`), numbers and
//! amounts unquoted with a decimal comma, empty non-text fields empty. Line 1 is the header
//! (31 fields), line 2 the column names (unquoted, as in DATEV's sample), then one line per
//! row. Rows come from an iterator and go straight to the writer: memory stays constant
//! whatever the range.

use crate::datev_columns::{BUCHUNGSSTAPEL_COLUMNS, BUCHUNGSSTAPEL_IS_TEXT};
use crate::error::{DatevError, ExportError};
use chrono::{Datelike, NaiveDate, NaiveDateTime};
use encoding_rs::{EncoderResult, WINDOWS_1252};
use journal::{FiscalCalendar, Side};
use rust_decimal::Decimal;
use std::io::Write;

pub const HEADER_VERSION: u32 = 700;
pub const CATEGORY_BUCHUNGSSTAPEL: u32 = 21;
pub const FORMAT_VERSION_BUCHUNGSSTAPEL: u32 = 13;
pub const BUCHUNGSSTAPEL_FIELDS: usize = 125;
pub const HEADER_FIELDS: usize = 31;
pub const MAX_BELEGFELD1: usize = 36;
pub const MAX_BUCHUNGSTEXT: usize = 60;
pub const MAX_BELEGLINK: usize = 210;
pub const MAX_KOST: usize = 36;
const MAX_BEZEICHNUNG: usize = 30;

/// What the header of an export needs: the tenant's DATEV settings and the range. The
/// creation time is passed in, so the same inputs give the same bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatevSettings {
    /// Beraternummer, 1001–9999999.
    pub consultant_number: u32,
    /// Mandantennummer, 1–99999.
    pub client_number: u32,
    /// Sachkontenlänge, 4–8.
    pub account_length: u8,
    /// The tenant's fiscal calendar: WJ-Beginn is the start of the fiscal year of `date_from`.
    pub calendar: FiscalCalendar,
    /// Sachkontenrahmen: `"03"` (SKR03) or `"04"` (SKR04).
    pub chart: String,
    /// The base currency (header WKZ).
    pub currency: String,
    pub date_from: NaiveDate,
    pub date_to: NaiveDate,
    /// Bezeichnung (≤ 30 characters, cut).
    pub description: String,
    /// Diktatkürzel (≤ 2 characters, cut); may be empty.
    pub dictation_code: String,
    /// Header Festschreibung: the whole batch is festgeschrieben on import.
    pub locked: bool,
    pub created_at: NaiveDateTime,
}

impl DatevSettings {
    /// The first day of the fiscal year the export lies in, after checking every header rule.
    pub fn check(&self) -> Result<NaiveDate, DatevError> {
        let bad = |field, reason| Err(DatevError::InvalidSettings { field, reason });
        if !(1001..=9_999_999).contains(&self.consultant_number) {
            return bad("datev_consultant_number", "must be 1001 to 9999999");
        }
        if !(1..=99_999).contains(&self.client_number) {
            return bad("datev_client_number", "must be 1 to 99999");
        }
        if !(4..=8).contains(&self.account_length) {
            return bad("account_length", "must be 4 to 8");
        }
        if self.chart != "03" && self.chart != "04" {
            return bad("chart", "must be SKR03 or SKR04");
        }
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return bad("currency", "must be three letters A-Z");
        }
        check_range(&self.calendar, self.date_from, self.date_to)
    }
}

/// DATEV's rule for Datum vom/bis: from ≤ to, both in one fiscal year. Returns WJ-Beginn.
pub fn check_range(
    calendar: &FiscalCalendar,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<NaiveDate, DatevError> {
    if from > to {
        return Err(DatevError::InvalidDateRange);
    }
    let year = calendar.fiscal_year_of(from);
    if calendar.fiscal_year_of(to) != year {
        return Err(DatevError::RangeCrossesFiscalYear {
            from: from.to_string(),
            to: to.to_string(),
        });
    }
    Ok(calendar.fiscal_year_start(year))
}

/// The foreign-currency part of a row: Kurs, Basis-Umsatz and its currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatevFx {
    /// Kurs (5,6): units of the row's currency per unit of the base currency.
    pub rate: Decimal,
    pub base_amount: Decimal,
    pub base_currency: String,
}

/// One booking row of the Buchungsstapel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatevRow {
    /// Names the booking in errors (an intent id); not written.
    pub booking: String,
    /// Umsatz: positive; `side` says whether `account` is debited (`S`) or credited (`H`).
    pub amount: Decimal,
    pub side: Side,
    /// WKZ Umsatz; `None` leaves it empty (the header's currency).
    pub currency: Option<String>,
    pub fx: Option<DatevFx>,
    pub account: String,
    pub contra_account: String,
    /// BU-Schlüssel: 1–4 digits.
    pub bu_key: Option<String>,
    /// Belegdatum (written TTMM); must lie in Datum vom/bis.
    pub date: NaiveDate,
    /// Belegfeld 1: cut to DATEV's 36 characters and character set by the writer.
    pub document_number: Option<String>,
    /// Buchungstext, cut to 60 characters.
    pub text: Option<String>,
    /// KOST1.
    pub cost_center: Option<String>,
    /// Beleglink, cut to 210 characters.
    pub document_link: Option<String>,
    /// Generalumkehr: a reversal by negative amounts.
    pub reversal: bool,
    /// Festschreibung: the row's period is locked.
    pub locked: bool,
}

/// Writes a Buchungsstapel to `out`: the header, the column names, then each row as it comes.
/// Returns the number of rows written and the writer.
pub fn write_buchungsstapel<W, I>(
    out: W,
    settings: &DatevSettings,
    rows: I,
) -> Result<(u64, W), ExportError>
where
    W: Write,
    I: IntoIterator<Item = DatevRow>,
{
    let mut writer = BuchungsstapelWriter::new(out, settings)?;
    for row in rows {
        writer.write_row(&row)?;
    }
    let count = writer.rows;
    Ok((count, writer.finish()?))
}

/// The Buchungsstapel writer, for callers that produce rows in a loop of their own (a stream
/// of database rows).
pub struct BuchungsstapelWriter<W: Write> {
    csv: csv::Writer<W>,
    from: NaiveDate,
    to: NaiveDate,
    fields: Vec<Vec<u8>>,
    rows: u64,
}

impl<W: Write> BuchungsstapelWriter<W> {
    /// Checks the settings and writes lines 1 and 2.
    pub fn new(out: W, settings: &DatevSettings) -> Result<Self, ExportError> {
        let fy_start = settings.check()?;
        let mut csv = extf_csv(out);
        let header = buchungsstapel_header(settings, fy_start);
        csv.write_record(&header)?;
        csv.write_record(BUCHUNGSSTAPEL_COLUMNS.iter().map(|c| cp1252(c)))?;
        Ok(BuchungsstapelWriter {
            csv,
            from: settings.date_from,
            to: settings.date_to,
            fields: vec![Vec::new(); BUCHUNGSSTAPEL_FIELDS],
            rows: 0,
        })
    }

    pub fn write_row(&mut self, row: &DatevRow) -> Result<(), ExportError> {
        if row.date < self.from || row.date > self.to {
            return Err(DatevError::BookingOutsideRange {
                booking: row.booking.clone(),
                date: row.date.to_string(),
            }
            .into());
        }
        for f in self.fields.iter_mut() {
            f.clear();
        }
        fill_row(&mut self.fields, row)?;
        for (i, is_text) in BUCHUNGSSTAPEL_IS_TEXT.iter().enumerate() {
            if *is_text && self.fields[i].is_empty() {
                self.fields[i].extend_from_slice(b"\"\"");
            }
        }
        self.csv.write_record(&self.fields)?;
        self.rows += 1;
        Ok(())
    }

    pub fn rows_written(&self) -> u64 {
        self.rows
    }

    /// Flushes and returns the underlying writer.
    pub fn finish(self) -> Result<W, ExportError> {
        self.csv
            .into_inner()
            .map_err(|e| ExportError::Io(std::io::Error::new(e.error().kind(), e.to_string())))
    }
}

/// Column indexes (0-based) of the fields a row fills.
mod col {
    pub const UMSATZ: usize = 0;
    pub const SOLL_HABEN: usize = 1;
    pub const WKZ: usize = 2;
    pub const KURS: usize = 3;
    pub const BASIS_UMSATZ: usize = 4;
    pub const WKZ_BASIS: usize = 5;
    pub const KONTO: usize = 6;
    pub const GEGENKONTO: usize = 7;
    pub const BU: usize = 8;
    pub const BELEGDATUM: usize = 9;
    pub const BELEGFELD1: usize = 10;
    pub const BUCHUNGSTEXT: usize = 13;
    pub const BELEGLINK: usize = 19;
    pub const KOST1: usize = 36;
    pub const FESTSCHREIBUNG: usize = 113;
    pub const GENERALUMKEHR: usize = 117;
}

fn fill_row(f: &mut [Vec<u8>], row: &DatevRow) -> Result<(), DatevError> {
    let invalid = |column, reason| DatevError::InvalidField {
        booking: row.booking.clone(),
        column,
        reason,
    };
    if row.amount <= Decimal::ZERO {
        return Err(invalid("Umsatz", "must be positive"));
    }
    f[col::UMSATZ] = amount(row.amount, &row.booking, "Umsatz")?.into_bytes();
    f[col::SOLL_HABEN] = quoted(match row.side {
        Side::Debit => "S",
        Side::Credit => "H",
    });
    if let Some(c) = &row.currency {
        f[col::WKZ] = quoted_max(c, 3);
    }
    if let Some(fx) = &row.fx {
        if fx.rate <= Decimal::ZERO || fx.rate.trunc() > Decimal::from(99_999) {
            return Err(invalid(
                "Kurs",
                "must be above 0 with at most five integer digits",
            ));
        }
        let mut rate = fx.rate.round_dp(6);
        rate.rescale(6);
        f[col::KURS] = rate.to_string().replace('.', ",").into_bytes();
        f[col::BASIS_UMSATZ] =
            amount(fx.base_amount.abs(), &row.booking, "Basis-Umsatz")?.into_bytes();
        f[col::WKZ_BASIS] = quoted_max(&fx.base_currency, 3);
    }
    f[col::KONTO] =
        account(&row.account).ok_or_else(|| invalid("Konto", "must be 1 to 9 digits"))?;
    f[col::GEGENKONTO] = account(&row.contra_account)
        .ok_or_else(|| invalid("Gegenkonto", "must be 1 to 9 digits"))?;
    if let Some(key) = &row.bu_key {
        if key.is_empty() || key.len() > 4 || !key.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("BU-Schlüssel", "must be 1 to 4 digits"));
        }
        f[col::BU] = quoted(key);
    }
    f[col::BELEGDATUM] = format!("{:02}{:02}", row.date.day(), row.date.month()).into_bytes();
    if let Some(n) = &row.document_number {
        f[col::BELEGFELD1] = quoted(&belegfeld1(n));
    }
    if let Some(t) = &row.text {
        f[col::BUCHUNGSTEXT] = quoted_max(t, MAX_BUCHUNGSTEXT);
    }
    if let Some(link) = &row.document_link {
        f[col::BELEGLINK] = quoted_max(link, MAX_BELEGLINK);
    }
    if let Some(k) = &row.cost_center {
        f[col::KOST1] = quoted_max(k, MAX_KOST);
    }
    f[col::FESTSCHREIBUNG] = if row.locked {
        b"1".to_vec()
    } else {
        b"0".to_vec()
    };
    f[col::GENERALUMKEHR] = quoted(if row.reversal { "1" } else { "0" });
    Ok(())
}

fn buchungsstapel_header(s: &DatevSettings, fy_start: NaiveDate) -> Vec<Vec<u8>> {
    let mut h: Vec<Vec<u8>> = vec![Vec::new(); HEADER_FIELDS];
    h[0] = quoted("EXTF");
    h[1] = HEADER_VERSION.to_string().into_bytes();
    h[2] = CATEGORY_BUCHUNGSSTAPEL.to_string().into_bytes();
    h[3] = quoted("Buchungsstapel");
    h[4] = FORMAT_VERSION_BUCHUNGSSTAPEL.to_string().into_bytes();
    h[5] = created(s.created_at);
    // 7 Importiert: reserved.
    h[7] = quoted("");
    h[8] = quoted("kontor");
    h[9] = quoted("");
    h[10] = s.consultant_number.to_string().into_bytes();
    h[11] = s.client_number.to_string().into_bytes();
    h[12] = date8(fy_start);
    h[13] = s.account_length.to_string().into_bytes();
    h[14] = date8(s.date_from);
    h[15] = date8(s.date_to);
    h[16] = quoted_max(&s.description, MAX_BEZEICHNUNG);
    h[17] = quoted_max(&s.dictation_code, 2);
    h[18] = b"1".to_vec(); // Buchungstyp: Finanzbuchführung
    h[19] = b"0".to_vec(); // Rechnungslegungszweck: unabhängig
    h[20] = if s.locked {
        b"1".to_vec()
    } else {
        b"0".to_vec()
    };
    h[21] = quoted(&s.currency);
    // 23 reserved; 24 Derivatskennzeichen; 25, 26 reserved.
    h[23] = quoted("");
    h[26] = quoted(&s.chart);
    // 28 ID der Branchenlösung, 29, 30 reserved: empty.
    h[30] = quoted(""); // Anwendungsinformation
    h
}

/// The csv writer every EXTF file uses: `;`, CRLF, fields written as given (quoting is done
/// per field, because DATEV quotes by the column's kind, not by the content).
pub(crate) fn extf_csv<W: Write>(out: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .delimiter(b';')
        .terminator(csv::Terminator::CRLF)
        .quote_style(csv::QuoteStyle::Never)
        .flexible(true)
        .has_headers(false)
        .from_writer(out)
}

/// Windows-1252 bytes of `s`; characters outside it become `?`.
pub fn cp1252(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut encoder = WINDOWS_1252.new_encoder();
    let mut rest = s;
    loop {
        let (result, read) =
            encoder.encode_from_utf8_to_vec_without_replacement(rest, &mut out, true);
        rest = &rest[read..];
        match result {
            EncoderResult::InputEmpty => return out,
            EncoderResult::OutputFull => out.reserve(rest.len().max(8)),
            EncoderResult::Unmappable(_) => out.push(b'?'),
        }
    }
}

/// A text field: in double quotes, a quote inside doubled, line breaks and tabs as spaces.
pub fn quoted(s: &str) -> Vec<u8> {
    quoted_max(s, usize::MAX)
}

/// A text field cut to `max` characters (counted before quotes are doubled).
pub fn quoted_max(s: &str, max: usize) -> Vec<u8> {
    let mut text = String::with_capacity(s.len() + 2);
    text.push('"');
    for c in s.chars().take(max) {
        match c {
            '"' => text.push_str("\"\""),
            '\r' | '\n' | '\t' => text.push(' '),
            c => text.push(c),
        }
    }
    text.push('"');
    cp1252(&text)
}

/// An amount: unsigned, two decimals, decimal comma, at most ten integer digits.
pub fn amount(value: Decimal, booking: &str, column: &'static str) -> Result<String, DatevError> {
    let mut v = value.abs().round_dp(2);
    if v >= Decimal::from(10_000_000_000u64) {
        return Err(DatevError::AmountTooLarge {
            booking: booking.to_string(),
            column,
            amount: value.to_string(),
        });
    }
    v.rescale(2);
    Ok(v.to_string().replace('.', ","))
}

fn account(number: &str) -> Option<Vec<u8>> {
    let ok = (1..=9).contains(&number.len()) && number.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| number.as_bytes().to_vec())
}

fn date8(d: NaiveDate) -> Vec<u8> {
    d.format("%Y%m%d").to_string().into_bytes()
}

fn created(t: NaiveDateTime) -> Vec<u8> {
    t.format("%Y%m%d%H%M%S%3f").to_string().into_bytes()
}

/// Belegfeld 1 in DATEV's character set (`A-Z a-z 0-9 $ & % * + - /`) and length (36):
/// umlauts and ß are spelt out, every other character becomes `-`. A longer reference keeps
/// its last 36 characters, because references differ in their running number at the end.
pub fn belegfeld1(reference: &str) -> String {
    let mut out = String::with_capacity(reference.len());
    for c in reference.trim().chars() {
        match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '$' | '&' | '%' | '*' | '+' | '-' | '/' => {
                out.push(c)
            }
            'ä' => out.push_str("ae"),
            'ö' => out.push_str("oe"),
            'ü' => out.push_str("ue"),
            'Ä' => out.push_str("Ae"),
            'Ö' => out.push_str("Oe"),
            'Ü' => out.push_str("Ue"),
            'ß' => out.push_str("ss"),
            _ => out.push('-'),
        }
    }
    let n = out.chars().count();
    if n > MAX_BELEGFELD1 {
        out.chars().skip(n - MAX_BELEGFELD1).collect()
    } else {
        out
    }
}
