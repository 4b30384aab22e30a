//! Property (issue 5): for any mix of invoices, credit notes, payments, write-offs,
//! cancellations and reversed payments, a customer's open items sum to its debtor account's
//! balance (and to its open_amount), and the collective account 1400 equals the sum of all
//! debtor accounts.

use crate::common::*;
use crate::helpers::*;
use crate::invoices::actor;
use crate::partners::customer;
use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::json;
use uuid::Uuid;

#[derive(Debug, Clone)]
enum Step {
    Invoice {
        customer: usize,
        cents: i64,
        tax: usize,
        credit_note: bool,
        month: u32,
    },
    Pay {
        which: usize,
        percent: i64,
    },
    WriteOff {
        which: usize,
        percent: i64,
    },
    Cancel {
        which: usize,
    },
    ReversePayment {
        which: usize,
    },
}

const CUSTOMERS: usize = 3;
const TAX_CODES: [Option<&str>; 3] = [Some("USt19"), Some("USt7"), None];

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        5 => (0..CUSTOMERS, 1i64..500_000, 0usize..3, prop::bool::weighted(0.25), 1u32..=6)
            .prop_map(|(customer, cents, tax, credit_note, month)| Step::Invoice { customer, cents, tax, credit_note, month }),
        3 => (0usize..40, 1i64..=100).prop_map(|(which, percent)| Step::Pay { which, percent }),
        1 => (0usize..40, 1i64..=100).prop_map(|(which, percent)| Step::WriteOff { which, percent }),
        1 => (0usize..40).prop_map(|which| Step::Cancel { which }),
        1 => (0usize..40).prop_map(|which| Step::ReversePayment { which }),
    ]
}

#[test]
fn open_items_equal_debtor_balances_and_the_collective_account() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
        cases: 16,
        ..Default::default()
    });
    runner
        .run(&proptest::collection::vec(step(), 4..24), |steps| {
            runtime.block_on(async {
                let app = spawn_app().await;
                let mut customers = Vec::new();
                for i in 0..CUSTOMERS {
                    customers.push(customer(&app, &format!("Customer {i}")).await);
                }
                let mut invoices: Vec<Uuid> = Vec::new();
                let mut payments: Vec<Uuid> = Vec::new();
                for (n, s) in steps.iter().enumerate() {
                    match s {
                        Step::Invoice { customer, cents, tax, credit_note, month } => {
                            let mut line = json!({"quantity": "1", "unit_price": Decimal::new(*cents, 2).to_string()});
                            if let Some(code) = TAX_CODES[*tax] {
                                line["tax_code"] = json!(code);
                            }
                            let body = json!({
                                "customer_id": customers[*customer].0,
                                "invoice_number": format!("P-{n}"),
                                "invoice_date": format!("2026-{month:02}-15"),
                                "type": if *credit_note { "credit_note" } else { "invoice" },
                                "lines": [line]
                            });
                            let res = app.post("/v1/outgoing-invoices", body).await;
                            invoices.push(res.expect(201, None)["id"].as_str().unwrap().parse().unwrap());
                        }
                        Step::Pay { which, percent } | Step::WriteOff { which, percent } if !invoices.is_empty() => {
                            let id = invoices[which % invoices.len()];
                            let got = app.get(&format!("/v1/outgoing-invoices/{id}")).await;
                            let got = got.expect(200, None);
                            let remaining = dec_of(&got["remaining_amount"]);
                            if got["status"] == "cancelled" || remaining <= Decimal::ZERO {
                                continue;
                            }
                            let amount = (remaining * Decimal::new(*percent, 2)).round_dp(2).max(Decimal::new(1, 2));
                            let date = "2026-07-01".parse().unwrap();
                            let applied = if matches!(s, Step::Pay { .. }) {
                                app.store.apply_payment(app.tenant.id, id, amount, date, None, &actor()).await
                            } else {
                                app.store.write_off(app.tenant.id, id, amount, date, None, Some("USt19"), &actor()).await
                            };
                            payments.push(applied.expect("within what is open").intent_id);
                        }
                        Step::Cancel { which } if !invoices.is_empty() => {
                            let id = invoices[which % invoices.len()];
                            let res = app.post(&format!("/v1/outgoing-invoices/{id}/cancel"), json!(null)).await;
                            match res.status.as_u16() {
                                200 => assert_eq!(res.body["status"], "cancelled"),
                                409 => assert!(matches!(res.body["code"].as_str(), Some("already_reversed" | "invoice_has_payments"))),
                                s => panic!("cancel: {s} {}", res.body),
                            }
                        }
                        Step::ReversePayment { which } if !payments.is_empty() => {
                            let intent = payments[which % payments.len()];
                            let res = app.post("/v1/journal/reverse", json!({"intent_id": intent, "reason": "returned"})).await;
                            assert!(matches!(res.status.as_u16(), 201 | 409), "{}", res.body);
                        }
                        _ => {}
                    }
                }
                let mut sum_of_debtors = Decimal::ZERO;
                for (id, account) in &customers {
                    let res = app.get(&format!("/v1/outgoing-invoices/open-items?customer_id={id}&limit=500")).await;
                    let items = res.expect(200, None).as_array().unwrap().clone();
                    let open: Decimal = items.iter().map(|i| dec_of(&i["open_amount"])).sum();
                    let balance = dec(&app.balance(account).await);
                    assert_eq!(open, balance, "open items of {account} vs its balance");
                    let c = app.get(&format!("/v1/customers/{id}")).await;
                    assert_eq!(dec_of(&c.expect(200, None)["open_amount"]), balance);
                    for i in &items {
                        assert_ne!(dec_of(&i["remaining_amount"]), Decimal::ZERO);
                    }
                    sum_of_debtors += balance;
                }
                assert_eq!(dec(&app.balance("1400").await), sum_of_debtors);
                let (lines, balance) = entries(&app, "1400", "limit=500").await;
                if lines.len() < 500 {
                    assert_eq!(sum_entries(&lines), balance);
                }
            });
            Ok(())
        })
        .unwrap();
}
