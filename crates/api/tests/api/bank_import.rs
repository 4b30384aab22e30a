//! Statement imports over real HTTP: JSON rows, camt.053, MT940 and CSV files (kontor's own
//! fixtures and the real statements in ../shared/fixtures/statements), re-imports, overlapping
//! files, other accounts, malformed and too-large files; the transaction reads and evidence.

use crate::common::*;
use crate::helpers::*;
use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{json, Value};

pub const OWN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/statements/");
const SHARED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/statements/"
);

/// Creates a bank account and returns its id.
pub async fn bank_account(app: &TestApp, body: Value) -> String {
    let res = app.post("/v1/bank-accounts", body).await;
    res.expect(201, None)["id"].as_str().unwrap().to_string()
}

/// A multipart request to `path` with text parts and an optional file part.
pub async fn multipart(
    app: &TestApp,
    key: Option<&str>,
    path: &str,
    texts: &[(&str, &str)],
    file: Option<(Vec<u8>, &str)>,
) -> Res {
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in texts {
        form = form.text(name.to_string(), value.to_string());
    }
    if let Some((content, name)) = file {
        let part = reqwest::multipart::Part::bytes(content).file_name(name.to_string());
        form = form.part("file", part);
    }
    let mut req = app
        .client
        .post(format!("{}{}", app.address, path))
        .multipart(form);
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    into_res(req.send().await.expect("request")).await
}

/// `POST /v1/bank-transactions/import-file` as the owner.
pub async fn import_file(app: &TestApp, account: &str, content: Vec<u8>, query: &str) -> Res {
    let key = app.tenant.key.clone();
    multipart(
        app,
        Some(&key),
        &format!("/v1/bank-transactions/import-file{query}"),
        &[("bank_account_id", account)],
        Some((content, "statement")),
    )
    .await
}

/// Every transaction of an account: (count, sum).
pub async fn account_sum(app: &TestApp, account: &str) -> (usize, Decimal) {
    let mut all = Vec::new();
    loop {
        let res = app
            .get(&format!(
                "/v1/bank-transactions?bank_account_id={account}&limit=500&offset={}",
                all.len()
            ))
            .await;
        let page = res.expect(200, None)["transactions"]
            .as_array()
            .unwrap()
            .clone();
        if page.is_empty() {
            break;
        }
        all.extend(page);
    }
    let sum = all.iter().map(|t| dec_of(&t["amount"])).sum();
    (all.len(), sum)
}

fn read(dir: &str, name: &str) -> Option<Vec<u8>> {
    let path = format!("{dir}{name}");
    match std::fs::read(&path) {
        Ok(b) => Some(b),
        Err(_) => {
            println!("skipped: statement fixture missing ({path})");
            None
        }
    }
}

/// A camt.053 file of account `iban`: one statement, one entry per (date, amount, reference),
/// with the opening balance given and the closing balance that adds up.
pub fn camt(iban: &str, opening: &str, entries: &[(&str, &str, &str)]) -> Vec<u8> {
    let open = dec(opening);
    let close: Decimal = open + entries.iter().map(|e| dec(e.1)).sum::<Decimal>();
    let bal = |code: &str, v: Decimal| {
        format!(
            "<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy=\"EUR\">{}</Amt><CdtDbtInd>{}</CdtDbtInd><Dt><Dt>2026-01-01</Dt></Dt></Bal>",
            v.abs(),
            if v < Decimal::ZERO { "DBIT" } else { "CRDT" }
        )
    };
    let mut x = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\"><BkToCstmrStmt><GrpHdr><MsgId>M</MsgId><CreDtTm>2026-01-01T00:00:00</CreDtTm></GrpHdr><Stmt><Id>S-{}</Id><Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>EUR</Ccy></Acct>{}{}",
        entries.first().map(|e| e.0).unwrap_or(""),
        bal("OPBD", open),
        bal("CLBD", close)
    );
    for (date, amount, reference) in entries {
        let a = dec(amount);
        x.push_str(&format!(
            "<Ntry><Amt Ccy=\"EUR\">{}</Amt><CdtDbtInd>{}</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>{date}</Dt></BookgDt><ValDt><Dt>{date}</Dt></ValDt><AcctSvcrRef>{reference}</AcctSvcrRef><NtryDtls><TxDtls><Refs><EndToEndId>{reference}</EndToEndId></Refs><RltdPties><Dbtr><Pty><Nm>Kunde {reference}</Nm></Pty></Dbtr></RltdPties><RmtInf><Ustrd>Rechnung {reference}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>",
            a.abs(),
            if a < Decimal::ZERO { "DBIT" } else { "CRDT" }
        ));
    }
    x.push_str("</Stmt></BkToCstmrStmt></Document>");
    x.into_bytes()
}

const IBAN: &str = "DE89370400440532013000";

/// Each fixture: file, (IBAN, account number) of the bank account, force, expected
/// statements, imported count and sum, skipped statements, balance check of the first.
struct Case {
    dir: &'static str,
    file: &'static str,
    iban: Option<&'static str>,
    account_number: Option<&'static str>,
    force: bool,
    count: usize,
    sum: &'static str,
    skipped: usize,
    first_ok: bool,
}

const CASES: &[Case] = &[
    Case {
        dir: OWN,
        file: "camt053_v08_multi.xml",
        iban: Some(IBAN),
        account_number: None,
        force: false,
        count: 4,
        sum: "1135.45",
        skipped: 1,
        first_ok: true,
    },
    Case {
        dir: OWN,
        file: "mt940_gap_multi.sta",
        iban: Some(IBAN),
        account_number: None,
        force: false,
        count: 0,
        sum: "0",
        skipped: 1,
        first_ok: true,
    },
    Case {
        dir: OWN,
        file: "sparkasse_csv_camt_v2.csv",
        iban: Some(IBAN),
        account_number: None,
        force: false,
        count: 3,
        sum: "335.45",
        skipped: 0,
        first_ok: true,
    },
    Case {
        dir: OWN,
        file: "deutsche_bank.csv",
        iban: None,
        account_number: Some("1234567"),
        force: false,
        count: 2,
        sum: "2350.00",
        skipped: 0,
        first_ok: true,
    },
    Case {
        dir: SHARED,
        file: "camt053_v02_debit_viafintech.xml",
        iban: Some("DE14740618130000033626"),
        account_number: None,
        force: false,
        count: 5,
        sum: "-10.00",
        skipped: 0,
        first_ok: false,
    },
    Case {
        dir: SHARED,
        file: "camt053_v02_minimal_genkgo.xml",
        iban: Some("NL26VAYB8060476890"),
        account_number: None,
        force: false,
        count: 1,
        sum: "8.85",
        skipped: 0,
        first_ok: false,
    },
    Case {
        dir: SHARED,
        file: "mt940_commerzbank_jejik.sta",
        iban: None,
        account_number: Some("25040066/0123456789"),
        force: false,
        count: 1,
        sum: "-12.35",
        skipped: 0,
        first_ok: false,
    },
    // Its IBAN fails the checksum, so no bank account can carry it: imported with force.
    Case {
        dir: SHARED,
        file: "mt940_sparkasse2_jejik.sta",
        iban: None,
        account_number: Some("1"),
        force: true,
        count: 1,
        sum: "1027.25",
        skipped: 0,
        first_ok: false,
    },
];

#[tokio::test]
async fn every_fixture_statement_imports_with_the_right_count_and_sum_and_once_only() {
    for case in CASES {
        let Some(bytes) = read(case.dir, case.file) else {
            continue;
        };
        let app = spawn_app().await;
        let account = bank_account(
            &app,
            json!({"name": case.file, "iban": case.iban, "account_number": case.account_number}),
        )
        .await;
        let query = if case.force { "?force=true" } else { "" };
        let res = import_file(&app, &account, bytes.clone(), query).await;
        let body = res.expect(201, None).clone();
        let (count, sum) = account_sum(&app, &account).await;
        if case.file == "mt940_gap_multi.sta" {
            // The other account's statement is skipped; this account's one has a gap.
            let statements = body["statements"].as_array().unwrap();
            assert_eq!(statements.len(), 2);
            assert_eq!(statements[0]["skipped"], true, "{body}");
            assert_eq!(statements[0]["account"], "10020030/1234567890");
            assert_eq!(statements[1]["skipped"], false);
            assert_eq!(statements[1]["balance_check"]["ok"], false);
            assert_eq!(statements[1]["balance_check"]["difference"], "5.00");
            assert_eq!(body["imported"].as_u64().unwrap() as usize, count);
            assert!(count > 0);
            let a = app.get(&format!("/v1/bank-accounts/{account}")).await;
            assert_eq!(a.expect(200, None)["incomplete_statements"], 1);
            let again = import_file(&app, &account, bytes.clone(), query).await;
            let again = again.expect(201, None);
            assert_eq!(
                again["statements"][1]["id"], statements[1]["id"],
                "stored once"
            );
            let a = app.get(&format!("/v1/bank-accounts/{account}")).await;
            assert_eq!(a.expect(200, None)["incomplete_statements"], 1);
        } else {
            assert_eq!(count, case.count, "{}: {body}", case.file);
            assert_eq!(sum, dec(case.sum), "{}", case.file);
            assert_eq!(body["imported"], case.count as u64, "{}", case.file);
            let skipped = body["statements"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| s["skipped"] == true)
                .count();
            assert_eq!(skipped, case.skipped, "{}: {body}", case.file);
            assert_eq!(
                body["statements"][0]["balance_check"]["ok"], case.first_ok,
                "{}: {body}",
                case.file
            );
        }
        assert_eq!(body["skipped_duplicates"], 0);
        assert!(body["document_id"].is_string());
        // Re-import: nothing twice.
        let again = import_file(&app, &account, bytes, query).await;
        let again = again.expect(201, None);
        assert_eq!(again["imported"], 0, "{}: {again}", case.file);
        assert_eq!(again["skipped_duplicates"], body["imported"]);
        assert_eq!(account_sum(&app, &account).await, (count, sum));
    }
}

#[tokio::test]
async fn overlapping_files_import_only_the_new_days_and_the_file_is_kept() {
    let app = spawn_app().await;
    let account = bank_account(&app, json!({"name": "Giro", "iban": IBAN})).await;
    let first = camt(
        IBAN,
        "100.00",
        &[
            ("2026-03-01", "10.00", "A"),
            ("2026-03-02", "-5.00", "B"),
            ("2026-03-02", "-5.00", "B"),
        ],
    );
    let res = import_file(&app, &account, first.clone(), "").await;
    let body = res.expect(201, None).clone();
    // Two identical lines of one day stay two.
    assert_eq!(body["imported"], 3);
    assert_eq!(body["format"], "camt");
    assert_eq!(body["statements"][0]["balance_check"]["ok"], true);
    assert_eq!(body["statements"][0]["balance_check"]["closing"], "100.00");
    // The next file repeats 03-02 and adds 03-03.
    let second = camt(
        IBAN,
        "105.00",
        &[
            ("2026-03-02", "-5.00", "B"),
            ("2026-03-02", "-5.00", "B"),
            ("2026-03-03", "7.50", "C"),
        ],
    );
    let res = import_file(&app, &account, second, "?format=camt").await;
    let body2 = res.expect(201, None);
    assert_eq!(body2["imported"], 1, "{body2}");
    assert_eq!(body2["skipped_duplicates"], 2);
    assert_eq!(account_sum(&app, &account).await, (4, dec("7.50")));
    // Small files of days the account has more transactions of than the file has rows (the
    // store then probes each fingerprint instead of reading the days): one new line, then
    // one known line.
    let third = camt(IBAN, "102.50", &[("2026-03-02", "1.00", "D")]);
    let res = import_file(&app, &account, third, "").await;
    let body3 = res.expect(201, None);
    assert_eq!(
        (
            body3["imported"].as_u64(),
            body3["skipped_duplicates"].as_u64()
        ),
        (Some(1), Some(0)),
        "{body3}"
    );
    let fourth = camt(IBAN, "100.00", &[("2026-03-02", "-5.00", "B")]);
    let res = import_file(&app, &account, fourth, "").await;
    let body4 = res.expect(201, None);
    assert_eq!(
        (
            body4["imported"].as_u64(),
            body4["skipped_duplicates"].as_u64()
        ),
        (Some(0), Some(1)),
        "{body4}"
    );
    assert_eq!(account_sum(&app, &account).await, (5, dec("8.50")));
    // The upload is kept as a document with its bytes.
    let doc = body["document_id"].as_str().unwrap();
    let file = app.get(&format!("/v1/documents/{doc}/file")).await;
    assert_eq!(file.status.as_u16(), 200);
    assert_eq!(file.bytes, first);
    // Through the account's own upload route, with an explicit format: nothing new.
    let key = app.tenant.key.clone();
    let res = multipart(
        &app,
        Some(&key),
        &format!("/v1/bank-accounts/{account}/upload"),
        &[("format", "camt")],
        Some((first, "march.xml")),
    )
    .await;
    assert_eq!(res.expect(201, None)["imported"], 0);
}

#[tokio::test]
async fn a_statement_of_another_account_is_refused_unless_forced() {
    let app = spawn_app().await;
    let account = bank_account(&app, json!({"name": "Giro", "iban": IBAN})).await;
    let other = camt(
        "DE44500105175407324931",
        "0",
        &[("2026-03-01", "1.00", "X")],
    );
    let res = import_file(&app, &account, other.clone(), "").await;
    res.expect(400, Some("account_mismatch"));
    assert_eq!(account_sum(&app, &account).await.0, 0);
    let res = import_file(&app, &account, other, "?force=true").await;
    assert_eq!(res.expect(201, None)["imported"], 1);
}

#[tokio::test]
async fn a_malformed_file_is_refused_naming_the_line_and_imports_nothing() {
    let app = spawn_app().await;
    let account = bank_account(&app, json!({"name": "Giro", "iban": IBAN})).await;
    // A good first statement, then a broken amount in the second: nothing of the file.
    let mt = format!(
        ":20:A\n:25:{IBAN}\n:28C:1/1\n:60F:C260301EUR0,00\n:61:2603010301C1,00NTRFNONREF\n:86:166?20ok\n:62F:C260301EUR1,00\n-\n:20:B\n:25:{IBAN}\n:28C:2/1\n:60F:C260302EUR1,00\n:61:2603020302C1.00NTRFNONREF\n:62F:C260302EUR2,00\n-\n"
    );
    let res = import_file(&app, &account, mt.into_bytes(), "").await;
    let body = res.expect(400, Some("malformed_statement"));
    assert!(
        body["error"].as_str().unwrap().contains("line 13"),
        "{body}"
    );
    assert_eq!(field_errors(body), ["file"]);
    let broken_xml = camt(IBAN, "0", &[("2026-03-01", "1.00", "X")]);
    let cut = broken_xml[..broken_xml.len() - 40].to_vec();
    let res = import_file(&app, &account, cut, "?format=camt").await;
    res.expect(400, Some("malformed_statement"));
    let res = import_file(&app, &account, b"hello".to_vec(), "").await;
    res.expect(400, Some("unknown_statement_format"));
    let a = app.get(&format!("/v1/bank-accounts/{account}")).await;
    assert_eq!(a.expect(200, None)["tx_count"], 0);
    let batches: i64 = sql()
        .await
        .query_one(
            "SELECT count(*) FROM bank_import_batches WHERE tenant_id = $1",
            &[&app.tenant.id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(batches, 0);
}

#[tokio::test]
async fn a_too_large_file_is_413() {
    let app = spawn_app_with(
        api::ApiConfig {
            workers: 1,
            max_statement_bytes: 2048,
            ..Default::default()
        },
        "skr03",
    )
    .await;
    let account = bank_account(&app, json!({"name": "Giro", "iban": IBAN})).await;
    let entries: Vec<(String, String, String)> = (0..40)
        .map(|i| ("2026-03-01".into(), "1.00".into(), format!("R{i}")))
        .collect();
    let refs: Vec<(&str, &str, &str)> = entries
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
        .collect();
    let big = camt(IBAN, "0", &refs);
    assert!(big.len() > 2048);
    let res = import_file(&app, &account, big, "").await;
    res.expect(413, Some("payload_too_large"));
    let small = camt(IBAN, "0", &refs[..1]);
    assert!(small.len() < 2048);
    import_file(&app, &account, small, "")
        .await
        .expect(201, None);
}

#[tokio::test]
async fn the_import_form_refuses_what_it_cannot_read() {
    let app = spawn_app().await;
    let account = bank_account(&app, json!({"name": "Giro", "iban": IBAN})).await;
    let key = app.tenant.key.clone();
    let file = || Some((camt(IBAN, "0", &[("2026-03-01", "1.00", "X")]), "s.xml"));
    let path = "/v1/bank-transactions/import-file";
    // Not multipart.
    app.raw(
        Method::POST,
        path,
        Some(&key),
        "application/json",
        b"{}".to_vec(),
    )
    .await
    .expect(415, Some("unsupported_media_type"));
    // No file, no account, unknown parts, bad format, bad mapping.
    multipart(
        &app,
        Some(&key),
        path,
        &[("bank_account_id", account.as_str())],
        None,
    )
    .await
    .expect(400, Some("file_required"));
    multipart(&app, Some(&key), path, &[], file())
        .await
        .expect(400, Some("invalid_field"));
    multipart(
        &app,
        Some(&key),
        path,
        &[("bank_account_id", account.as_str()), ("colour", "red")],
        file(),
    )
    .await
    .expect(400, Some("unknown_field"));
    multipart(
        &app,
        Some(&key),
        path,
        &[("bank_account_id", account.as_str()), ("format", "pdf")],
        file(),
    )
    .await
    .expect(400, Some("unknown_statement_format"));
    let res = multipart(
        &app,
        Some(&key),
        path,
        &[
            ("bank_account_id", account.as_str()),
            ("csv_mapping", "[1,2]"),
        ],
        file(),
    )
    .await;
    res.expect(400, None);
    assert_eq!(field_errors(&res.body), ["csv_mapping"]);
    multipart(
        &app,
        Some(&key),
        path,
        &[("bank_account_id", account.as_str()), ("format", "a\0b")],
        file(),
    )
    .await
    .expect(400, Some("invalid_character"));
    multipart(
        &app,
        Some(&key),
        path,
        &[("bank_account_id", account.as_str())],
        Some((vec![], "e.xml")),
    )
    .await
    .expect(400, Some("empty_file"));
    // Credentials, scope, another tenant's account, an unknown account.
    multipart(
        &app,
        None,
        path,
        &[("bank_account_id", account.as_str())],
        file(),
    )
    .await
    .expect(401, None);
    let reader = app.key_with_scopes(&["bank:read"]).await;
    multipart(
        &app,
        Some(&reader),
        path,
        &[("bank_account_id", account.as_str())],
        file(),
    )
    .await
    .expect(403, Some("scope_missing"));
    let other = as_tenant(&app, app.other_tenant().await);
    let other_key = other.tenant.key.clone();
    multipart(
        &other,
        Some(&other_key),
        path,
        &[("bank_account_id", account.as_str())],
        file(),
    )
    .await
    .expect(404, None);
    multipart(
        &other,
        Some(&other_key),
        &format!("/v1/bank-accounts/{account}/upload"),
        &[],
        file(),
    )
    .await
    .expect(404, None);
    multipart(
        &app,
        Some(&key),
        path,
        &[("bank_account_id", "nope")],
        file(),
    )
    .await
    .expect(404, None);
    // A CSV with a mapping the request sends.
    let csv = "Datum,Betrag,Text\n2026-03-01,12.50,Miete\n2026-03-02,-2.50,Gebuehr\n";
    let mapping = r#"{"delimiter": ",", "decimal_comma": false, "booking_date": "Datum", "amount": "Betrag", "remittance": "Text"}"#;
    let res = multipart(
        &app,
        Some(&key),
        path,
        &[
            ("bank_account_id", account.as_str()),
            ("format", "csv"),
            ("csv_mapping", mapping),
        ],
        Some((csv.as_bytes().to_vec(), "x.csv")),
    )
    .await;
    let body = res.expect(201, None);
    assert_eq!(body["imported"], 2, "{body}");
    assert_eq!(account_sum(&app, &account).await, (2, dec("10.00")));
}

fn row(date: &str, amount: &str, reference: &str) -> Value {
    json!({"booking_date": date, "value_date": date, "amount": amount, "currency": "EUR",
           "counterparty_name": "ACME GmbH", "counterparty_iban": "DE02120300000000202051",
           "remittance_info": format!("Rechnung {reference}"), "end_to_end_id": reference,
           "bank_reference": null})
}

#[tokio::test]
async fn json_rows_import_with_per_row_errors_and_once_only() {
    let app = spawn_app().await;
    let account = bank_account(&app, json!({"name": "Giro", "iban": IBAN})).await;
    let body = json!({"bank_account_id": account, "transactions": [
        row("2026-03-01", "119.00", "RE-1"),
        row("2026-03-02", "-20.5", "PAY-1"),
        {"booking_date": "2026-03-02", "amount": "5.00", "currency": "USD"},
        {"booking_date": "2026-03-02", "amount": "0", "currency": "EUR"},
        {"booking_date": "2026-03-02", "amount": 1.001, "currency": "EUR"},
    ]});
    let res = app.post("/v1/bank-transactions", body.clone()).await;
    let r = res.expect(201, None).clone();
    assert_eq!(r["total_rows"], 5);
    assert_eq!(r["imported"], 2);
    assert_eq!(r["format"], "json");
    let codes: Vec<(u64, &str)> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        codes,
        [
            (2, "currency_mismatch"),
            (3, "invalid_amount"),
            (4, "invalid_amount")
        ]
    );
    assert_eq!(account_sum(&app, &account).await, (2, dec("98.50")));
    let again = app.post("/v1/bank-transactions", body).await;
    let again = again.expect(201, None);
    assert_eq!(
        (
            again["imported"].clone(),
            again["skipped_duplicates"].clone()
        ),
        (json!(0), json!(2))
    );
    // The same Idempotency-Key replays the first answer.
    let key = app.tenant.key.clone();
    let send = |b: Value| {
        app.client
            .post(format!("{}/v1/bank-transactions", app.address))
            .bearer_auth(key.clone())
            .header("Idempotency-Key", "import-1")
            .json(&b)
            .send()
    };
    let b = json!({"bank_account_id": account, "transactions": [row("2026-03-05", "1.00", "I-1")]});
    let first = into_res(send(b.clone()).await.unwrap()).await;
    let first = first.expect(201, None).clone();
    let replay = into_res(send(b).await.unwrap()).await;
    assert_eq!(replay.expect(201, None), &first);
    assert_eq!(account_sum(&app, &account).await.0, 3);
}

#[tokio::test]
async fn json_imports_refuse_malformed_bodies_and_foreign_accounts() {
    let app = spawn_app().await;
    let account = bank_account(&app, json!({"name": "Giro", "iban": IBAN})).await;
    let post = |b: Value| app.post("/v1/bank-transactions", b);
    let good = |rows: Value| json!({"bank_account_id": account, "transactions": rows});
    post(json!([1, 2])).await.expect(400, None);
    post(good(json!([["2026-03-01", "1.00", "EUR"]])))
        .await
        .expect(400, None);
    post(good(json!([])))
        .await
        .expect(400, Some("invalid_field"));
    post(good(
        json!([{"booking_date": "1800-01-01", "amount": "1", "currency": "EUR"}]),
    ))
    .await
    .expect(400, Some("invalid_date"));
    post(good(
        json!([{"booking_date": "2026-03-01", "amount": "1e400", "currency": "EUR"}]),
    ))
    .await
    .expect(400, Some("invalid_field"));
    post(good(
        json!([{"booking_date": "2026-03-01", "amount": 1e300, "currency": "EUR"}]),
    ))
    .await
    .expect(400, Some("invalid_field"));
    post(good(
        json!([{"booking_date": "2026-03-01", "amount": "1", "currency": "EUR", "colour": 1}]),
    ))
    .await
    .expect(400, Some("unknown_field"));
    post(good(
        json!([{"booking_date": "2026-03-01", "amount": "1", "currency": "XYZ"}]),
    ))
    .await
    .expect(400, Some("invalid_field"));
    post(good(json!([{"booking_date": "2026-03-01", "amount": "1", "currency": "EUR", "remittance_info": "a\u{0}b"}])))
        .await
        .expect(400, Some("invalid_character"));
    let many: Vec<Value> = (0..10_001).map(|i| json!({"booking_date": "2026-03-01", "amount": "1", "currency": "EUR", "end_to_end_id": i.to_string()})).collect();
    // Too many rows for one request: 413 (body limit) or 400 too_many_rows.
    let res = post(good(json!(many))).await;
    assert!(matches!(res.status.as_u16(), 400 | 413), "{}", res.body);
    // Another tenant's account is unknown; so is a made-up one.
    let other = as_tenant(&app, app.other_tenant().await);
    other
        .post(
            "/v1/bank-transactions",
            good(json!([row("2026-03-01", "1", "X")])),
        )
        .await
        .expect(404, None);
    post(json!({"bank_account_id": uuid::Uuid::now_v7(), "transactions": [row("2026-03-01", "1", "X")]}))
        .await
        .expect(404, None);
    // Credentials and scope.
    app.send(
        Method::POST,
        "/v1/bank-transactions",
        None,
        Some(&good(json!([]))),
    )
    .await
    .expect(401, None);
    let reader = app.key_with_scopes(&["bank:read"]).await;
    app.send(
        Method::POST,
        "/v1/bank-transactions",
        Some(&reader),
        Some(&good(json!([row("2026-03-01", "1", "X")]))),
    )
    .await
    .expect(403, Some("scope_missing"));
    assert_eq!(account_sum(&app, &account).await.0, 0);
}

#[tokio::test]
async fn transactions_list_filter_and_show_their_match_status() {
    let app = spawn_app().await;
    let account = bank_account(&app, json!({"name": "Giro", "iban": IBAN})).await;
    let body = json!({"bank_account_id": account, "transactions": [
        row("2026-03-01", "119.00", "RE-1"),
        row("2026-03-02", "-20.00", "PAY-1"),
        row("2026-03-03", "-4.55", "FEE_1"),
    ]});
    app.post("/v1/bank-transactions", body)
        .await
        .expect(201, None);
    let list = app.get("/v1/bank-transactions").await;
    let list = list.expect(200, None).clone();
    assert_eq!(list["total"], 3);
    let txs = list["transactions"].as_array().unwrap();
    assert_eq!(txs[0]["booking_date"], "2026-03-03", "newest first");
    assert!(txs.iter().all(|t| t["status"] == "unmatched"));
    let q = |query: &str| {
        let app = &app;
        let query = query.to_string();
        async move {
            app.get(&format!("/v1/bank-transactions?{query}"))
                .await
                .expect(200, None)["total"]
                .as_i64()
                .unwrap()
        }
    };
    assert_eq!(q("start_date=2026-03-02").await, 2);
    assert_eq!(q("end_date=2026-03-01").await, 1);
    assert_eq!(q("search=pay-1").await, 1);
    assert_eq!(q("search=FEE_").await, 1, "_ is literal");
    assert_eq!(q("search=%25").await, 0, "% is literal");
    assert_eq!(q(&format!("bank_account_id={account}")).await, 3);
    assert_eq!(q("status=matched").await, 0);
    assert_eq!(
        q("status=bogus&limit=-1").await,
        3,
        "malformed parameters fall back"
    );
    // Match the incoming payment to a booking (as reconcile does) and dismiss the fee.
    let id = txs[2]["id"].as_str().unwrap().to_string();
    let fee = txs[0]["id"].as_str().unwrap().to_string();
    let intent = app
        .book_ok(json!({"booking_date": "2026-03-01", "description": "Zahlung RE-1",
                        "lines": [{"account": "1200", "debit": "119.00"}, {"account": "1400", "credit": "119.00"}]}))
        .await;
    let db = sql().await;
    let intent: uuid::Uuid = intent.parse().unwrap();
    let tx_id: uuid::Uuid = id.parse().unwrap();
    let match_id = uuid::Uuid::now_v7();
    db.execute(
        "INSERT INTO bank_matches (tenant_id, id, is_group, mode, intent_id, detail, actor)
         VALUES ($1, $2, false, 'linked', $3, $4, '{}'::jsonb)",
        &[&app.tenant.id, &match_id, &intent,
          &json!({"candidate_kind": "outgoing_invoice", "candidate_id": "inv-1", "open_items": [{"invoice_id": "inv-1", "amount": "119.00"}]})],
    )
    .await
    .unwrap();
    db.execute(
        "INSERT INTO bank_match_transactions (tenant_id, match_id, bank_transaction_id) VALUES ($1, $2, $3)",
        &[&app.tenant.id, &match_id, &tx_id],
    )
    .await
    .unwrap();
    db.execute(
        "UPDATE bank_transactions SET dismissed_at = now(), dismissed_by = '{}'::jsonb WHERE tenant_id = $1 AND id = $2",
        &[&app.tenant.id, &fee.parse::<uuid::Uuid>().unwrap()],
    )
    .await
    .unwrap();
    assert_eq!(q("status=matched").await, 1);
    assert_eq!(q("status=dismissed").await, 1);
    assert_eq!(q("status=unmatched").await, 1);
    let one = app.get(&format!("/v1/bank-transactions/{id}")).await;
    let t = &one.expect(200, None)["transaction"];
    assert_eq!(t["status"], "matched");
    assert_eq!(t["amount"], "119.00");
    assert_eq!(t["match"]["mode"], "linked");
    assert_eq!(t["match"]["intent_id"], intent.to_string());
    assert_eq!(t["match"]["candidate_kind"], "outgoing_invoice");
    assert_eq!(t["match"]["open_items"][0]["amount"], "119.00");
    assert!(t["raw"].as_str().unwrap().contains("RE-1"));
    let unmatched = app.get(&format!("/v1/bank-transactions/{fee}")).await;
    assert!(unmatched.expect(200, None)["transaction"]["match"].is_null());
    let count = app.get("/v1/bank-transactions/unreconciled-count").await;
    assert_eq!(count.expect(200, None)["count"], 1);
    let a = app.get(&format!("/v1/bank-accounts/{account}")).await;
    let a = a.expect(200, None);
    assert_eq!(
        (a["tx_count"].clone(), a["unreconciled_count"].clone()),
        (json!(3), json!(1))
    );
    assert_eq!(a["last_tx_date"], "2026-03-03");
    // The reconciliation view: open vs reconciled, ledger vs bank.
    let r = app
        .get(&format!("/v1/bank-accounts/{account}/reconciliation"))
        .await;
    let r = r.expect(200, None);
    assert_eq!(r["open"]["count"], 1);
    assert_eq!(r["open"]["amount"], "-20.00");
    assert_eq!(r["reconciled"]["amount"], "119.00");
    assert_eq!(r["dismissed"]["amount"], "-4.55");
    assert_eq!(r["bank"]["balance"], "94.45");
    assert_eq!(r["bank"]["source"], "transactions");
    assert_eq!(r["ledger"]["account"], "1200");
    assert_eq!(r["ledger"]["amount"], "119.00");
    assert_eq!(r["unmatched_ledger"]["count"], 0);
    assert_eq!(r["difference"], "-24.55");
    assert_eq!(r["bank"]["base_amount"], "94.45");
    // Other tenants, credentials, scope, unknown ids.
    let other = as_tenant(&app, app.other_tenant().await);
    other
        .get(&format!("/v1/bank-transactions/{id}"))
        .await
        .expect(404, None);
    other
        .get(&format!("/v1/bank-accounts/{account}/reconciliation"))
        .await
        .expect(404, None);
    assert_eq!(
        other.get("/v1/bank-transactions").await.expect(200, None)["total"],
        0
    );
    assert_eq!(
        other
            .get("/v1/bank-transactions/unreconciled-count")
            .await
            .expect(200, None)["count"],
        0
    );
    app.get(&format!("/v1/bank-transactions/{}", uuid::Uuid::now_v7()))
        .await
        .expect(404, None);
    app.get("/v1/bank-transactions/not-an-id")
        .await
        .expect(404, None);
    app.send(Method::GET, "/v1/bank-transactions", None, None)
        .await
        .expect(401, None);
    let journal_only = app.key_with_scopes(&["journal:read"]).await;
    for path in [
        "/v1/bank-transactions",
        "/v1/bank-transactions/unreconciled-count",
    ] {
        app.send(Method::GET, path, Some(&journal_only), None)
            .await
            .expect(403, Some("scope_missing"));
    }
}

#[tokio::test]
async fn evidence_is_stored_replaced_and_refused_when_wrong() {
    let app = spawn_app().await;
    let account = bank_account(&app, json!({"name": "Giro", "iban": IBAN})).await;
    let res = app
        .post(
            "/v1/bank-transactions",
            json!({"bank_account_id": account, "transactions": [row("2026-03-01", "-50.00", "X")]}),
        )
        .await;
    res.expect(201, None);
    let list = app.get("/v1/bank-transactions").await;
    let id = list.expect(200, None)["transactions"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/v1/bank-transactions/{id}/evidence");
    let none = app.get(&path).await;
    assert!(none.expect(200, None)["evidence"].is_null());
    let doc = upload_pdf(&app, "beleg.pdf").await;
    let put = |b: Value| {
        let (path, app) = (path.clone(), &app);
        async move {
            app.send(Method::PUT, &path, Some(app.tenant.key.as_str()), Some(&b))
                .await
        }
    };
    let res = put(
        json!({"evidence_type": "receipt", "title": "Tankbeleg", "note": "Dienstfahrt",
                        "document_id": doc, "metadata": {"km": 120}}),
    )
    .await;
    let e = res.expect(200, None)["evidence"].clone();
    assert_eq!(e["evidence_type"], "receipt");
    assert_eq!(e["document_id"], doc);
    assert_eq!(e["metadata"]["km"], 120);
    let got = app.get(&path).await;
    assert_eq!(got.expect(200, None)["evidence"]["title"], "Tankbeleg");
    // A PUT replaces the whole record.
    put(json!({"evidence_type": "note"}))
        .await
        .expect(200, None);
    let got = app.get(&path).await;
    let got = &got.expect(200, None)["evidence"];
    assert_eq!(got["evidence_type"], "note");
    assert!(got["title"].is_null() && got["document_id"].is_null());
    // Refusals.
    put(json!({"evidence_type": ""}))
        .await
        .expect(400, Some("invalid_field"));
    put(json!({"evidence_type": "x".repeat(51)}))
        .await
        .expect(400, Some("invalid_field"));
    put(json!({"evidence_type": "note", "metadata": [1]}))
        .await
        .expect(400, Some("invalid_field"));
    put(json!({"evidence_type": "note", "document_id": uuid::Uuid::now_v7()}))
        .await
        .expect(400, Some("unknown_document"));
    put(json!({"evidence_type": "note", "extra": 1}))
        .await
        .expect(400, Some("unknown_field"));
    put(json!({"evidence_type": "a\u{0}"}))
        .await
        .expect(400, Some("invalid_character"));
    put(json!(["note"])).await.expect(400, None);
    let other = as_tenant(&app, app.other_tenant().await);
    other.get(&path).await.expect(404, None);
    other
        .send(
            Method::PUT,
            &path,
            Some(other.tenant.key.as_str()),
            Some(&json!({"evidence_type": "note"})),
        )
        .await
        .expect(404, None);
    // Another tenant's document is unknown here.
    let their_doc = upload_pdf(&other, "fremd.pdf").await;
    put(json!({"evidence_type": "note", "document_id": their_doc}))
        .await
        .expect(400, Some("unknown_document"));
    app.send(
        Method::PUT,
        &path,
        None,
        Some(&json!({"evidence_type": "note"})),
    )
    .await
    .expect(401, None);
    let reader = app.key_with_scopes(&["bank:read"]).await;
    app.send(
        Method::PUT,
        &path,
        Some(&reader),
        Some(&json!({"evidence_type": "note"})),
    )
    .await
    .expect(403, Some("scope_missing"));
    app.send(Method::GET, &path, Some(&reader), None)
        .await
        .expect(200, None);
}

#[tokio::test]
async fn a_file_import_with_an_idempotency_key_replays_its_first_answer() {
    // The key's body is read up to the statement limit, not the (here tiny) JSON limit.
    let app = spawn_app_with(
        api::ApiConfig {
            workers: 1,
            max_json_bytes: 1024,
            ..Default::default()
        },
        "skr03",
    )
    .await;
    let account = bank_account(&app, json!({"name": "Giro", "iban": IBAN})).await;
    let entries: Vec<(String, String, String)> = (0..20)
        .map(|i| ("2026-03-01".into(), "1.00".into(), format!("R{i}")))
        .collect();
    let refs: Vec<(&str, &str, &str)> = entries
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
        .collect();
    let file = camt(IBAN, "0", &refs);
    assert!(file.len() > 1024);
    let send = || {
        // A fixed boundary, so that the same form is the same body.
        let boundary = "kontor-test-boundary";
        let body = {
            let mut b = Vec::new();
            b.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"bank_account_id\"\r\n\r\n{account}\r\n").as_bytes());
            b.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"s.xml\"\r\n\r\n").as_bytes());
            b.extend_from_slice(&file);
            b.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
            b
        };
        app.client
            .post(format!("{}/v1/bank-transactions/import-file", app.address))
            .bearer_auth(app.tenant.key.clone())
            .header("Idempotency-Key", "file-1")
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
    };
    let first = into_res(send().await.unwrap()).await;
    let first = first.expect(201, None).clone();
    assert_eq!(first["imported"], 20);
    let again = into_res(send().await.unwrap()).await;
    assert_eq!(
        again.expect(201, None),
        &first,
        "the stored answer, not a second import"
    );
    let batches: i64 = sql()
        .await
        .query_one(
            "SELECT count(*) FROM bank_import_batches WHERE tenant_id = $1",
            &[&app.tenant.id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(batches, 1);
}

#[tokio::test]
async fn the_transaction_list_pages_by_cursor_like_by_offset() {
    let app = spawn_app().await;
    let account = bank_account(&app, json!({"name": "Giro", "iban": IBAN})).await;
    // Seven transactions, some on the same day.
    let rows: Vec<Value> = (0..7)
        .map(|i| {
            row(
                &format!("2026-03-{:02}", 1 + i % 3),
                &format!("{}.00", 10 + i),
                &format!("R-{i}"),
            )
        })
        .collect();
    app.post(
        "/v1/bank-transactions",
        json!({"bank_account_id": account, "transactions": rows}),
    )
    .await
    .expect(201, None);
    let ids = |v: &Value| -> Vec<String> {
        v["transactions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect()
    };
    let all = ids(app
        .get("/v1/bank-transactions?limit=100")
        .await
        .expect(200, None));
    assert_eq!(all.len(), 7);
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            None => "/v1/bank-transactions?limit=3".to_string(),
            Some(c) => format!("/v1/bank-transactions?limit=3&cursor={c}"),
        };
        let page = app.get(&url).await.expect(200, None).clone();
        walked.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(walked, all);
    // A malformed cursor gives the first page.
    let first = ids(app
        .get("/v1/bank-transactions?limit=2&cursor=bogus")
        .await
        .expect(200, None));
    assert_eq!(first, all[..2].to_vec());
}

#[tokio::test]
async fn statement_exchange_rates_are_kept_and_used_when_reconciling() {
    let app = spawn_app().await;
    // kontor's own fixture: a US dollar account, the bank's rates in three spellings.
    let bytes = std::fs::read(format!("{OWN}camt053_v02_usd_fx.xml")).unwrap();
    let account = bank_account(
        &app,
        json!({"name": "USD", "iban": "DE75512108001245126199", "currency": "USD",
               "ledger_account": "1210"}),
    )
    .await;
    let res = import_file(&app, &account, bytes, "").await;
    let body = res.expect(201, None).clone();
    assert_eq!(body["imported"], 3, "{body}");
    let list = app
        .get(&format!("/v1/bank-transactions?bank_account_id={account}"))
        .await;
    let list = list.expect(200, None)["transactions"]
        .as_array()
        .unwrap()
        .clone();
    let by_ref = |r: &str| {
        list.iter()
            .find(|t| t["bank_reference"] == r)
            .unwrap_or_else(|| panic!("{r} in {list:?}"))
            .clone()
    };
    // 1 EUR = 1.085 USD; 1 USD = 0.8 EUR → 1.25 USD per EUR; a pound rate is no euro rate.
    assert_eq!(by_ref("FX-1")["fx_rate"], "1.085");
    assert_eq!(by_ref("FX-2")["fx_rate"], "1.25");
    assert_eq!(by_ref("FX-3")["fx_rate"], Value::Null);
    // Reconciling takes the statement's rate: 1085.00 USD = 1000.00 EUR.
    let id = by_ref("FX-1")["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/v1/bank-transactions/{id}/reconcile"),
        json!({"candidate_kind": "account", "account": "8400"}),
    )
    .await
    .expect(200, None);
    assert_eq!(app.balance("1210").await, "1000.00");
    // Without a statement rate the request must give one.
    let id3 = by_ref("FX-3")["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/v1/bank-transactions/{id3}/reconcile"),
        json!({"candidate_kind": "account", "account": "8400"}),
    )
    .await
    .expect(400, Some("fx_rate_required"));
    // JSON rows carry a rate against the base currency; a bad one is refused.
    let rows = json!({"bank_account_id": account, "transactions": [
        {"booking_date": "2026-04-01", "amount": "217.00", "currency": "USD", "fx_rate": "1.085",
         "bank_reference": "J-1"}]});
    app.post("/v1/bank-transactions", rows.clone())
        .await
        .expect(201, None);
    let mut bad = rows.clone();
    bad["transactions"][0]["fx_rate"] = json!("-1");
    bad["transactions"][0]["bank_reference"] = json!("J-2");
    app.post("/v1/bank-transactions", bad)
        .await
        .expect(400, Some("invalid_fx_rate"));
    let list = app
        .get(&format!(
            "/v1/bank-transactions?bank_account_id={account}&search=J-1"
        ))
        .await;
    let j = list.expect(200, None)["transactions"][0].clone();
    assert_eq!(j["fx_rate"], "1.085", "{j}");
}
