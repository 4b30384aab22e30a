//! Webhooks and the event feed (issue 15): the owner's use cases, the event payloads the other
//! use cases write into their own transactions (the outbox), and the delivery worker.
//!
//! The rules are in the pure `webhooks` crate (event names and versions, the signature, the
//! retry schedule, which addresses may be reached, when to disable); the rows in
//! `store::webhooks`. The worker (`App::run_webhook_worker`, started by `kontor serve`) claims
//! webhooks with due deliveries (`FOR NO KEY UPDATE SKIP LOCKED` and a lease on the webhook),
//! so any number of replicas can run it; it posts each webhook's deliveries one after the
//! other in sequence order, records
//! every attempt and the next retry time in the database (so retries survive restarts), and
//! emits the derived `invoice.overdue` events.

use crate::{App, AppError, AppResult};
use chrono::{DateTime, Utc};
use rand::Rng;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use store::webhooks::{AttemptOutcome, ClaimedDelivery, NewEvent};
pub use store::webhooks::{AttemptRow, DeliveryRow, FeedEvent, WebhookChange, WebhookRow};
use uuid::Uuid;
use webhooks::{EventType, RetrySchedule, Settled, WebhookError};

pub use store::webhooks::insert_events;

/// The settings of webhook delivery.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// `KONTOR_WEBHOOK_RETRY_SCHEDULE`.
    pub retry_schedule: RetrySchedule,
    /// `KONTOR_WEBHOOKS_ALLOW_PRIVATE`: loopback, link-local and private addresses allowed.
    pub allow_private: bool,
    /// `KONTOR_WEBHOOK_POLL_MS`: how often an idle worker looks for due deliveries.
    pub poll_interval: Duration,
    /// A delivery that takes longer fails (10 s).
    pub timeout: Duration,
    /// `KONTOR_WEBHOOK_TENANTS`: the worker serves only these tenants (None: all). For
    /// dedicated workers, and for tests that share one database.
    pub tenants: Option<Vec<Uuid>>,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            retry_schedule: RetrySchedule::default(),
            allow_private: false,
            poll_interval: Duration::from_secs(1),
            timeout: Duration::from_secs(10),
            tenants: None,
        }
    }
}

/// Webhooks one claim takes, and due deliveries of each.
const CLAIM_WEBHOOKS: i64 = 8;
const CLAIM: i64 = 16;
/// How often the worker looks for newly overdue invoices.
const OVERDUE_EVERY: Duration = Duration::from_secs(60);
/// `invoice.overdue` is emitted for due dates up to this many days back (so a worker that was
/// down for a few days catches up, but a first start does not flood receivers with old
/// invoices).
const OVERDUE_DAYS_BACK: i32 = 7;

/// A new webhook.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
}

/// A webhook with its secret: the answer of create and rotate-secret only.
#[derive(Debug, Clone)]
pub struct WebhookWithSecret {
    pub webhook: WebhookRow,
    pub secret: String,
}

fn new_secret() -> String {
    let random: String = rand::thread_rng()
        .sample_iter(&rand::distributions::Alphanumeric)
        .take(40)
        .map(char::from)
        .collect();
    format!("whsec_{random}")
}

impl App {
    pub fn webhook_config(&self) -> &WebhookConfig {
        &self.webhooks
    }

    /// A URL a webhook may have: its form, and every address its host resolves to now (a
    /// name that does not resolve yet is accepted; each delivery checks again).
    async fn check_webhook_url(&self, url: &str) -> AppResult<String> {
        let target = webhooks::check_url(url, self.webhooks.allow_private)?;
        if target.ip.is_none() && !self.webhooks.allow_private {
            if let Ok(resolved) = lookup(&target).await {
                webhooks::check_resolved(&target.host, &resolved, false)?;
            }
        }
        Ok(target.url)
    }

    pub async fn create_webhook(
        &self,
        tenant_id: Uuid,
        new: NewWebhook,
        created_by: &str,
    ) -> AppResult<WebhookWithSecret> {
        let url = self.check_webhook_url(&new.url).await?;
        let events = webhooks::validate_events(&new.events)?;
        webhooks::check_description(new.description.as_deref())?;
        let secret = new_secret();
        let webhook = self
            .store()
            .create_webhook(
                tenant_id,
                &store::webhooks::NewWebhookRow {
                    id: Uuid::now_v7(),
                    url: &url,
                    events: &events,
                    description: new.description.as_deref(),
                    secret: &secret,
                    created_by,
                },
            )
            .await?;
        Ok(WebhookWithSecret { webhook, secret })
    }

    pub async fn list_webhooks(&self, tenant_id: Uuid) -> AppResult<Vec<WebhookRow>> {
        Ok(self.store().list_webhooks(tenant_id).await?)
    }

    pub async fn get_webhook(&self, tenant_id: Uuid, id: Uuid) -> AppResult<WebhookRow> {
        Ok(self.store().get_webhook(tenant_id, id).await?)
    }

    pub async fn update_webhook(
        &self,
        tenant_id: Uuid,
        id: Uuid,
        mut change: WebhookChange,
    ) -> AppResult<WebhookRow> {
        if let Some(url) = &change.url {
            change.url = Some(self.check_webhook_url(url).await?);
        }
        if let Some(events) = &change.events {
            change.events = Some(webhooks::validate_events(events)?);
        }
        if let Some(d) = &change.description {
            webhooks::check_description(d.as_deref())?;
        }
        Ok(self.store().update_webhook(tenant_id, id, &change).await?)
    }

    pub async fn delete_webhook(&self, tenant_id: Uuid, id: Uuid) -> AppResult<WebhookRow> {
        Ok(self.store().delete_webhook(tenant_id, id).await?)
    }

    pub async fn rotate_webhook_secret(
        &self,
        tenant_id: Uuid,
        id: Uuid,
    ) -> AppResult<WebhookWithSecret> {
        let secret = new_secret();
        let webhook = self
            .store()
            .rotate_webhook_secret(tenant_id, id, &secret)
            .await?;
        Ok(WebhookWithSecret { webhook, secret })
    }

    /// The webhook's recent deliveries with their attempts (`failed_only`: exhausted ones).
    pub async fn list_webhook_deliveries(
        &self,
        tenant_id: Uuid,
        id: Uuid,
        failed_only: bool,
        limit: i64,
    ) -> AppResult<Vec<DeliveryRow>> {
        self.store().get_webhook(tenant_id, id).await?;
        Ok(self
            .store()
            .list_deliveries(tenant_id, id, failed_only, limit)
            .await?)
    }

    pub async fn redeliver(
        &self,
        tenant_id: Uuid,
        id: Uuid,
        delivery_id: Uuid,
    ) -> AppResult<DeliveryRow> {
        self.store().get_webhook(tenant_id, id).await?;
        Ok(self.store().redeliver(tenant_id, id, delivery_id).await?)
    }

    /// The feed after sequence `after`, oldest first.
    pub async fn list_events(
        &self,
        tenant_id: Uuid,
        after: i64,
        limit: i64,
    ) -> AppResult<Vec<FeedEvent>> {
        Ok(self
            .store()
            .list_feed_events(tenant_id, after, limit)
            .await?)
    }

    /// The delivery worker: runs until the process ends. Errors are logged and retried on the
    /// next round, never fatal.
    pub async fn run_webhook_worker(self) {
        let mut last_overdue: Option<Instant> = None;
        loop {
            if last_overdue.is_none_or(|t| t.elapsed() >= OVERDUE_EVERY) {
                last_overdue = Some(Instant::now());
                if let Err(e) = self.emit_overdue_invoices().await {
                    tracing::warn!(error = ?e, "invoice.overdue job failed");
                }
            }
            let delivered = match self.deliver_due().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = ?e, "webhook delivery round failed");
                    0
                }
            };
            if delivered == 0 {
                tokio::time::sleep(self.webhooks.poll_interval).await;
            }
        }
    }

    /// One round: claims webhooks with due deliveries and posts them, each webhook's in
    /// sequence order, different webhooks concurrently. Returns how many were claimed.
    pub async fn deliver_due(&self) -> AppResult<usize> {
        // The lease covers every post of a claim timing out one after the other.
        let lease = 30.0 + (CLAIM as f64) * (self.webhooks.timeout.as_secs_f64() + 1.0);
        let claimed = self
            .store()
            .claim_due_deliveries(
                CLAIM_WEBHOOKS,
                CLAIM,
                lease,
                self.webhooks.tenants.as_deref(),
            )
            .await?;
        let count = claimed.len();
        let mut by_webhook: BTreeMap<(Uuid, Uuid), Vec<ClaimedDelivery>> = BTreeMap::new();
        for c in claimed {
            by_webhook
                .entry((c.tenant_id, c.webhook_id))
                .or_default()
                .push(c);
        }
        let mut tasks = Vec::new();
        for ((tenant_id, webhook_id), deliveries) in by_webhook {
            let app = self.clone();
            tasks.push(tokio::spawn(async move {
                for d in deliveries {
                    if let Err(e) = app.deliver_one(d).await {
                        tracing::warn!(error = ?e, "recording a webhook attempt failed");
                    }
                }
                if let Err(e) = app.store().release_webhook(tenant_id, webhook_id).await {
                    tracing::warn!(error = ?e, "releasing a webhook's lease failed");
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
        Ok(count)
    }

    async fn deliver_one(&self, d: ClaimedDelivery) -> AppResult<()> {
        let started_at = Utc::now();
        let clock = Instant::now();
        let result = self.post(&d).await;
        let duration_ms = clock.elapsed().as_millis().min(i32::MAX as u128) as i32;
        let attempt = d.attempts + 1;
        let (status_code, error) = match &result {
            Ok(code) if (200..300).contains(code) => (Some(*code as i32), None),
            Ok(code) => (Some(*code as i32), Some(format!("HTTP {code}"))),
            Err(e) => (None, Some(e.clone())),
        };
        let outcome = if error.is_none() {
            AttemptOutcome::Delivered
        } else {
            match self
                .webhooks
                .retry_schedule
                .next_delay((attempt - d.round_start).max(1) as u32)
            {
                Some(secs) => {
                    AttemptOutcome::RetryAt(Utc::now() + chrono::Duration::seconds(secs as i64))
                }
                None => AttemptOutcome::Exhausted,
            }
        };
        tracing::info!(target: "webhooks", delivery = %d.delivery_id, webhook = %d.webhook_id,
            event = %d.event.event, sequence = d.event.sequence, attempt, status = ?status_code,
            error = ?error, duration_ms, "webhook attempt");
        self.store()
            .record_attempt(
                d.tenant_id,
                d.delivery_id,
                attempt,
                started_at,
                duration_ms,
                status_code,
                error.as_deref(),
                outcome,
            )
            .await?;
        if matches!(outcome, AttemptOutcome::Exhausted) {
            self.maybe_disable(&d).await?;
        }
        Ok(())
    }

    /// Posts one delivery to the address its URL resolves to, checked and pinned. Ok: the
    /// status code; Err: why there is none.
    async fn post(&self, d: &ClaimedDelivery) -> Result<u16, String> {
        let target =
            webhooks::check_url(&d.url, self.webhooks.allow_private).map_err(|e| e.to_string())?;
        let address = self.resolve(&target).await?;
        let body =
            serde_json::to_vec(&feed_json(&d.event, &d.tenant_slug)).map_err(|e| e.to_string())?;
        let t = Utc::now().timestamp();
        let signature = webhooks::signature_header(&d.secret, t, &body);
        let mut client = reqwest::Client::builder()
            .timeout(self.webhooks.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("kontor-webhooks/1");
        if target.ip.is_none() {
            // The connection goes to the address that was checked, not to whatever a second
            // DNS answer says (DNS rebinding).
            client = client.resolve(&target.host, address);
        }
        let client = client.build().map_err(|e| e.to_string())?;
        let delivery = d.delivery_id.to_string();
        let res = client
            .post(&target.url)
            .header("Content-Type", "application/json")
            .header("X-Kontor-Event", &d.event.event)
            .header("X-Kontor-Delivery", &delivery)
            .header("Idempotency-Key", &delivery)
            .header("X-Kontor-Signature", signature)
            .body(body)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    format!("timeout after {} s", self.webhooks.timeout.as_secs())
                } else if e.is_connect() {
                    format!("connection failed: {e}")
                } else {
                    e.to_string()
                }
            })?;
        Ok(res.status().as_u16())
    }

    async fn resolve(&self, target: &webhooks::Target) -> Result<SocketAddr, String> {
        let candidates = lookup(target).await?;
        webhooks::pick_address(&target.host, &candidates, self.webhooks.allow_private)
            .map(|ip| SocketAddr::new(ip, target.port))
            .map_err(|e| e.to_string())
    }

    /// After a delivery exhausted its retries: disables the webhook when its last five settled
    /// events all did, and tells the owners by mail.
    async fn maybe_disable(&self, d: &ClaimedDelivery) -> AppResult<()> {
        let recent = self
            .store()
            .recent_settled(d.tenant_id, d.webhook_id, webhooks::DISABLE_AFTER as i64)
            .await?;
        let settled: Vec<Settled> = recent
            .into_iter()
            .map(|failed| {
                if failed {
                    Settled::Exhausted
                } else {
                    Settled::Delivered
                }
            })
            .collect();
        if !webhooks::should_disable(&settled) {
            return Ok(());
        }
        let reason = format!(
            "disabled after the last {} events all failed every attempt",
            webhooks::DISABLE_AFTER
        );
        let Some(webhook) = self
            .store()
            .disable_webhook(d.tenant_id, d.webhook_id, &reason)
            .await?
        else {
            return Ok(());
        };
        tracing::warn!(webhook = %webhook.id, tenant = %d.tenant_id, "webhook disabled");
        let owners = self.store().owner_emails(d.tenant_id).await?;
        let mailer = match self.mailer.get() {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "cannot mail the owners about a disabled webhook");
                return Ok(());
            }
        };
        for to in owners {
            let body = format!(
                "Your kontor webhook {url} (id {id}, tenant {slug}) was disabled: the last {n} events \
                 could not be delivered, each after every retry.\n\n\
                 The failed deliveries are listed at GET /v1/webhooks/{id}/failed_deliveries and can be \
                 sent again with POST /v1/webhooks/{id}/deliveries/{{delivery_id}}/redeliver. \
                 Turn the webhook on again with PATCH /v1/webhooks/{id} {{\"active\": true}} once the \
                 receiver works.\n",
                url = webhook.url,
                id = webhook.id,
                slug = d.tenant_slug,
                n = webhooks::DISABLE_AFTER,
            );
            if let Err(e) = mailer
                .send(&to, "kontor: a webhook was disabled", body)
                .await
            {
                tracing::warn!(error = %e, "mailing an owner about a disabled webhook failed");
            }
        }
        Ok(())
    }

    /// The derived `invoice.overdue`: once per invoice (dedupe key), on the first day an open
    /// invoice is past due. Returns how many events were written.
    pub async fn emit_overdue_invoices(&self) -> AppResult<usize> {
        let today = self.today();
        let due = self
            .store()
            .newly_overdue_invoices(
                today,
                OVERDUE_DAYS_BACK,
                1000,
                self.webhooks.tenants.as_deref(),
            )
            .await?;
        let mut by_tenant: BTreeMap<Uuid, Vec<NewEvent>> = BTreeMap::new();
        for i in due {
            let c = journal::Currency::from_code(&i.currency).ok();
            let fmt = |x: rust_decimal::Decimal| match c {
                Some(c) => c.format(x),
                None => x.normalize().to_string(),
            };
            let mut e = event(
                EventType::InvoiceOverdue,
                json!({
                    "invoice_id": i.id,
                    "direction": i.direction,
                    "type": i.invoice_type,
                    "invoice_number": i.number,
                    "partner_id": i.partner_id,
                    "invoice_date": i.invoice_date,
                    "due_date": i.due_date,
                    "currency": i.currency,
                    "total_gross": fmt(i.total_gross),
                    "remaining_amount": fmt(i.remaining),
                    "status": "overdue",
                }),
            );
            e.dedupe_key = Some(format!("invoice.overdue:{}", i.id));
            by_tenant.entry(i.tenant_id).or_default().push(e);
        }
        let mut written = 0;
        for (tenant_id, events) in by_tenant {
            if self
                .store()
                .insert_derived_events(tenant_id, &events)
                .await?
            {
                written += events.len();
            }
        }
        Ok(written)
    }
}

/// The addresses a webhook URL's host resolves to (the literal for an IP URL).
async fn lookup(target: &webhooks::Target) -> Result<Vec<IpAddr>, String> {
    match target.ip {
        Some(ip) => Ok(vec![ip]),
        None => Ok(tokio::net::lookup_host((target.host.as_str(), target.port))
            .await
            .map_err(|e| format!("resolving {}: {e}", target.host))?
            .map(|a| a.ip())
            .collect()),
    }
}

/// The JSON of a feed event, as posted and as listed by `GET /v1/events`.
pub fn feed_json(e: &FeedEvent, tenant_slug: &str) -> Value {
    json!({
        "id": e.id,
        "sequence": e.sequence,
        "event": e.event,
        "version": e.version,
        "created_at": e.created_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "tenant": tenant_slug,
        "data": e.data,
    })
}

/// An event of this type with its current payload version.
pub fn event(t: EventType, data: Value) -> NewEvent {
    NewEvent::new(t.name(), t.version() as i32, data)
}

/// Writes one event in the use case's transaction (the outbox). Call it last in the
/// transaction (see `store::webhooks::insert_events`).
pub(crate) async fn emit(
    tx: &store::Transaction<'_>,
    tenant_id: Uuid,
    t: EventType,
    data: Value,
) -> AppResult<()> {
    Ok(insert_events(tx, tenant_id, &[event(t, data)]).await?)
}

/// `created_at` of a webhook-facing timestamp.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl From<WebhookError> for AppError {
    fn from(e: WebhookError) -> AppError {
        AppError::Webhook(e)
    }
}

/// The payload (version 1) of the invoice events: the invoice as it stands after the change.
pub fn invoice_data(i: &store::invoices::Invoice, today: chrono::NaiveDate) -> Value {
    let fmt = |x: rust_decimal::Decimal| match journal::Currency::from_code(&i.currency) {
        Ok(c) => c.format(x),
        Err(_) => x.normalize().to_string(),
    };
    json!({
        "invoice_id": i.id,
        "direction": i.direction.as_str(),
        "type": i.invoice_type.as_str(),
        "invoice_number": i.invoice_number,
        "partner_id": i.partner_id,
        "partner_name": i.partner_name,
        "invoice_date": i.invoice_date,
        "due_date": i.due_date,
        "currency": i.currency,
        "total_net": fmt(i.total_net),
        "total_tax": fmt(i.total_tax),
        "total_gross": fmt(i.total_gross),
        "remaining_amount": fmt(i.remaining()),
        "status": i.status(today).as_str(),
        "intent_id": i.intent_id,
        "cancellation_intent_id": i.cancellation_intent_id,
    })
}

impl App {
    /// An invoice event in the use case's transaction.
    pub(crate) async fn emit_invoice(
        &self,
        tx: &store::Transaction<'_>,
        tenant_id: Uuid,
        t: EventType,
        invoice: &store::invoices::Invoice,
    ) -> AppResult<()> {
        emit(tx, tenant_id, t, invoice_data(invoice, self.today())).await
    }

    /// `invoice.paid` for each of these invoices that nothing is open on any more (after a
    /// payment, write-off, bank match or payment run in this transaction).
    pub(crate) async fn emit_paid(
        &self,
        tx: &store::Transaction<'_>,
        tenant_id: Uuid,
        invoice_ids: &[Uuid],
    ) -> AppResult<()> {
        let mut seen = std::collections::BTreeSet::new();
        let ids: Vec<Uuid> = invoice_ids
            .iter()
            .copied()
            .filter(|id| seen.insert(*id))
            .collect();
        // Pipelined on the connection: a payment run of 1,000 invoices reads them in a few
        // round trips, not 1,000 one after the other.
        let invoices = futures_util::future::try_join_all(
            ids.iter()
                .map(|id| store::invoices::read_invoice(tx, tenant_id, None, *id)),
        )
        .await?;
        let events: Vec<_> = invoices
            .iter()
            .filter(|i| !i.state.cancelled && i.remaining() <= rust_decimal::Decimal::ZERO)
            .map(|i| event(EventType::InvoicePaid, invoice_data(i, self.today())))
            .collect();
        Ok(insert_events(tx, tenant_id, &events).await?)
    }
}
