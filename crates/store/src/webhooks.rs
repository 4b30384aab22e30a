//! Webhooks and the event feed (schema/0015): the outbox rows a change writes in its own
//! transaction (`insert_events`), the webhooks, and what the delivery worker claims and records.
//!
//! Decides nothing: `webhooks` (the pure crate) says which events exist, when to retry and when
//! to disable; `app::webhooks` orchestrates.

use crate::{Store, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::GenericClient;
use serde_json::Value;
use std::collections::BTreeMap;
use tokio_postgres::error::SqlState;
use uuid::Uuid;

/// An event to append to a tenant's feed.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event: &'static str,
    pub version: i32,
    pub data: Value,
    /// Makes a derived event unique per tenant (see schema/0015).
    pub dedupe_key: Option<String>,
}

impl NewEvent {
    pub fn new(event: &'static str, version: i32, data: Value) -> NewEvent {
        NewEvent {
            event,
            version,
            data,
            dedupe_key: None,
        }
    }
}

/// The columns of events to append, one array each, as `kontor_feed_append` (schema/0018) takes
/// them.
pub(crate) struct FeedColumns<'a> {
    pub ids: Vec<Uuid>,
    pub names: Vec<&'a str>,
    pub versions: Vec<i32>,
    pub datas: Vec<&'a Value>,
    pub dedupe: Vec<Option<&'a str>>,
}

impl<'a> FeedColumns<'a> {
    pub fn of(events: &'a [NewEvent]) -> FeedColumns<'a> {
        FeedColumns {
            ids: events.iter().map(|_| Uuid::now_v7()).collect(),
            names: events.iter().map(|e| e.event).collect(),
            versions: events.iter().map(|e| e.version).collect(),
            datas: events.iter().map(|e| &e.data).collect(),
            dedupe: events.iter().map(|e| e.dedupe_key.as_deref()).collect(),
        }
    }
}

/// Appends events to the tenant's feed inside the caller's transaction (the outbox) with
/// `kontor_feed_append` (schema/0018): numbered from the tenant's feed head, whose row lock keeps
/// the sequence in commit order, with one delivery per event and active subscribed webhook. Call
/// it last in a transaction, after any journal head lock, so locks are taken in one order.
pub async fn insert_events(
    tx: &impl GenericClient,
    tenant_id: Uuid,
    events: &[NewEvent],
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let c = FeedColumns::of(events);
    let stmt = tx
        .prepare_cached(
            "SELECT kontor_feed_append($1, $2::uuid[], $3::text[], $4::int[], $5::jsonb[], $6::text[])",
        )
        .await?;
    tx.execute(
        &stmt,
        &[
            &tenant_id,
            &c.ids,
            &c.names,
            &c.versions,
            &c.datas,
            &c.dedupe,
        ],
    )
    .await?;
    Ok(())
}

/// `booking.created` (or `journal.reversed` for a reversal) of an intent, payload version 1.
pub fn booking_event(intent: &journal::BookedIntent, first_seq: i64) -> NewEvent {
    let c = intent.base_currency;
    let name = if intent.reversal_of.is_some() {
        "journal.reversed"
    } else {
        "booking.created"
    };
    NewEvent::new(
        name,
        1,
        serde_json::json!({
            "intent_id": intent.intent_id,
            "kind": intent.kind.as_str(),
            "booking_date": intent.booking_date,
            "period": intent.period.to_string(),
            "description": intent.description,
            "external_reference": intent.external_reference,
            "document_id": intent.document_id,
            "custom_metadata": intent.custom_metadata,
            "currency": c.code(),
            "total_debit": c.format(intent.total_base_debit()),
            "total_credit": c.format(intent.total_base_credit()),
            "event_count": intent.lines.len(),
            "first_seq": first_seq,
            "reversal_of": intent.reversal_of,
            "reason": intent.reason,
            "actor": intent.actor,
        }),
    )
}

/// A webhook as the owner sees it (never its secret).
#[derive(Debug, Clone)]
pub struct WebhookRow {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
    pub active: bool,
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const WEBHOOK_COLUMNS: &str =
    "id, url, events, description, active, disabled_reason, created_at, updated_at";

fn webhook_from_row(r: &tokio_postgres::Row) -> WebhookRow {
    WebhookRow {
        id: r.get("id"),
        url: r.get("url"),
        events: r.get("events"),
        description: r.get("description"),
        active: r.get("active"),
        disabled_reason: r.get("disabled_reason"),
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
    }
}

/// A new webhook as written.
#[derive(Debug, Clone)]
pub struct NewWebhookRow<'a> {
    pub id: Uuid,
    pub url: &'a str,
    pub events: &'a [String],
    pub description: Option<&'a str>,
    /// The signing secret (`whsec_…`).
    pub secret: &'a str,
    /// `user:<id>`.
    pub created_by: &'a str,
}

/// A change of a webhook; None leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct WebhookChange {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub description: Option<Option<String>>,
    pub active: Option<bool>,
}

/// One attempt of a delivery.
#[derive(Debug, Clone)]
pub struct AttemptRow {
    pub attempt: i32,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i32,
    pub status_code: Option<i32>,
    pub error: Option<String>,
}

/// A delivery of an event to a webhook, with its attempts.
#[derive(Debug, Clone)]
pub struct DeliveryRow {
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub event_id: Uuid,
    pub event: String,
    pub sequence: i64,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub attempt_log: Vec<AttemptRow>,
}

/// An event of the feed.
#[derive(Debug, Clone)]
pub struct FeedEvent {
    pub id: Uuid,
    pub sequence: i64,
    pub event: String,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub data: Value,
}

fn feed_event_from_row(r: &tokio_postgres::Row) -> FeedEvent {
    FeedEvent {
        id: r.get("event_id"),
        sequence: r.get("sequence"),
        event: r.get("event"),
        version: r.get("version"),
        created_at: r.get("event_created_at"),
        data: r.get("data"),
    }
}

/// A delivery the worker claimed, with everything it needs to post it.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub tenant_id: Uuid,
    pub tenant_slug: String,
    pub delivery_id: Uuid,
    pub webhook_id: Uuid,
    pub url: String,
    pub secret: String,
    /// Attempts made before this one, and how many of them came before the last redelivery.
    pub attempts: i32,
    pub round_start: i32,
    pub event: FeedEvent,
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy)]
pub enum AttemptOutcome {
    Delivered,
    RetryAt(DateTime<Utc>),
    Exhausted,
}

/// An invoice that became overdue, for the derived `invoice.overdue` event.
#[derive(Debug, Clone)]
pub struct OverdueInvoice {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub direction: String,
    pub invoice_type: String,
    pub number: String,
    pub partner_id: Uuid,
    pub invoice_date: NaiveDate,
    pub due_date: NaiveDate,
    pub currency: String,
    pub total_gross: rust_decimal::Decimal,
    pub remaining: rust_decimal::Decimal,
}

const DELIVERY_SELECT: &str = "SELECT d.id, d.webhook_id, d.event_id, e.event, d.sequence, d.status, d.attempts,
        nullif(d.next_attempt_at, '-infinity') AS next_attempt_at, d.last_attempt_at, d.last_status_code, d.last_error, d.created_at
   FROM webhook_deliveries d JOIN feed_events e ON e.tenant_id = d.tenant_id AND e.id = d.event_id";

impl Store {
    pub async fn create_webhook(
        &self,
        tenant_id: Uuid,
        w: &NewWebhookRow<'_>,
    ) -> Result<WebhookRow, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one(
                &format!(
                    "INSERT INTO webhooks (tenant_id, id, url, events, description, secret, created_by)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {WEBHOOK_COLUMNS}"
                ),
                &[
                    &tenant_id,
                    &w.id,
                    &w.url,
                    &w.events,
                    &w.description,
                    &w.secret,
                    &w.created_by,
                ],
            )
            .await?;
        Ok(webhook_from_row(&row))
    }

    pub async fn list_webhooks(&self, tenant_id: Uuid) -> Result<Vec<WebhookRow>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE tenant_id = $1 ORDER BY created_at, id"
                ),
                &[&tenant_id],
            )
            .await?;
        Ok(rows.iter().map(webhook_from_row).collect())
    }

    pub async fn get_webhook(&self, tenant_id: Uuid, id: Uuid) -> Result<WebhookRow, StoreError> {
        let client = self.client().await?;
        client
            .query_opt(
                &format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE tenant_id = $1 AND id = $2"),
                &[&tenant_id, &id],
            )
            .await?
            .map(|r| webhook_from_row(&r))
            .ok_or_else(|| StoreError::not_found(format!("webhook {id}")))
    }

    pub async fn update_webhook(
        &self,
        tenant_id: Uuid,
        id: Uuid,
        change: &WebhookChange,
    ) -> Result<WebhookRow, StoreError> {
        let client = self.client().await?;
        let (set_description, description) = match &change.description {
            Some(d) => (true, d.as_deref()),
            None => (false, None),
        };
        client
            .query_opt(
                &format!(
                    "UPDATE webhooks SET url = coalesce($3, url), events = coalesce($4, events),
                        description = CASE WHEN $5 THEN $6 ELSE description END,
                        active = coalesce($7, active),
                        disabled_reason = CASE WHEN coalesce($7, active) THEN NULL ELSE disabled_reason END,
                        updated_at = now()
                      WHERE tenant_id = $1 AND id = $2 RETURNING {WEBHOOK_COLUMNS}"
                ),
                &[
                    &tenant_id,
                    &id,
                    &change.url,
                    &change.events,
                    &set_description,
                    &description,
                    &change.active,
                ],
            )
            .await?
            .map(|r| webhook_from_row(&r))
            .ok_or_else(|| StoreError::not_found(format!("webhook {id}")))
    }

    /// Deletes a webhook with its deliveries and their attempts.
    pub async fn delete_webhook(
        &self,
        tenant_id: Uuid,
        id: Uuid,
    ) -> Result<WebhookRow, StoreError> {
        let client = self.client().await?;
        client
            .query_opt(
                &format!(
                    "DELETE FROM webhooks WHERE tenant_id = $1 AND id = $2 RETURNING {WEBHOOK_COLUMNS}"
                ),
                &[&tenant_id, &id],
            )
            .await?
            .map(|r| webhook_from_row(&r))
            .ok_or_else(|| StoreError::not_found(format!("webhook {id}")))
    }

    pub async fn rotate_webhook_secret(
        &self,
        tenant_id: Uuid,
        id: Uuid,
        secret: &str,
    ) -> Result<WebhookRow, StoreError> {
        let client = self.client().await?;
        client
            .query_opt(
                &format!(
                    "UPDATE webhooks SET secret = $3, updated_at = now()
                      WHERE tenant_id = $1 AND id = $2 RETURNING {WEBHOOK_COLUMNS}"
                ),
                &[&tenant_id, &id, &secret],
            )
            .await?
            .map(|r| webhook_from_row(&r))
            .ok_or_else(|| StoreError::not_found(format!("webhook {id}")))
    }

    /// The webhook's most recent deliveries (highest sequence first), with their attempts;
    /// `failed_only`: those that exhausted their retries.
    pub async fn list_deliveries(
        &self,
        tenant_id: Uuid,
        webhook_id: Uuid,
        failed_only: bool,
        limit: i64,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "{DELIVERY_SELECT}
                      WHERE d.tenant_id = $1 AND d.webhook_id = $2 AND (NOT $3 OR d.status = 'failed')
                      ORDER BY d.sequence DESC, d.id LIMIT $4"
                ),
                &[&tenant_id, &webhook_id, &failed_only, &limit],
            )
            .await?;
        let ids: Vec<Uuid> = rows.iter().map(|r| r.get("id")).collect();
        let attempts = client
            .query(
                "SELECT delivery_id, attempt, started_at, duration_ms, status_code, error
                   FROM webhook_attempts WHERE tenant_id = $1 AND delivery_id = ANY ($2)
                  ORDER BY delivery_id, attempt",
                &[&tenant_id, &ids],
            )
            .await?;
        let mut by_delivery: BTreeMap<Uuid, Vec<AttemptRow>> = BTreeMap::new();
        for a in &attempts {
            by_delivery
                .entry(a.get("delivery_id"))
                .or_default()
                .push(AttemptRow {
                    attempt: a.get("attempt"),
                    started_at: a.get("started_at"),
                    duration_ms: a.get("duration_ms"),
                    status_code: a.get("status_code"),
                    error: a.get("error"),
                });
        }
        Ok(rows
            .iter()
            .map(|r| {
                let mut d = delivery_from_row(r);
                d.attempt_log = by_delivery.remove(&d.id).unwrap_or_default();
                d
            })
            .collect())
    }

    /// Makes a delivery due again at once, with the whole retry schedule ahead of it.
    pub async fn redeliver(
        &self,
        tenant_id: Uuid,
        webhook_id: Uuid,
        delivery_id: Uuid,
    ) -> Result<DeliveryRow, StoreError> {
        let client = self.client().await?;
        let updated = client
            .execute(
                "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now(), round_start = attempts
                  WHERE tenant_id = $1 AND webhook_id = $2 AND id = $3",
                &[&tenant_id, &webhook_id, &delivery_id],
            )
            .await?;
        if updated == 0 {
            return Err(StoreError::not_found(format!("delivery {delivery_id}")));
        }
        let row = client
            .query_one(
                &format!("{DELIVERY_SELECT} WHERE d.tenant_id = $1 AND d.id = $2"),
                &[&tenant_id, &delivery_id],
            )
            .await?;
        Ok(delivery_from_row(&row))
    }

    /// The tenant's feed after `after` (a sequence), oldest first.
    pub async fn list_feed_events(
        &self,
        tenant_id: Uuid,
        after: i64,
        limit: i64,
    ) -> Result<Vec<FeedEvent>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT id AS event_id, sequence, event, version, created_at AS event_created_at, data
                   FROM feed_events WHERE tenant_id = $1 AND sequence > $2
                  ORDER BY sequence LIMIT $3",
                &[&tenant_id, &after, &limit],
            )
            .await?;
        Ok(rows.iter().map(feed_event_from_row).collect())
    }

    /// Claims webhooks that have due deliveries (up to `webhooks` of them) with up to `limit`
    /// due deliveries each, new ones first in sequence order. Each claimed webhook is leased
    /// for `lease_secs`: no other worker (replica) takes its deliveries until this one calls
    /// [`Store::release_webhook`] or the lease runs out (a worker that died), so one webhook's
    /// deliveries go out one after the other in sequence order, whatever the replicas.
    pub async fn claim_due_deliveries(
        &self,
        webhooks: i64,
        limit: i64,
        lease_secs: f64,
        tenants: Option<&[Uuid]>,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "WITH hooks AS (
                     SELECT w.tenant_id, w.id FROM webhooks w
                      WHERE w.active AND (w.delivering_until IS NULL OR w.delivering_until < now())
                        AND (w.tenant_id, w.id) IN (
                            SELECT d.tenant_id, d.webhook_id FROM webhook_deliveries d
                             WHERE d.status = 'pending' AND d.next_attempt_at <= now()
                               AND ($4::uuid[] IS NULL OR d.tenant_id = ANY ($4)))
                      ORDER BY w.delivering_until NULLS FIRST, w.created_at
                      LIMIT $1
                      FOR NO KEY UPDATE OF w SKIP LOCKED
                 ), leased AS (
                     UPDATE webhooks w SET delivering_until = now() + make_interval(secs => $3)
                       FROM hooks WHERE w.tenant_id = hooks.tenant_id AND w.id = hooks.id
                     RETURNING w.tenant_id, w.id, w.url, w.secret
                 )
                 SELECT l.tenant_id, t.slug, d.id, l.id AS webhook_id, l.url, l.secret, d.attempts, d.round_start,
                        e.id AS event_id, e.sequence, e.event, e.version, e.created_at AS event_created_at, e.data
                   FROM leased l
                   JOIN tenants t ON t.id = l.tenant_id
                   CROSS JOIN LATERAL (
                       SELECT * FROM webhook_deliveries d
                        WHERE d.tenant_id = l.tenant_id AND d.webhook_id = l.id
                          AND d.status = 'pending' AND d.next_attempt_at <= now()
                        ORDER BY d.next_attempt_at, d.sequence
                        LIMIT $2) d
                   JOIN feed_events e ON e.tenant_id = d.tenant_id AND e.id = d.event_id",
                &[&webhooks, &limit, &lease_secs, &tenants],
            )
            .await?;
        let mut claimed: Vec<ClaimedDelivery> = rows
            .iter()
            .map(|r| ClaimedDelivery {
                tenant_id: r.get("tenant_id"),
                tenant_slug: r.get("slug"),
                delivery_id: r.get("id"),
                webhook_id: r.get("webhook_id"),
                url: r.get("url"),
                secret: r.get("secret"),
                attempts: r.get("attempts"),
                round_start: r.get("round_start"),
                event: feed_event_from_row(r),
            })
            .collect();
        claimed.sort_by_key(|c| (c.webhook_id, c.event.sequence));
        Ok(claimed)
    }

    /// Ends a worker's lease of a webhook (see [`Store::claim_due_deliveries`]).
    pub async fn release_webhook(
        &self,
        tenant_id: Uuid,
        webhook_id: Uuid,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE webhooks SET delivering_until = NULL WHERE tenant_id = $1 AND id = $2",
                &[&tenant_id, &webhook_id],
            )
            .await?;
        Ok(())
    }

    /// Records an attempt and what follows from it.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_attempt(
        &self,
        tenant_id: Uuid,
        delivery_id: Uuid,
        attempt: i32,
        started_at: DateTime<Utc>,
        duration_ms: i32,
        status_code: Option<i32>,
        error: Option<&str>,
        outcome: AttemptOutcome,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let (status, next): (&str, Option<DateTime<Utc>>) = match outcome {
            AttemptOutcome::Delivered => ("delivered", None),
            AttemptOutcome::RetryAt(at) => ("pending", Some(at)),
            AttemptOutcome::Exhausted => ("failed", None),
        };
        tx.execute(
            "INSERT INTO webhook_attempts (tenant_id, delivery_id, attempt, started_at, duration_ms, status_code, error)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            &[&tenant_id, &delivery_id, &attempt, &started_at, &duration_ms, &status_code, &error],
        )
        .await?;
        tx.execute(
            "UPDATE webhook_deliveries SET attempts = $3, status = $4, next_attempt_at = $5,
                    last_attempt_at = $6, last_status_code = $7, last_error = $8
              WHERE tenant_id = $1 AND id = $2",
            &[
                &tenant_id,
                &delivery_id,
                &attempt,
                &status,
                &next,
                &started_at,
                &status_code,
                &error,
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// How the webhook's most recent settled deliveries ended, newest event first: true for
    /// exhausted.
    pub async fn recent_settled(
        &self,
        tenant_id: Uuid,
        webhook_id: Uuid,
        limit: i64,
    ) -> Result<Vec<bool>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT status = 'failed' FROM webhook_deliveries
                  WHERE tenant_id = $1 AND webhook_id = $2 AND status <> 'pending'
                  ORDER BY sequence DESC LIMIT $3",
                &[&tenant_id, &webhook_id, &limit],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// Disables an active webhook; the webhook when this call disabled it, None when it was
    /// already inactive (another replica was first).
    pub async fn disable_webhook(
        &self,
        tenant_id: Uuid,
        webhook_id: Uuid,
        reason: &str,
    ) -> Result<Option<WebhookRow>, StoreError> {
        let client = self.client().await?;
        Ok(client
            .query_opt(
                &format!(
                    "UPDATE webhooks SET active = false, disabled_reason = $3, updated_at = now()
                      WHERE tenant_id = $1 AND id = $2 AND active RETURNING {WEBHOOK_COLUMNS}"
                ),
                &[&tenant_id, &webhook_id, &reason],
            )
            .await?
            .map(|r| webhook_from_row(&r)))
    }

    /// The e-mail addresses of the tenant's active owners.
    pub async fn owner_emails(&self, tenant_id: Uuid) -> Result<Vec<String>, StoreError> {
        Ok(self
            .list_members(tenant_id)
            .await?
            .into_iter()
            .filter(|m| m.is_active && m.role == "owner")
            .map(|m| m.email)
            .collect())
    }

    /// Open invoices whose due date passed, at most `days_back` days before `today`, that have
    /// no `invoice.overdue` event yet.
    pub async fn newly_overdue_invoices(
        &self,
        today: NaiveDate,
        days_back: i32,
        limit: i64,
        tenants: Option<&[Uuid]>,
    ) -> Result<Vec<OverdueInvoice>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT * FROM (
                     SELECT i.tenant_id, i.id, i.direction, i.type, i.invoice_number, i.partner_id, i.invoice_date,
                            i.due_date, i.currency, i.total_gross,
                            kontor_is_reversed(i.tenant_id, i.intent_id, NULL) AS cancelled,
                            kontor_invoice_settled(i.tenant_id, i.id, NULL) AS settled
                       FROM invoices i
                      WHERE i.due_date < $1::date AND i.due_date >= $1::date - $2::int
                        AND ($4::uuid[] IS NULL OR i.tenant_id = ANY ($4))
                        AND NOT EXISTS (SELECT 1 FROM feed_events e
                                         WHERE e.tenant_id = i.tenant_id
                                           AND e.dedupe_key = 'invoice.overdue:' || i.id::text)) s
                  WHERE NOT s.cancelled AND s.total_gross - s.settled > 0
                  ORDER BY s.tenant_id, s.due_date, s.id LIMIT $3",
                &[&today, &days_back, &limit, &tenants],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let gross: rust_decimal::Decimal = r.get("total_gross");
                let settled: rust_decimal::Decimal = r.get("settled");
                OverdueInvoice {
                    tenant_id: r.get("tenant_id"),
                    id: r.get("id"),
                    direction: r.get("direction"),
                    invoice_type: r.get("type"),
                    number: r.get("invoice_number"),
                    partner_id: r.get("partner_id"),
                    invoice_date: r.get("invoice_date"),
                    due_date: r.get("due_date"),
                    currency: r.get("currency"),
                    total_gross: gross,
                    remaining: gross - settled,
                }
            })
            .collect())
    }

    /// Writes derived events of one tenant in a transaction of their own; false when another
    /// worker wrote one of them first (their dedupe key), in which case nothing is written.
    pub async fn insert_derived_events(
        &self,
        tenant_id: Uuid,
        events: &[NewEvent],
    ) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        match insert_events(&tx, tenant_id, events).await {
            Ok(()) => {
                tx.commit().await?;
                Ok(true)
            }
            Err(StoreError::Db(e)) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

fn delivery_from_row(r: &tokio_postgres::Row) -> DeliveryRow {
    DeliveryRow {
        id: r.get("id"),
        webhook_id: r.get("webhook_id"),
        event_id: r.get("event_id"),
        event: r.get("event"),
        sequence: r.get("sequence"),
        status: r.get("status"),
        attempts: r.get("attempts"),
        next_attempt_at: r.get("next_attempt_at"),
        last_attempt_at: r.get("last_attempt_at"),
        last_status_code: r.get("last_status_code"),
        last_error: r.get("last_error"),
        created_at: r.get("created_at"),
        attempt_log: Vec::new(),
    }
}
