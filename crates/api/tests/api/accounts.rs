//! Accounts: list, search, create, update, the seeded charts, and account entries with balances.

use crate::common::*;
use crate::helpers::*;
use serde_json::{json, Value};

fn numbers(body: &Value) -> Vec<String> {
    body["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| a["number"].as_str().unwrap().to_string())
        .collect()
}

fn chart_numbers(chart: &str) -> Vec<String> {
    let mut n: Vec<String> = store::tenants::chart(chart)
        .unwrap()
        .accounts
        .into_iter()
        .map(|a| a.number)
        .collect();
    n.sort();
    n
}

#[tokio::test]
async fn list_is_an_object_with_paging() {
    let app = spawn_app().await;
    let all = chart_numbers("skr03");
    assert!(
        all.len() > 100,
        "the test needs a chart larger than one default page"
    );

    let res = app.get("/v1/accounts").await;
    let body = res.expect(200, None);
    assert_eq!(body["total"], all.len() as i64);
    assert_eq!(
        (body["offset"].clone(), body["limit"].clone()),
        (json!(0), json!(100))
    );
    assert_eq!(numbers(body), all[..100]);
    let first = &body["accounts"][0];
    for field in [
        "number",
        "name",
        "type",
        "category",
        "report_group",
        "is_system",
        "is_active",
    ] {
        assert!(first.get(field).is_some(), "{field} missing in {first}");
    }

    let res = app.get("/v1/accounts?limit=5&offset=2").await;
    let body = res.expect(200, None);
    assert_eq!(numbers(body), all[2..7]);
    assert_eq!(
        (body["offset"].clone(), body["limit"].clone()),
        (json!(2), json!(5))
    );

    let res = app.get("/v1/accounts?limit=500").await;
    assert_eq!(numbers(res.expect(200, None)), all);
    let res = app.get("/v1/accounts?limit=1").await;
    assert_eq!(numbers(res.expect(200, None)).len(), 1);

    // Malformed or out-of-range parameters fall back to their defaults.
    for q in [
        "limit=abc",
        "limit=0",
        "limit=501",
        "limit=-3",
        "limit=1.5",
        "offset=-1&limit=x",
        "offset=abc",
    ] {
        let res = app.get(&format!("/v1/accounts?{q}")).await;
        let body = res.expect(200, None);
        assert_eq!(body["limit"], 100, "{q}");
        assert_eq!(body["offset"], 0, "{q}");
        assert_eq!(numbers(body).len(), 100, "{q}");
    }
    // Past the end: empty page, total still known.
    let res = app.get("/v1/accounts?offset=100000").await;
    let body = res.expect(200, None);
    assert_eq!(numbers(body).len(), 0);
    assert_eq!(body["total"], all.len() as i64);
}

#[tokio::test]
async fn search_by_number_prefix_name_and_type() {
    let app = spawn_app().await;
    let res = app.get("/v1/accounts/search?q=120").await;
    assert_eq!(numbers(res.expect(200, None)), ["1200"]);
    let res = app.get("/v1/accounts/search?q=12").await;
    let found = numbers(res.expect(200, None));
    assert_eq!(found[..2], ["1200", "1210"]);
    assert!(found.iter().all(|n| n.starts_with("12")), "{found:?}");

    let res = app.get("/v1/accounts/search?q=BANK").await;
    assert_eq!(numbers(res.expect(200, None)), ["1200", "1210"]);
    let res = app.get("/v1/accounts/search?q=vorsteuer&type=asset").await;
    let body = res.expect(200, None);
    assert!(numbers(body).contains(&"1576".to_string()));
    assert!(body["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["type"] == "asset"
            && a["name"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("vorsteuer")));
    // 4300 "Nicht abziehbare Vorsteuer" is an expense.
    assert!(!numbers(body).contains(&"4300".to_string()));

    let res = app.get("/v1/accounts/search?type=revenue&limit=500").await;
    let body = res.expect(200, None);
    let revenue: Vec<String> = store::tenants::chart("skr03")
        .unwrap()
        .accounts
        .into_iter()
        .filter(|a| a.account_type.as_str() == "revenue")
        .map(|a| a.number)
        .collect();
    assert_eq!(numbers(body), revenue);

    // LIKE wildcards are taken literally: "%" finds the names with a percent sign.
    let res = app.get("/v1/accounts/search?q=%25&limit=500").await;
    let with_percent: Vec<String> = store::tenants::chart("skr03")
        .unwrap()
        .accounts
        .into_iter()
        .filter(|a| a.name.contains('%'))
        .map(|a| a.number)
        .collect();
    assert!(!with_percent.is_empty());
    assert_eq!(numbers(res.expect(200, None)), with_percent);
    for q in ["_", "1_00", "%25%25"] {
        let res = app.get(&format!("/v1/accounts/search?q={q}")).await;
        assert_eq!(numbers(res.expect(200, None)), Vec::<String>::new(), "{q}");
    }
    let res = app.get("/v1/accounts/search?q=zzzz-nothing").await;
    assert_eq!(res.expect(200, None)["accounts"], json!([]));
}

#[tokio::test]
async fn create_get_and_update_an_account() {
    let app = spawn_app().await;
    let res = app
        .post("/v1/accounts", json!({"number": "4981", "name": " Betriebsbedarf Lager ", "type": "expense", "category": "office"}))
        .await;
    let body = res.expect(201, None);
    assert_eq!(
        body,
        &json!({"number": "4981", "name": "Betriebsbedarf Lager", "type": "expense", "category": "office",
                "report_group": "", "is_system": false, "is_active": true})
    );
    let res = app.get("/v1/accounts/4981").await;
    assert_eq!(res.expect(200, None)["name"], "Betriebsbedarf Lager");
    let res = app.get("/v1/accounts?limit=500").await;
    assert!(numbers(res.expect(200, None)).contains(&"4981".to_string()));
    app.book_ok(transfer("2026-03-14", "4981", "1200", "12.00"))
        .await;
    assert_eq!(app.balance("4981").await, "12.00");

    let res = app
        .post(
            "/v1/accounts",
            json!({"number": "1200", "name": "Bank 2", "type": "asset"}),
        )
        .await;
    res.expect(409, Some("account_exists"));
    let res = app
        .post(
            "/v1/accounts",
            json!({"number": "4981", "name": "again", "type": "expense"}),
        )
        .await;
    res.expect(409, Some("account_exists"));

    for number in ["123", "1234567890", "12a4", "", "-1200", " 1200"] {
        let res = app
            .post(
                "/v1/accounts",
                json!({"number": number, "name": "x", "type": "asset"}),
            )
            .await;
        res.expect(400, Some("invalid_account_number"));
        assert_eq!(field_errors(&res.body), ["number"], "{number:?}");
    }
    app.post(
        "/v1/accounts",
        json!({"number": "123456789", "name": "Debitor", "type": "asset"}),
    )
    .await
    .expect(201, None);
    app.post(
        "/v1/accounts",
        json!({"number": "4982", "name": "  ", "type": "asset"}),
    )
    .await
    .expect(400, Some("invalid_name"));
    let res = app
        .post(
            "/v1/accounts",
            json!({"number": "4982", "name": "x", "type": "cost"}),
        )
        .await;
    res.expect(400, Some("invalid_field"));
    assert_eq!(field_errors(&res.body), ["type"]);

    let res = app
        .patch(
            "/v1/accounts/4981",
            json!({"name": "Lagerbedarf", "is_active": false}),
        )
        .await;
    let body = res.expect(200, None);
    assert_eq!(
        (body["name"].as_str(), body["is_active"].as_bool()),
        (Some("Lagerbedarf"), Some(false))
    );
    // An inactive account keeps its history and its number.
    assert_eq!(app.balance("4981").await, "12.00");
    app.post(
        "/v1/bookings",
        transfer("2026-03-15", "4981", "1200", "1.00"),
    )
    .await
    .expect(400, Some("unknown_account"));
    let res = app.patch("/v1/accounts/4981", json!({})).await;
    assert_eq!(res.expect(200, None)["is_active"], false);
    app.patch("/v1/accounts/4981", json!({"name": ""}))
        .await
        .expect(400, Some("invalid_name"));
    app.patch("/v1/accounts/8888", json!({"name": "x"}))
        .await
        .expect(404, Some("not_found"));
    app.get("/v1/accounts/8888")
        .await
        .expect(404, Some("not_found"));
    app.patch("/v1/accounts/4981", json!({"number": "4999"}))
        .await
        .expect(400, Some("unknown_field"));
}

#[tokio::test]
async fn skr03_chart_has_the_named_accounts_and_roles() {
    let app = spawn_app().await;
    for (number, name_part, kind) in [
        ("1000", "Kasse", "asset"),
        ("1200", "Bank", "asset"),
        ("1400", "Forderungen", "asset"),
        ("1600", "Verbindlichkeiten", "liability"),
        ("1776", "Umsatzsteuer 19", "liability"),
        ("1771", "Umsatzsteuer 7", "liability"),
        ("1576", "Vorsteuer 19", "asset"),
        ("1571", "Vorsteuer 7", "asset"),
        ("8400", "Erlöse 19", "revenue"),
        ("8300", "Erlöse 7", "revenue"),
        ("8125", "innergemeinschaftliche", "revenue"),
        ("8120", "Ausfuhr", "revenue"),
        ("4210", "Miete", "expense"),
        ("4120", "Gehälter", "expense"),
        ("4920", "Telefon", "expense"),
        ("4930", "Bürobedarf", "expense"),
        ("4830", "Abschreibungen", "expense"),
        ("0800", "Kapital", "equity"),
        ("1800", "Privat", "equity"),
        ("9000", "Saldenvorträge", "equity"),
        ("2150", "Währungsumrechnung", "expense"),
    ] {
        let res = app.get(&format!("/v1/accounts/{number}")).await;
        let a = res.expect(200, None);
        assert!(
            a["name"].as_str().unwrap().contains(name_part),
            "{number}: {a}"
        );
        assert_eq!(a["type"], kind, "{number}");
        assert_eq!(a["is_system"], true);
        assert!(
            !a["report_group"].as_str().unwrap().is_empty(),
            "{number} has no report group"
        );
    }
}

#[tokio::test]
async fn skr04_chart_has_the_named_accounts() {
    let app = spawn_app_with(
        api::ApiConfig {
            workers: 1,
            ..Default::default()
        },
        "skr04",
    )
    .await;
    for (number, name_part, kind) in [
        ("1600", "Kasse", "asset"),
        ("1800", "Bank", "asset"),
        ("1200", "Forderungen", "asset"),
        ("3300", "Verbindlichkeiten", "liability"),
        ("3806", "Umsatzsteuer 19", "liability"),
        ("3801", "Umsatzsteuer 7", "liability"),
        ("1406", "Vorsteuer 19", "asset"),
        ("1401", "Vorsteuer 7", "asset"),
        ("4400", "Erlöse 19", "revenue"),
        ("4300", "Erlöse 7", "revenue"),
        ("9000", "Saldenvorträge", "equity"),
        ("6880", "Währungsumrechnung", "expense"),
    ] {
        let res = app.get(&format!("/v1/accounts/{number}")).await;
        let a = res.expect(200, None);
        assert!(
            a["name"].as_str().unwrap().contains(name_part),
            "{number}: {a}"
        );
        assert_eq!(a["type"], kind, "{number}");
    }
    let res = app.get("/v1/accounts?limit=500").await;
    assert_eq!(numbers(res.expect(200, None)), chart_numbers("skr04"));
}

/// Books on 1200 in January, February (twice) and March.
async fn three_months(app: &TestApp) {
    for (date, amount) in [
        ("2026-01-15", "100.00"),
        ("2026-02-10", "20.00"),
        ("2026-02-20", "3.00"),
        ("2026-03-05", "0.40"),
    ] {
        app.book_ok(transfer(date, "1200", "8400", amount)).await;
    }
    app.book_ok(transfer("2026-02-25", "4930", "1200", "1.50"))
        .await;
}

#[tokio::test]
async fn entries_and_balance_over_date_ranges() {
    let app = spawn_app().await;
    three_months(&app).await;
    let cases = [
        ("startDate=2026-02-01&endDate=2026-03-31", 4, "21.90"),
        ("startDate=2026-02-15&endDate=2026-03-31", 3, "1.90"),
        ("startDate=2026-02-15&endDate=2026-02-24", 1, "3.00"),
        ("endDate=2026-02-15", 2, "120.00"),
        ("startDate=2026-02-11", 3, "1.90"),
        ("", 5, "121.90"),
        ("startDate=2026-04-01", 0, "0.00"),
        ("endDate=2025-12-31", 0, "0.00"),
        ("startDate=2026-01-15&endDate=2026-01-15", 1, "100.00"),
        // A malformed date falls back to no bound.
        ("startDate=2026-02-30&endDate=2026-13-01", 5, "121.90"),
    ];
    for (query, count, balance) in cases {
        let (entries, got) = entries(&app, "1200", query).await;
        assert_eq!(entries.len(), count, "{query}");
        assert_eq!(got, dec(balance), "{query}");
        assert_eq!(
            sum_entries(&entries),
            got,
            "{query}: balance is not the sum of the entries"
        );
    }
    let res = app
        .get("/v1/accounts/1200/entries?startDate=2026-02-01&endDate=2026-03-31")
        .await;
    let body = res.expect(200, None);
    assert_eq!(res.headers["x-total-count"], "4");
    assert_eq!(body["total"], 4);
    let dates: Vec<&str> = body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["booking_date"].as_str().unwrap())
        .collect();
    assert_eq!(
        dates,
        ["2026-02-10", "2026-02-20", "2026-02-25", "2026-03-05"]
    );
    assert_eq!(body["entries"][2]["credit"], "1.50");
    assert_eq!(body["entries"][2]["debit"], Value::Null);

    // A page shows fewer entries, the balance stays the range's.
    let res = app
        .get("/v1/accounts/1200/entries?startDate=2026-02-01&endDate=2026-03-31&limit=1&offset=1")
        .await;
    let body = res.expect(200, None);
    assert_eq!(body["entries"].as_array().unwrap().len(), 1);
    assert_eq!(body["entries"][0]["booking_date"], "2026-02-20");
    assert_eq!(body["balance"], "21.90");

    // A page past the end is empty but still knows the total and the balance.
    let res = app
        .get("/v1/accounts/1200/entries?startDate=2026-02-01&offset=50")
        .await;
    let body = res.expect(200, None);
    assert_eq!(body["entries"], json!([]));
    assert_eq!(
        (body["total"].as_i64(), body["balance"].as_str()),
        (Some(4), Some("21.90"))
    );
    assert_eq!(res.headers["x-total-count"], "4");

    app.get("/v1/accounts/1200/entries?startDate=2026-03-01&endDate=2026-02-01")
        .await
        .expect(400, Some("invalid_date_range"));
    app.get("/v1/accounts/8888/entries")
        .await
        .expect(404, Some("not_found"));
    let (entries, balance) = entries(&app, "1000", "").await;
    assert_eq!((entries.len(), balance), (0, dec("0")));
    // A balance that comes back to zero is "0.00", never "-0.00".
    app.book_ok(transfer("2026-04-01", "1000", "1200", "121.90"))
        .await;
    assert_eq!(app.balance("1200").await, "0.00");
    let res = app
        .get("/v1/accounts/1200/entries?startDate=2026-01-01&endDate=2026-04-30")
        .await;
    assert_eq!(res.expect(200, None)["balance"], "0.00");
}

#[tokio::test]
async fn adjustment_bookings_count_in_the_range_of_their_booking_date() {
    let app = spawn_app().await;
    three_months(&app).await;
    // Booked into period 13 but dated in March.
    app.book_ok(with(
        transfer("2026-03-20", "1200", "8400", "7.00"),
        "adjustment_period",
        json!(true),
    ))
    .await;
    for query in [
        "",
        "startDate=2026-03-01&endDate=2026-03-31",
        "startDate=2026-04-01&endDate=2026-04-30",
        "startDate=2026-04-01",
        "endDate=2026-03-31",
        "endDate=2026-03-19",
        "startDate=2026-03-21&endDate=2026-12-31",
        "startDate=2026-12-01&endDate=2026-12-31",
    ] {
        let (entries, balance) = entries(&app, "1200", query).await;
        assert_eq!(
            sum_entries(&entries),
            balance,
            "{query}: balance is not the sum of the entries"
        );
    }
    let (_, balance) = entries(&app, "1200", "startDate=2026-03-01&endDate=2026-03-31").await;
    assert_eq!(balance, dec("7.40"));
}

#[tokio::test]
async fn adjustment_bookings_with_a_fiscal_year_from_july() {
    let app = spawn_app().await;
    let tenant = app
        .store
        .create_tenant(store::tenants::NewTenant {
            slug: random_slug("fy7"),
            name: "Juli GmbH".into(),
            chart: "skr03".into(),
            fiscal_year_start_month: 7,
            currency: "EUR".into(),
        })
        .await
        .unwrap();
    let (_, key) = app
        .store
        .create_api_key(tenant.id, "k", &["*".to_string()], "unlimited", None)
        .await
        .unwrap();
    let app = as_tenant(
        &app,
        Tenant {
            id: tenant.id,
            slug: tenant.slug,
            key,
        },
    );
    // Fiscal year 2026 runs from 2026-07-01 to 2027-06-30; its period 13 sits on June 2027.
    let id = app
        .book_ok(with(
            transfer("2026-09-10", "1200", "8400", "7.00"),
            "adjustment_period",
            json!(true),
        ))
        .await;
    let res = app.get(&format!("/v1/journal/{id}")).await;
    assert_eq!(res.expect(200, None)["summary"]["period"], "2026-13");
    app.book_ok(transfer("2026-08-01", "1200", "8400", "1.00"))
        .await;
    app.book_ok(transfer("2027-06-15", "1200", "8400", "2.00"))
        .await;
    for (query, expected) in [
        ("", "10.00"),
        ("startDate=2026-09-01&endDate=2026-09-30", "7.00"),
        ("startDate=2026-10-01&endDate=2027-05-31", "0.00"),
        ("startDate=2026-10-01", "2.00"),
        ("endDate=2027-06-14", "8.00"),
        ("startDate=2027-06-01&endDate=2027-06-30", "2.00"),
    ] {
        let (entries, balance) = entries(&app, "1200", query).await;
        assert_eq!(balance, dec(expected), "{query}");
        assert_eq!(sum_entries(&entries), balance, "{query}");
    }
}
