//! Differential tests on the real PostgreSQL: the rules that exist twice, once in SQL
//! (schema/0004: `kontor_invoice_status`, `kontor_invoice_settled`, `kontor_is_reversed`) for
//! filtering, and once in Rust (`receivables::status`), must agree.
//!
//! Run with `scripts/test.sh -p app`, which starts a throwaway cluster and sets DATABASE_URL.
mod common;

use common::*;

use app::invoices::Invoice;
use app::settlements::{Payment, WriteOff};
use app::App;
use chrono::{Duration, NaiveDate};
use journal::{Actor, PostingMode, ReversalCommand};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use receivables::{
    derive_status, Cancel, Direction, GivenTotals, InvoiceStatus, InvoiceType, NewInvoice,
    NewInvoiceLine, OpenItemState, PartnerInput, PartnerKind,
};
use rust_decimal::Decimal;
use store::Store;
use uuid::Uuid;

async fn partner(store: &Store, tenant_id: Uuid, kind: PartnerKind) -> Uuid {
    App::new(store.clone())
        .create_partner(
            tenant_id,
            kind,
            PartnerInput {
                name: format!("{} AG", kind.as_str()),
                ..Default::default()
            },
            None,
        )
        .await
        .expect("partner")
        .id
}

fn actor() -> Actor {
    Actor::system("differential-test")
}

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// The Rust side's model of one invoice: its applications and whether they are reversed.
struct Model {
    id: Uuid,
    intent_id: Uuid,
    gross: Decimal,
    due_date: Option<NaiveDate>,
    cancelled: bool,
    applications: Vec<(Uuid, Decimal, bool)>,
}

impl Model {
    fn settled(&self) -> Decimal {
        self.applications
            .iter()
            .filter(|(_, _, reversed)| !reversed)
            .map(|(_, a, _)| *a)
            .sum()
    }

    fn state(&self) -> OpenItemState {
        OpenItemState {
            gross: self.gross,
            settled: self.settled(),
            due_date: self.due_date,
            cancelled: self.cancelled,
        }
    }
}

/// What SQL says about an invoice on `today`: settled, cancelled, status.
async fn sql_view(
    store: &Store,
    tenant_id: Uuid,
    invoice_id: Uuid,
    today: NaiveDate,
) -> (Decimal, bool, String) {
    let client = store.client().await.unwrap();
    let row = client
        .query_one(
            "SELECT s.settled, s.cancelled,
                    kontor_invoice_status(s.total_gross, s.settled, s.due_date, s.cancelled, $3)
               FROM (SELECT i.total_gross, i.due_date,
                            kontor_invoice_settled(i.tenant_id, i.id, NULL) AS settled,
                            kontor_is_reversed(i.tenant_id, i.intent_id, NULL) AS cancelled
                       FROM invoices i WHERE i.tenant_id = $1 AND i.id = $2) s",
            &[&tenant_id, &invoice_id, &today],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

async fn compare(app: &App, store: &Store, tenant_id: Uuid, m: &Model, step: &str) {
    let read: Invoice = app.get_invoice(tenant_id, None, m.id).await.unwrap();
    for today in [
        date("2026-03-01"),
        date("2026-03-20"),
        date("2026-04-15"),
        date("2026-12-31"),
    ] {
        let (settled, cancelled, status) = sql_view(store, tenant_id, m.id, today).await;
        let rust = derive_status(&m.state(), today);
        assert_eq!(settled, m.settled(), "{step}: settled");
        assert_eq!(cancelled, m.cancelled, "{step}: cancelled");
        assert_eq!(status, rust.as_str(), "{step}: status on {today}");
        assert_eq!(read.status(today), rust, "{step}: read status on {today}");
        assert_eq!(read.remaining(), m.state().remaining(), "{step}: remaining");
    }
}

async fn scenario(seed: u64) {
    let store = test_store().await;
    let app = App::new(store.clone());
    let chart = if seed.is_multiple_of(2) {
        "skr03"
    } else {
        "skr04"
    };
    let tenant_id = tenant(&store, chart, 1).await;
    let customer = partner(&store, tenant_id, PartnerKind::Customer).await;
    let vendor = partner(&store, tenant_id, PartnerKind::Vendor).await;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut models = Vec::new();
    for n in 0..6 {
        let incoming = rng.gen_bool(0.4);
        let direction = if incoming {
            Direction::Incoming
        } else {
            Direction::Outgoing
        };
        let tax_code = match (incoming, rng.gen_bool(0.7)) {
            (_, false) => None,
            (false, true) => Some("USt19".to_string()),
            (true, true) => Some("VSt19".to_string()),
        };
        let due_date = rng
            .gen_bool(0.8)
            .then(|| date("2026-03-14") + Duration::days(rng.gen_range(0..40)));
        let new = NewInvoice {
            direction,
            invoice_type: if rng.gen_bool(0.3) {
                InvoiceType::CreditNote
            } else {
                InvoiceType::Invoice
            },
            partner_id: if incoming { vendor } else { customer },
            document_id: None,
            invoice_number: format!("D-{seed}-{n}"),
            invoice_date: date("2026-03-14"),
            due_date,
            totals: GivenTotals::default(),
            currency: None,
            intent_id: None,
            notes: None,
            lines: vec![NewInvoiceLine {
                description: Some("Differential".into()),
                quantity: Decimal::from(rng.gen_range(1..4)),
                unit_price: Decimal::new(rng.gen_range(100..50_000), 2),
                tax_code,
                ..Default::default()
            }],
            cash_discount_percent: None,
            cash_discount_days: None,
        };
        let invoice = app
            .create_invoice(tenant_id, new, &actor(), None)
            .await
            .expect("invoice");
        let m = Model {
            id: invoice.id,
            intent_id: invoice.intent_id,
            gross: invoice.total_gross,
            due_date,
            cancelled: false,
            applications: Vec::new(),
        };
        compare(&app, &store, tenant_id, &m, "created").await;
        models.push(m);
    }
    for step in 0..30 {
        let i = rng.gen_range(0..models.len());
        let m = &mut models[i];
        let remaining = m.state().remaining();
        let what = format!("seed {seed} step {step} invoice {i}");
        match rng.gen_range(0..6) {
            // A payment, or a write-off, of part or all of what is open (or too much).
            0..=2 => {
                let cents = (remaining * Decimal::ONE_HUNDRED)
                    .try_into()
                    .unwrap_or(0i64)
                    .max(1);
                let over = rng.gen_bool(0.1);
                let amount = if over {
                    remaining + Decimal::new(1, 2)
                } else {
                    Decimal::new(rng.gen_range(1..=cents), 2)
                };
                let date = date("2026-03-20");
                let result = if rng.gen_bool(0.7) {
                    let p = Payment {
                        amount,
                        date,
                        account: None,
                    };
                    app.apply_payment(tenant_id, m.id, p, &actor(), None).await
                } else {
                    let w = WriteOff {
                        amount,
                        date,
                        account: None,
                        tax_code: None,
                    };
                    app.write_off(tenant_id, m.id, w, &actor(), None).await
                };
                match result {
                    Ok(a) => {
                        assert!(!m.cancelled && amount <= remaining, "{what}: accepted");
                        m.applications.push((a.intent_id, a.amount, false));
                    }
                    Err(e) => {
                        let code = e.rule().map(|r| r.code());
                        let expected = if m.cancelled {
                            "invoice_cancelled"
                        } else {
                            "overpayment"
                        };
                        assert_eq!(code, Some(expected), "{what}: {e:?}");
                    }
                }
            }
            // Reverse a payment's booking through the journal.
            3 => {
                if let Some(k) = m.applications.iter().position(|(_, _, r)| !r) {
                    let cmd = ReversalCommand {
                        intent_id: m.applications[k].0,
                        reason: "bounced".into(),
                        posting_mode: PostingMode::Swap,
                    };
                    app.reverse(tenant_id, cmd, actor(), None).await.unwrap();
                    m.applications[k].2 = true;
                }
            }
            // Cancel the invoice (refused while something is applied).
            4 => {
                let cancel = Cancel {
                    reason: None,
                    posting_mode: PostingMode::Swap,
                };
                let result = app
                    .cancel_invoice(tenant_id, Direction::Outgoing, m.id, &cancel, &actor())
                    .await;
                let result = match result {
                    Err(e) if e.rule().map(|r| r.code()) == Some("not_found") => {
                        app.cancel_invoice(tenant_id, Direction::Incoming, m.id, &cancel, &actor())
                            .await
                    }
                    other => other,
                };
                match result {
                    Ok(invoice) => {
                        assert!(!m.cancelled && m.settled().is_zero(), "{what}");
                        assert_eq!(invoice.status(date("2026-03-20")), InvoiceStatus::Cancelled);
                        m.cancelled = true;
                    }
                    Err(e) => {
                        let code = e.rule().map(|r| r.code()).unwrap();
                        if m.cancelled {
                            assert_eq!(code, "already_reversed", "{what}");
                        } else {
                            assert_eq!(code, "invoice_has_payments", "{what}");
                        }
                    }
                }
            }
            // Reverse the invoice's booking through the journal, payments or not.
            _ => {
                if !m.cancelled {
                    let cmd = ReversalCommand {
                        intent_id: m.intent_id,
                        reason: "wrong customer".into(),
                        posting_mode: PostingMode::Swap,
                    };
                    app.reverse(tenant_id, cmd, actor(), None).await.unwrap();
                    m.cancelled = true;
                }
            }
        }
        let m = &models[i];
        compare(&app, &store, tenant_id, m, &what).await;
    }
}

#[tokio::test]
async fn invoice_status_and_settled_agree_in_sql_and_rust() {
    for seed in 1..=4 {
        scenario(seed).await;
    }
}

/// The status rule alone, over random inputs: `kontor_invoice_status` against
/// `receivables::derive_status`, one query for all cases.
#[tokio::test]
async fn the_status_rule_is_the_same_in_sql_and_rust() {
    let store = test_store().await;
    let mut rng = StdRng::seed_from_u64(7);
    let base = date("2026-03-14");
    let mut gross = Vec::new();
    let mut settled = Vec::new();
    let mut due = Vec::new();
    let mut cancelled = Vec::new();
    let mut today = Vec::new();
    for _ in 0..2000 {
        let g = Decimal::new(rng.gen_range(1..10_000), 2);
        gross.push(g);
        settled.push(match rng.gen_range(0..4) {
            0 => Decimal::ZERO,
            1 => g,
            2 => g + Decimal::new(rng.gen_range(1..500), 2),
            _ => Decimal::new(rng.gen_range(0..10_000), 2),
        });
        due.push(
            rng.gen_bool(0.8)
                .then(|| base + Duration::days(rng.gen_range(-5..5))),
        );
        cancelled.push(rng.gen_bool(0.2));
        today.push(base + Duration::days(rng.gen_range(-5..5)));
    }
    let client = store.client().await.unwrap();
    let rows = client
        .query(
            "SELECT kontor_invoice_status(g, s, d, c, t)
               FROM unnest($1::numeric[], $2::numeric[], $3::date[], $4::boolean[], $5::date[])
                    WITH ORDINALITY AS x(g, s, d, c, t, n) ORDER BY n",
            &[&gross, &settled, &due, &cancelled, &today],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), gross.len());
    for (k, row) in rows.iter().enumerate() {
        let state = OpenItemState {
            gross: gross[k],
            settled: settled[k],
            due_date: due[k],
            cancelled: cancelled[k],
        };
        let sql: &str = row.get(0);
        assert_eq!(
            sql,
            derive_status(&state, today[k]).as_str(),
            "{state:?} on {}",
            today[k]
        );
    }
}

/// A write-off without an account books on the chart's write-off role of the invoice's side
/// (SKR03 2400 / 8603, SKR04 6930 / 4830).
#[tokio::test]
async fn write_offs_default_to_the_chart_roles() {
    let store = test_store().await;
    let app = App::new(store.clone());
    for (chart, receivable, payable) in [("skr03", "2400", "8603"), ("skr04", "6930", "4830")] {
        let tenant_id = tenant(&store, chart, 1).await;
        for (kind, expected) in [
            (PartnerKind::Customer, receivable),
            (PartnerKind::Vendor, payable),
        ] {
            let partner_id = partner(&store, tenant_id, kind).await;
            let direction = match kind {
                PartnerKind::Customer => Direction::Outgoing,
                PartnerKind::Vendor => Direction::Incoming,
            };
            let new = NewInvoice {
                direction,
                invoice_type: InvoiceType::Invoice,
                partner_id,
                document_id: None,
                invoice_number: format!("W-{chart}"),
                invoice_date: date("2026-03-14"),
                due_date: None,
                totals: GivenTotals::default(),
                currency: None,
                intent_id: None,
                notes: None,
                lines: vec![NewInvoiceLine {
                    quantity: Decimal::ONE,
                    unit_price: Decimal::new(1000, 2),
                    ..Default::default()
                }],
                cash_discount_percent: None,
                cash_discount_days: None,
            };
            let invoice = app
                .create_invoice(tenant_id, new, &actor(), None)
                .await
                .unwrap();
            let w = WriteOff {
                amount: Decimal::new(1000, 2),
                date: date("2026-03-31"),
                account: None,
                tax_code: None,
            };
            let applied = app
                .write_off(tenant_id, invoice.id, w, &actor(), None)
                .await
                .unwrap();
            assert_eq!(applied.counter_account, expected, "{chart} {kind:?}");
        }
    }
}

/// Tenants created before the write-off roles get them from migration 0008.
#[tokio::test]
async fn migration_0008_gives_existing_tenants_the_write_off_roles() {
    let store = test_store().await;
    let mut tenants = Vec::new();
    for chart in ["skr03", "skr04"] {
        tenants.push((chart, tenant(&store, chart, 1).await));
    }
    let client = store.client().await.unwrap();
    let ids: Vec<Uuid> = tenants.iter().map(|(_, id)| *id).collect();
    // As a tenant created before the roles existed.
    client
        .execute(
            "DELETE FROM account_roles WHERE tenant_id = ANY($1) AND role LIKE 'write_off_%'",
            &[&ids],
        )
        .await
        .unwrap();
    client
        .batch_execute(include_str!("../../../schema/0008_write_off_roles.sql"))
        .await
        .unwrap();
    for (chart, id) in tenants {
        let rows = client
            .query(
                "SELECT role, number FROM account_roles WHERE tenant_id = $1 AND role LIKE 'write_off_%' ORDER BY role",
                &[&id],
            )
            .await
            .unwrap();
        let roles: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        let expected = match chart {
            "skr03" => [("8603", "2400")],
            _ => [("4830", "6930")],
        };
        assert_eq!(
            roles,
            vec![
                ("write_off_payables".to_string(), expected[0].0.to_string()),
                (
                    "write_off_receivables".to_string(),
                    expected[0].1.to_string()
                ),
            ],
            "{chart}"
        );
    }
}
