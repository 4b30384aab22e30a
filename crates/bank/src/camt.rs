//! ISO 20022 camt.053 (bank to customer statement), versions 001.02 to 001.08, read as a
//! stream with quick-xml.
//!
//! - A document holds one or more `Stmt`; each becomes a [`Statement`]. The root must be
//!   `Document/BkToCstmrStmt` (any namespace or prefix; camt.052 and others are refused).
//! - Account: `Acct/Id/IBAN`, else `Acct/Id/Othr/Id` (the account number); currency
//!   `Acct/Ccy`, else the currency of the first balance or entry.
//! - Balances: `Bal` with `Tp/CdOrPrtry/Cd` `OPBD` (else `PRCD`) is the opening, `CLBD` the
//!   closing balance; `CdtDbtInd` `DBIT` makes it negative. A balance in another currency
//!   than the account's is ignored (the balance check then reports it). A page of a
//!   statement split over several messages has interim balances (`ITBD`): the first opens
//!   the page when there is no `OPBD`/`PRCD`, the next closes it when there is no `CLBD`.
//! - Entries (`Ntry`): `Amt` (unsigned, at most the currency's decimals, in the account's
//!   currency — strict), `CdtDbtInd` (`CRDT` = money in, `DBIT` = money out; required),
//!   `BookgDt` (`Dt` or `DtTm`; `ValDt` when missing), `ValDt`, `AcctSvcrRef`. Entries with
//!   `Sts` `PDNG` or `INFO` are not booked and left out.
//! - Details: an entry without `TxDtls` or with one is one transaction with the entry's
//!   amount. A batch entry with several `TxDtls` gives one transaction per `TxDtls` with its
//!   own amount (`AmtDtls/TxAmt/Amt`, or `Amt` in 001.08) and sign (its `CdtDbtInd`, else the
//!   entry's) — when those amounts are all in the account's currency and add up to the
//!   entry; otherwise the entry stays one transaction, so the statement's money is never
//!   changed by a split.
//! - Per transaction: `Refs/EndToEndId` (`NOTPROVIDED` is none), `Refs/AcctSvcrRef` (else the
//!   entry's), `RmtInf/Ustrd` joined with spaces (else `RmtInf/Strd/CdtrRefInf/Ref`, else
//!   `AddtlTxInf`), the counterparty: `Dbtr` / `DbtrAcct` for money in, `Cdtr` / `CdtrAcct`
//!   for money out (`Nm`, or `Pty/Nm` in 001.08; the ultimate party when the party has no
//!   name; the account's IBAN only when it is a valid IBAN).
//! - Exchange rates: `AmtDtls/{InstdAmt,TxAmt,CntrValAmt,…}/CcyXchg` of the transaction
//!   (else of the entry) — `SrcCcy`, `TrgtCcy`, `UnitCcy` (else the source currency),
//!   `XchgRate` — become the transaction's [`Exchange`] when the pair includes the account's
//!   currency; a rate that is not a positive decimal of at most 10 decimals fails the file.
//! - An entry without `TxDtls` takes `AddtlNtryInf` (the bank's booking text, e.g. a fee) as
//!   its remittance information.
//! - `RvslInd` changes nothing: `CdtDbtInd` already gives the direction of the booking.
//! - `raw` is the `Ntry` element as it stands, or the `TxDtls` element of a split batch.
//! - Lenient: element order, unknown elements, missing optional parts, Latin-1 text.

use crate::error::ParseError;
use crate::statement::{
    clean, decode, iban_or_none, BankTransaction, Exchange, Statement, RATE_DECIMALS,
};
use chrono::NaiveDate;
use journal::Currency;
use quick_xml::events::Event;
use quick_xml::{Reader, Writer};
use rust_decimal::Decimal;
use std::io::BufRead;
use std::str::FromStr;

#[derive(Default)]
struct Party {
    name: Option<String>,
    ultimate: Option<String>,
    iban: Option<String>,
}

#[derive(Default)]
struct Tx {
    amount: Option<(Decimal, Option<String>)>,
    indicator: Option<String>,
    end_to_end_id: Option<String>,
    bank_reference: Option<String>,
    debtor: Party,
    creditor: Party,
    ustrd: Vec<String>,
    structured_ref: Option<String>,
    additional: Option<String>,
    xchg: Vec<Xchg>,
    raw: Vec<u8>,
}

/// A `CcyXchg` as read (`AmtDtls/*/CcyXchg`).
#[derive(Default)]
struct Xchg {
    source: Option<String>,
    target: Option<String>,
    unit: Option<String>,
    rate: Option<Decimal>,
}

impl Xchg {
    fn exchange(&self, account: Currency) -> Option<Exchange> {
        Exchange::from_camt(
            account,
            self.source.as_deref(),
            self.target.as_deref(),
            self.unit.as_deref(),
            self.rate?,
        )
    }
}

/// The first of `xchg` that is a rate of the account's currency.
fn exchange_of(xchg: &[Xchg], account: Currency) -> Option<Exchange> {
    xchg.iter().find_map(|x| x.exchange(account))
}

#[derive(Default)]
struct Entry {
    location: String,
    position: u64,
    amount: Option<(Decimal, Option<String>)>,
    indicator: Option<String>,
    status: Option<String>,
    booking_date: Option<NaiveDate>,
    value_date: Option<NaiveDate>,
    bank_reference: Option<String>,
    additional: Option<String>,
    xchg: Vec<Xchg>,
    txs: Vec<Tx>,
    raw: Vec<u8>,
}

#[derive(Default)]
struct Bal {
    code: Option<String>,
    amount: Option<(Decimal, Option<String>)>,
    indicator: Option<String>,
}

#[derive(Default)]
struct Stmt {
    location: String,
    position: u64,
    id: Option<String>,
    iban: Option<String>,
    number: Option<String>,
    currency: Option<String>,
    opening: Option<(Decimal, Option<String>)>,
    opening_is_opbd: bool,
    closing: Option<(Decimal, Option<String>)>,
    closing_is_clbd: bool,
    entries: Vec<Entry>,
}

struct Parser {
    path: Vec<String>,
    text: String,
    amt_ccy: Option<String>,
    stmt_no: usize,
    ntry_no: usize,
    tx_no: usize,
    stmt: Option<Stmt>,
    bal: Option<Bal>,
    entry: Option<Entry>,
    tx: Option<Tx>,
    entry_writer: Option<Writer<Vec<u8>>>,
    tx_writer: Option<Writer<Vec<u8>>>,
    statements: Vec<Statement>,
    position: u64,
}

/// Parses a camt.053 document into its statements.
pub fn parse_camt(input: impl BufRead) -> Result<Vec<Statement>, ParseError> {
    let mut reader = Reader::from_reader(input);
    reader.config_mut().check_end_names = true;
    let mut p = Parser {
        path: Vec::new(),
        text: String::new(),
        amt_ccy: None,
        stmt_no: 0,
        ntry_no: 0,
        tx_no: 0,
        stmt: None,
        bal: None,
        entry: None,
        tx: None,
        entry_writer: None,
        tx_writer: None,
        statements: Vec::new(),
        position: 0,
    };
    let mut buf = Vec::new();
    loop {
        buf.clear();
        p.position = reader.buffer_position();
        let event = match reader.read_event_into(&mut buf) {
            Ok(e) => e,
            Err(e) => {
                return Err(ParseError::Camt {
                    element: p.location(),
                    position: reader.error_position(),
                    message: format!("not well-formed XML: {e}"),
                })
            }
        };
        match &event {
            Event::Start(e) => {
                let name = decode(e.local_name().as_ref());
                p.amt_ccy = None;
                for a in e.attributes().flatten() {
                    if a.key.local_name().as_ref() == b"Ccy" {
                        p.amt_ccy = Some(decode(&a.value).trim().to_string());
                    }
                }
                p.start(&name)?;
                p.text.clear();
                p.record(&event);
            }
            Event::Empty(e) => {
                if p.path.len() < 2 {
                    // The root and the message element decide whether this is camt.053.
                    let name = decode(e.local_name().as_ref());
                    p.start(&name)?;
                    p.path.pop();
                }
                p.record(&event);
            }
            Event::Text(t) => {
                p.record(&event);
                if p.path.is_empty() {
                    continue;
                }
                let s = decode(t.as_ref());
                match quick_xml::escape::unescape(&s) {
                    Ok(u) => p.text.push_str(&u),
                    Err(e) => return Err(p.error(format!("bad character reference: {e}"))),
                }
            }
            Event::CData(c) => {
                p.record(&event);
                p.text.push_str(&decode(c.as_ref()));
            }
            Event::End(_) => {
                p.record(&event);
                p.end()?;
                p.text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some(open) = p.path.last() {
        return Err(p.error(format!("the file ends inside <{open}>")));
    }
    if p.statements.is_empty() && p.stmt_no == 0 {
        return Err(ParseError::Empty);
    }
    Ok(p.statements)
}

fn ends(path: &[String], tail: &[&str]) -> bool {
    path.len() >= tail.len()
        && path[path.len() - tail.len()..]
            .iter()
            .zip(tail)
            .all(|(a, b)| a == b)
}

impl Parser {
    fn location(&self) -> String {
        self.path
            .iter()
            .map(|n| match n.as_str() {
                "Stmt" => format!("Stmt[{}]", self.stmt_no),
                "Ntry" => format!("Ntry[{}]", self.ntry_no),
                "TxDtls" => format!("TxDtls[{}]", self.tx_no),
                _ => n.clone(),
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    fn error(&self, message: impl Into<String>) -> ParseError {
        ParseError::Camt {
            element: self.location(),
            position: self.position,
            message: message.into(),
        }
    }

    fn record(&mut self, event: &Event) {
        if let Some(w) = &mut self.entry_writer {
            let _ = w.write_event(event.borrow());
        }
        if let Some(w) = &mut self.tx_writer {
            let _ = w.write_event(event.borrow());
        }
    }

    fn start(&mut self, name: &str) -> Result<(), ParseError> {
        match (self.path.len(), name) {
            (0, "Document") => {}
            (0, other) => return Err(self.error(format!("root <{other}> is not <Document>"))),
            (1, "BkToCstmrStmt") => {}
            (1, other) => {
                self.path.push(name.to_string());
                return Err(self.error(format!(
                    "<{other}> is not a camt.053 statement (BkToCstmrStmt)"
                )));
            }
            _ => {}
        }
        self.path.push(name.to_string());
        let depth = self.path.len();
        match name {
            "Stmt" if depth == 3 => {
                self.stmt_no += 1;
                self.ntry_no = 0;
                self.stmt = Some(Stmt {
                    location: self.location(),
                    position: self.position,
                    ..Stmt::default()
                });
            }
            "Bal" if depth == 4 && self.stmt.is_some() => self.bal = Some(Bal::default()),
            "Ntry" if depth == 4 && self.stmt.is_some() => {
                self.ntry_no += 1;
                self.tx_no = 0;
                self.entry = Some(Entry {
                    location: self.location(),
                    position: self.position,
                    ..Entry::default()
                });
                self.entry_writer = Some(Writer::new(Vec::new()));
            }
            "CcyXchg" if self.path.iter().any(|n| n == "AmtDtls") => {
                if let Some(tx) = &mut self.tx {
                    tx.xchg.push(Xchg::default());
                } else if let Some(e) = &mut self.entry {
                    e.xchg.push(Xchg::default());
                }
            }
            "TxDtls" if self.entry.is_some() && self.tx.is_none() => {
                self.tx_no += 1;
                self.tx = Some(Tx::default());
                self.tx_writer = Some(Writer::new(Vec::new()));
            }
            _ => {}
        }
        Ok(())
    }

    fn amount(&self) -> Result<(Decimal, Option<String>), String> {
        let s = self.text.trim();
        let bad = |why: &str| format!("amount {s:?} {why}");
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit() || b == b'.') || s.starts_with('.')
        {
            return Err(bad("is not an unsigned decimal"));
        }
        // The schema allows 18 digits; more could overflow the sums.
        if s.bytes().filter(u8::is_ascii_digit).count() > 18 {
            return Err(bad("has more than 18 digits"));
        }
        let value = Decimal::from_str(s).map_err(|_| bad("is not a decimal"))?;
        Ok((value, self.amt_ccy.clone()))
    }

    fn date(&self) -> Result<NaiveDate, String> {
        let s = self.text.trim();
        s.get(..10)
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .ok_or_else(|| format!("{s:?} is not a date YYYY-MM-DD"))
    }

    fn end(&mut self) -> Result<(), ParseError> {
        let path = std::mem::take(&mut self.path);
        let result = self.end_at(&path);
        self.path = path;
        result.map_err(|m| self.error(m))?;
        let name = self.path.pop().unwrap_or_default();
        let depth = self.path.len() + 1;
        match name.as_str() {
            "TxDtls" if self.tx.is_some() && !self.path.iter().any(|n| n == "TxDtls") => {
                let mut tx = self.tx.take().unwrap_or_default();
                tx.raw = self
                    .tx_writer
                    .take()
                    .map(Writer::into_inner)
                    .unwrap_or_default();
                if let Some(e) = &mut self.entry {
                    e.txs.push(tx);
                }
            }
            "Ntry" if depth == 4 => {
                if let Some(mut e) = self.entry.take() {
                    e.raw = self
                        .entry_writer
                        .take()
                        .map(Writer::into_inner)
                        .unwrap_or_default();
                    if let Some(s) = &mut self.stmt {
                        s.entries.push(e);
                    }
                }
            }
            "Bal" if depth == 4 => {
                if let (Some(b), Some(s)) = (self.bal.take(), &mut self.stmt) {
                    let signed = |b: &Bal| -> Option<(Decimal, Option<String>)> {
                        let (amt, ccy) = b.amount.clone()?;
                        let sign = if b.indicator.as_deref() == Some("DBIT") {
                            -amt
                        } else {
                            amt
                        };
                        Some((sign, ccy))
                    };
                    match b.code.as_deref() {
                        Some("OPBD") => {
                            if b.indicator.is_none() || b.amount.is_none() {
                                return Err(self.error("balance without Amt or CdtDbtInd"));
                            }
                            s.opening = signed(&b);
                            s.opening_is_opbd = true;
                        }
                        Some("PRCD") if !s.opening_is_opbd => {
                            if b.indicator.is_none() || b.amount.is_none() {
                                return Err(self.error("balance without Amt or CdtDbtInd"));
                            }
                            s.opening = signed(&b);
                        }
                        Some("CLBD") => {
                            if b.indicator.is_none() || b.amount.is_none() {
                                return Err(self.error("balance without Amt or CdtDbtInd"));
                            }
                            s.closing = signed(&b);
                            s.closing_is_clbd = true;
                        }
                        // A page of a statement split over several messages: the first
                        // interim balance opens it (when nothing else does), the next closes
                        // it (when CLBD does not).
                        Some("ITBD") => {
                            if b.indicator.is_none() || b.amount.is_none() {
                                return Err(self.error("balance without Amt or CdtDbtInd"));
                            }
                            if s.opening.is_none() {
                                s.opening = signed(&b);
                            } else if !s.closing_is_clbd {
                                s.closing = signed(&b);
                            }
                        }
                        _ => {}
                    }
                }
            }
            "Stmt" if depth == 3 => {
                if let Some(s) = self.stmt.take() {
                    let st = finish_statement(s)?;
                    self.statements.push(st);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Takes the text of the element that ends, by where it is.
    fn end_at(&mut self, path: &[String]) -> Result<(), String> {
        let text = clean(&self.text);
        if path.len() >= 2 && path[path.len() - 2] == "CcyXchg" {
            return self.end_in_xchg(path, text);
        }
        if self.tx.is_some() {
            return self.end_in_tx(path, text);
        }
        if self.entry.is_some() {
            let value = if ends(path, &["Ntry", "Amt"]) {
                Some(self.amount()?)
            } else {
                None
            };
            let date = if ends(path, &["Ntry", "BookgDt", "Dt"])
                || ends(path, &["Ntry", "BookgDt", "DtTm"])
                || ends(path, &["Ntry", "ValDt", "Dt"])
                || ends(path, &["Ntry", "ValDt", "DtTm"])
            {
                Some(self.date()?)
            } else {
                None
            };
            let Some(e) = self.entry.as_mut() else {
                return Ok(());
            };
            if let Some(v) = value {
                e.amount = Some(v);
            } else if ends(path, &["Ntry", "CdtDbtInd"]) {
                e.indicator = text;
            } else if ends(path, &["Ntry", "Sts"]) || ends(path, &["Ntry", "Sts", "Cd"]) {
                if text.is_some() {
                    e.status = text;
                }
            } else if ends(path, &["Ntry", "AcctSvcrRef"]) {
                e.bank_reference = text;
            } else if ends(path, &["Ntry", "AddtlNtryInf"]) {
                e.additional = text;
            } else if let Some(d) = date {
                if path.iter().any(|n| n == "BookgDt") {
                    e.booking_date = Some(d);
                } else {
                    e.value_date = Some(d);
                }
            }
            return Ok(());
        }
        if self.bal.is_some() {
            let value = if ends(path, &["Bal", "Amt"]) {
                Some(self.amount()?)
            } else {
                None
            };
            let Some(b) = self.bal.as_mut() else {
                return Ok(());
            };
            if let Some(v) = value {
                b.amount = Some(v);
            } else if ends(path, &["Bal", "CdtDbtInd"]) {
                b.indicator = text;
            } else if ends(path, &["Bal", "Tp", "CdOrPrtry", "Cd"]) {
                b.code = text;
            }
            return Ok(());
        }
        if let Some(s) = &mut self.stmt {
            if ends(path, &["BkToCstmrStmt", "Stmt", "Id"]) {
                s.id = text;
            } else if ends(path, &["Stmt", "Acct", "Id", "IBAN"]) {
                s.iban = text;
            } else if ends(path, &["Stmt", "Acct", "Id", "Othr", "Id"]) {
                s.number = text;
            } else if ends(path, &["Stmt", "Acct", "Ccy"]) {
                s.currency = text;
            }
        }
        Ok(())
    }

    /// A part of `AmtDtls/*/CcyXchg`. The rate is strict: a rate that is not a positive
    /// decimal of at most 10 decimals fails the file, as an amount would.
    fn end_in_xchg(&mut self, path: &[String], text: Option<String>) -> Result<(), String> {
        if !path.iter().any(|n| n == "AmtDtls") {
            return Ok(());
        }
        let last = path.last().map(String::as_str).unwrap_or_default();
        let rate = if last == "XchgRate" {
            let s = text.as_deref().unwrap_or_default();
            let bad = || format!("exchange rate {s:?} is not a positive decimal");
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
                return Err(bad());
            }
            let r = Decimal::from_str(s).map_err(|_| bad())?;
            if r <= Decimal::ZERO || r.scale() > RATE_DECIMALS {
                return Err(bad());
            }
            Some(r)
        } else {
            None
        };
        let xchg = match (&mut self.tx, &mut self.entry) {
            (Some(tx), _) => tx.xchg.last_mut(),
            (None, Some(e)) => e.xchg.last_mut(),
            _ => None,
        };
        let Some(x) = xchg else { return Ok(()) };
        match last {
            "SrcCcy" => x.source = text,
            "TrgtCcy" => x.target = text,
            "UnitCcy" => x.unit = text,
            "XchgRate" => x.rate = rate,
            _ => {}
        }
        Ok(())
    }

    fn end_in_tx(&mut self, path: &[String], text: Option<String>) -> Result<(), String> {
        let value = if ends(path, &["TxDtls", "AmtDtls", "TxAmt", "Amt"])
            || ends(path, &["TxDtls", "Amt"])
        {
            Some(self.amount()?)
        } else {
            None
        };
        let Some(tx) = self.tx.as_mut() else {
            return Ok(());
        };
        if let Some(v) = value {
            tx.amount = Some(v);
            return Ok(());
        }
        if ends(path, &["TxDtls", "CdtDbtInd"]) {
            tx.indicator = text;
        } else if ends(path, &["Refs", "EndToEndId"]) {
            tx.end_to_end_id = text.filter(|t| t != "NOTPROVIDED");
        } else if ends(path, &["Refs", "AcctSvcrRef"]) {
            tx.bank_reference = text;
        } else if ends(path, &["RmtInf", "Ustrd"]) {
            tx.ustrd.extend(text);
        } else if ends(path, &["CdtrRefInf", "Ref"]) {
            tx.structured_ref = tx.structured_ref.take().or(text);
        } else if ends(path, &["TxDtls", "AddtlTxInf"]) {
            tx.additional = text;
        } else if path.iter().any(|n| n == "RltdPties") {
            // The debtor's or the creditor's side, by the nearest party element.
            let side = path.iter().rev().find_map(|n| match n.as_str() {
                "Dbtr" | "DbtrAcct" | "UltmtDbtr" => Some(true),
                "Cdtr" | "CdtrAcct" | "UltmtCdtr" => Some(false),
                _ => None,
            });
            let Some(debtor) = side else { return Ok(()) };
            let p = if debtor {
                &mut tx.debtor
            } else {
                &mut tx.creditor
            };
            let last = path.last().map(String::as_str);
            let in_account = path.iter().any(|n| n.ends_with("Acct"));
            if last == Some("IBAN") && in_account {
                p.iban = p.iban.take().or(text);
            } else if last == Some("Nm")
                && !in_account
                && !path.iter().any(|n| n == "PstlAdr" || n == "FinInstnId")
            {
                if path.iter().any(|n| n == "UltmtDbtr" || n == "UltmtCdtr") {
                    p.ultimate = p.ultimate.take().or(text);
                } else {
                    p.name = p.name.take().or(text);
                }
            }
        }
        Ok(())
    }
}

fn camt_error(location: &str, position: u64, message: impl Into<String>) -> ParseError {
    ParseError::Camt {
        element: location.to_string(),
        position,
        message: message.into(),
    }
}

fn finish_statement(s: Stmt) -> Result<Statement, ParseError> {
    let code = s
        .currency
        .clone()
        .or_else(|| s.opening.as_ref().and_then(|o| o.1.clone()))
        .or_else(|| {
            s.entries
                .iter()
                .find_map(|e| e.amount.as_ref().and_then(|a| a.1.clone()))
        })
        .ok_or_else(|| {
            camt_error(
                &s.location,
                s.position,
                "statement without currency (Acct/Ccy)",
            )
        })?;
    let currency = Currency::from_code(&code)
        .map_err(|e| camt_error(&s.location, s.position, format!("account currency: {e}")))?;
    let balance = |b: &Option<(Decimal, Option<String>)>| -> Result<Option<Decimal>, ParseError> {
        match b {
            Some((amount, ccy)) if ccy.as_deref().is_none_or(|c| c == code) => {
                if !currency.fits(*amount) {
                    return Err(camt_error(
                        &s.location,
                        s.position,
                        format!("balance {amount} has more decimals than {code} allows"),
                    ));
                }
                Ok(Some(*amount))
            }
            _ => Ok(None),
        }
    };
    let opening_balance = balance(&s.opening)?;
    let closing_balance = balance(&s.closing)?;
    let mut transactions = Vec::new();
    for e in s.entries {
        finish_entry(e, currency, &mut transactions)?;
    }
    let (account_iban, account_number) = match s.iban.as_deref().and_then(iban_or_none) {
        Some(iban) => (Some(iban), s.number),
        None => (None, s.number.or(s.iban)),
    };
    Ok(Statement {
        account_iban,
        account_number,
        currency,
        statement_id: s.id,
        opening_balance,
        closing_balance,
        transactions,
    })
}

fn sign_of(indicator: Option<&str>) -> Option<Decimal> {
    match indicator {
        Some("CRDT") => Some(Decimal::ONE),
        Some("DBIT") => Some(Decimal::NEGATIVE_ONE),
        _ => None,
    }
}

fn finish_entry(
    e: Entry,
    currency: Currency,
    out: &mut Vec<BankTransaction>,
) -> Result<(), ParseError> {
    let fail = |m: String| camt_error(&e.location, e.position, m);
    if matches!(e.status.as_deref(), Some("PDNG") | Some("INFO")) {
        return Ok(());
    }
    let (amount, ccy) = e
        .amount
        .clone()
        .ok_or_else(|| fail("entry without Amt".into()))?;
    if let Some(c) = &ccy {
        if c != currency.code() {
            return Err(fail(format!(
                "entry amount in {c}, the account is in {}",
                currency.code()
            )));
        }
    }
    if !currency.fits(amount) {
        return Err(fail(format!(
            "amount {amount} has more decimals than {} allows",
            currency.code()
        )));
    }
    let sign = sign_of(e.indicator.as_deref()).ok_or_else(|| {
        fail(format!(
            "CdtDbtInd {:?} is not CRDT or DBIT",
            e.indicator.as_deref().unwrap_or("")
        ))
    })?;
    let booking_date = e
        .booking_date
        .or(e.value_date)
        .ok_or_else(|| fail("entry without BookgDt".into()))?;
    let signed = sign * amount;
    let entry_raw = decode(&e.raw);
    let split = e.txs.len() > 1
        && e.txs.iter().all(|t| {
            t.amount.as_ref().is_some_and(|(a, c)| {
                c.as_deref().is_none_or(|c| c == currency.code()) && currency.fits(*a)
            })
        })
        && {
            let sum: Decimal = e
                .txs
                .iter()
                .map(|t| {
                    let s = sign_of(t.indicator.as_deref()).unwrap_or(sign);
                    s * t.amount.as_ref().map(|a| a.0).unwrap_or_default()
                })
                .sum();
            sum == signed
        };
    let make = |tx: Option<&Tx>, amount: Decimal, raw: String| {
        let party = tx.map(|t| {
            if amount.is_sign_negative() {
                &t.creditor
            } else {
                &t.debtor
            }
        });
        let remittance = tx.and_then(|t| {
            clean(&t.ustrd.join(" "))
                .or_else(|| t.structured_ref.clone())
                .or_else(|| t.additional.clone())
        });
        BankTransaction {
            booking_date,
            value_date: e.value_date,
            amount,
            currency,
            counterparty_name: party.and_then(|p| p.name.clone().or_else(|| p.ultimate.clone())),
            counterparty_iban: party.and_then(|p| p.iban.as_deref().and_then(iban_or_none)),
            remittance_info: remittance,
            end_to_end_id: tx.and_then(|t| t.end_to_end_id.clone()),
            bank_reference: tx
                .and_then(|t| t.bank_reference.clone())
                .or_else(|| e.bank_reference.clone()),
            exchange: tx
                .and_then(|t| exchange_of(&t.xchg, currency))
                .or_else(|| exchange_of(&e.xchg, currency)),
            raw,
        }
    };
    if split {
        for t in &e.txs {
            let s = sign_of(t.indicator.as_deref()).unwrap_or(sign);
            let a = s * t.amount.as_ref().map(|a| a.0).unwrap_or_default();
            out.push(make(Some(t), a, decode(&t.raw)));
        }
    } else if e.txs.len() > 1 {
        // Not splittable without changing money: one transaction, the details joined.
        let mut tx = make(None, signed, entry_raw);
        tx.remittance_info = clean(
            &e.txs
                .iter()
                .filter_map(|t| clean(&t.ustrd.join(" ")))
                .collect::<Vec<_>>()
                .join(" / "),
        );
        out.push(tx);
    } else {
        let mut tx = make(e.txs.first(), signed, entry_raw);
        if e.txs.is_empty() {
            tx.remittance_info = e.additional.clone();
        }
        out.push(tx);
    }
    Ok(())
}
