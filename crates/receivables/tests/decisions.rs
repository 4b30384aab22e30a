//! Table tests of the invoice decisions: given a context, when a command is decided, then it
//! gives what to write or the expected rule (code, kind, field). No database.

use chrono::NaiveDate;
use journal::{BookingError, Currency, PostingMode, Rule, RuleKind};
use proptest::prelude::*;
use receivables::booking::{LinkedLine, SettlementKind};
use receivables::change::{
    decide_cancel, decide_settlement, decide_update, Cancel, InvoiceChange, LockedInvoice,
    SettleContext, Settlement, SettlementRoles, UpdateContext,
};
use receivables::create::{
    decide_invoice, CreateContext, InvoiceBookingError, InvoiceBookingPlan, LinkedIntent,
    NewInvoice, NewInvoiceLine, PartnerFacts, TaxCodeFacts,
};
use receivables::{Direction, GivenTotals, InvoiceType, OpenItemState};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::str::FromStr;
use uuid::Uuid;

const EUR: Currency = Currency::EUR;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn line(price: &str, tax_code: Option<&str>) -> NewInvoiceLine {
    NewInvoiceLine {
        description: Some("Consulting".into()),
        quantity: Decimal::ONE,
        unit_price: d(price),
        tax_code: tax_code.map(str::to_string),
        ..Default::default()
    }
}

fn new_invoice() -> NewInvoice {
    NewInvoice {
        direction: Direction::Outgoing,
        invoice_type: InvoiceType::Invoice,
        partner_id: id(1),
        document_id: None,
        invoice_number: " R-1 ".into(),
        invoice_date: date("2026-03-14"),
        due_date: Some(date("2026-03-28")),
        totals: GivenTotals::default(),
        currency: None,
        intent_id: None,
        notes: None,
        lines: vec![line("100.00", Some("USt19"))],
        cash_discount_percent: None,
        cash_discount_days: None,
    }
}

fn partner() -> PartnerFacts {
    PartnerFacts {
        name: "Acme".into(),
        account_number: "10000".into(),
        default_account: None,
        is_active: true,
    }
}

struct World {
    partner: Option<PartnerFacts>,
    tax_codes: HashMap<String, TaxCodeFacts>,
    accounts: HashMap<String, bool>,
    existing_number: Option<Uuid>,
    document_exists: bool,
    chart_default: Option<&'static str>,
    linked: Option<LinkedIntent>,
}

fn world() -> World {
    let mut tax_codes = HashMap::new();
    tax_codes.insert(
        "USt19".to_string(),
        TaxCodeFacts {
            rate: d("19"),
            self_assessed: false,
            is_active: true,
        },
    );
    tax_codes.insert(
        "Old".to_string(),
        TaxCodeFacts {
            rate: d("16"),
            self_assessed: false,
            is_active: false,
        },
    );
    let mut accounts = HashMap::new();
    accounts.insert("8400".to_string(), true);
    accounts.insert("8401".to_string(), false);
    World {
        partner: Some(partner()),
        tax_codes,
        accounts,
        existing_number: None,
        document_exists: false,
        chart_default: Some("8400"),
        linked: None,
    }
}

fn decide(
    new: &NewInvoice,
    w: &World,
) -> Result<receivables::DecidedInvoice, receivables::CreateInvoiceError> {
    decide_invoice(
        new,
        &CreateContext {
            invoice_id: id(99),
            base: EUR,
            partner: w.partner.as_ref(),
            document_exists: w.document_exists,
            existing_number: w.existing_number,
            tax_codes: &w.tax_codes,
            accounts: &w.accounts,
            chart_default_account: w.chart_default,
            linked: w.linked.as_ref(),
        },
    )
}

fn linked_ok() -> LinkedIntent {
    LinkedIntent {
        is_reversal: false,
        reversed: false,
        linked_to: None,
        lines: vec![
            LinkedLine {
                account: "10000".into(),
                generated: None,
                debit: d("119.00"),
                credit: d("0"),
            },
            LinkedLine {
                account: "8400".into(),
                generated: None,
                debit: d("0"),
                credit: d("100.00"),
            },
            LinkedLine {
                account: "1776".into(),
                generated: Some("tax".into()),
                debit: d("0"),
                credit: d("19.00"),
            },
        ],
    }
}

type Case = (
    &'static str,
    fn(&mut NewInvoice, &mut World),
    &'static str,
    RuleKind,
    Option<&'static str>,
);

#[test]
fn invoice_creation_rules() {
    let cases: Vec<Case> = vec![
        (
            "other currency",
            |n, _| n.currency = Some("USD".into()),
            "unsupported_currency",
            RuleKind::Invalid,
            Some("currency"),
        ),
        (
            "blank number",
            |n, _| n.invoice_number = "  ".into(),
            "invalid_invoice_number",
            RuleKind::Invalid,
            Some("invoice_number"),
        ),
        (
            "long number",
            |n, _| n.invoice_number = "x".repeat(101),
            "invalid_invoice_number",
            RuleKind::Invalid,
            Some("invoice_number"),
        ),
        (
            "due before date",
            |n, _| n.due_date = Some(date("2026-03-01")),
            "invalid_due_date",
            RuleKind::Invalid,
            Some("due_date"),
        ),
        (
            "long notes",
            |n, _| n.notes = Some("n".repeat(2001)),
            "too_long",
            RuleKind::Invalid,
            Some("notes"),
        ),
        (
            "long description",
            |n, _| n.lines[0].description = Some("d".repeat(501)),
            "too_long",
            RuleKind::Invalid,
            Some("lines[0].description"),
        ),
        (
            "unknown customer",
            |_, w| w.partner = None,
            "unknown_customer",
            RuleKind::Invalid,
            Some("customer_id"),
        ),
        (
            "unknown vendor",
            |n, w| {
                n.direction = Direction::Incoming;
                w.partner = None
            },
            "unknown_vendor",
            RuleKind::Invalid,
            Some("vendor_id"),
        ),
        (
            "inactive customer",
            |_, w| w.partner.as_mut().unwrap().is_active = false,
            "customer_inactive",
            RuleKind::Conflict,
            None,
        ),
        (
            "inactive vendor",
            |n, w| {
                n.direction = Direction::Incoming;
                w.partner.as_mut().unwrap().is_active = false
            },
            "vendor_inactive",
            RuleKind::Conflict,
            None,
        ),
        (
            "unknown document",
            |n, _| n.document_id = Some(id(7)),
            "unknown_document",
            RuleKind::Invalid,
            Some("document_id"),
        ),
        (
            "duplicate number",
            |_, w| w.existing_number = Some(id(5)),
            "duplicate_invoice_number",
            RuleKind::Conflict,
            None,
        ),
        (
            "unknown tax code",
            |n, _| n.lines[0].tax_code = Some("X".into()),
            "unknown_tax_code",
            RuleKind::Invalid,
            Some("lines[0].tax_code"),
        ),
        (
            "inactive tax code",
            |n, _| n.lines[0].tax_code = Some("Old".into()),
            "unknown_tax_code",
            RuleKind::Invalid,
            Some("lines[0].tax_code"),
        ),
        (
            "no default account",
            |_, w| w.chart_default = None,
            "unknown_account",
            RuleKind::Invalid,
            Some("lines[0].account"),
        ),
        (
            "unknown account",
            |n, _| n.lines[0].account = Some("4711".into()),
            "unknown_account",
            RuleKind::Invalid,
            Some("lines[0].account"),
        ),
        (
            "inactive account",
            |n, _| n.lines[0].account = Some("8401".into()),
            "unknown_account",
            RuleKind::Invalid,
            Some("lines[0].account"),
        ),
        (
            "no lines",
            |n, _| n.lines.clear(),
            "no_lines",
            RuleKind::Invalid,
            Some("lines"),
        ),
        (
            "totals mismatch",
            |n, _| n.totals.gross = Some(d("118.00")),
            "totals_mismatch",
            RuleKind::Invalid,
            Some("total_gross"),
        ),
        (
            "non-positive total",
            |n, _| n.lines[0].unit_price = d("-1"),
            "non_positive_total",
            RuleKind::Invalid,
            Some("total_gross"),
        ),
        (
            "unknown intent",
            |n, _| n.intent_id = Some(id(3)),
            "unknown_intent",
            RuleKind::Invalid,
            Some("intent_id"),
        ),
        (
            "reversal as intent",
            |n, w| {
                n.intent_id = Some(id(3));
                w.linked = Some(LinkedIntent {
                    is_reversal: true,
                    ..linked_ok()
                })
            },
            "intent_mismatch",
            RuleKind::Invalid,
            Some("intent_id"),
        ),
        (
            "reversed intent",
            |n, w| {
                n.intent_id = Some(id(3));
                w.linked = Some(LinkedIntent {
                    reversed: true,
                    ..linked_ok()
                })
            },
            "already_reversed",
            RuleKind::Conflict,
            None,
        ),
        (
            "linked intent",
            |n, w| {
                n.intent_id = Some(id(3));
                w.linked = Some(LinkedIntent {
                    linked_to: Some(id(4)),
                    ..linked_ok()
                })
            },
            "intent_already_linked",
            RuleKind::Conflict,
            None,
        ),
        (
            "mismatching intent",
            |n, w| {
                n.intent_id = Some(id(3));
                n.lines[0].unit_price = d("50");
                w.linked = Some(linked_ok())
            },
            "intent_mismatch",
            RuleKind::Invalid,
            Some("intent_id"),
        ),
    ];
    for (name, given, code, kind, field) in cases {
        let mut new = new_invoice();
        let mut w = world();
        given(&mut new, &mut w);
        let e = decide(&new, &w).expect_err(name);
        assert_eq!(e.code(), code, "{name}: {e}");
        assert_eq!(e.kind(), kind, "{name}");
        assert_eq!(e.field().as_deref(), field, "{name}");
    }
}

#[test]
fn an_invoice_is_booked_on_the_default_accounts() {
    let w = world();
    let decided = decide(&new_invoice(), &w).unwrap();
    assert_eq!(decided.invoice_number, "R-1");
    assert_eq!(decided.totals.gross, d("119.00"));
    assert_eq!(decided.lines[0].account, "8400");
    let InvoiceBookingPlan::Book { cmd, origin } = decided.booking else {
        panic!("booked")
    };
    assert_eq!(origin, vec![Some(0), None]);
    assert_eq!(cmd.lines[1].account, "10000");
    assert_eq!(
        cmd.custom_metadata.unwrap()["invoice_id"],
        id(99).to_string()
    );
    // The partner's default account wins over the chart's.
    let mut w = world();
    w.partner.as_mut().unwrap().default_account = Some("8401".into());
    w.accounts.insert("8401".into(), true);
    assert_eq!(decide(&new_invoice(), &w).unwrap().lines[0].account, "8401");
    // A matching booking is linked.
    let mut new = new_invoice();
    new.intent_id = Some(id(3));
    let mut w = world();
    w.linked = Some(linked_ok());
    assert_eq!(
        decide(&new, &w).unwrap().booking,
        InvoiceBookingPlan::Link(id(3))
    );
}

#[test]
fn booking_errors_are_told_in_terms_of_the_invoice() {
    let unknown = |field: &str| BookingError::UnknownAccount {
        field: field.into(),
        account: "8400".into(),
        reason: "is inactive",
    };
    let origin = [Some(0), Some(2), None];
    let cases: Vec<(BookingError, &str, RuleKind, Option<&str>)> = vec![
        (
            unknown("lines[1].account"),
            "unknown_account",
            RuleKind::Invalid,
            Some("lines[2].account"),
        ),
        (
            unknown("lines[2].account"),
            "unknown_account",
            RuleKind::Invalid,
            Some("customer_id"),
        ),
        (
            BookingError::PeriodLocked("2026-03".parse().unwrap()),
            "period_locked",
            RuleKind::Conflict,
            None,
        ),
        (
            BookingError::TooLong {
                field: "lines[0].description".into(),
                max: 500,
            },
            "too_long",
            RuleKind::Invalid,
            Some("lines[0].description"),
        ),
    ];
    for (given, code, kind, field) in cases {
        let e = InvoiceBookingError::locate(given.clone(), &origin, Direction::Outgoing);
        assert_eq!(e.code(), code, "{given:?}");
        assert_eq!(e.kind(), kind, "{given:?}");
        assert_eq!(e.field().as_deref(), field, "{given:?}");
        assert_eq!(e.booked, given);
        if let Some(f) = field {
            assert!(e.to_string().starts_with(f), "{e}");
        }
    }
}

fn locked(direction: Direction, settled: &str, cancelled: bool) -> LockedInvoice {
    LockedInvoice {
        id: id(10),
        direction,
        invoice_type: InvoiceType::Invoice,
        invoice_number: "R-1".into(),
        invoice_date: date("2026-03-14"),
        total_gross: d("119.00"),
        total_tax: d("19.00"),
        intent_id: id(20),
        due_date: Some(date("2026-03-28")),
        notes: None,
        partner_account: "10000".into(),
        state: OpenItemState {
            gross: d("119.00"),
            settled: d(settled),
            due_date: Some(date("2026-03-28")),
            cancelled,
        },
    }
}

fn settlement(kind: SettlementKind, amount: &str) -> Settlement {
    Settlement {
        kind,
        amount: d(amount),
        date: date("2026-04-01"),
        account: None,
        tax_code: None,
    }
}

const ROLES: SettlementRoles<'static> = SettlementRoles {
    bank: Some("1200"),
    write_off_receivables: Some("2400"),
    write_off_payables: Some("8603"),
};

const VAT19: TaxCodeFacts = TaxCodeFacts {
    rate: Decimal::from_parts(19, 0, 0, false, 0),
    self_assessed: false,
    is_active: true,
};

#[test]
fn settlement_rules() {
    type S = (
        &'static str,
        Settlement,
        Option<LockedInvoice>,
        SettlementRoles<'static>,
        Option<TaxCodeFacts>,
        &'static str,
        RuleKind,
        Option<&'static str>,
    );
    let pay = |a| settlement(SettlementKind::Payment, a);
    let off = |a| settlement(SettlementKind::WriteOff, a);
    let open = || Some(locked(Direction::Outgoing, "0", false));
    let rc = TaxCodeFacts {
        self_assessed: true,
        ..VAT19
    };
    let cases: Vec<S> = vec![
        (
            "zero",
            pay("0"),
            open(),
            ROLES,
            None,
            "non_positive_amount",
            RuleKind::Invalid,
            Some("amount"),
        ),
        (
            "sub-cent",
            pay("1.001"),
            open(),
            ROLES,
            None,
            "amount_precision",
            RuleKind::Invalid,
            Some("amount"),
        ),
        (
            "no invoice",
            pay("1"),
            None,
            ROLES,
            None,
            "not_found",
            RuleKind::NotFound,
            None,
        ),
        (
            "cancelled",
            pay("1"),
            Some(locked(Direction::Outgoing, "0", true)),
            ROLES,
            None,
            "invoice_cancelled",
            RuleKind::Conflict,
            None,
        ),
        (
            "overpayment",
            pay("119.01"),
            open(),
            ROLES,
            None,
            "overpayment",
            RuleKind::Conflict,
            None,
        ),
        (
            "overpayment of the rest",
            pay("19.01"),
            Some(locked(Direction::Outgoing, "100", false)),
            ROLES,
            None,
            "overpayment",
            RuleKind::Conflict,
            None,
        ),
        (
            "no bank",
            pay("1"),
            open(),
            SettlementRoles {
                bank: None,
                ..ROLES
            },
            None,
            "unknown_account",
            RuleKind::Invalid,
            Some("account"),
        ),
        (
            "no write-off account",
            off("1"),
            open(),
            SettlementRoles {
                write_off_receivables: None,
                ..ROLES
            },
            None,
            "unknown_account",
            RuleKind::Invalid,
            Some("account"),
        ),
        (
            "no payables write-off account",
            off("1"),
            Some(locked(Direction::Incoming, "0", false)),
            SettlementRoles {
                write_off_payables: None,
                ..ROLES
            },
            None,
            "unknown_account",
            RuleKind::Invalid,
            Some("account"),
        ),
        (
            "unknown tax code",
            Settlement {
                tax_code: Some("X".into()),
                ..off("1")
            },
            open(),
            ROLES,
            None,
            "unknown_tax_code",
            RuleKind::Invalid,
            Some("tax_code"),
        ),
        (
            "self-assessed tax code",
            Settlement {
                tax_code: Some("RC19".into()),
                ..off("1")
            },
            open(),
            ROLES,
            Some(rc),
            "unknown_tax_code",
            RuleKind::Invalid,
            Some("tax_code"),
        ),
    ];
    for (name, s, invoice, roles, tax, code, kind, field) in cases {
        let e = decide_settlement(
            &s,
            &SettleContext {
                application_id: id(30),
                base: EUR,
                invoice: invoice.as_ref(),
                invoice_id: id(10),
                roles,
                tax_code: tax.as_ref(),
            },
        )
        .expect_err(name);
        assert_eq!(e.code(), code, "{name}: {e}");
        assert_eq!(e.kind(), kind, "{name}");
        assert_eq!(e.field().as_deref(), field, "{name}");
    }
}

#[test]
fn settlements_default_to_the_chart_roles() {
    let cases = [
        (SettlementKind::Payment, Direction::Outgoing, "1200"),
        (SettlementKind::Payment, Direction::Incoming, "1200"),
        (SettlementKind::WriteOff, Direction::Outgoing, "2400"),
        (SettlementKind::WriteOff, Direction::Incoming, "8603"),
    ];
    for (kind, direction, account) in cases {
        let invoice = locked(direction, "0", false);
        let decided = decide_settlement(
            &settlement(kind, "119.00"),
            &SettleContext {
                application_id: id(30),
                base: EUR,
                invoice: Some(&invoice),
                invoice_id: id(10),
                roles: ROLES,
                tax_code: None,
            },
        )
        .unwrap();
        assert_eq!(decided.counter_account, account);
        assert_eq!(decided.amount, d("119.00"));
        assert_eq!(decided.cmd.lines.len(), 2);
        let meta = decided.cmd.custom_metadata.unwrap();
        assert_eq!(meta["application"], kind.as_str());
    }
    // With a tax code, the VAT is corrected.
    let invoice = locked(Direction::Outgoing, "0", false);
    let s = Settlement {
        tax_code: Some("USt19".into()),
        ..settlement(SettlementKind::WriteOff, "11.90")
    };
    let decided = decide_settlement(
        &s,
        &SettleContext {
            application_id: id(30),
            base: EUR,
            invoice: Some(&invoice),
            invoice_id: id(10),
            roles: ROLES,
            tax_code: Some(&VAT19),
        },
    )
    .unwrap();
    assert_eq!(decided.cmd.lines[1].debit, Some(d("10.00")));
    assert_eq!(decided.cmd.lines[1].tax_code.as_deref(), Some("USt19"));
}

#[test]
fn cancel_rules() {
    let c = Cancel {
        reason: Some("  ".into()),
        posting_mode: PostingMode::Swap,
    };
    let cases: Vec<(Option<LockedInvoice>, &str, RuleKind)> = vec![
        (None, "not_found", RuleKind::NotFound),
        (
            Some(locked(Direction::Outgoing, "0", true)),
            "already_reversed",
            RuleKind::Conflict,
        ),
        (
            Some(locked(Direction::Outgoing, "0.01", false)),
            "invoice_has_payments",
            RuleKind::Conflict,
        ),
    ];
    for (invoice, code, kind) in cases {
        let e = decide_cancel(id(10), invoice.as_ref(), &c).unwrap_err();
        assert_eq!((e.code(), e.kind(), e.field()), (code, kind, None));
    }
    let invoice = locked(Direction::Outgoing, "0", false);
    let r = decide_cancel(id(10), Some(&invoice), &c).unwrap();
    assert_eq!(r.intent_id, id(20));
    assert_eq!(r.reason, "Invoice cancelled");
}

#[test]
fn update_rules() {
    type U = (
        &'static str,
        InvoiceChange,
        Option<LockedInvoice>,
        Option<LinkedIntent>,
        &'static str,
        RuleKind,
        Option<&'static str>,
    );
    let open = || Some(locked(Direction::Outgoing, "0", false));
    let cancelled = || Some(locked(Direction::Outgoing, "0", true));
    let link = |n| InvoiceChange {
        intent_id: Some(id(n)),
        ..Default::default()
    };
    let cases: Vec<U> = vec![
        (
            "no invoice",
            InvoiceChange::default(),
            None,
            None,
            "not_found",
            RuleKind::NotFound,
            None,
        ),
        (
            "long notes",
            InvoiceChange {
                notes: Some(Some("n".repeat(2001))),
                ..Default::default()
            },
            open(),
            None,
            "too_long",
            RuleKind::Invalid,
            Some("notes"),
        ),
        (
            "due before date",
            InvoiceChange {
                due_date: Some(Some(date("2026-01-01"))),
                ..Default::default()
            },
            open(),
            None,
            "invalid_due_date",
            RuleKind::Invalid,
            Some("due_date"),
        ),
        (
            "booked",
            link(3),
            open(),
            Some(linked_ok()),
            "invoice_booked",
            RuleKind::Conflict,
            None,
        ),
        (
            "unknown intent",
            link(3),
            cancelled(),
            None,
            "unknown_intent",
            RuleKind::Invalid,
            Some("intent_id"),
        ),
        (
            "linked intent",
            link(3),
            cancelled(),
            Some(LinkedIntent {
                linked_to: Some(id(4)),
                ..linked_ok()
            }),
            "intent_already_linked",
            RuleKind::Conflict,
            None,
        ),
        (
            "mismatching intent",
            link(3),
            cancelled(),
            Some(LinkedIntent {
                lines: vec![],
                ..linked_ok()
            }),
            "intent_mismatch",
            RuleKind::Invalid,
            Some("intent_id"),
        ),
    ];
    for (name, change, invoice, linked, code, kind, field) in cases {
        let e = decide_update(
            &change,
            &UpdateContext {
                id: id(10),
                base: EUR,
                invoice: invoice.as_ref(),
                linked: linked.as_ref(),
            },
        )
        .expect_err(name);
        assert_eq!(e.code(), code, "{name}: {e}");
        assert_eq!(e.kind(), kind, "{name}");
        assert_eq!(e.field().as_deref(), field, "{name}");
    }
    // Linking the current booking again, or unchanged fields, change nothing.
    let invoice = locked(Direction::Outgoing, "0", false);
    let same = InvoiceChange {
        intent_id: Some(id(20)),
        notes: Some(Some("  ".into())),
        due_date: Some(Some(date("2026-03-28"))),
    };
    let ctx = UpdateContext {
        id: id(10),
        base: EUR,
        invoice: Some(&invoice),
        linked: None,
    };
    assert!(decide_update(&same, &ctx).unwrap().changes.is_empty());
    let relink = decide_update(
        &link(3),
        &UpdateContext {
            invoice: cancelled().as_ref(),
            linked: Some(&linked_ok()),
            ..ctx
        },
    )
    .unwrap();
    assert_eq!(relink.intent_id, id(3));
    assert_eq!(relink.changes.len(), 1);
}

fn debit_positive(cmd: &journal::BookingCommand, account: &str) -> Decimal {
    cmd.lines
        .iter()
        .filter(|l| l.account == account)
        .map(|l| l.debit.unwrap_or_default() - l.credit.unwrap_or_default())
        .sum()
}

proptest! {
    /// The booking of an invoice moves the partner by its gross and the lines by their nets,
    /// on the sides of its direction and type: the booking equals the computed totals.
    #[test]
    fn an_invoices_booking_equals_its_totals(
        prices in proptest::collection::vec((1i64..10_000_000, 1i64..50, any::<bool>(), any::<bool>()), 1..6),
        incoming in any::<bool>(),
        credit_note in any::<bool>(),
    ) {
        let mut new = new_invoice();
        new.direction = if incoming { Direction::Incoming } else { Direction::Outgoing };
        new.invoice_type = if credit_note { InvoiceType::CreditNote } else { InvoiceType::Invoice };
        new.lines = prices
            .iter()
            .map(|(cents, qty, taxed, _)| NewInvoiceLine {
                quantity: Decimal::from(*qty),
                ..line(&Decimal::new(*cents, 2).to_string(), taxed.then_some("USt19"))
            })
            .collect();
        let w = world();
        let decided = decide(&new, &w).unwrap();
        let InvoiceBookingPlan::Book { cmd, .. } = &decided.booking else { panic!("booked") };
        let debit: Decimal = cmd.lines.iter().filter_map(|l| l.debit).sum();
        let credit: Decimal = cmd.lines.iter().filter_map(|l| l.credit).sum();
        // Lines carry nets; the journal adds the tax, so the partner's gross exceeds the
        // other side by exactly the total tax.
        let sign = if incoming != credit_note { Decimal::NEGATIVE_ONE } else { Decimal::ONE };
        prop_assert_eq!(debit_positive(cmd, "10000"), sign * decided.totals.gross);
        prop_assert_eq!(debit_positive(cmd, "8400"), -sign * decided.totals.net);
        prop_assert_eq!((debit - credit).abs(), decided.totals.tax);
        let nets: Decimal = decided.lines.iter().map(|l| l.net).sum();
        let taxes: Decimal = decided.lines.iter().map(|l| l.tax).sum();
        prop_assert_eq!(nets + taxes, decided.totals.gross);
    }
}
