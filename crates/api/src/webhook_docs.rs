//! The OpenAPI 3.1 `webhooks` section: one entry per event with its versioned payload, the
//! headers every delivery carries, and what counts as received. utoipa 5 has no webhooks
//! support, so the section is written as JSON and added by `openapi::document()`.

use serde_json::{json, Map, Value};
use webhooks::{EventType, ALL_EVENTS};

fn string() -> Value {
    json!({"type": "string"})
}
fn nullable_string() -> Value {
    json!({"type": ["string", "null"]})
}
fn uuid() -> Value {
    json!({"type": "string", "format": "uuid"})
}
fn nullable_uuid() -> Value {
    json!({"type": ["string", "null"], "format": "uuid"})
}
fn date() -> Value {
    json!({"type": "string", "format": "date"})
}
fn amount() -> Value {
    json!({"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$", "description": "decimal string with the currency's minor units"})
}
fn integer() -> Value {
    json!({"type": "integer"})
}

fn object(props: Value, required: &[&str]) -> Value {
    json!({"type": "object", "properties": props, "required": required})
}

/// The `data` schema of an event type, payload version 1.
fn data_schema(t: EventType) -> Value {
    use EventType::*;
    match t {
        BookingCreated | JournalReversed => object(
            json!({
                "intent_id": uuid(),
                "kind": {"type": "string", "enum": ["booking", "opening_balance", "reversal"]},
                "booking_date": date(),
                "period": {"type": "string", "description": "YYYY-PP"},
                "description": string(),
                "external_reference": nullable_string(),
                "document_id": nullable_uuid(),
                "custom_metadata": {"type": ["object", "null"]},
                "currency": string(),
                "total_debit": amount(),
                "total_credit": amount(),
                "event_count": integer(),
                "first_seq": {"type": "integer", "description": "seq of the intent's first journal event"},
                "reversal_of": {"type": ["string", "null"], "format": "uuid", "description": "journal.reversed: the reversed intent"},
                "reason": nullable_string(),
                "actor": object(json!({"kind": string(), "id": string()}), &["kind", "id"]),
            }),
            &[
                "intent_id",
                "kind",
                "booking_date",
                "period",
                "currency",
                "total_debit",
                "total_credit",
                "event_count",
                "actor",
            ],
        ),
        PeriodSoftLocked | PeriodLockRequested | PeriodLocked | PeriodReopened => object(
            json!({
                "period": {"type": "string", "description": "YYYY-PP"},
                "fiscal_year": integer(),
                "period_number": integer(),
                "status": {"type": "string", "enum": ["open", "soft_locked", "lock_requested", "locked"]},
                "actor": string(),
                "at": {"type": "string", "format": "date-time"},
                "request_id": nullable_uuid(),
                "closing_hash": {"type": ["string", "null"], "description": "period.locked: the closing hash, lowercase hex"},
            }),
            &[
                "period",
                "fiscal_year",
                "period_number",
                "status",
                "actor",
                "at",
            ],
        ),
        InvoiceCreated | InvoicePaid | InvoiceOverdue | InvoiceCancelled => object(
            json!({
                "invoice_id": uuid(),
                "direction": {"type": "string", "enum": ["outgoing", "incoming"]},
                "type": {"type": "string", "enum": ["invoice", "credit_note"]},
                "invoice_number": string(),
                "partner_id": uuid(),
                "partner_name": string(),
                "invoice_date": date(),
                "due_date": {"type": ["string", "null"], "format": "date"},
                "currency": string(),
                "total_net": amount(),
                "total_tax": amount(),
                "total_gross": amount(),
                "remaining_amount": amount(),
                "status": {"type": "string", "enum": ["open", "partially_paid", "paid", "overdue", "cancelled"]},
                "intent_id": uuid(),
                "cancellation_intent_id": nullable_uuid(),
            }),
            &[
                "invoice_id",
                "direction",
                "type",
                "invoice_number",
                "partner_id",
                "invoice_date",
                "currency",
                "total_gross",
                "remaining_amount",
                "status",
            ],
        ),
        CustomerCreated | CustomerUpdated | VendorCreated | VendorUpdated => object(
            json!({
                "id": uuid(),
                "kind": {"type": "string", "enum": ["customer", "vendor"]},
                "account_number": string(),
                "name": string(),
                "tax_id": nullable_string(),
                "vat_id": nullable_string(),
                "iban": nullable_string(),
                "bic": nullable_string(),
                "address": {"type": ["object", "null"]},
                "default_account": nullable_string(),
                "is_active": {"type": "boolean"},
                "updated_at": {"type": "string", "format": "date-time"},
            }),
            &["id", "kind", "account_number", "name", "is_active"],
        ),
        BankTransactionImported => object(
            json!({
                "batch_id": uuid(),
                "bank_account_id": uuid(),
                "format": string(),
                "file_name": nullable_string(),
                "document_id": nullable_uuid(),
                "total_rows": integer(),
                "imported": integer(),
                "skipped_duplicates": integer(),
                "bank_transaction_ids": {"type": "array", "items": uuid(), "description": "the new transactions, at most 1000"},
                "bank_transaction_ids_truncated": {"type": "boolean"},
            }),
            &[
                "batch_id",
                "bank_account_id",
                "format",
                "imported",
                "skipped_duplicates",
                "bank_transaction_ids",
            ],
        ),
        BankTransactionReconciled => object(
            json!({
                "match_id": uuid(),
                "bank_transaction_ids": {"type": "array", "items": uuid()},
                "mode": {"type": "string", "enum": ["booked", "linked"]},
                "intent_id": uuid(),
                "detail": {"type": "object"},
            }),
            &["match_id", "bank_transaction_ids", "mode", "intent_id"],
        ),
        PaymentRunApproved | PaymentRunExported | PaymentRunCompleted => object(
            json!({
                "payment_run_id": uuid(),
                "status": {"type": "string", "enum": ["approved", "exported", "completed"]},
                "label": nullable_string(),
                "bank_account_id": uuid(),
                "execution_date": date(),
                "currency": string(),
                "total_amount": amount(),
                "invoice_count": integer(),
                "invoice_ids": {"type": "array", "items": uuid()},
                "payment_intent_ids": {"type": "array", "items": uuid()},
                "message_id": nullable_string(),
                "pain_version": nullable_string(),
            }),
            &[
                "payment_run_id",
                "status",
                "bank_account_id",
                "execution_date",
                "total_amount",
            ],
        ),
    }
}

fn header(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "header", "required": true, "description": description, "schema": {"type": "string"}})
}

/// `webhooks` of the OpenAPI document.
pub fn webhooks_section() -> Value {
    let mut section = Map::new();
    for (t, version, what) in ALL_EVENTS {
        let name = t.name();
        let op_id: String = std::iter::once("webhook".to_string())
            .chain(name.split(['.', '_']).map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            }))
            .collect();
        let body = object(
            json!({
                "id": {"type": "string", "format": "uuid", "description": "the event's id"},
                "sequence": {"type": "integer", "description": "the event's place in the tenant's feed (1, 2, 3 … in commit order); order by it"},
                "event": {"type": "string", "const": name},
                "version": {"type": "integer", "const": version},
                "created_at": {"type": "string", "format": "date-time"},
                "tenant": {"type": "string", "description": "the tenant's slug"},
                "data": data_schema(*t),
            }),
            &[
                "id",
                "sequence",
                "event",
                "version",
                "created_at",
                "tenant",
                "data",
            ],
        );
        section.insert(
            name.to_string(),
            json!({"post": {
                "operationId": op_id,
                "tags": ["Webhooks"],
                "summary": format!("{name} (payload version {version})"),
                "description": format!("{what}. Also in GET /v1/events. Verify X-Kontor-Signature before trusting the body (docs/api.md)."),
                "parameters": [
                    header("X-Kontor-Event", "the event name"),
                    header("X-Kontor-Delivery", "the delivery's id: one per event and webhook, the same on every retry"),
                    header("Idempotency-Key", "the same as X-Kontor-Delivery: deduplicate by it"),
                    header("X-Kontor-Signature", "t=<unix seconds>,v1=<hex HMAC-SHA256 keyed with the secret's UTF-8 bytes over \"<t>.<raw body>\">; reject t more than 300 s from your clock"),
                ],
                "requestBody": {"required": true, "content": {"application/json": {"schema": body}}},
                "responses": {
                    "2XX": {"description": "received. Any other status, or no answer within 10 s, is retried after 1 min, 5 min, 30 min, 2 h and 8 h"}
                }
            }}),
        );
    }
    Value::Object(section)
}
