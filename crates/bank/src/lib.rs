//! kontor's bank rules. Pure: no database, no async, no clock; the only input is a
//! `std::io::BufRead` the caller passes (a request body, a file).
//!
//! - [`statement`]: the statement model every parser produces, and the balance check
//!   (opening + Σ transactions = closing).
//! - [`camt`], [`mt940`], [`csv_format`]: the parsers; [`sniff`] tells the format of a file.
//! - [`fingerprint`]: the stable fingerprint that makes re-imports import nothing twice.
//! - [`matching`]: candidate scoring against open items and the match-group balance rule.
//!
//! Every parser is lenient where banks deviate from the standard (element order, missing
//! optional parts, encodings) and strict where money is concerned (amounts, signs,
//! currencies): a malformed file is a [`ParseError`] naming the line or element, and no input
//! makes a parser panic.

pub mod camt;
pub mod csv_format;
pub mod error;
pub mod fingerprint;
pub mod matching;
pub mod mt940;
pub mod statement;
// Bank accounts and import plans (issue 10, part 1).
pub mod account;
// Reconciliation: the rules of a match and the suggestions index.
pub mod reconcile;
pub mod suggest;

pub use csv_format::{parse_csv, write_csv, CsvMapping};
pub use error::ParseError;
pub use fingerprint::{fingerprint, fingerprints, fingerprints_for, Fingerprint};
pub use matching::{
    check_match_group, score_candidate, Adjustment, Allocation, CandidateKind, CashDiscount,
    MatchError, OpenItem, Reason, Score,
};
pub use reconcile::ReconcileError;
pub use statement::{balance_check, BalanceCheck, BankTransaction, Exchange, Statement};

use serde::{Deserialize, Serialize};
use std::io::BufRead;

/// The statement formats kontor reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// ISO 20022 camt.053 (001.02 … 001.08), see [`camt`].
    Camt,
    /// SWIFT MT940 with the German `:86:` subfields, see [`mt940`].
    Mt940,
    /// A bank's CSV export, see [`csv_format`].
    Csv,
}

impl std::str::FromStr for Format {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Format, ParseError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "camt" | "camt053" | "camt.053" | "xml" => Ok(Format::Camt),
            "mt940" | "sta" => Ok(Format::Mt940),
            "csv" => Ok(Format::Csv),
            _ => Err(ParseError::UnknownFormat),
        }
    }
}

/// Tells the format from the start of a file (the first few KiB are enough), or `None`.
///
/// - camt: an XML document (after an optional BOM and whitespace) that names
///   `BkToCstmrStmt` or the `camt.053` namespace;
/// - MT940: a line starting with `:20:` (or a SWIFT header `{1:`) and a `:25:` or `:61:`
///   field;
/// - CSV: otherwise, a text whose first non-empty line has a `;` or `,` between fields.
pub fn sniff(bytes: &[u8]) -> Option<Format> {
    let head = &bytes[..bytes.len().min(8192)];
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let text = String::from_utf8_lossy(head);
    let trimmed = text.trim_start();
    if trimmed.starts_with('<') {
        if trimmed.contains("BkToCstmrStmt") || trimmed.contains("camt.053") {
            return Some(Format::Camt);
        }
        return None;
    }
    let has_line = |tag: &str| {
        trimmed
            .lines()
            .any(|l| l.starts_with(tag) || l.contains(&format!("{{4:{tag}")))
    };
    if (trimmed.starts_with("{1:") || has_line(":20:")) && (has_line(":25:") || has_line(":61:")) {
        return Some(Format::Mt940);
    }
    let first = trimmed.lines().find(|l| !l.trim().is_empty())?;
    if first.contains(';') || first.contains(',') || first.contains('\t') {
        return Some(Format::Csv);
    }
    None
}

/// Parses a statement file of the given format. `mapping` is used for CSV only (the
/// default mapping when `None`).
pub fn parse(
    input: impl BufRead,
    format: Format,
    mapping: Option<&CsvMapping>,
) -> Result<Vec<Statement>, ParseError> {
    match format {
        Format::Camt => camt::parse_camt(input),
        Format::Mt940 => mt940::parse_mt940(input),
        Format::Csv => {
            let default = CsvMapping::default();
            parse_csv(input, mapping.unwrap_or(&default))
        }
    }
}
