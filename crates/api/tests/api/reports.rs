//! Reports and the DATEV export over HTTP (issue 12).

use crate::common::*;
use crate::helpers::*;
use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Read;

/// A small book in March 2026: opening balances, a sale (19 %), a purchase (19 % input VAT),
/// a reverse-charge service, a payment.
async fn small_book(app: &TestApp) {
    app.post(
        "/v1/bookings/opening-balances",
        json!({"booking_date": "2026-01-01",
               "balances": [{"account": "1200", "debit": "5000.00"}, {"account": "0800", "credit": "5000.00"}]}),
    )
    .await
    .expect(201, None);
    app.book_ok(sale("2026-03-10", "1000.00", "1190.00")).await;
    app.book_ok(json!({
        "booking_date": "2026-03-12", "description": "Einkauf", "external_reference": "ER-1",
        "lines": [{"account": "4900", "debit": "200.00", "tax_code": "VSt19"},
                  {"account": "1600", "credit": "238.00"}]
    }))
    .await;
    app.book_ok(json!({
        "booking_date": "2026-03-15", "description": "Cloud-Dienst IE",
        "lines": [{"account": "4900", "debit": "100.00", "tax_code": "RC19"},
                  {"account": "1200", "credit": "100.00"}]
    }))
    .await;
    app.book_ok(transfer("2026-03-20", "1200", "1400", "1190.00"))
        .await;
}

fn rows(res: &Res) -> Vec<Value> {
    res.body.as_array().expect("an array of rows").clone()
}

fn balanced(res: &Res) -> &str {
    res.headers
        .get("x-report-balanced")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("missing")
}

const MARCH: &str = "startDate=2026-03-01&endDate=2026-03-31";

#[tokio::test]
async fn trial_balance_rows_totals_and_self_check() {
    let app = spawn_app().await;
    small_book(&app).await;
    let res = app
        .get(&format!("/v1/reports?type=trial_balance&{MARCH}"))
        .await;
    res.expect(200, None);
    assert_eq!(balanced(&res), "true");
    let rows = rows(&res);
    let total = rows.last().unwrap();
    assert_eq!(total["row_type"], "total");
    assert_eq!(total["period_debit"], total["period_credit"]);
    assert_eq!(total["closing_balance"], "0.00");
    let by: BTreeMap<String, &Value> = rows
        .iter()
        .filter(|r| r["row_type"] == "account")
        .map(|r| (r["account"].as_str().unwrap().to_string(), r))
        .collect();
    // The opening balances were booked in this fiscal year (2026-01-01): they are year-to-date
    // movements; the opening balance column is what earlier fiscal years carried in.
    let bank = by["1200"];
    assert_eq!(bank["opening_balance"], "0.00");
    assert_eq!(bank["period_debit"], "1190.00");
    assert_eq!(bank["period_credit"], "100.00");
    assert_eq!(bank["ytd_debit"], "6190.00");
    assert_eq!(bank["closing_balance"], "6090.00");
    assert_eq!(by["8400"]["closing_balance"], "-1000.00");
    assert_eq!(by["1776"]["period_credit"], "190.00");
    // Year to date includes January's opening entries; the period does not.
    assert_eq!(by["0800"]["period_credit"], "0.00");
    assert_eq!(by["0800"]["opening_balance"], "0.00");
    assert_eq!(by["0800"]["ytd_credit"], "5000.00");
    // The envelope.
    let res = app
        .get(&format!(
            "/v1/reports?type=trial_balance&{MARCH}&format=envelope"
        ))
        .await;
    let env = res.expect(200, None);
    assert_eq!(env["balanced"], true);
    assert_eq!(env["totals"]["row_type"], "total");
    assert_eq!(env["rows"].as_array().unwrap().len(), rows.len() - 1);
    // CSV: a header line and one line per row.
    let res = app
        .client
        .get(format!(
            "{}/v1/reports?type=trial_balance&{MARCH}",
            app.address
        ))
        .bearer_auth(&app.tenant.key)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert_eq!(res.headers()["x-report-balanced"], "true");
    let text = res.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("row_type,account,name,"),
        "{}",
        lines[0]
    );
    assert_eq!(lines.len(), rows.len() + 1);
    assert!(lines.last().unwrap().starts_with("total,"));
}

#[tokio::test]
async fn personal_accounts_roll_up_without_counting_twice() {
    let app = spawn_app().await;
    let c = app.post("/v1/customers", json!({"name": "Kunde AG"})).await;
    let account = c.expect(201, None)["account_number"]
        .as_str()
        .unwrap()
        .to_string();
    app.book_ok(json!({
        "booking_date": "2026-02-02", "description": "Rechnung",
        "lines": [{"account": account, "debit": "119.00"},
                  {"account": "8400", "credit": "100.00", "tax_code": "USt19"}]
    }))
    .await;
    let res = app
        .get("/v1/reports?type=trial_balance&startDate=2026-02-01&endDate=2026-02-28")
        .await;
    res.expect(200, None);
    assert_eq!(balanced(&res), "true");
    let rows = rows(&res);
    let i = rows.iter().position(|r| r["account"] == "1400").unwrap();
    assert_eq!(rows[i]["row_type"], "account");
    assert_eq!(rows[i]["closing_balance"], "119.00");
    assert_eq!(rows[i + 1]["row_type"], "personal");
    assert_eq!(rows[i + 1]["account"], account);
    assert_eq!(rows[i + 1]["collective_account"], "1400");
    let total = rows.last().unwrap();
    assert_eq!(total["period_debit"], "119.00");
}

#[tokio::test]
async fn profit_and_loss_and_balance_sheet_agree() {
    let app = spawn_app().await;
    small_book(&app).await;
    let res = app
        .get(&format!("/v1/reports?type=profit_and_loss&{MARCH}"))
        .await;
    res.expect(200, None);
    assert_eq!(balanced(&res), "true");
    let pl = rows(&res);
    let revenue = pl.iter().find(|r| r["report_group"] == "pl.1").unwrap();
    assert_eq!(revenue["amount"], "1000.00");
    assert_eq!(revenue["label"], "Umsatzerlöse");
    let total = pl.last().unwrap();
    assert_eq!(total["row_type"], "total");
    // 1000 revenue − 200 − 100 expenses.
    assert_eq!(total["amount"], "700.00");
    let res = app
        .get(&format!("/v1/reports?type=balance_sheet&{MARCH}"))
        .await;
    res.expect(200, None);
    assert_eq!(balanced(&res), "true");
    let bs = rows(&res);
    let result = bs
        .iter()
        .find(|r| r["report_group"] == "bs.passiva.A.V")
        .unwrap();
    assert_eq!(result["amount"], "700.00");
    let sums: Vec<&Value> = bs.iter().filter(|r| r["row_type"] == "subtotal").collect();
    assert_eq!(sums.len(), 2);
    assert_eq!(sums[0]["amount"], sums[1]["amount"]);
    assert_eq!(bs.last().unwrap()["amount"], sums[0]["amount"]);
}

#[tokio::test]
async fn vat_return_by_kennzahl_with_the_payable() {
    let app = spawn_app().await;
    small_book(&app).await;
    let res = app
        .get(&format!("/v1/reports?type=vat_return&{MARCH}"))
        .await;
    res.expect(200, None);
    assert_eq!(balanced(&res), "true");
    let rows = rows(&res);
    let kz = |k: &str| {
        rows.iter()
            .find(|r| r["kennzahl"] == k)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(kz("81")["amount"], "1000.00");
    assert_eq!(kz("81")["reported"], "1000");
    assert_eq!(kz("46")["amount"], "100.00");
    assert_eq!(kz("47")["amount"], "19.00");
    assert_eq!(kz("67")["amount"], "19.00");
    assert_eq!(kz("66")["amount"], "38.00");
    let total = rows.last().unwrap();
    assert_eq!(total["kennzahl"], "83");
    assert_eq!(total["kind"], "payable");
    // 190 + 19 owed, 38 + 19 deductible.
    assert_eq!(total["amount"], "152.00");
    // A manual booking on a VAT account shows as unbalanced.
    app.book_ok(transfer("2026-03-25", "1776", "1200", "5.00"))
        .await;
    let res = app
        .get(&format!("/v1/reports?type=vat_return&{MARCH}"))
        .await;
    res.expect(200, None);
    assert_eq!(balanced(&res), "false");
}

#[tokio::test]
async fn open_items_and_account_statement() {
    let app = spawn_app().await;
    let c = app.post("/v1/customers", json!({"name": "Kunde AG"})).await;
    let customer = c.expect(201, None)["id"].as_str().unwrap().to_string();
    let inv = app
        .post(
            "/v1/outgoing-invoices",
            json!({"customer_id": customer, "invoice_number": "RE-1", "invoice_date": "2026-03-02",
                   "due_date": "2026-03-16",
                   "lines": [{"description": "Beratung", "quantity": "1", "unit_price": "500.00", "tax_code": "USt19"}]}),
        )
        .await;
    inv.expect(201, None);
    let res = app
        .get("/v1/reports?type=open_items&startDate=2026-03-01&endDate=2026-03-31")
        .await;
    res.expect(200, None);
    assert_eq!(balanced(&res), "true");
    let items = rows(&res);
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["row_type"], "item");
    assert_eq!(items[0]["invoice_number"], "RE-1");
    assert_eq!(items[0]["remaining_amount"], "595.00");
    assert_eq!(items[0]["days_overdue"], 15);
    assert_eq!(items[1]["receivables"], "595.00");
    // The account statement of the receivables account rolls up the customer's account.
    let res = app
        .get("/v1/reports?type=account_statement&account=1400&startDate=2026-03-01&endDate=2026-03-31")
        .await;
    res.expect(200, None);
    assert_eq!(balanced(&res), "true");
    let lines = rows(&res);
    assert_eq!(lines[0]["row_type"], "opening");
    assert_eq!(lines[0]["balance"], "0.00");
    assert_eq!(lines[1]["row_type"], "entry");
    assert_eq!(lines[1]["debit"], "595.00");
    assert_eq!(lines.last().unwrap()["balance"], "595.00");
    // account_statement needs an account, and a known one.
    let res = app.get("/v1/reports?type=account_statement").await;
    res.expect(400, Some("account_required"));
    let res = app
        .get("/v1/reports?type=account_statement&account=9999")
        .await;
    res.expect(404, None);
}

#[tokio::test]
async fn monthly_revenue_and_expenses() {
    let app = spawn_app().await;
    small_book(&app).await;
    let res = app
        .get("/v1/reports/monthly-revenue-expenses?fiscal_year=2026")
        .await;
    res.expect(200, None);
    let rows = rows(&res);
    assert_eq!(rows.len(), 13);
    assert_eq!(rows[2]["period"], "2026-03");
    assert_eq!(rows[2]["revenue"], "1000.00");
    assert_eq!(rows[2]["expenses"], "300.00");
    assert_eq!(rows[2]["result"], "700.00");
    assert_eq!(rows[0]["result"], "0.00");
    assert_eq!(rows[12]["row_type"], "total");
    assert_eq!(rows[12]["result"], "700.00");
    let res = app
        .get("/v1/reports/monthly-revenue-expenses?fiscal_year=twenty")
        .await;
    res.expect(400, Some("invalid_fiscal_year"));
    let res = app
        .get("/v1/reports/monthly-revenue-expenses?fiscal_year=3000")
        .await;
    res.expect(400, Some("invalid_fiscal_year"));
}

#[tokio::test]
async fn malformed_parameters_and_ranges_are_refused() {
    let app = spawn_app().await;
    let cases = [
        ("/v1/reports", "invalid_report_type"),
        ("/v1/reports?type=cash_flow", "invalid_report_type"),
        (
            "/v1/reports?type=trial_balance&startDate=2026-13-01",
            "invalid_date",
        ),
        (
            "/v1/reports?type=trial_balance&endDate=31.03.2026",
            "invalid_date",
        ),
        (
            "/v1/reports?type=trial_balance&endDate=2200-01-01",
            "invalid_date",
        ),
        (
            "/v1/reports?type=trial_balance&startDate=2026-04-01&endDate=2026-03-01",
            "invalid_date_range",
        ),
        (
            "/v1/reports/datev-export?startDate=2026-02-30",
            "invalid_date",
        ),
        (
            "/v1/reports/datev-export?startDate=2026-01-01&endDate=2026-01-31&format=pdf",
            "invalid_export_format",
        ),
    ];
    for (path, code) in cases {
        let res = app.get(path).await;
        res.expect(400, Some(code));
    }
}

#[tokio::test]
async fn credentials_scopes_and_tenants() {
    let app = spawn_app().await;
    small_book(&app).await;
    for path in [
        "/v1/reports?type=trial_balance",
        "/v1/reports/monthly-revenue-expenses",
        "/v1/reports/datev-export",
    ] {
        app.send(Method::GET, path, None, None)
            .await
            .expect(401, None);
        app.send(
            Method::GET,
            path,
            Some("kt_0000000000000000000000000000000000000000000000000"),
            None,
        )
        .await
        .expect(401, None);
        let key = app.key_with_scopes(&["journal:read"]).await;
        app.send(Method::GET, path, Some(&key), None)
            .await
            .expect(403, Some("scope_missing"));
    }
    let reader = app.key_with_scopes(&["reports:read"]).await;
    app.send(
        Method::GET,
        "/v1/reports?type=trial_balance",
        Some(&reader),
        None,
    )
    .await
    .expect(200, None);
    // Another tenant sees its own (empty) books, never ours.
    let other = as_tenant(&app, app.other_tenant().await);
    let res = other
        .get(&format!("/v1/reports?type=trial_balance&{MARCH}"))
        .await;
    res.expect(200, None);
    let rows = rows(&res);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["period_debit"], "0.00");
    let res = other
        .get("/v1/reports?type=account_statement&account=1200&startDate=2026-03-01&endDate=2026-03-31")
        .await;
    assert_eq!(rows_len(&res), 2);
}

fn rows_len(res: &Res) -> usize {
    res.body.as_array().map(Vec::len).unwrap_or(0)
}

async fn set_datev(app: &TestApp) {
    app.patch(
        "/v1/settings",
        json!({"datev_consultant_number": 1234567, "datev_client_number": 10001}),
    )
    .await
    .expect(200, None);
}

fn fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            ';' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

#[tokio::test]
async fn datev_export_is_a_windows_1252_download() {
    let app = spawn_app().await;
    small_book(&app).await;
    let res = app
        .get("/v1/reports/datev-export?startDate=2026-03-01&endDate=2026-03-31")
        .await;
    res.expect(400, Some("invalid_datev_settings"));
    set_datev(&app).await;
    let res = app
        .get("/v1/reports/datev-export?startDate=2026-01-01&endDate=2026-03-31")
        .await;
    res.expect(200, None);
    assert_eq!(
        res.headers["content-type"],
        "text/csv; charset=windows-1252"
    );
    let disposition = res.headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with(
            "attachment; filename=\"EXTF_Buchungsstapel_1234567_10001_20260101_20260331.csv\""
        ),
        "{disposition}"
    );
    let bytes = &res.bytes;
    let text = encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned();
    assert!(bytes.windows(2).filter(|w| w == b"\r\n").count() >= 3);
    assert!(!text.replace("\r\n", "").contains('\n'));
    let lines: Vec<&str> = text.trim_end_matches("\r\n").split("\r\n").collect();
    let header = fields(lines[0]);
    assert_eq!(header.len(), 31);
    assert_eq!(
        &header[..5],
        ["\"EXTF\"", "700", "21", "\"Buchungsstapel\"", "13"]
    );
    assert_eq!(header[10], "1234567");
    assert_eq!(header[11], "10001");
    assert_eq!(header[12], "20260101");
    assert_eq!(header[13], "4");
    assert_eq!(header[14], "20260101");
    assert_eq!(header[15], "20260331");
    assert_eq!(fields(lines[1]).len(), 125);
    let rows = &lines[2..];
    assert_eq!(
        res.headers["x-datev-rows"].to_str().unwrap(),
        rows.len().to_string()
    );
    let mut sums: BTreeMap<String, Decimal> = BTreeMap::new();
    for l in rows {
        let f = fields(l);
        assert_eq!(f.len(), 125, "{l}");
        let amount: Decimal = f[0].replace(',', ".").parse().unwrap();
        assert!(amount > Decimal::ZERO);
        let sign = if f[1] == "\"S\"" {
            Decimal::ONE
        } else {
            -Decimal::ONE
        };
        assert!(f[1] == "\"S\"" || f[1] == "\"H\"");
        *sums.entry(f[6].clone()).or_default() += sign * amount;
        *sums.entry(f[7].clone()).or_default() -= sign * amount;
    }
    // The sale is one gross row on 8400 (automatic account), the purchase one keyed row.
    let sale = rows
        .iter()
        .map(|l| fields(l))
        .find(|f| f[7] == "8400")
        .unwrap();
    assert_eq!(sale[0], "1190,00");
    assert_eq!(sale[8], "\"\"");
    let purchase = rows
        .iter()
        .map(|l| fields(l))
        .find(|f| f[10] == "\"ER-1\"")
        .unwrap();
    assert_eq!(purchase[0], "238,00");
    assert_eq!(purchase[8], "\"9\"");
    let rc = rows
        .iter()
        .map(|l| fields(l))
        .find(|f| f[8] == "\"94\"")
        .unwrap();
    assert_eq!(rc[0], "100,00");
    assert_eq!(
        sums["1200"],
        "1090.00".parse::<Decimal>().unwrap() + Decimal::from(5000)
    );
    // A range across fiscal years is DATEV's refusal.
    let res = app
        .get("/v1/reports/datev-export?startDate=2025-12-01&endDate=2026-01-31")
        .await;
    res.expect(400, Some("range_crosses_fiscal_year"));
}

#[tokio::test]
async fn datev_zip_holds_both_files_and_locked_periods_are_festgeschrieben() {
    let app = spawn_app().await;
    set_datev(&app).await;
    app.post(
        "/v1/customers",
        json!({"name": "Müller & Söhne GmbH", "vat_id": "ATU12345678",
               "address": {"street": "Hauptstraße 1", "postal_code": "1010", "city": "Wien", "country": "AT"}}),
    )
    .await
    .expect(201, None);
    app.book_ok(transfer("2026-01-15", "1200", "1000", "50.00"))
        .await;
    app.book_ok(transfer("2026-02-15", "1200", "1000", "60.00"))
        .await;
    // January locked (four eyes: requested by the owner key, approved by another key).
    let req = app
        .send(
            Method::POST,
            "/v1/periods/2026-01/lock",
            Some(&app.tenant.key.clone()),
            None,
        )
        .await;
    let request_id = req.expect(201, None)["request_id"]
        .as_str()
        .unwrap()
        .to_string();
    let second = app.key_with_scopes(&["*"]).await;
    app.send(
        Method::POST,
        &format!("/v1/periods/2026-01/lock/{request_id}/approve"),
        Some(&second),
        None,
    )
    .await
    .expect(200, None);
    let res = app
        .get("/v1/reports/datev-export?startDate=2026-01-01&endDate=2026-02-28&format=zip")
        .await;
    res.expect(200, None);
    assert_eq!(res.headers["content-type"], "application/zip");
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(res.bytes.clone())).unwrap();
    let names: Vec<String> = zip.file_names().map(str::to_string).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    let mut bookings = Vec::new();
    zip.by_name("EXTF_Buchungsstapel_1234567_10001_20260101_20260228.csv")
        .unwrap()
        .read_to_end(&mut bookings)
        .unwrap();
    let text = encoding_rs::WINDOWS_1252.decode(&bookings).0.into_owned();
    let lines: Vec<&str> = text.trim_end_matches("\r\n").split("\r\n").collect();
    assert_eq!(lines.len(), 4);
    let jan = fields(lines[2]);
    let feb = fields(lines[3]);
    assert_eq!(jan[9], "1501");
    assert_eq!(jan[113], "1", "January is locked");
    assert_eq!(feb[113], "0");
    let mut partners = Vec::new();
    zip.by_name("EXTF_Debitoren_Kreditoren_1234567_10001_20260101_20260228.csv")
        .unwrap()
        .read_to_end(&mut partners)
        .unwrap();
    let text = encoding_rs::WINDOWS_1252.decode(&partners).0.into_owned();
    let lines: Vec<&str> = text.trim_end_matches("\r\n").split("\r\n").collect();
    assert!(lines[0].starts_with("\"EXTF\";700;16;\"Debitoren/Kreditoren\";"));
    assert_eq!(lines.len(), 3);
    assert!(lines[2].contains("\"Müller & Söhne GmbH\""), "{}", lines[2]);
    assert!(lines[2].contains("\"AT\";\"U12345678\""), "{}", lines[2]);
    // The partner file alone.
    let res = app
        .get("/v1/reports/datev-export?startDate=2026-01-01&endDate=2026-02-28&format=partners")
        .await;
    res.expect(200, None);
    // The same file but for the creation time in the header.
    let alone = encoding_rs::WINDOWS_1252.decode(&res.bytes).0.into_owned();
    let in_zip = encoding_rs::WINDOWS_1252.decode(&partners).0.into_owned();
    let body = |t: &str| t.split_once("\r\n").map(|(_, rest)| rest.to_string());
    assert_eq!(body(&alone), body(&in_zip));
    assert!(body(&alone).is_some());
}

#[tokio::test]
async fn an_amount_beyond_ten_digits_is_refused_naming_the_booking() {
    let app = spawn_app().await;
    set_datev(&app).await;
    let id = app
        .book_ok(transfer("2026-05-05", "0800", "1200", "10000000000.00"))
        .await;
    let res = app
        .get("/v1/reports/datev-export?startDate=2026-05-01&endDate=2026-05-31")
        .await;
    let body = res.expect(400, Some("amount_too_large"));
    assert!(body["error"].as_str().unwrap().contains(&id), "{body}");
    // A range without it exports.
    app.get("/v1/reports/datev-export?startDate=2026-06-01&endDate=2026-06-30")
        .await
        .expect(200, None);
}

#[tokio::test]
async fn ist_versteuerung_counts_revenue_when_it_is_paid() {
    let app = spawn_app().await;
    let c = app.post("/v1/customers", json!({"name": "Kunde AG"})).await;
    let customer = c.expect(201, None)["id"].as_str().unwrap().to_string();
    let inv = app
        .post(
            "/v1/outgoing-invoices",
            json!({"customer_id": customer, "invoice_number": "RE-7", "invoice_date": "2026-03-02",
                   "lines": [{"description": "Beratung", "quantity": "1", "unit_price": "1000.00", "tax_code": "USt19"}]}),
        )
        .await;
    let invoice_id: uuid::Uuid = inv.expect(201, None)["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // A cash sale without an invoice, and a purchase.
    app.book_ok(json!({
        "booking_date": "2026-03-05", "description": "Barverkauf",
        "lines": [{"account": "1000", "debit": "119.00"},
                  {"account": "8400", "credit": "100.00", "tax_code": "USt19"}]
    }))
    .await;
    app.book_ok(json!({
        "booking_date": "2026-03-06", "description": "Einkauf",
        "lines": [{"account": "4900", "debit": "200.00", "tax_code": "VSt19"},
                  {"account": "1600", "credit": "238.00"}]
    }))
    .await;
    let kz = |rows: &[Value], k: &str| {
        rows.iter()
            .find(|r| r["kennzahl"] == k)
            .map(|r| r["amount"].as_str().unwrap().to_string())
            .unwrap_or_default()
    };
    // Soll: the invoice counts in March.
    let res = app
        .get(&format!("/v1/reports?type=vat_return&{MARCH}"))
        .await;
    res.expect(200, None);
    assert_eq!(kz(&rows(&res), "81"), "1100.00");
    app.patch("/v1/settings", json!({"vat_method": "ist"}))
        .await
        .expect(200, None);
    // Ist: in March only the cash sale; the purchase still by its date.
    let res = app
        .get(&format!("/v1/reports?type=vat_return&{MARCH}"))
        .await;
    res.expect(200, None);
    assert_eq!(balanced(&res), "true");
    let march = rows(&res);
    assert_eq!(kz(&march, "81"), "100.00");
    assert_eq!(kz(&march, "66"), "38.00");
    assert_eq!(march.last().unwrap()["amount"], "-19.00");
    // Half the invoice paid in April: half its base and tax count in April.
    use crate::common::Settlements;
    app.store
        .apply_payment(
            app.tenant.id,
            invoice_id,
            "595.00".parse().unwrap(),
            "2026-04-10".parse().unwrap(),
            None,
            &journal::Actor::system("test"),
        )
        .await
        .expect("payment");
    let res = app
        .get("/v1/reports?type=vat_return&startDate=2026-04-01&endDate=2026-04-30")
        .await;
    res.expect(200, None);
    let april = rows(&res);
    assert_eq!(kz(&april, "81"), "500.00");
    assert_eq!(april.last().unwrap()["amount"], "95.00");
}

#[tokio::test]
async fn the_document_of_a_booking_is_its_beleglink() {
    let app = spawn_app().await;
    set_datev(&app).await;
    let doc = upload_pdf(&app, "beleg.pdf").await;
    app.book_ok(with(
        transfer("2026-07-01", "4900", "1200", "12.34"),
        "document_id",
        json!(doc),
    ))
    .await;
    let res = app
        .get("/v1/reports/datev-export?startDate=2026-07-01&endDate=2026-07-31")
        .await;
    res.expect(200, None);
    let text = encoding_rs::WINDOWS_1252.decode(&res.bytes).0.into_owned();
    let row = fields(text.split("\r\n").nth(2).unwrap());
    assert_eq!(row[19], format!("\"/v1/documents/{doc}/file\""));
    assert_eq!(row[0], "12,34");
}
