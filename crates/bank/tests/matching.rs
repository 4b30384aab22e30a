//! Candidate scoring and the match-group balance rule.

use bank::matching::rank_candidates;
use bank::{
    check_match_group, score_candidate, Adjustment, Allocation, BankTransaction, CandidateKind,
    CashDiscount, MatchError, OpenItem, Reason,
};
use chrono::NaiveDate;
use journal::{Currency, Rule, RuleKind};
use rust_decimal::Decimal;
use std::str::FromStr;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn tx(
    amount: &str,
    date: &str,
    name: Option<&str>,
    iban: Option<&str>,
    remittance: &str,
) -> BankTransaction {
    BankTransaction {
        booking_date: day(date),
        value_date: None,
        amount: d(amount),
        currency: Currency::EUR,
        counterparty_name: name.map(str::to_string),
        counterparty_iban: iban.map(str::to_string),
        remittance_info: Some(remittance.to_string()),
        end_to_end_id: None,
        bank_reference: None,
        exchange: None,
        raw: String::new(),
    }
}

fn item() -> OpenItem {
    OpenItem {
        kind: CandidateKind::OutgoingInvoice,
        invoice_number: "RE-2026-0042".to_string(),
        partner_name: "Müller & Söhne GmbH".to_string(),
        partner_ibans: vec!["DE02120300000000202051".to_string()],
        open_amount: d("1190.00"),
        currency: Currency::EUR,
        invoice_date: day("2026-02-01"),
        due_date: day("2026-03-01"),
        cash_discount: Some(CashDiscount {
            amount: d("23.80"),
            deadline: day("2026-02-11"),
        }),
        credit_note: false,
    }
}

#[test]
fn scoring_table() {
    use Reason::*;
    const IBAN: Option<&str> = Some("DE02120300000000202051");
    let cases: Vec<(BankTransaction, f64, Vec<Reason>)> = vec![
        // Everything agrees.
        (
            tx(
                "1190.00",
                "2026-03-02",
                Some("MUELLER SOEHNE"),
                IBAN,
                "Rechnung RE 2026 0042",
            ),
            1.0,
            vec![
                AmountExact,
                InvoiceNumberInRemittance,
                IbanMatch,
                NameMatch,
                DateClose,
            ],
        ),
        // The amount and the name only.
        (
            tx(
                "1190.00",
                "2026-03-02",
                Some("Müller & Söhne"),
                None,
                "Danke",
            ),
            0.65,
            vec![AmountExact, NameMatch, DateClose],
        ),
        // Skonto within its deadline.
        (
            tx(
                "1166.20",
                "2026-02-10",
                None,
                None,
                "re-2026-0042 abzgl. 2% Skonto",
            ),
            0.80,
            vec![CashDiscount, InvoiceNumberInRemittance, DateClose],
        ),
        // Skonto after its deadline: the amount does not count.
        (
            tx("1166.20", "2026-02-20", None, None, "RE-2026-0042"),
            0.40,
            vec![AmountDiffers, InvoiceNumberInRemittance, DateClose],
        ),
        // A partial payment by the partner named in the remittance.
        (
            tx("500.00", "2026-03-05", None, None, "Abschlag Müller Söhne"),
            0.30,
            vec![PartialPayment, PartnerInRemittance, DateClose],
        ),
        // Overpaid, late, unrelated.
        (
            tx("2000.00", "2026-07-01", None, None, "x"),
            0.0,
            vec![AmountDiffers, DateFar],
        ),
        // Money out never pays an outgoing invoice.
        (
            tx("-1190.00", "2026-03-02", None, IBAN, "RE-2026-0042"),
            0.0,
            vec![WrongDirection],
        ),
    ];
    for (i, (t, score, reasons)) in cases.iter().enumerate() {
        let s = score_candidate(t, &item());
        assert!((s.score - score).abs() < 1e-9, "case {i}: {s:?}");
        assert_eq!(&s.reasons, reasons, "case {i}");
        assert!((0.0..=1.0).contains(&s.score));
    }
    let skonto = score_candidate(&cases[2].0, &item());
    assert_eq!(
        (skonto.applied, skonto.discount),
        (d("1166.20"), d("23.80"))
    );
    let partial = score_candidate(&cases[4].0, &item());
    assert_eq!((partial.applied, partial.discount), (d("500.00"), d("0")));

    // An incoming invoice is paid with money out; another currency never matches.
    let mut vendor = item();
    vendor.kind = CandidateKind::IncomingInvoice;
    assert!(score_candidate(&cases[6].0, &vendor).score > 0.9);
    vendor.currency = Currency::from_code("USD").unwrap();
    assert_eq!(
        score_candidate(&cases[6].0, &vendor).reasons,
        vec![CurrencyDiffers]
    );
}

#[test]
fn ranking_puts_the_best_first() {
    let mut other = item();
    other.invoice_number = "RE-2026-0099".to_string();
    other.partner_name = "Schmidt KG".to_string();
    other.partner_ibans.clear();
    let items = [other, item()];
    let ranked = rank_candidates(
        &tx("1190.00", "2026-03-02", None, None, "RE-2026-0042"),
        &items,
    );
    assert_eq!(ranked[0].0, 1);
    assert!(ranked[0].1.score > ranked[1].1.score);
}

#[test]
fn match_group_balance_rule() {
    let eur = Currency::EUR;
    let alloc = |amount: &str| Allocation {
        candidate_kind: CandidateKind::OutgoingInvoice,
        candidate_id: "inv".to_string(),
        amount: d(amount),
    };
    let adj = |amount: &str| Adjustment {
        account: "4970".to_string(),
        amount: d(amount),
        reason: "fees".to_string(),
        tax_code: None,
    };
    // Two payments for one invoice less a bank fee; one payment for two invoices.
    assert_eq!(
        check_match_group(
            eur,
            &[d("600"), d("589.50")],
            &[alloc("1190.00")],
            &[adj("-0.50")]
        ),
        Ok(())
    );
    assert_eq!(
        check_match_group(eur, &[d("-300")], &[alloc("-100"), alloc("-200")], &[]),
        Ok(())
    );
    // Amounts that net to the transaction but lie beyond the journal's bound: refused, so that
    // no later sum of their absolute values can overflow.
    assert_eq!(
        check_match_group(
            eur,
            &[d("100")],
            &[
                alloc("50000000000000000000000000000"),
                alloc("-49999999999999999999999999900")
            ],
            &[]
        ),
        Err(MatchError::TooLarge {
            field: "allocations[0].amount".to_string()
        })
    );
    let cases: Vec<(Result<(), MatchError>, &str, &str)> = vec![
        (
            check_match_group(eur, &[d("100")], &[alloc("99")], &[]),
            "match_not_balanced",
            "allocations",
        ),
        (
            check_match_group(eur, &[], &[alloc("1")], &[]),
            "no_transactions",
            "bank_transaction_ids",
        ),
        (
            check_match_group(eur, &[d("1")], &[], &[]),
            "nothing_allocated",
            "allocations",
        ),
        (
            check_match_group(eur, &[d("1")], &[alloc("1"), alloc("0")], &[]),
            "zero_amount",
            "allocations[1].amount",
        ),
        (
            check_match_group(eur, &[d("1")], &[alloc("1")], &[adj("0.001")]),
            "amount_precision",
            "adjustments[0].amount",
        ),
    ];
    for (result, code, field) in cases {
        let e = result.unwrap_err();
        assert_eq!(e.code(), code, "{e}");
        assert_eq!(e.kind(), RuleKind::Invalid);
        assert_eq!(e.field().as_deref(), Some(field));
    }
    let e = check_match_group(eur, &[d("100")], &[alloc("99")], &[]).unwrap_err();
    assert_eq!(
        e,
        MatchError::NotBalanced {
            transactions: d("100"),
            allocated: d("99"),
            difference: d("1")
        }
    );
}

#[test]
fn a_credit_note_is_settled_by_money_the_other_way() {
    let mut refund = item();
    refund.credit_note = true;
    refund.cash_discount = None;
    refund.open_amount = d("119.00");
    // A customer's credit note is refunded: money out.
    let out = tx(
        "-119.00",
        "2026-02-05",
        Some("Müller & Söhne GmbH"),
        Some("DE02120300000000202051"),
        "Gutschrift RE-2026-0042",
    );
    let into = tx(
        "119.00",
        "2026-02-05",
        Some("Müller & Söhne GmbH"),
        Some("DE02120300000000202051"),
        "Gutschrift RE-2026-0042",
    );
    assert!(score_candidate(&out, &refund).score > 0.5);
    assert_eq!(score_candidate(&into, &refund).score, 0.0);
    // A vendor's credit note is refunded to us: money in.
    refund.kind = CandidateKind::IncomingInvoice;
    assert!(score_candidate(&into, &refund).score > 0.5);
    assert_eq!(score_candidate(&out, &refund).score, 0.0);
}
