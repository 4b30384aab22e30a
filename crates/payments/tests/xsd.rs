//! Generated pain.001 files validated against the real ISO XSDs (../shared/fixtures/xsd) with
//! xmllint.

mod common;

use chrono::NaiveDateTime;
use common::*;
use journal::Currency;
use payments::{
    message_id, plan_run, write, CreditTransfer, Debtor, ExportError, Message, OpenInvoice,
    PainVersion, Run,
};
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use rust_decimal::Decimal;
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};

fn created_at() -> NaiveDateTime {
    d(2026, 11, 25).and_hms_opt(14, 30, 5).unwrap()
}

fn export(run: &Run, version: PainVersion) -> String {
    write(
        &run.message(message_id(run.id), created_at(), "Müller & Söhne GmbH"),
        version,
    )
    .unwrap()
}

/// The texts of every `<tag>` in `xml` (the writer puts each element on its own line).
fn texts(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}");
    let close = format!("</{}>", tag.split(' ').next().unwrap());
    xml.lines()
        .filter_map(|l| {
            let l = l.trim();
            if !l.starts_with(&open) {
                return None;
            }
            let start = l.find('>')? + 1;
            let end = l.find(&close)?;
            Some(
                quick_xml::escape::unescape(&l[start..end])
                    .unwrap()
                    .into_owned(),
            )
        })
        .collect()
}

fn sample_run(batch: bool, with_bics: bool) -> Run {
    let mut a = vendor(
        1,
        "Müller & Söhne Großhandel für Bürobedarf und Schreibwaren aller Art GmbH & Co. KG",
    );
    let mut b = vendor(2, "Société Générale d'Équipement <Ørsted> 東京");
    if with_bics {
        a.bic = Some("DEUTDEFF".into());
        b.bic = Some("BNPAFRPPXXX".into());
    }
    let mut cands: Vec<OpenInvoice> = (1..=12)
        .map(|n| {
            invoice(
                100 + n,
                &a,
                &format!("Rechnung-Nr. 2026/{n:04}"),
                "123.45",
                d(2026, 11, 26),
            )
        })
        .collect();
    cands.push(invoice(200, &b, "F-ä-1", "0.01", d(2026, 11, 26)));
    cands.push(credit_note(201, &b, "Avoir 1", "0.00"));
    cands.retain(|c| c.open_amount > Decimal::ZERO);
    let mut o = options(0x0190_1234_5678_7abc_8def_0123_4567_89ab);
    o.batch_by_vendor = batch;
    if !with_bics {
        o.debtor.bic = None;
    }
    plan_run(&cands, &o).unwrap()
}

#[test]
fn sample_files_validate_in_both_versions() {
    let mut validated = 0;
    for version in [PainVersion::V09, PainVersion::V03] {
        for batch in [false, true] {
            for bics in [false, true] {
                let run = sample_run(batch, bics);
                let xml = export(&run, version);
                let name = format!("sample-b{batch}-bic{bics}");
                if !validate(&xml, version, &name) {
                    return;
                }
                validated += 1;
                assert_eq!(texts(&xml, "CtrlSum")[0], run.control_sum);
                assert_eq!(texts(&xml, "NbOfTxs")[0], run.transaction_count.to_string());
                assert_eq!(texts(&xml, "EndToEndId").len(), run.transaction_count);
                assert_eq!(texts(&xml, "BtchBookg"), ["false"]);
                assert_eq!(texts(&xml, "ChrgBr"), ["SLEV"]);
                let names = texts(&xml, "Nm");
                assert_eq!(names[0], "Mueller + Soehne GmbH", "InitgPty");
                assert!(names.iter().all(|n| n.len() <= 70));
                assert!(names.contains(
                    &"Mueller + Soehne Grosshandel fuer Buerobedarf und Schreibwaren aller A"
                        .to_string()
                ));
                assert!(names.contains(&"Societe Generale d'Equipement .Orsted. ..".to_string()));
                match version {
                    PainVersion::V09 => {
                        assert!(xml.contains("<ReqdExctnDt>\n"));
                        assert_eq!(texts(&xml, "Dt"), ["2026-11-27"]);
                        assert!(!xml.contains("<BIC>"));
                    }
                    PainVersion::V03 => {
                        assert_eq!(texts(&xml, "ReqdExctnDt"), ["2026-11-27"]);
                        assert!(!xml.contains("<BICFI>"));
                    }
                }
                if bics {
                    let tag = if version == PainVersion::V09 {
                        "BICFI"
                    } else {
                        "BIC"
                    };
                    let bics = texts(&xml, tag);
                    assert_eq!(bics[0], "COBADEFFXXX", "DbtrAgt");
                    let distinct: HashSet<&str> = bics.iter().map(String::as_str).collect();
                    assert_eq!(
                        distinct,
                        HashSet::from(["COBADEFFXXX", "DEUTDEFF", "BNPAFRPPXXX"])
                    );
                    assert!(!xml.contains("NOTPROVIDED"));
                } else {
                    assert_eq!(
                        texts(&xml, "Id")
                            .iter()
                            .filter(|t| *t == "NOTPROVIDED")
                            .count(),
                        1
                    );
                }
            }
        }
    }
    assert_eq!(validated, 8);
}

#[test]
fn exporting_twice_gives_the_same_bytes() {
    let run = sample_run(true, true);
    assert_eq!(
        export(&run, PainVersion::V09),
        export(&run, PainVersion::V09)
    );
    assert_eq!(
        export(&run, PainVersion::V03),
        export(&run, PainVersion::V03)
    );
}

fn transfer(e2e: &str, date: (i32, u32, u32), debtor_iban: &str, amount: &str) -> CreditTransfer {
    CreditTransfer {
        end_to_end_id: e2e.into(),
        execution_date: d(date.0, date.1, date.2),
        debtor: Debtor {
            name: "Kontor GmbH".into(),
            iban: debtor_iban.into(),
            bic: None,
        },
        amount: dec(amount),
        creditor_name: "Ölmühle Weiß".into(),
        creditor_iban: de_iban(42),
        creditor_bic: Some("ABCDDE10".into()), // valid for 09, not for 03's pattern
        remittance: "RE-1".into(),
    }
}

#[test]
fn one_payment_information_per_execution_date_and_debtor_account() {
    let other = de_iban(7);
    let msg = Message {
        message_id: "MSG-2026-11-25-0001".into(),
        created_at: created_at(),
        initiating_party: "Kontor GmbH".into(),
        transfers: vec![
            transfer("E2E-1", (2026, 11, 27), &debtor().iban, "10.00"),
            transfer("E2E-2", (2026, 11, 28), &debtor().iban, "20.00"),
            transfer("E2E-3", (2026, 11, 27), &other, "30.5"),
            transfer("E2E-4", (2026, 11, 27), &debtor().iban, "40.00"),
        ],
    };
    for version in [PainVersion::V09, PainVersion::V03] {
        let xml = write(&msg, version).unwrap();
        if !validate(&xml, version, "grouping") {
            return;
        }
        let ids = texts(&xml, "PmtInfId");
        assert_eq!(
            ids,
            [
                "MSG-2026-11-25-0001-P1",
                "MSG-2026-11-25-0001-P2",
                "MSG-2026-11-25-0001-P3"
            ]
        );
        assert_eq!(
            texts(&xml, "CtrlSum"),
            ["100.50", "50.00", "20.00", "30.50"]
        );
        assert_eq!(texts(&xml, "NbOfTxs"), ["4", "2", "1", "1"]);
        assert!(xml.contains("<InstdAmt Ccy=\"EUR\">30.50</InstdAmt>"));
        let bics = texts(&xml, "BICFI").len() + texts(&xml, "BIC").len();
        assert_eq!(bics, if version == PainVersion::V09 { 4 } else { 0 });
    }
}

#[test]
fn the_writer_refuses_what_the_schema_or_sepa_would() {
    let base = || Message {
        message_id: "M-1".into(),
        created_at: created_at(),
        initiating_party: "K".into(),
        transfers: vec![transfer("E-1", (2026, 11, 27), &debtor().iban, "1.00")],
    };
    let with = |f: &dyn Fn(&mut Message)| {
        let mut m = base();
        f(&mut m);
        write(&m, PainVersion::V09).unwrap_err()
    };
    assert_eq!(with(&|m| m.transfers.clear()), ExportError::Empty);
    assert!(matches!(
        with(&|m| m.message_id = "X".repeat(36)),
        ExportError::InvalidId(_)
    ));
    assert!(matches!(
        with(&|m| m.message_id = "M 1".into()),
        ExportError::InvalidId(_)
    ));
    assert!(matches!(
        with(&|m| m.transfers[0].end_to_end_id = "/E".into()),
        ExportError::InvalidId(_)
    ));
    assert!(matches!(
        with(&|m| m.transfers.push(m.transfers[0].clone())),
        ExportError::DuplicateId(_)
    ));
    for bad in ["0", "-1.00", "1.001", "1000000000.00"] {
        assert!(
            matches!(
                with(&|m| m.transfers[0].amount = dec(bad)),
                ExportError::InvalidAmount(_)
            ),
            "{bad}"
        );
    }
    assert!(matches!(
        with(&|m| m.transfers[0].remittance = "9".repeat(141)),
        ExportError::InvalidRemittance(_)
    ));
    assert!(matches!(
        with(&|m| m.transfers[0].remittance = " ".into()),
        ExportError::InvalidRemittance(_)
    ));
    assert!(matches!(
        with(&|m| m.transfers[0].creditor_iban = "DE00".into()),
        ExportError::InvalidIban(_)
    ));
    assert!(matches!(
        with(&|m| m.transfers[0].debtor.iban = String::new()),
        ExportError::InvalidIban(_)
    ));
    assert_eq!(PainVersion::parse("03"), Some(PainVersion::V03));
    assert_eq!(PainVersion::parse("09"), Some(PainVersion::V09));
    assert_eq!(PainVersion::parse("02"), None);
    assert_eq!(PainVersion::default(), PainVersion::V09);
}

/// Characters a vendor name or invoice number may bring: umlauts, other Latin letters,
/// symbols outside the set, emoji, CJK, markup, whitespace.
const ALPHABET: &[char] = &[
    'a', 'B', 'z', '0', '9', ' ', ' ', 'ä', 'ö', 'ü', 'ß', 'Ä', 'Ö', 'Ü', 'é', 'ł', 'Ø', 'ñ', '&',
    '<', '>', '"', '\'', '/', '-', '.', ',', '+', '?', ':', '(', ')', '_', '@', '%', '€', '😀',
    '東', '\t', '\n', '–', '„',
];

fn text(min: usize, max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(ALPHABET), min..=max)
        .prop_map(|cs| cs.into_iter().collect())
}

const BICS: &[&str] = &[
    "COBADEFFXXX",
    "DEUTDEFF",
    "BNPAFRPPXXX",
    "INGDDEFFXXX",
    "GENODEF1M04",
];

#[derive(Debug, Clone)]
struct GenVendor {
    name: String,
    bic: Option<usize>,
    invoices: Vec<(String, i64, bool)>, // number, cents, has Skonto
    credit_cents: Option<i64>,
}

fn gen_vendor() -> impl Strategy<Value = GenVendor> {
    (
        text(1, 120),
        prop::option::of(0..BICS.len()),
        prop::collection::vec((text(1, 40), 1i64..10_000_000, any::<bool>()), 1..25),
        prop::option::weighted(0.25, 1i64..5_000_000),
    )
        .prop_map(|(name, bic, invoices, credit_cents)| GenVendor {
            name,
            bic,
            invoices,
            credit_cents,
        })
}

/// How many generated files xmllint validated (the property test asserts a floor).
static VALIDATED: AtomicUsize = AtomicUsize::new(0);

/// Generated runs (random vendors with umlauts and other characters, long names, many
/// invoices so remittances split, credit notes, Skonto), exported in 09 or 03 and validated
/// by xmllint. Each case spawns xmllint: the case count stays small.
#[test]
fn generated_runs_validate_and_add_up() {
    if xsd(PainVersion::V09).is_none() {
        return;
    }
    let cases = 64;
    let mut runner = TestRunner::new(ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let strategy = (
        prop::collection::vec(gen_vendor(), 1..6),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<u128>(),
    );
    runner
        .run(&strategy, |(vendors, batch, v03, debtor_bic, run_id)| {
            check_generated(vendors, batch, v03, debtor_bic, run_id)
        })
        .unwrap();
    let n = VALIDATED.load(Ordering::SeqCst);
    eprintln!("xmllint validated {n} generated files");
    assert!(
        n >= cases as usize * 3 / 4,
        "only {n} of {cases} cases reached xmllint"
    );
}

fn check_generated(
    vendors: Vec<GenVendor>,
    batch: bool,
    v03: bool,
    debtor_bic: bool,
    run_id: u128,
) -> Result<(), TestCaseError> {
    let mut cands = Vec::new();
    let mut id = 1u128;
    for (k, g) in vendors.iter().enumerate() {
        let mut v = vendor(k as u128 + 1, &g.name);
        v.bic = g.bic.map(|b| BICS[b].to_string());
        for (number, cents, sk) in &g.invoices {
            let mut i = invoice(id, &v, number, "0", d(2026, 11, 26));
            i.open_amount = Decimal::new(*cents, 2);
            if *sk {
                i.cash_discount = Some(payments::CashDiscount {
                    percent: dec("2"),
                    days: 30,
                });
            }
            cands.push(i);
            id += 1;
        }
        if let Some(c) = g.credit_cents {
            let mut cn = credit_note(id, &v, &format!("GS {id}"), "0");
            cn.open_amount = Decimal::new(c, 2);
            cands.push(cn);
            id += 1;
        }
    }
    let mut o = options(run_id);
    o.batch_by_vendor = batch;
    if !debtor_bic {
        o.debtor.bic = None;
    }
    let run = match plan_run(&cands, &o) {
        Ok(run) => run,
        Err(e) => {
            // Only when credit notes outweigh every vendor's invoices.
            prop_assert_eq!(payments::RunError::code(&e), "empty_run");
            return Ok(());
        }
    };
    // Control sum = sum of items = sum of transactions.
    let items: Decimal = run.items.iter().map(|i| i.amount).sum();
    let txs: Decimal = run.transactions.iter().map(|t| t.amount).sum();
    prop_assert_eq!(items, run.total_amount);
    prop_assert_eq!(txs, run.total_amount);
    // Every invoice number of a paid item appears whole in exactly one remittance.
    for item in run.items.iter().filter(|i| i.end_to_end_id.is_some()) {
        let t = run
            .transactions
            .iter()
            .find(|t| Some(&t.end_to_end_id) == item.end_to_end_id.as_ref())
            .unwrap();
        let want = payments::sepa_text(&item.invoice_number);
        let want = if want.is_empty() {
            "NOTPROVIDED".to_string()
        } else {
            want
        };
        prop_assert!(
            format!(", {}, ", t.remittance).contains(&format!(", {want}, ")),
            "{:?} in {:?}",
            want,
            t.remittance
        );
    }
    let version = if v03 {
        PainVersion::V03
    } else {
        PainVersion::V09
    };
    let xml = export(&run, version);
    if !validate(&xml, version, "proptest") {
        return Ok(());
    }
    VALIDATED.fetch_add(1, Ordering::SeqCst);
    prop_assert_eq!(&texts(&xml, "CtrlSum")[0], &run.control_sum);
    let amounts: Decimal = texts(&xml, "InstdAmt Ccy=\"EUR\"")
        .iter()
        .map(|a| dec(a))
        .sum();
    prop_assert_eq!(amounts, run.total_amount, "sum of the file's transfers");
    let e2e: Vec<String> = texts(&xml, "EndToEndId");
    prop_assert_eq!(e2e.len(), run.transaction_count);
    prop_assert_eq!(e2e.iter().collect::<HashSet<_>>().len(), e2e.len());
    prop_assert!(texts(&xml, "Ustrd").iter().all(|u| u.len() <= 140));
    prop_assert_eq!(Currency::EUR.format(txs), run.control_sum.clone());
    Ok(())
}

/// The validation is real: xmllint refuses what the schema forbids.
#[test]
fn xmllint_refuses_a_broken_file() {
    let run = sample_run(false, true);
    for version in [PainVersion::V09, PainVersion::V03] {
        let xml = export(&run, version);
        let mid = texts(&xml, "MsgId").remove(0);
        let broken = xml.replace(&mid, &"X".repeat(36));
        let Some(result) = xmllint(&broken, version, "broken") else {
            return;
        };
        assert!(result.is_err(), "a 36-character MsgId must not validate");
        let wrong_ns = xml.replace(version.namespace(), "urn:example");
        assert!(xmllint(&wrong_ns, version, "wrong-ns").unwrap().is_err());
    }
}
