//! Journal events: one event per journal line, grouped by the intent that wrote them.

use crate::booking::{IntentKind, PostingMode};
use crate::calendar::PeriodId;
use crate::money::Currency;
use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
/// In a payload: `{"kind": "api_key", "id": "<key id>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    pub kind: IntentKind,
    pub booking_date: NaiveDate,
    pub period: PeriodId,
    pub description: String,
    pub external_reference: Option<String>,
    pub document_id: Option<Uuid>,
    pub custom_metadata: Option<Map<String, Value>>,
    pub base_currency: Currency,
    pub fx_rate: Option<Decimal>,
    pub reversal_of: Option<Uuid>,
    pub posting_mode: Option<PostingMode>,
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

    /// The typed payload of the event for line `index` (0-based) once the intent's first line
    /// has `first_seq`. `None` if there is no line `index`.
    pub fn payload(&self, tenant_id: Uuid, first_seq: i64, index: usize) -> Option<EventPayload> {
        let line = self.lines.get(index)?;
        let base = self.base_currency;
        Some(EventPayload {
            kind: PayloadType::JournalLine,
            version: PAYLOAD_VERSION,
            tenant_id,
            seq: first_seq.saturating_add(index as i64),
            intent_id: self.intent_id,
            intent_kind: self.kind,
            line: index as u64 + 1,
            line_count: self.lines.len() as u64,
            booking_date: self.booking_date,
            period: self.period,
            account: line.account.clone(),
            side: line.side,
            amount: at_scale(line.amount, line.currency),
            currency: line.currency,
            base_amount: at_scale(line.base_amount, base),
            base_currency: base,
            fx_rate: self.fx_rate.map(|r| r.normalize()),
            tax_code: line.tax_code.clone(),
            tax_rate: line.tax_rate.map(|r| r.normalize()),
            generated: line.generated,
            description: self.description.clone(),
            line_description: line.description.clone(),
            cost_center: line.cost_center.clone(),
            external_reference: self.external_reference.clone(),
            document_id: self.document_id,
            custom_metadata: self.custom_metadata.clone(),
            reversal_of: self.reversal_of,
            posting_mode: self.posting_mode,
            reason: self.reason.clone(),
            actor: self.actor.clone(),
            recorded_at: self.recorded_at.trunc_subsecs(6),
        })
    }

    /// The payload of the event for line `index` (0-based) once the intent's first line has
    /// `first_seq`, as JSON. This is what is stored in `journal_events.payload` and hashed.
    ///
    /// Panics if the intent has no line `index`.
    pub fn event_payload(&self, tenant_id: Uuid, first_seq: i64, index: usize) -> Value {
        self.payload(tenant_id, first_seq, index)
            .expect("event_payload of an existing line")
            .to_value()
    }
}

/// The `version` of every payload written today.
pub const PAYLOAD_VERSION: u32 = 1;

/// The `type` of every payload: `"journal_line"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PayloadType {
    #[serde(rename = "journal_line")]
    JournalLine,
}

/// The payload of one journal event: what `journal_events.payload` holds and what is hashed
/// (through [`crate::canonical::canonical_bytes`] of [`EventPayload::to_value`]).
///
/// The JSON form is described key by key in `docs/audit.md`. Every key is always present, a
/// missing value is `null`:
/// - amounts are strings with exactly the currency's minor units (`Currency::format`),
///   negative only in a reversal with `posting_mode` `negative`;
/// - rates are normalized decimal strings (`"19"`, `"1.085"`);
/// - ids are hyphenated lowercase UUID strings, dates `YYYY-MM-DD`, periods `YYYY-PP`;
/// - `recorded_at` is RFC 3339 in UTC with microseconds and `Z`;
/// - `version`, `seq`, `line` and `line_count` are the only numbers.
///
/// Encoding ([`EventPayload::to_value`]) and decoding ([`EventPayload::from_value`]) live side
/// by side, so the appender reads back exactly what it wrote. `tests/pinned_hashes.rs` pins the
/// bytes: hashes already stored must never change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventPayload {
    #[serde(rename = "type")]
    pub kind: PayloadType,
    pub version: u32,
    pub tenant_id: Uuid,
    pub seq: i64,
    pub intent_id: Uuid,
    pub intent_kind: IntentKind,
    /// The line's position within its intent, from 1.
    pub line: u64,
    pub line_count: u64,
    #[serde(with = "wire::date")]
    pub booking_date: NaiveDate,
    pub period: PeriodId,
    pub account: String,
    pub side: Side,
    /// In `currency`, at the currency's scale (written as `Currency::format` writes it).
    #[serde(with = "wire::decimal")]
    pub amount: Decimal,
    pub currency: Currency,
    /// In `base_currency`, at its scale, same sign as `amount`.
    #[serde(with = "wire::decimal")]
    pub base_amount: Decimal,
    pub base_currency: Currency,
    /// Normalized.
    #[serde(with = "wire::opt_decimal", default)]
    pub fx_rate: Option<Decimal>,
    pub tax_code: Option<String>,
    /// Normalized.
    #[serde(with = "wire::opt_decimal", default)]
    pub tax_rate: Option<Decimal>,
    pub generated: Option<Generated>,
    pub description: String,
    pub line_description: Option<String>,
    pub cost_center: Option<String>,
    pub external_reference: Option<String>,
    pub document_id: Option<Uuid>,
    pub custom_metadata: Option<Map<String, Value>>,
    pub reversal_of: Option<Uuid>,
    pub posting_mode: Option<PostingMode>,
    pub reason: Option<String>,
    pub actor: Actor,
    /// Whole microseconds.
    #[serde(with = "wire::micros")]
    pub recorded_at: DateTime<Utc>,
}

/// A stored payload that is not a version-1 journal line.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    #[error("the event payload is not a journal line: {0}")]
    Json(#[from] serde_json::Error),
    #[error("event payload version {0} is not supported (expected {PAYLOAD_VERSION})")]
    Version(u32),
}

impl EventPayload {
    /// The JSON that is stored and hashed.
    pub fn to_value(&self) -> Value {
        // Every field serializes to a string, a number, null or an object with string keys,
        // which `serde_json` cannot refuse.
        serde_json::to_value(self).expect("an event payload always serializes")
    }

    /// Reads a stored payload back (from `jsonb`: the key order does not matter).
    pub fn from_value(value: &Value) -> Result<EventPayload, PayloadError> {
        let payload = EventPayload::deserialize(value)?;
        if payload.version != PAYLOAD_VERSION {
            return Err(PayloadError::Version(payload.version));
        }
        Ok(payload)
    }

    /// The journal line the event records (what a reversal reverses).
    pub fn line(&self) -> JournalLine {
        JournalLine {
            account: self.account.clone(),
            side: self.side,
            amount: self.amount,
            currency: self.currency,
            base_amount: self.base_amount,
            tax_code: self.tax_code.clone(),
            tax_rate: self.tax_rate,
            generated: self.generated,
            description: self.line_description.clone(),
            cost_center: self.cost_center.clone(),
        }
    }
}

/// `amount` with exactly the currency's minor units, as `Currency::format` writes it.
fn at_scale(amount: Decimal, currency: Currency) -> Decimal {
    let mut a = amount;
    a.rescale(currency.minor_units());
    a
}

/// The wire forms of the payload's values.
mod wire {
    pub mod decimal {
        use rust_decimal::Decimal;
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
            s.collect_str(d)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
            let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
            crate::money::parse_decimal(&text).map_err(serde::de::Error::custom)
        }
    }

    pub mod opt_decimal {
        use rust_decimal::Decimal;
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(d: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => s.collect_str(d),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
            match <Option<std::borrow::Cow<'de, str>>>::deserialize(d)? {
                Some(text) => crate::money::parse_decimal(&text)
                    .map(Some)
                    .map_err(serde::de::Error::custom),
                None => Ok(None),
            }
        }
    }

    pub mod date {
        use chrono::NaiveDate;
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(d: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
            s.collect_str(d)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
            let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
            text.parse().map_err(serde::de::Error::custom)
        }
    }

    pub mod micros {
        use chrono::{DateTime, SecondsFormat, Utc};
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Micros, true))
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
            let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
            DateTime::parse_from_rfc3339(&text)
                .map(|t| t.with_timezone(&Utc))
                .map_err(serde::de::Error::custom)
        }
    }
}
