//! Journal events: one event per journal line, grouped by the intent that wrote them.

use crate::calendar::PeriodId;
use crate::money::Currency;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Debit,
    Credit,
}

impl Side {
    pub fn as_str(&self) -> &'static str {
        match self {
            Side::Debit => "debit",
            Side::Credit => "credit",
        }
    }

    pub fn opposite(&self) -> Side {
        match self {
            Side::Debit => Side::Credit,
            Side::Credit => Side::Debit,
        }
    }
}

/// Why the service wrote a line that the caller did not send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generated {
    /// VAT on a line with a tax code.
    Tax,
    /// The self-assessed output VAT of reverse charge / intra-EU acquisition.
    SelfAssessment,
    /// The base-currency rounding difference of a foreign-currency booking.
    FxRounding,
    /// The counter line of an opening balance on the opening-balance account.
    OpeningBalance,
}

impl Generated {
    pub fn as_str(&self) -> &'static str {
        match self {
            Generated::Tax => "tax",
            Generated::SelfAssessment => "self_assessment",
            Generated::FxRounding => "fx_rounding",
            Generated::OpeningBalance => "opening_balance",
        }
    }

    pub fn parse(s: &str) -> Option<Generated> {
        [
            Generated::Tax,
            Generated::SelfAssessment,
            Generated::FxRounding,
            Generated::OpeningBalance,
        ]
        .into_iter()
        .find(|g| g.as_str() == s)
    }
}

/// Who caused an event: an API key, a user, or the system itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub kind: String,
    pub id: String,
}

impl Actor {
    pub fn api_key(id: Uuid) -> Actor {
        Actor {
            kind: "api_key".into(),
            id: id.to_string(),
        }
    }
    pub fn user(id: Uuid) -> Actor {
        Actor {
            kind: "user".into(),
            id: id.to_string(),
        }
    }
    pub fn system(what: &str) -> Actor {
        Actor {
            kind: "system".into(),
            id: what.into(),
        }
    }
    pub fn to_json(&self) -> Value {
        json!({"kind": self.kind, "id": self.id})
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct JournalLine {
    pub account: String,
    pub side: Side,
    /// In `currency`, as posted: negative only for a DATEV Generalumkehr (negative reversal).
    pub amount: Decimal,
    pub currency: Currency,
    /// In the tenant's base currency, same sign as `amount`.
    pub base_amount: Decimal,
    pub tax_code: Option<String>,
    pub tax_rate: Option<Decimal>,
    pub generated: Option<Generated>,
    pub description: Option<String>,
    pub cost_center: Option<String>,
}

impl JournalLine {
    /// Debit-positive base amount: what the line adds to its account's balance.
    pub fn signed_base(&self) -> Decimal {
        match self.side {
            Side::Debit => self.base_amount,
            Side::Credit => -self.base_amount,
        }
    }

    pub fn base_debit(&self) -> Decimal {
        if self.side == Side::Debit {
            self.base_amount
        } else {
            Decimal::ZERO
        }
    }

    pub fn base_credit(&self) -> Decimal {
        if self.side == Side::Credit {
            self.base_amount
        } else {
            Decimal::ZERO
        }
    }
}

/// A decided booking: what will be appended to the journal, before it has a `seq`.
#[derive(Debug, Clone, PartialEq)]
pub struct BookedIntent {
    pub intent_id: Uuid,
    pub kind: crate::booking::IntentKind,
    pub booking_date: NaiveDate,
    pub period: PeriodId,
    pub description: String,
    pub external_reference: Option<String>,
    pub document_id: Option<Uuid>,
    pub custom_metadata: Option<Map<String, Value>>,
    pub base_currency: Currency,
    pub fx_rate: Option<Decimal>,
    pub reversal_of: Option<Uuid>,
    pub posting_mode: Option<crate::booking::PostingMode>,
    pub reason: Option<String>,
    pub actor: Actor,
    pub recorded_at: DateTime<Utc>,
    pub lines: Vec<JournalLine>,
}

impl BookedIntent {
    pub fn total_base_debit(&self) -> Decimal {
        self.lines.iter().map(JournalLine::base_debit).sum()
    }

    pub fn total_base_credit(&self) -> Decimal {
        self.lines.iter().map(JournalLine::base_credit).sum()
    }

    /// The payload of the event for line `index` (0-based) once the intent's first line has
    /// `first_seq`. This is what is stored in `journal_events.payload` and hashed.
    pub fn event_payload(&self, tenant_id: Uuid, first_seq: i64, index: usize) -> Value {
        let line = &self.lines[index];
        let base = self.base_currency;
        json!({
            "type": "journal_line",
            "version": 1,
            "tenant_id": tenant_id.to_string(),
            "seq": first_seq + index as i64,
            "intent_id": self.intent_id.to_string(),
            "intent_kind": self.kind.as_str(),
            "line": index + 1,
            "line_count": self.lines.len(),
            "booking_date": self.booking_date.to_string(),
            "period": self.period.to_string(),
            "account": line.account,
            "side": line.side.as_str(),
            "amount": line.currency.format(line.amount),
            "currency": line.currency.code(),
            "base_amount": base.format(line.base_amount),
            "base_currency": base.code(),
            "fx_rate": self.fx_rate.map(|r| r.normalize().to_string()),
            "tax_code": line.tax_code,
            "tax_rate": line.tax_rate.map(|r| r.normalize().to_string()),
            "generated": line.generated.map(|g| g.as_str()),
            "description": self.description,
            "line_description": line.description,
            "cost_center": line.cost_center,
            "external_reference": self.external_reference,
            "document_id": self.document_id.map(|d| d.to_string()),
            "custom_metadata": self.custom_metadata.clone().map(Value::Object),
            "reversal_of": self.reversal_of.map(|r| r.to_string()),
            "posting_mode": self.posting_mode.map(|m| m.as_str()),
            "reason": self.reason,
            "actor": self.actor.to_json(),
            "recorded_at": self.recorded_at.to_rfc3339_opts(SecondsFormat::Micros, true),
        })
    }
}
