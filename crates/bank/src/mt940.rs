//! MT940 (SWIFT customer statement) as German banks deliver it.
//!
//! A file holds one or more statements, of one or more accounts. A statement is the block
//! `:20:` … `:62F:`/`:62M:`, ended by a line `-` (or `-}`) or by the next `:20:`. SWIFT
//! header blocks (`{1:…}{2:…}{4:`) and empty lines are skipped. Lines are decoded as UTF-8,
//! else as Latin-1/Windows-1252; CR LF and LF both end a line.
//!
//! Fields:
//! - `:20:` reference, `:28C:` statement number (the statement id; `:20:` when absent);
//! - `:25:` the account: an IBAN, or `BLZ/account number` (the account number);
//! - `:60F:`/`:60M:` opening and `:62F:`/`:62M:` closing balance: mark `C`/`D`, date
//!   `YYMMDD`, currency, amount with decimal comma. Both are required;
//! - `:61:` one transaction: value date `YYMMDD`, optional entry (booking) date `MMDD` (the
//!   year taken from the value date, across the turn of the year), mark `C`, `D`, `RC`
//!   (reversal of a credit = money out), `RD` (reversal of a debit = money in), optional funds
//!   code letter, amount with decimal comma (at most the currency's decimals), transaction
//!   type (`N`/`F`/`S` + 3), customer reference up to `//`, bank reference after it, and an
//!   optional second line of supplementary details;
//! - `:86:` the details of the `:61:` before it. Continuation lines are joined without a
//!   separator. Structured German form (`GVC?00…`): `?00` posting text, `?10` primanota,
//!   `?20`–`?29` and `?60`–`?63` remittance (joined), `?30` counterparty BIC, `?31` IBAN or
//!   account, `?32`+`?33` name. The end-to-end id is the SEPA `EREF+` of the remittance,
//!   else the `:61:` customer reference unless `NONREF`. Unstructured `:86:` is the
//!   remittance as it stands;
//! - `:64:`, `:65:`, `:34F:`, `:13D:`, `:NS:` and `:86:` after `:62F:` are ignored.

use crate::error::ParseError;
use crate::statement::{clean, decode, iban_or_none, BankTransaction, Statement};
use chrono::{Datelike, NaiveDate};
use journal::Currency;
use rust_decimal::Decimal;
use std::io::BufRead;
use std::str::FromStr;

fn err(line: usize, message: impl Into<String>) -> ParseError {
    ParseError::Mt940 {
        line,
        message: message.into(),
    }
}

/// One field: its tag, its lines, and the line number it starts on.
struct Field {
    tag: String,
    lines: Vec<String>,
    line: usize,
}

/// Parses an MT940 file into its statements.
pub fn parse_mt940(mut input: impl BufRead) -> Result<Vec<Statement>, ParseError> {
    let mut statements = Vec::new();
    let mut block: Vec<Field> = Vec::new();
    let mut buf = Vec::new();
    let mut line_no = 0usize;
    loop {
        buf.clear();
        let n = input
            .read_until(b'\n', &mut buf)
            .map_err(|e| ParseError::Read(e.to_string()))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let mut line = decode(&buf);
        while line.ends_with('\n') || line.ends_with('\r') {
            line.pop();
        }
        let mut rest = line.as_str();
        if rest.starts_with('{') {
            // SWIFT header blocks; the text block starts after `{4:`.
            match rest.find("{4:") {
                Some(i) => rest = &rest[i + 3..],
                None => continue,
            }
        }
        let trimmed = rest.trim();
        if trimmed.is_empty() {
            continue;
        }
        if trimmed == "-" || trimmed == "-}" || trimmed == "}" {
            if !block.is_empty() {
                statements.push(statement(std::mem::take(&mut block))?);
            }
            continue;
        }
        if let Some((tag, value)) = field_start(rest) {
            if tag == "20" && block.iter().any(|f| f.tag.starts_with("62")) {
                statements.push(statement(std::mem::take(&mut block))?);
            }
            block.push(Field {
                tag: tag.to_string(),
                lines: vec![value.to_string()],
                line: line_no,
            });
        } else {
            match block.last_mut() {
                Some(f) => f.lines.push(rest.to_string()),
                None => return Err(err(line_no, "text before the first field :20:")),
            }
        }
    }
    if !block.is_empty() {
        statements.push(statement(block)?);
    }
    if statements.is_empty() {
        return Err(ParseError::Empty);
    }
    Ok(statements)
}

/// `:TAG:value` where TAG is two digits and an optional letter, or `NS`.
fn field_start(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix(':')?;
    let end = rest.find(':')?;
    let tag = &rest[..end];
    let b = tag.as_bytes();
    let ok = tag == "NS"
        || (b.len() >= 2
            && b.len() <= 3
            && b[0].is_ascii_digit()
            && b[1].is_ascii_digit()
            && (b.len() == 2 || b[2].is_ascii_uppercase()));
    ok.then(|| (tag, &rest[end + 1..]))
}

struct Balance {
    amount: Decimal,
    currency: Currency,
}

fn statement(fields: Vec<Field>) -> Result<Statement, ParseError> {
    let first_line = fields.first().map(|f| f.line).unwrap_or(0);
    let mut reference = None;
    let mut number = None;
    let mut account = None;
    let mut opening: Option<Balance> = None;
    let mut closing: Option<Balance> = None;
    let mut transactions: Vec<BankTransaction> = Vec::new();
    // Whether the field before was a `:61:` (an `:86:` belongs to it then).
    let mut after_61 = false;
    for f in &fields {
        let value = f.lines.join("\n");
        let was_61 = std::mem::replace(&mut after_61, false);
        match f.tag.as_str() {
            "20" => reference = clean(&value),
            "28C" | "28" => number = clean(&value),
            "25" => account = clean(&value),
            "60F" | "60M" => {
                if opening.is_some() {
                    return Err(err(f.line, "a second opening balance in one statement"));
                }
                opening = Some(balance(f.line, value.trim())?);
            }
            "62F" | "62M" => {
                if closing.is_some() {
                    return Err(err(f.line, "a second closing balance in one statement"));
                }
                closing = Some(balance(f.line, value.trim())?);
            }
            "61" => {
                let Some(open) = &opening else {
                    return Err(err(f.line, ":61: before the opening balance :60F:"));
                };
                if closing.is_some() {
                    return Err(err(f.line, ":61: after the closing balance"));
                }
                transactions.push(line_61(f, open.currency)?);
                after_61 = true;
            }
            "86" if was_61 => {
                if let Some(tx) = transactions.last_mut() {
                    details_86(tx, &f.lines);
                    tx.raw.push('\n');
                    tx.raw.push_str(":86:");
                    tx.raw.push_str(&f.lines.join("\n"));
                }
            }
            _ => {}
        }
    }
    let Some(opening) = opening else {
        return Err(err(first_line, "statement without opening balance :60F:"));
    };
    let Some(closing) = closing else {
        return Err(err(first_line, "statement without closing balance :62F:"));
    };
    if closing.currency != opening.currency {
        return Err(err(
            first_line,
            format!(
                "closing balance in {} but opening balance in {}",
                closing.currency, opening.currency
            ),
        ));
    }
    let account = account.ok_or_else(|| err(first_line, "statement without account :25:"))?;
    // Some banks append the currency to the IBAN (`DE89…3000EUR`).
    let iban = iban_or_none(&account).or_else(|| {
        account
            .strip_suffix(opening.currency.code())
            .and_then(iban_or_none)
    });
    let (account_iban, account_number) = match iban {
        Some(iban) => (Some(iban), None),
        None => (None, Some(account)),
    };
    Ok(Statement {
        account_iban,
        account_number,
        currency: opening.currency,
        statement_id: number.or(reference),
        opening_balance: Some(opening.amount),
        closing_balance: Some(closing.amount),
        transactions,
    })
}

fn balance(line: usize, value: &str) -> Result<Balance, ParseError> {
    // C YYMMDD CUR amount
    let mark = value
        .get(..1)
        .ok_or_else(|| err(line, "empty balance field"))?;
    let sign = match mark {
        "C" => Decimal::ONE,
        "D" => Decimal::NEGATIVE_ONE,
        _ => return Err(err(line, format!("balance mark {mark:?} is not C or D"))),
    };
    let date = value
        .get(1..7)
        .ok_or_else(|| err(line, "balance without date"))?;
    yymmdd(line, date)?;
    let code = value
        .get(7..10)
        .ok_or_else(|| err(line, "balance without currency"))?;
    let currency =
        Currency::from_code(code).map_err(|e| err(line, format!("balance currency: {e}")))?;
    let amount = amount(line, value.get(10..).unwrap_or("").trim(), currency)?;
    Ok(Balance {
        amount: sign * amount,
        currency,
    })
}

fn yymmdd(line: usize, s: &str) -> Result<NaiveDate, ParseError> {
    let bad = || err(line, format!("{s:?} is not a date YYMMDD"));
    if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let y: i32 = s[0..2].parse().map_err(|_| bad())?;
    let m: u32 = s[2..4].parse().map_err(|_| bad())?;
    let d: u32 = s[4..6].parse().map_err(|_| bad())?;
    // SWIFT years: 00–79 are 2000–2079, 80–99 are 1980–1999.
    let year = if y < 80 { 2000 + y } else { 1900 + y };
    NaiveDate::from_ymd_opt(year, m, d).ok_or_else(bad)
}

/// An MT940 amount: digits, a decimal comma, at most the currency's decimals. Never signed.
pub(crate) fn amount(line: usize, s: &str, currency: Currency) -> Result<Decimal, ParseError> {
    let bad = |why: &str| err(line, format!("amount {s:?} {why}"));
    let (int, frac) = s
        .split_once(',')
        .ok_or_else(|| bad("has no decimal comma"))?;
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad("is not digits with a decimal comma"));
    }
    if frac.len() as u32 > currency.minor_units() {
        return Err(bad(&format!(
            "has more decimals than {} allows",
            currency.code()
        )));
    }
    if int.len() > 15 {
        return Err(bad("is too large"));
    }
    Decimal::from_str(&format!(
        "{int}.{}",
        if frac.is_empty() { "0" } else { frac }
    ))
    .map_err(|_| bad("is not a number"))
}

fn line_61(f: &Field, currency: Currency) -> Result<BankTransaction, ParseError> {
    let line = f.line;
    let first = f.lines[0].as_str();
    let s = first.trim_end();
    let value_date = yymmdd(
        line,
        s.get(0..6).ok_or_else(|| err(line, ":61: too short"))?,
    )?;
    let mut pos = 6;
    let b = s.as_bytes();
    let mut booking_date = value_date;
    if b.len() >= pos + 4 && b[pos..pos + 4].iter().all(u8::is_ascii_digit) {
        let m: u32 = s[pos..pos + 2].parse().unwrap_or(0);
        let d: u32 = s[pos + 2..pos + 4].parse().unwrap_or(0);
        let mut year = value_date.year();
        if m == 12 && value_date.month() == 1 {
            year -= 1;
        } else if m == 1 && value_date.month() == 12 {
            year += 1;
        }
        booking_date = NaiveDate::from_ymd_opt(year, m, d).ok_or_else(|| {
            err(
                line,
                format!("entry date {:?} is not MMDD", &s[pos..pos + 4]),
            )
        })?;
        pos += 4;
    }
    let sign = if s[pos..].starts_with("RC") {
        pos += 2;
        Decimal::NEGATIVE_ONE
    } else if s[pos..].starts_with("RD") {
        pos += 2;
        Decimal::ONE
    } else if s[pos..].starts_with('C') {
        pos += 1;
        Decimal::ONE
    } else if s[pos..].starts_with('D') {
        pos += 1;
        Decimal::NEGATIVE_ONE
    } else {
        return Err(err(line, ":61: mark is not C, D, RC or RD"));
    };
    while b.get(pos) == Some(&b' ') {
        pos += 1;
    }
    if b.get(pos).is_some_and(u8::is_ascii_alphabetic) {
        pos += 1; // funds code
    }
    while b.get(pos) == Some(&b' ') {
        pos += 1;
    }
    let amount_end = s[pos..]
        .find(|c: char| !(c.is_ascii_digit() || c == ','))
        .map_or(s.len(), |i| pos + i);
    let value = amount(line, &s[pos..amount_end], currency)?;
    let rest = s[amount_end..].trim_start();
    // Transaction type: N/F/S + three characters.
    let rest = if rest.len() >= 4 && rest.is_char_boundary(4) {
        &rest[4..]
    } else {
        ""
    };
    let (customer_ref, bank_ref) = match rest.split_once("//") {
        Some((c, b)) => (c, Some(b)),
        None => (rest, None),
    };
    let customer_ref = clean(customer_ref).filter(|r| r != "NONREF");
    let raw = format!(":61:{}", f.lines.join("\n"));
    Ok(BankTransaction {
        booking_date,
        value_date: Some(value_date),
        amount: sign * value,
        currency,
        counterparty_name: None,
        counterparty_iban: None,
        remittance_info: None,
        end_to_end_id: customer_ref,
        bank_reference: bank_ref.and_then(clean),
        exchange: None,
        raw,
    })
}

/// Fills a transaction from its `:86:` lines.
fn details_86(tx: &mut BankTransaction, lines: &[String]) {
    let joined: String = lines.concat();
    let structured = joined.len() >= 4
        && joined.as_bytes()[..3].iter().all(u8::is_ascii_digit)
        && joined.as_bytes()[3] == b'?';
    if !structured {
        tx.remittance_info = clean(&lines.join(" "));
        return;
    }
    let mut remittance = String::new();
    let mut name = String::new();
    let mut account = None;
    for part in joined[3..].split('?').skip(1) {
        if part.len() < 2 || !part.is_char_boundary(2) {
            continue;
        }
        let (code, text) = part.split_at(2);
        match code {
            "20" | "21" | "22" | "23" | "24" | "25" | "26" | "27" | "28" | "29" | "60" | "61"
            | "62" | "63" => remittance.push_str(text),
            "31" => account = clean(text),
            "32" | "33" => name.push_str(text),
            _ => {}
        }
    }
    let remittance = clean(&remittance);
    if let Some(eref) = remittance.as_deref().and_then(sepa_eref) {
        tx.end_to_end_id = Some(eref);
    }
    tx.remittance_info = remittance;
    tx.counterparty_name = clean(&name);
    tx.counterparty_iban = account.as_deref().and_then(iban_or_none);
}

/// The SEPA `EREF+` value of a remittance text, up to the next SEPA keyword.
fn sepa_eref(text: &str) -> Option<String> {
    let start = text.find("EREF+")? + 5;
    let rest = &text[start..];
    const KEYS: [&str; 10] = [
        "KREF+", "MREF+", "CRED+", "DEBT+", "SVWZ+", "ABWA+", "ABWE+", "COAM+", "OAMT+", "IBAN+",
    ];
    let end = KEYS
        .iter()
        .filter_map(|k| rest.find(k))
        .min()
        .unwrap_or(rest.len());
    clean(&rest[..end]).filter(|e| e != "NOTPROVIDED")
}

/// Writes statements as MT940 (structured German `:86:`), the inverse of [`parse_mt940`] for
/// the fields MT940 carries: remittance up to 270 characters, name up to 54, end-to-end id
/// (as the `:61:` customer reference) up to 16. Used by tests and exports.
pub fn write_mt940(statements: &[crate::Statement]) -> String {
    let mut out = String::new();
    let bal = |amount: Decimal| {
        let mark = if amount.is_sign_negative() && !amount.is_zero() {
            "D"
        } else {
            "C"
        };
        (mark, comma(amount.abs()))
    };
    for st in statements {
        let account = st
            .account_iban
            .clone()
            .or_else(|| st.account_number.clone())
            .unwrap_or_default();
        out.push_str(":20:STARTUMSE\n");
        out.push_str(&format!(":25:{account}\n"));
        if let Some(id) = &st.statement_id {
            out.push_str(&format!(":28C:{id}\n"));
        }
        let first = st
            .transactions
            .first()
            .map(|t| t.booking_date)
            .unwrap_or(NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default());
        let (m, a) = bal(st.opening_balance.unwrap_or_default());
        out.push_str(&format!(
            ":60F:{m}{}{}{a}\n",
            first.format("%y%m%d"),
            st.currency.code()
        ));
        for t in &st.transactions {
            let mark = if t.amount.is_sign_negative() && !t.amount.is_zero() {
                "D"
            } else {
                "C"
            };
            let value_date = t.value_date.unwrap_or(t.booking_date);
            out.push_str(&format!(
                ":61:{}{}{mark}{}NTRF{}{}\n",
                value_date.format("%y%m%d"),
                t.booking_date.format("%m%d"),
                comma(t.amount.abs()),
                t.end_to_end_id.as_deref().unwrap_or("NONREF"),
                t.bank_reference
                    .as_deref()
                    .map(|b| format!("//{b}"))
                    .unwrap_or_default(),
            ));
            let mut s = String::from("166?00GUTSCHRIFT");
            let rem: Vec<char> = t.remittance_info.as_deref().unwrap_or("").chars().collect();
            for (i, chunk) in rem.chunks(27).take(10).enumerate() {
                s.push_str(&format!("?2{i}{}", chunk.iter().collect::<String>()));
            }
            if let Some(iban) = &t.counterparty_iban {
                s.push_str(&format!("?31{iban}"));
            }
            let name: Vec<char> = t
                .counterparty_name
                .as_deref()
                .unwrap_or("")
                .chars()
                .collect();
            for (i, chunk) in name.chunks(27).take(2).enumerate() {
                s.push_str(&format!("?3{}{}", i + 2, chunk.iter().collect::<String>()));
            }
            // 65 characters per line, continuation lines joined without a separator.
            let chars: Vec<char> = s.chars().collect();
            for (i, chunk) in chars.chunks(65).enumerate() {
                if i == 0 {
                    out.push_str(":86:");
                }
                out.push_str(&chunk.iter().collect::<String>());
                out.push('\n');
            }
        }
        let last = st
            .transactions
            .last()
            .map(|t| t.booking_date)
            .unwrap_or(first);
        let (m, a) = bal(st.closing_balance.unwrap_or_default());
        out.push_str(&format!(
            ":62F:{m}{}{}{a}\n-\n",
            last.format("%y%m%d"),
            st.currency.code()
        ));
    }
    out
}

fn comma(amount: Decimal) -> String {
    amount.to_string().replace('.', ",")
}
