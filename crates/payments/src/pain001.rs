//! The SEPA credit transfer initiation (pain.001) written through quick-xml.
//!
//! `pain.001.001.09` is the default; `pain.001.001.03` is there for banks that still need it.
//! The two differ where the writer cares in three places: the namespace, the execution date
//! (`<ReqdExctnDt><Dt>…</Dt></ReqdExctnDt>` in 09, `<ReqdExctnDt>…</ReqdExctnDt>` in 03) and
//! the agent's BIC element (`BICFI` in 09, `BIC` in 03).
//!
//! Layout: `GrpHdr` (MsgId, CreDtTm, NbOfTxs, CtrlSum, InitgPty/Nm), then one `PmtInf` per
//! execution date and debtor account (PmtMtd TRF, BtchBookg false so the statement shows
//! each transfer, NbOfTxs, CtrlSum, SvcLvl SEPA, Dbtr, DbtrAcct IBAN, DbtrAgt BIC or
//! `NOTPROVIDED`, ChrgBr SLEV), each with its `CdtTrfTxInf` (EndToEndId, InstdAmt in EUR with
//! two decimals, CdtrAgt when the BIC is known, Cdtr/Nm, CdtrAcct IBAN, RmtInf/Ustrd). Every
//! text goes through the SEPA character set; names are cut to 70 characters.

use crate::charset::{is_sepa_id, sepa_cut, sepa_name, MAX_ID, MAX_REMITTANCE};
use chrono::{NaiveDate, NaiveDateTime};
use journal::Currency;
use quick_xml::escape::partial_escape;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;
use rust_decimal::Decimal;
use std::collections::HashSet;

/// Which pain.001 schema to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum PainVersion {
    /// `pain.001.001.09` (ISO 20022 2019; the SEPA rulebooks since November 2023).
    #[default]
    V09,
    /// `pain.001.001.03` (the 2009 version some banks still require).
    V03,
}

impl PainVersion {
    pub fn name(&self) -> &'static str {
        match self {
            PainVersion::V09 => "pain.001.001.09",
            PainVersion::V03 => "pain.001.001.03",
        }
    }

    pub fn namespace(&self) -> &'static str {
        match self {
            PainVersion::V09 => "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09",
            PainVersion::V03 => "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03",
        }
    }

    /// `"09"` / `"03"` (the API's `?version=`), or the full schema name.
    pub fn parse(s: &str) -> Option<PainVersion> {
        match s {
            "09" | "pain.001.001.09" => Some(PainVersion::V09),
            "03" | "pain.001.001.03" => Some(PainVersion::V03),
            _ => None,
        }
    }

    /// True when `bic` matches this version's BIC pattern (03's is stricter: the location's
    /// second character is not `O`, its first not `0` or `1`, and the bank code is letters).
    pub fn accepts_bic(&self, bic: &str) -> bool {
        let b = bic.as_bytes();
        let alnum = |c: &u8| c.is_ascii_uppercase() || c.is_ascii_digit();
        if !(b.len() == 8 || b.len() == 11) || !b.iter().all(alnum) {
            return false;
        }
        if !b[4..6].iter().all(u8::is_ascii_uppercase) {
            return false;
        }
        match self {
            PainVersion::V09 => true,
            PainVersion::V03 => {
                b[..4].iter().all(u8::is_ascii_uppercase)
                    && (b[6].is_ascii_uppercase() || (b'2'..=b'9').contains(&b[6]))
                    && b[7] != b'O'
            }
        }
    }
}

/// The paying account: the tenant's name, the bank account's IBAN and (optional) BIC.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Debtor {
    pub name: String,
    pub iban: String,
    pub bic: Option<String>,
}

/// One transfer of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditTransfer {
    pub end_to_end_id: String,
    pub execution_date: NaiveDate,
    pub debtor: Debtor,
    pub amount: Decimal,
    pub creditor_name: String,
    pub creditor_iban: String,
    pub creditor_bic: Option<String>,
    pub remittance: String,
}

/// A whole file: its id, when it was created (passed in, never read from a clock), who
/// initiates it, and its transfers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub message_id: String,
    pub created_at: NaiveDateTime,
    pub initiating_party: String,
    pub transfers: Vec<CreditTransfer>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    #[error("the file has no transfer")]
    Empty,
    #[error("{0:?} is not a SEPA identifier (1 to 35 characters of the SEPA set)")]
    InvalidId(String),
    #[error("the id {0:?} is used twice in the file")]
    DuplicateId(String),
    #[error("transfer {0}: the amount must be between 0.01 and 999999999.99 EUR with 2 decimals")]
    InvalidAmount(String),
    #[error("transfer {0}: the remittance is empty or longer than 140 characters")]
    InvalidRemittance(String),
    #[error("{0:?} is not a valid IBAN")]
    InvalidIban(String),
    #[error("XML: {0}")]
    Xml(String),
}

impl journal::Rule for ExportError {
    fn code(&self) -> &'static str {
        "export_invalid"
    }
    fn kind(&self) -> journal::RuleKind {
        journal::RuleKind::Invalid
    }
}

fn xml_err(e: impl std::fmt::Display) -> ExportError {
    ExportError::Xml(e.to_string())
}

type W = Writer<Vec<u8>>;

fn start(w: &mut W, name: &str) -> Result<(), ExportError> {
    w.write_event(Event::Start(BytesStart::new(name)))
        .map_err(xml_err)
}

fn end(w: &mut W, name: &str) -> Result<(), ExportError> {
    w.write_event(Event::End(BytesEnd::new(name)))
        .map_err(xml_err)
}

fn leaf(w: &mut W, name: &str, text: &str) -> Result<(), ExportError> {
    start(w, name)?;
    // Only `<`, `>` and `&` are escaped (none is in the SEPA set, but ids and IBANs are
    // written as given), so an apostrophe stays an apostrophe for the bank's parser.
    w.write_event(Event::Text(BytesText::from_escaped(partial_escape(text))))
        .map_err(xml_err)?;
    end(w, name)
}

/// `<name><Nm>…</Nm></name>`.
fn party(w: &mut W, name: &str, nm: &str) -> Result<(), ExportError> {
    start(w, name)?;
    leaf(w, "Nm", &sepa_name(nm))?;
    end(w, name)
}

fn account(w: &mut W, name: &str, iban: &str) -> Result<(), ExportError> {
    start(w, name)?;
    start(w, "Id")?;
    leaf(w, "IBAN", iban)?;
    end(w, "Id")?;
    end(w, name)
}

/// An agent by BIC, or (`None`) `NOTPROVIDED` as SEPA allows for the debtor's agent.
fn agent(
    w: &mut W,
    name: &str,
    version: PainVersion,
    bic: Option<&str>,
) -> Result<(), ExportError> {
    start(w, name)?;
    start(w, "FinInstnId")?;
    match bic {
        Some(b) => leaf(
            w,
            match version {
                PainVersion::V09 => "BICFI",
                PainVersion::V03 => "BIC",
            },
            b,
        )?,
        None => {
            start(w, "Othr")?;
            leaf(w, "Id", "NOTPROVIDED")?;
            end(w, "Othr")?;
        }
    }
    end(w, "FinInstnId")?;
    end(w, name)
}

fn amount_text(amount: Decimal) -> Option<String> {
    let max = Decimal::new(99_999_999_999, 2);
    (amount >= Decimal::new(1, 2) && amount <= max && Currency::EUR.fits(amount))
        .then(|| Currency::EUR.format(amount))
}

fn iban(s: &str) -> Result<String, ExportError> {
    receivables::validate_iban(s).map_err(|_| ExportError::InvalidIban(s.to_string()))
}

fn bic_for(version: PainVersion, bic: Option<&str>) -> Option<String> {
    bic.and_then(|b| receivables::validate_bic(b).ok())
        .filter(|b| version.accepts_bic(b))
}

/// The payment-information id of the file's `k`th PmtInf: the message id (cut so the whole
/// stays within 35 characters), `-P`, `k`.
pub fn payment_information_id(message_id: &str, k: usize) -> String {
    let suffix = format!("-P{k}");
    let keep = MAX_ID.saturating_sub(suffix.len()).min(message_id.len());
    let mut stem = message_id[..keep].to_string();
    while stem.ends_with('/') {
        stem.pop();
    }
    format!("{stem}{suffix}")
}

/// Writes `msg` as a pain.001 document of `version` (UTF-8, with XML declaration).
pub fn write(msg: &Message, version: PainVersion) -> Result<String, ExportError> {
    if msg.transfers.is_empty() {
        return Err(ExportError::Empty);
    }
    if !is_sepa_id(&msg.message_id) {
        return Err(ExportError::InvalidId(msg.message_id.clone()));
    }
    // Checks first, so that nothing half-written is ever returned.
    let mut ids = HashSet::new();
    let mut total = Decimal::ZERO;
    for t in &msg.transfers {
        if !is_sepa_id(&t.end_to_end_id) {
            return Err(ExportError::InvalidId(t.end_to_end_id.clone()));
        }
        if !ids.insert(t.end_to_end_id.as_str()) {
            return Err(ExportError::DuplicateId(t.end_to_end_id.clone()));
        }
        if amount_text(t.amount).is_none() {
            return Err(ExportError::InvalidAmount(t.end_to_end_id.clone()));
        }
        let r = sepa_cut(&t.remittance, usize::MAX);
        if r.is_empty() || r.len() > MAX_REMITTANCE {
            return Err(ExportError::InvalidRemittance(t.end_to_end_id.clone()));
        }
        iban(&t.creditor_iban)?;
        iban(&t.debtor.iban)?;
        total += t.amount;
    }
    // One PmtInf per execution date and debtor account, in the order they first appear.
    let mut groups: Vec<((NaiveDate, String), Vec<&CreditTransfer>)> = Vec::new();
    for t in &msg.transfers {
        let key = (t.execution_date, iban(&t.debtor.iban)?);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, g)) => g.push(t),
            None => groups.push((key, vec![t])),
        }
    }

    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
        .map_err(xml_err)?;
    let mut doc = BytesStart::new("Document");
    doc.push_attribute(("xmlns", version.namespace()));
    doc.push_attribute(("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"));
    w.write_event(Event::Start(doc)).map_err(xml_err)?;
    start(&mut w, "CstmrCdtTrfInitn")?;

    start(&mut w, "GrpHdr")?;
    leaf(&mut w, "MsgId", &msg.message_id)?;
    leaf(
        &mut w,
        "CreDtTm",
        &msg.created_at.format("%Y-%m-%dT%H:%M:%S").to_string(),
    )?;
    leaf(&mut w, "NbOfTxs", &msg.transfers.len().to_string())?;
    leaf(&mut w, "CtrlSum", &Currency::EUR.format(total))?;
    party(&mut w, "InitgPty", &msg.initiating_party)?;
    end(&mut w, "GrpHdr")?;

    for (k, ((date, debtor_iban), transfers)) in groups.iter().enumerate() {
        let debtor = &transfers[0].debtor;
        let sum: Decimal = transfers.iter().map(|t| t.amount).sum();
        start(&mut w, "PmtInf")?;
        leaf(
            &mut w,
            "PmtInfId",
            &payment_information_id(&msg.message_id, k + 1),
        )?;
        leaf(&mut w, "PmtMtd", "TRF")?;
        leaf(&mut w, "BtchBookg", "false")?;
        leaf(&mut w, "NbOfTxs", &transfers.len().to_string())?;
        leaf(&mut w, "CtrlSum", &Currency::EUR.format(sum))?;
        start(&mut w, "PmtTpInf")?;
        start(&mut w, "SvcLvl")?;
        leaf(&mut w, "Cd", "SEPA")?;
        end(&mut w, "SvcLvl")?;
        end(&mut w, "PmtTpInf")?;
        let day = date.format("%Y-%m-%d").to_string();
        match version {
            PainVersion::V09 => {
                start(&mut w, "ReqdExctnDt")?;
                leaf(&mut w, "Dt", &day)?;
                end(&mut w, "ReqdExctnDt")?;
            }
            PainVersion::V03 => leaf(&mut w, "ReqdExctnDt", &day)?,
        }
        party(&mut w, "Dbtr", &debtor.name)?;
        account(&mut w, "DbtrAcct", debtor_iban)?;
        agent(
            &mut w,
            "DbtrAgt",
            version,
            bic_for(version, debtor.bic.as_deref()).as_deref(),
        )?;
        leaf(&mut w, "ChrgBr", "SLEV")?;
        for t in transfers {
            start(&mut w, "CdtTrfTxInf")?;
            start(&mut w, "PmtId")?;
            leaf(&mut w, "EndToEndId", &t.end_to_end_id)?;
            end(&mut w, "PmtId")?;
            start(&mut w, "Amt")?;
            let mut amt = BytesStart::new("InstdAmt");
            amt.push_attribute(("Ccy", "EUR"));
            w.write_event(Event::Start(amt)).map_err(xml_err)?;
            w.write_event(Event::Text(BytesText::new(
                &amount_text(t.amount).expect("checked above"),
            )))
            .map_err(xml_err)?;
            end(&mut w, "InstdAmt")?;
            end(&mut w, "Amt")?;
            if let Some(bic) = bic_for(version, t.creditor_bic.as_deref()) {
                agent(&mut w, "CdtrAgt", version, Some(&bic))?;
            }
            party(&mut w, "Cdtr", &t.creditor_name)?;
            account(&mut w, "CdtrAcct", &iban(&t.creditor_iban)?)?;
            start(&mut w, "RmtInf")?;
            leaf(&mut w, "Ustrd", &sepa_cut(&t.remittance, MAX_REMITTANCE))?;
            end(&mut w, "RmtInf")?;
            end(&mut w, "CdtTrfTxInf")?;
        }
        end(&mut w, "PmtInf")?;
    }
    end(&mut w, "CstmrCdtTrfInitn")?;
    end(&mut w, "Document")?;
    let mut bytes = w.into_inner();
    bytes.push(b'\n');
    String::from_utf8(bytes).map_err(xml_err)
}
