mod common;

use common::*;
use journal::{Currency, Rule, RuleKind};
use payments::{
    eligible_invoices, end_to_end_id, is_sepa_id, message_id, plan_run, skonto, CashDiscount,
    ExclusionReason, OpenInvoice, Run, RunError,
};
use receivables::{Direction, InvoiceType};
use rust_decimal::Decimal;
use std::collections::HashSet;

fn check_totals(run: &Run) {
    let items: Decimal = run.items.iter().map(|i| i.amount).sum();
    let txs: Decimal = run.transactions.iter().map(|t| t.amount).sum();
    assert_eq!(items, run.total_amount);
    assert_eq!(txs, run.total_amount);
    assert_eq!(run.control_sum, Currency::EUR.format(run.total_amount));
    assert_eq!(run.transaction_count, run.transactions.len());
    let ids: HashSet<&str> = run
        .transactions
        .iter()
        .map(|t| t.end_to_end_id.as_str())
        .collect();
    assert_eq!(ids.len(), run.transactions.len(), "end-to-end ids unique");
    assert!(ids.iter().all(|id| is_sepa_id(id)));
    for t in &run.transactions {
        assert!(t.amount > Decimal::ZERO);
        assert!(t.remittance.len() <= 140 && !t.remittance.is_empty());
        assert!(t.creditor_name.len() <= 70);
    }
}

#[test]
fn one_payment_per_invoice_by_default() {
    let a = vendor(1, "Müller GmbH");
    let b = vendor(2, "Bäckerei Groß");
    let cands = vec![
        invoice(10, &a, "RE-1", "100.00", d(2026, 11, 30)),
        invoice(11, &a, "RE-2", "50.50", d(2026, 11, 28)),
        invoice(12, &b, "B/77", "19.99", d(2026, 11, 29)),
    ];
    let run = plan_run(&cands, &options(7)).unwrap();
    check_totals(&run);
    assert_eq!(run.invoice_count, 3);
    assert_eq!(run.transaction_count, 3);
    assert_eq!(run.total_amount, dec("170.49"));
    assert_eq!(run.control_sum, "170.49");
    // By due date: RE-2 (28th), B/77 (29th), RE-1 (30th); vendors in the order of their first.
    let rem: Vec<&str> = run
        .transactions
        .iter()
        .map(|t| t.remittance.as_str())
        .collect();
    assert_eq!(rem, ["RE-2", "RE-1", "B/77"]);
    assert_eq!(run.transactions[0].creditor_name, "Mueller GmbH");
    assert_eq!(run.transactions[2].creditor_name, "Baeckerei Gross");
    assert_eq!(run.transactions[0].end_to_end_id, end_to_end_id(uuid(7), 1));
    for item in &run.items {
        let e2e = item.end_to_end_id.as_deref().unwrap();
        let t = run
            .transactions
            .iter()
            .find(|t| t.end_to_end_id == e2e)
            .unwrap();
        assert_eq!(t.invoice_ids, [item.invoice_id]);
    }
    assert!(run.excluded.is_empty());
    assert_eq!(run.debtor.iban, "DE89370400440532013000");
}

#[test]
fn batch_by_vendor_groups_a_vendors_invoices() {
    let a = vendor(1, "A");
    let b = vendor(2, "B");
    let cands = vec![
        invoice(10, &a, "RE-1", "100.00", d(2026, 11, 30)),
        invoice(11, &a, "RE-2", "50.50", d(2026, 11, 28)),
        invoice(12, &b, "B-1", "19.99", d(2026, 11, 29)),
    ];
    let mut o = options(7);
    o.batch_by_vendor = true;
    let run = plan_run(&cands, &o).unwrap();
    check_totals(&run);
    assert_eq!(run.transaction_count, 2);
    assert_eq!(run.transactions[0].remittance, "RE-2, RE-1");
    assert_eq!(run.transactions[0].amount, dec("150.50"));
    assert_eq!(run.transactions[0].invoice_ids, [uuid(11), uuid(10)]);
    assert_eq!(run.transactions[1].remittance, "B-1");
}

#[test]
fn a_vendors_invoices_beyond_140_characters_go_into_more_payments() {
    let a = vendor(1, "Viele Rechnungen AG");
    let cands: Vec<OpenInvoice> = (1..=25)
        .map(|n| {
            invoice(
                100 + n,
                &a,
                &format!("Rechnung-2026-{n:04}"),
                "10.00",
                d(2026, 11, 26),
            )
        })
        .collect();
    let mut o = options(8);
    o.batch_by_vendor = true;
    let run = plan_run(&cands, &o).unwrap();
    check_totals(&run);
    // 18 characters each, 20 with ", ": 7 per remittance (7*18 + 6*2 = 138).
    assert_eq!(run.transaction_count, 4);
    assert_eq!(run.transactions[0].amount, dec("70.00"));
    assert_eq!(run.transactions[3].amount, dec("40.00"));
    let numbers: Vec<String> = run
        .transactions
        .iter()
        .flat_map(|t| {
            t.remittance
                .split(", ")
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect();
    let want: Vec<String> = (1..=25).map(|n| format!("Rechnung-2026-{n:04}")).collect();
    assert_eq!(numbers, want, "every number once, whole, in order");
}

#[test]
fn skonto_table() {
    // (percent, days, open, execution date, expected discount, expected deadline)
    let table = [
        (
            "2",
            10,
            "1190.00",
            d(2026, 11, 11),
            "23.80",
            d(2026, 11, 11),
        ),
        ("3", 14, "100.05", d(2026, 11, 2), "3.00", d(2026, 11, 15)),
        ("2.5", 7, "99.99", d(2026, 11, 8), "2.50", d(2026, 11, 8)),
        ("2", 10, "1190.00", d(2026, 11, 12), "0", d(2026, 11, 11)),
        ("0", 10, "500.00", d(2026, 11, 5), "0.00", d(2026, 11, 11)),
    ];
    for (percent, days, open, exec, want, deadline) in table {
        let terms = CashDiscount {
            percent: dec(percent),
            days,
        };
        let s = skonto(dec(open), d(2026, 11, 1), &terms);
        assert_eq!(s.deadline, deadline);
        let a = vendor(1, "A");
        let mut i = invoice(10, &a, "RE-1", open, d(2026, 11, 30));
        i.cash_discount = Some(terms);
        let mut o = options(9);
        o.today = exec;
        o.execution_date = exec;
        let run = plan_run(&[i.clone()], &o).unwrap();
        assert_eq!(
            run.items[0].discount,
            dec(want),
            "{percent}% of {open} on {exec}"
        );
        assert_eq!(run.items[0].amount, dec(open) - dec(want));
        assert_eq!(run.transactions[0].amount, dec(open) - dec(want));
        // The eligible list shows the Skonto and what would be paid.
        let e = eligible_invoices(&[i], d(2026, 12, 31), exec);
        assert_eq!(e[0].skonto.unwrap().amount, s.amount);
        assert_eq!(e[0].payable_amount, dec(open) - dec(want));
    }
}

#[test]
fn a_partial_amount_takes_no_skonto() {
    let a = vendor(1, "A");
    let mut i = invoice(10, &a, "RE-1", "1000.00", d(2026, 11, 30));
    i.cash_discount = Some(CashDiscount {
        percent: dec("2"),
        days: 30,
    });
    i.amount = Some(dec("400.00"));
    let run = plan_run(&[i], &options(9)).unwrap();
    assert_eq!(run.items[0].discount, Decimal::ZERO);
    assert_eq!(run.total_amount, dec("400.00"));
}

#[test]
fn netting_credit_notes_against_invoices() {
    let a = vendor(1, "A");
    let b = vendor(2, "B");
    let c = vendor(3, "C");
    let cands = vec![
        invoice(10, &a, "RE-1", "100.00", d(2026, 11, 26)),
        invoice(11, &a, "RE-2", "50.00", d(2026, 11, 27)),
        credit_note(12, &a, "GS-1", "30.00"),
        invoice(20, &b, "B-1", "20.00", d(2026, 11, 26)),
        credit_note(21, &b, "B-GS", "50.00"),
        credit_note(30, &c, "C-GS", "5.00"),
    ];
    let run = plan_run(&cands, &options(11)).unwrap();
    check_totals(&run);
    // A: one netted payment of 120 naming both invoices and the credit note.
    assert_eq!(run.transaction_count, 1);
    let t = &run.transactions[0];
    assert_eq!(t.amount, dec("120.00"));
    assert_eq!(t.remittance, "RE-1, RE-2, GS-1");
    assert_eq!(t.invoice_ids, [uuid(10), uuid(11), uuid(12)]);
    assert_eq!(run.invoice_count, 2);
    let gs = run.items.iter().find(|i| i.invoice_id == uuid(12)).unwrap();
    assert_eq!(gs.amount, dec("-30.00"));
    assert_eq!(gs.invoice_type, "credit_note");
    // B nets to -30: left out with the reason; C's credit note has nothing to net.
    let reasons: Vec<(u128, &str)> = run
        .excluded
        .iter()
        .map(|e| (e.invoice_id.as_u128(), e.reason.code()))
        .collect();
    assert!(reasons.contains(&(30, "no_invoice_to_net")));
    assert!(reasons.contains(&(20, "net_not_positive")));
    assert!(reasons.contains(&(21, "net_not_positive")));
    let b_reason = &run
        .excluded
        .iter()
        .find(|e| e.invoice_id == uuid(20))
        .unwrap()
        .reason;
    assert_eq!(
        *b_reason,
        ExclusionReason::NetNotPositive { net: dec("-30.00") }
    );
}

#[test]
fn netting_exactly_to_zero_leaves_the_vendor_out() {
    let a = vendor(1, "A");
    let b = vendor(2, "B");
    let cands = vec![
        invoice(10, &a, "RE-1", "30.00", d(2026, 11, 26)),
        credit_note(11, &a, "GS-1", "30.00"),
        invoice(20, &b, "B-1", "1.00", d(2026, 11, 26)),
    ];
    let run = plan_run(&cands, &options(12)).unwrap();
    assert_eq!(run.transaction_count, 1);
    assert_eq!(run.excluded.len(), 2);
    assert_eq!(
        run.excluded[0].reason,
        ExclusionReason::NetNotPositive { net: dec("0.00") }
    );
}

#[test]
fn netting_across_split_remittances_keeps_every_payment_positive() {
    let a = vendor(1, "A");
    let mut cands: Vec<OpenInvoice> = (1..=12)
        .map(|n| {
            invoice(
                100 + n,
                &a,
                &format!("Rechnung-2026-{n:04}"),
                "10.00",
                d(2026, 11, 26),
            )
        })
        .collect();
    cands.push(credit_note(200, &a, "Gutschrift-2026-0001", "95.00"));
    let run = plan_run(&cands, &options(13)).unwrap();
    check_totals(&run);
    assert_eq!(run.total_amount, dec("25.00"));
    assert!(run.transactions.len() >= 2);
}

#[test]
fn not_due_invoices_are_left_out() {
    let a = vendor(1, "A");
    let cands = vec![
        invoice(10, &a, "RE-1", "100.00", d(2026, 11, 26)),
        invoice(11, &a, "RE-2", "50.00", d(2026, 12, 2)),
    ];
    let mut o = options(14);
    o.due_before = Some(d(2026, 12, 2));
    let run = plan_run(&cands, &o).unwrap();
    assert_eq!(run.invoice_count, 1);
    assert_eq!(run.excluded[0].reason.code(), "not_due");
}

#[test]
fn eligible_invoices_filter() {
    let a = vendor(1, "A");
    let mut no_iban = vendor(2, "B");
    no_iban.iban = None;
    let mut outgoing = invoice(12, &a, "O-1", "10.00", d(2026, 11, 26));
    outgoing.direction = Direction::Outgoing;
    let mut held = invoice(13, &a, "H-1", "10.00", d(2026, 11, 26));
    held.active_run = Some(uuid(99));
    let mut usd = invoice(14, &a, "U-1", "10.00", d(2026, 11, 26));
    usd.currency = Currency::from_code("USD").unwrap();
    let cands = vec![
        invoice(10, &a, "RE-2", "10.00", d(2026, 11, 28)),
        invoice(11, &a, "RE-1", "10.00", d(2026, 11, 26)),
        outgoing,
        held,
        usd,
        invoice(15, &no_iban, "N-1", "10.00", d(2026, 11, 26)),
        invoice(16, &a, "P-1", "0.00", d(2026, 11, 26)),
        invoice(17, &a, "LATE", "10.00", d(2026, 12, 2)),
        credit_note(18, &a, "GS", "10.00"),
    ];
    let e = eligible_invoices(&cands, d(2026, 12, 2), d(2026, 11, 27));
    let ids: Vec<u128> = e.iter().map(|e| e.invoice_id.as_u128()).collect();
    assert_eq!(ids, [11, 10]);
}

#[test]
fn the_same_inputs_give_the_same_run_and_other_runs_other_ids() {
    let a = vendor(1, "A");
    let cands = vec![
        invoice(10, &a, "RE-1", "100.00", d(2026, 11, 26)),
        invoice(11, &a, "RE-2", "50.00", d(2026, 11, 27)),
    ];
    let one = plan_run(&cands, &options(21)).unwrap();
    let mut reversed = cands.clone();
    reversed.reverse();
    assert_eq!(plan_run(&reversed, &options(21)).unwrap(), one);
    let other = plan_run(&cands, &options(22)).unwrap();
    assert_ne!(
        one.transactions[0].end_to_end_id,
        other.transactions[0].end_to_end_id
    );
    assert_eq!(message_id(uuid(21)).len(), 26);
    let max = end_to_end_id(uuid::Uuid::max(), 99_999_999);
    assert!(is_sepa_id(&max), "{max}");
}

/// Every run error: its code, kind and field.
#[test]
fn every_run_error_code() {
    let a = vendor(1, "A");
    let ok = || invoice(10, &a, "RE-1", "100.00", d(2026, 11, 26));
    let with = |f: &dyn Fn(&mut OpenInvoice)| {
        let mut i = ok();
        f(&mut i);
        vec![i]
    };
    type Case = (
        &'static str,
        Vec<OpenInvoice>,
        payments::RunOptions,
        RuleKind,
        Option<&'static str>,
    );
    let mut bad_debtor = options(1);
    bad_debtor.debtor.iban = "DE00 1234".into();
    let mut no_debtor_iban = options(1);
    no_debtor_iban.debtor.iban = String::new();
    let mut bad_bic = options(1);
    bad_bic.debtor.bic = Some("NOTABIC".into());
    let mut past = options(1);
    past.execution_date = d(2026, 11, 24);
    let mut none_due = options(1);
    none_due.due_before = Some(d(2026, 11, 1));
    let cases: Vec<Case> = vec![
        (
            "vendor_without_iban",
            with(&|i| i.vendor.iban = None),
            options(1),
            RuleKind::Invalid,
            Some("invoice_ids"),
        ),
        (
            "vendor_without_iban",
            with(&|i| i.vendor.iban = Some("  ".into())),
            options(1),
            RuleKind::Invalid,
            Some("invoice_ids"),
        ),
        (
            "vendor_iban_invalid",
            with(&|i| i.vendor.iban = Some("DE00 0000 0000 0000 0000 00".into())),
            options(1),
            RuleKind::Invalid,
            Some("invoice_ids"),
        ),
        (
            "invoice_not_open",
            with(&|i| i.open_amount = Decimal::ZERO),
            options(1),
            RuleKind::Conflict,
            Some("invoice_ids"),
        ),
        (
            "invoice_not_open",
            with(&|i| i.direction = Direction::Outgoing),
            options(1),
            RuleKind::Conflict,
            Some("invoice_ids"),
        ),
        (
            "amount_exceeds_open",
            with(&|i| i.amount = Some(dec("100.01"))),
            options(1),
            RuleKind::Conflict,
            Some("amount"),
        ),
        (
            "invalid_amount",
            with(&|i| i.amount = Some(dec("0"))),
            options(1),
            RuleKind::Invalid,
            Some("amount"),
        ),
        (
            "invalid_amount",
            with(&|i| i.amount = Some(dec("1.001"))),
            options(1),
            RuleKind::Invalid,
            Some("amount"),
        ),
        (
            "invoice_in_active_run",
            with(&|i| i.active_run = Some(uuid(77))),
            options(1),
            RuleKind::Conflict,
            Some("invoice_ids"),
        ),
        (
            "bank_account_without_iban",
            vec![ok()],
            bad_debtor,
            RuleKind::Invalid,
            Some("bank_account_id"),
        ),
        (
            "bank_account_without_iban",
            vec![ok()],
            no_debtor_iban,
            RuleKind::Invalid,
            Some("bank_account_id"),
        ),
        (
            "bank_account_bic_invalid",
            vec![ok()],
            bad_bic,
            RuleKind::Invalid,
            Some("bank_account_id"),
        ),
        (
            "unsupported_currency",
            with(&|i| i.currency = Currency::from_code("CHF").unwrap()),
            options(1),
            RuleKind::Invalid,
            Some("invoice_ids"),
        ),
        (
            "execution_date_in_past",
            vec![ok()],
            past,
            RuleKind::Invalid,
            Some("execution_date"),
        ),
        (
            "duplicate_invoice",
            vec![ok(), ok()],
            options(1),
            RuleKind::Invalid,
            Some("invoice_ids"),
        ),
        (
            "invoice_number_too_long",
            with(&|i| i.number = "Ü".repeat(71)),
            options(1),
            RuleKind::Invalid,
            Some("invoice_ids"),
        ),
        (
            "empty_run",
            vec![],
            options(1),
            RuleKind::Invalid,
            Some("invoice_ids"),
        ),
        (
            "empty_run",
            vec![ok()],
            none_due,
            RuleKind::Invalid,
            Some("invoice_ids"),
        ),
    ];
    let mut codes = HashSet::new();
    for (code, cands, o, kind, field) in cases {
        let e = plan_run(&cands, &o).expect_err(code);
        assert_eq!(Rule::code(&e), code, "{e}");
        assert_eq!(e.kind(), kind, "{code}");
        assert_eq!(e.field().as_deref(), field, "{code}");
        codes.insert(code);
    }
    // The run errors of the state machine.
    let e = payments::transition(
        payments::PaymentRunStatus::Completed,
        payments::RunAction::Cancel,
        "a",
        "b",
    )
    .unwrap_err();
    codes.insert(RunError::code(&e));
    let e = payments::transition(
        payments::PaymentRunStatus::Draft,
        payments::RunAction::Approve,
        "a",
        "a",
    )
    .unwrap_err();
    codes.insert(RunError::code(&e));
    assert_eq!(codes.len(), 15, "every RunError variant covered: {codes:?}");
}

#[test]
fn the_invoice_in_another_run_is_named() {
    let a = vendor(1, "A");
    let mut i = invoice(10, &a, "RE-1", "100.00", d(2026, 11, 26));
    i.active_run = Some(uuid(77));
    let e = plan_run(&[i], &options(1)).unwrap_err();
    assert_eq!(
        e,
        RunError::InvoiceInActiveRun {
            invoice_id: uuid(10),
            run_id: uuid(77)
        }
    );
    assert!(e.to_string().contains(&uuid(77).to_string()));
}

#[test]
fn a_credit_note_held_by_another_run_is_left_out() {
    let a = vendor(1, "A");
    let mut gs = credit_note(11, &a, "GS-1", "30.00");
    gs.active_run = Some(uuid(5));
    let run = plan_run(
        &[invoice(10, &a, "RE-1", "100.00", d(2026, 11, 26)), gs],
        &options(1),
    )
    .unwrap();
    assert_eq!(run.total_amount, dec("100.00"));
    assert_eq!(run.excluded[0].reason.code(), "invoice_in_active_run");
    let _ = InvoiceType::CreditNote;
}

#[test]
fn credit_notes_that_cannot_be_netted_are_left_out() {
    let a = vendor(1, "A");
    let mut no_iban = vendor(2, "B");
    no_iban.iban = None;
    let mut chf = credit_note(11, &a, "GS-CHF", "30.00");
    chf.currency = Currency::from_code("CHF").unwrap();
    let mut outgoing = credit_note(12, &a, "GS-OUT", "30.00");
    outgoing.direction = Direction::Outgoing;
    let cands = vec![
        invoice(10, &a, "RE-1", "100.00", d(2026, 11, 26)),
        chf,
        outgoing,
        credit_note(13, &a, "GS-0", "0.00"),
        // A credit note of a vendor without IBAN and without invoices in the run.
        credit_note(14, &no_iban, "GS-B", "5.00"),
    ];
    let run = plan_run(&cands, &options(31)).unwrap();
    assert_eq!(run.total_amount, dec("100.00"));
    let reasons: Vec<(u128, &str)> = run
        .excluded
        .iter()
        .map(|e| (e.invoice_id.as_u128(), e.reason.code()))
        .collect();
    assert_eq!(
        reasons,
        [
            (11, "not_nettable"),
            (12, "not_nettable"),
            (13, "not_nettable"),
            (14, "no_invoice_to_net")
        ]
    );
}
