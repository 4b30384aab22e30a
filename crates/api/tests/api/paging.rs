//! Lists that scale: keyset paging of GET /v1/journal by `cursor`, and totals capped at a
//! count (exact below it, estimated and marked above it).

use crate::common::*;
use crate::helpers::*;
use api::ApiConfig;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::net::TcpListener;

/// `n` bookings (2n lines) on 40 dates with many lines on one date, three expense accounts
/// against 1200, searchable descriptions.
async fn many_bookings(app: &TestApp, n: usize) {
    let start = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    for i in 0..n {
        let date = start + chrono::Duration::days(((i * 7) % 40) as i64);
        let (account, description) = match i % 3 {
            0 => ("4210", format!("Miete {i}")),
            1 => ("4920", format!("Telefon {i}")),
            _ => ("4930", format!("Büromaterial {i}")),
        };
        let mut body = transfer(&date.to_string(), account, "1200", "10.00");
        body["description"] = json!(description);
        app.book_ok(body).await;
    }
}

/// (seq, intent_id, line) of each line of a page.
fn lines(body: &Value) -> Vec<(i64, String, i64)> {
    body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["seq"].as_i64().unwrap(),
                e["intent_id"].as_str().unwrap().to_string(),
                e["line"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn with_param(path: &str, name: &str, value: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}{name}={value}")
}

/// Every line of `path` by offset paging.
async fn walk_by_offset(app: &TestApp, path: &str, limit: usize) -> Vec<(i64, String, i64)> {
    let mut all = Vec::new();
    loop {
        let url = with_param(
            &with_param(path, "limit", &limit.to_string()),
            "offset",
            &all.len().to_string(),
        );
        let res = app.get(&url).await;
        let page = lines(res.expect(200, None));
        let done = page.len() < limit;
        all.extend(page);
        if done {
            return all;
        }
    }
}

/// Every line of `path` by cursor, calling `between` after each page.
async fn walk_by_cursor<F, Fut>(
    app: &TestApp,
    path: &str,
    limit: usize,
    mut between: F,
) -> Vec<(i64, String, i64)>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    for page_no in 0.. {
        let mut url = with_param(path, "limit", &limit.to_string());
        if let Some(c) = &cursor {
            url = with_param(&url, "cursor", c);
        }
        let res = app.get(&url).await;
        let body = res.expect(200, None).clone();
        let page = lines(&body);
        assert!(page.len() <= limit);
        if cursor.is_some() {
            assert_eq!(body["offset"], 0, "a cursor page reports offset 0");
        }
        all.extend(page);
        match body["next_cursor"].as_str() {
            Some(c) => {
                assert!(!body["entries"].as_array().unwrap().is_empty());
                cursor = Some(c.to_string());
            }
            None => {
                assert!(body["next_cursor"].is_null(), "{body}");
                return all;
            }
        }
        between(page_no).await;
    }
    unreachable!()
}

#[tokio::test]
async fn journal_cursor_walk_matches_offset_paging_also_filtered() {
    let app = spawn_app().await;
    many_bookings(&app, 150).await;
    for (path, expected) in [
        ("/v1/journal", 300),
        ("/v1/journal?account=1200", 150),
        ("/v1/journal?account=4920", 50),
        ("/v1/journal?startDate=2026-01-08&endDate=2026-02-01", 0),
        ("/v1/journal?search=telefon", 100),
        (
            "/v1/journal?account=1200&search=miete&startDate=2026-01-15",
            0,
        ),
    ] {
        let by_offset = walk_by_offset(&app, path, 13).await;
        if expected > 0 {
            assert_eq!(by_offset.len(), expected, "{path}");
        }
        assert!(!by_offset.is_empty(), "{path}");
        let by_cursor = walk_by_cursor(&app, path, 13, |_| async {}).await;
        assert_eq!(by_cursor, by_offset, "{path}");
        let distinct: HashSet<_> = by_cursor.iter().collect();
        assert_eq!(distinct.len(), by_cursor.len(), "{path}: a line twice");
        // Page sizes that divide the list exactly end with a null cursor too.
        let exact = walk_by_cursor(&app, path, by_offset.len(), |_| async {}).await;
        assert_eq!(exact, by_offset, "{path}");
    }
    // The first page names its successor; the last one does not.
    let res = app.get("/v1/journal?limit=300").await;
    let body = res.expect(200, None);
    assert!(body["next_cursor"].is_null());
    assert_eq!(body["total"], 300);
    assert_eq!(body["total_estimated"], false);
    assert!(!res.headers.contains_key("x-total-count-estimated"));
    let res = app.get("/v1/journal?limit=299").await;
    assert!(res.expect(200, None)["next_cursor"].is_string());
}

#[tokio::test]
async fn journal_cursor_walk_while_bookings_arrive() {
    let app = spawn_app().await;
    many_bookings(&app, 100).await;
    let before = walk_by_offset(&app, "/v1/journal", 500).await;
    assert_eq!(before.len(), 200);
    let start = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let seen = walk_by_cursor(&app, "/v1/journal", 11, |page_no| {
        let app = &app;
        async move {
            // Newer, older and same dates as the lines already read.
            for k in 0..2 {
                let date = start + chrono::Duration::days(((page_no * 13 + k * 17) % 45) as i64);
                app.book_ok(transfer(&date.to_string(), "4210", "1200", "1.00"))
                    .await;
            }
        }
    })
    .await;
    let distinct: HashSet<_> = seen.iter().collect();
    assert_eq!(distinct.len(), seen.len(), "a line was read twice");
    // Every line that existed at the start, exactly once and in the same order.
    let old: HashSet<_> = before.iter().collect();
    let old_seen: Vec<_> = seen.iter().filter(|l| old.contains(l)).cloned().collect();
    assert_eq!(old_seen, before);
}

#[tokio::test]
async fn journal_malformed_cursor_gives_the_first_page() {
    let app = spawn_app().await;
    many_bookings(&app, 6).await;
    let first = app.get("/v1/journal?limit=5").await;
    let first = first.expect(200, None).clone();
    let next = first["next_cursor"].as_str().unwrap().to_string();
    let second = app.get(&format!("/v1/journal?limit=5&cursor={next}")).await;
    let second = second.expect(200, None).clone();
    assert_eq!(lines(&second).len(), 5);
    assert_ne!(lines(&second), lines(&first));
    // Wrong version byte, wrong length, not hex, upper case, garbage, empty.
    let mut other_version = next.clone();
    other_version.replace_range(0..2, "02");
    let short = &next[..next.len() - 2];
    let upper = next.to_uppercase();
    for bad in [
        other_version.as_str(),
        short,
        "zz",
        upper.as_str(),
        "%E2%82%AC",
        "",
        "01ffffffff7fffffffffffffff",
    ] {
        let res = app.get(&format!("/v1/journal?limit=5&cursor={bad}")).await;
        let body = res.expect(200, None);
        assert_eq!(lines(body), lines(&first), "cursor {bad:?}");
        assert_eq!(body["next_cursor"], first["next_cursor"], "cursor {bad:?}");
    }
    // A cursor wins over offset.
    let res = app
        .get(&format!("/v1/journal?limit=5&offset=3&cursor={next}"))
        .await;
    assert_eq!(lines(res.expect(200, None)), lines(&second));
}

/// A server whose store counts exactly only up to `cap`.
async fn spawn_app_with_count_cap(cap: i64) -> TestApp {
    let store = test_store().await.with_count_cap(cap);
    let tenant = create_tenant(&store, "skr03").await;
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = format!("http://{}", listener.local_addr().unwrap());
    let config = ApiConfig {
        workers: 1,
        ..Default::default()
    };
    let server = api::serve(
        listener,
        api::AppState::new(app::App::new(store.clone()), config).expect("state"),
    )
    .expect("server");
    tokio::spawn(server);
    TestApp {
        address,
        mail_dir: std::env::temp_dir(),
        store,
        tenant,
        client: reqwest::Client::new(),
    }
}

#[tokio::test]
async fn journal_list_total_is_capped_and_marked_estimated() {
    let app = spawn_app_with_count_cap(10).await;
    many_bookings(&app, 9).await; // 18 lines

    // A filter other than the account counts its matches up to the cap, then estimates.
    for path in [
        "/v1/journal?limit=4&search=e",
        "/v1/journal?limit=4&offset=16&startDate=2026-01-01",
    ] {
        let res = app.get(path).await;
        let body = res.expect(200, None);
        assert_eq!(res.headers["x-total-count-estimated"], "true", "{path}");
        assert_eq!(body["total_estimated"], true, "{path}");
        let total = body["total"].as_i64().unwrap();
        assert!(total > 10, "{path}: estimate {total} not above the cap");
        assert_eq!(res.headers["x-total-count"], total.to_string().as_str());
    }
    // A page at offset 16 proves 18 lines exist.
    let res = app
        .get("/v1/journal?limit=4&offset=16&startDate=2026-01-01")
        .await;
    assert!(res.expect(200, None)["total"].as_i64().unwrap() >= 18);
    // Up to the cap the count is exact and not marked: 9 lines on 1200, 3 on 4210, 6 in
    // bookings "Miete …". Unfiltered or filtered by an account only, the total comes from the
    // projections and is exact at any size (18 lines, above the cap), by cursor too.
    let after_first = app.get("/v1/journal?limit=4").await.expect(200, None)["next_cursor"]
        .as_str()
        .unwrap()
        .to_string();
    for (path, total) in [
        ("/v1/journal?account=4210".to_string(), 3),
        ("/v1/journal?account=1200&limit=2&offset=50".to_string(), 9),
        ("/v1/journal?search=miete".to_string(), 6),
        ("/v1/journal?limit=4".to_string(), 18),
        ("/v1/journal?limit=4&offset=16".to_string(), 18),
        (format!("/v1/journal?limit=4&cursor={after_first}"), 18),
        ("/v1/journal?account=1000".to_string(), 0),
    ] {
        let res = app.get(&path).await;
        let body = res.expect(200, None);
        assert_eq!(body["total"], total, "{path}");
        assert_eq!(body["total_estimated"], false, "{path}");
        assert_eq!(res.headers["x-total-count"], total.to_string().as_str());
        assert!(
            !res.headers.contains_key("x-total-count-estimated"),
            "{path}"
        );
    }
    // Cursor paging is unaffected by the cap.
    let all = walk_by_cursor(&app, "/v1/journal", 5, |_| async {}).await;
    assert_eq!(all.len(), 18);
}

#[tokio::test]
async fn other_lists_total_is_capped_and_marked_estimated() {
    let app = spawn_app_with_count_cap(10).await;
    // The chart has far more than 10 accounts.
    let res = app.get("/v1/accounts?limit=5").await;
    let body = res.expect(200, None);
    assert_eq!(body["total_estimated"], true);
    assert!(body["total"].as_i64().unwrap() > 10);
    assert_eq!(res.headers["x-total-count-estimated"], "true");
    // Few entries on one account: exact, unmarked.
    many_bookings(&app, 3).await;
    let res = app.get("/v1/accounts/1200/entries").await;
    let body = res.expect(200, None);
    assert_eq!(body["total"], 3);
    assert_eq!(body["total_estimated"], false);
    assert_eq!(res.headers["x-total-count"], "3");
    assert!(!res.headers.contains_key("x-total-count-estimated"));
    // A bare-array list says it in the header only.
    for i in 0..12 {
        app.post("/v1/customers", json!({"name": format!("Kunde {i:02}")}))
            .await
            .expect(201, None);
    }
    let res = app.get("/v1/customers?limit=3").await;
    assert_eq!(res.expect(200, None).as_array().unwrap().len(), 3);
    assert_eq!(res.headers["x-total-count-estimated"], "true");
    assert!(
        res.headers["x-total-count"]
            .to_str()
            .unwrap()
            .parse::<i64>()
            .unwrap()
            > 10
    );
    let res = app.get("/v1/customers?search=Kunde%2001").await;
    assert_eq!(res.headers["x-total-count"], "1");
    assert!(!res.headers.contains_key("x-total-count-estimated"));
}

#[tokio::test]
async fn account_entries_cursor_walk_matches_offset_paging() {
    let app = spawn_app().await;
    many_bookings(&app, 60).await;
    for (path, expected) in [
        ("/v1/accounts/1200/entries", 60),
        ("/v1/accounts/4920/entries", 20),
        (
            "/v1/accounts/1200/entries?startDate=2026-01-08&endDate=2026-02-01",
            0,
        ),
    ] {
        let by_offset = walk_by_offset(&app, path, 7).await;
        if expected > 0 {
            assert_eq!(by_offset.len(), expected, "{path}");
        }
        assert!(!by_offset.is_empty(), "{path}");
        let by_cursor = walk_by_cursor(&app, path, 7, |_| async {}).await;
        assert_eq!(by_cursor, by_offset, "{path}");
    }
    // Oldest first, and a malformed cursor gives the first page.
    let first = app.get("/v1/accounts/1200/entries?limit=5").await;
    let first = first.expect(200, None).clone();
    let seqs: Vec<i64> = lines(&first).iter().map(|l| l.0).collect();
    assert!(seqs.windows(2).all(|w| w[0] != w[1]));
    for bad in ["zz", "02", "01ffffffff7fffffffffffffff"] {
        let res = app
            .get(&format!("/v1/accounts/1200/entries?limit=5&cursor={bad}"))
            .await;
        assert_eq!(
            lines(res.expect(200, None)),
            lines(&first),
            "cursor {bad:?}"
        );
    }
}

/// The ids of an array list walked by `X-Next-Cursor`, `limit` at a time.
async fn walk_array_by_cursor(app: &TestApp, path: &str, id: &str, limit: usize) -> Vec<String> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let url = match &cursor {
            None => format!("{path}{sep}limit={limit}"),
            Some(c) => format!("{path}{sep}limit={limit}&cursor={c}"),
        };
        let res = app.get(&url).await;
        let page = res.expect(200, None).as_array().unwrap().clone();
        assert!(page.len() <= limit);
        ids.extend(page.iter().map(|x| x[id].as_str().unwrap().to_string()));
        match res.headers.get("x-next-cursor") {
            Some(next) => {
                assert_eq!(page.len(), limit, "a full page before a next cursor");
                cursor = Some(next.to_str().unwrap().to_string());
            }
            None => return ids,
        }
    }
    panic!("no last page");
}

async fn all_ids(app: &TestApp, path: &str, id: &str) -> Vec<String> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let res = app.get(&format!("{path}{sep}limit=500")).await;
    assert!(res.headers.get("x-next-cursor").is_none());
    res.expect(200, None)
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x[id].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn growing_lists_page_by_cursor_like_by_offset() {
    let app = spawn_app().await;
    let mut customers = Vec::new();
    // Names that sort against their creation order, and two alike.
    for name in ["Zeta", "alpha", "Beta", "beta", "Gamma", "delta", "Epsilon"] {
        let res = app.post("/v1/customers", json!({"name": name})).await;
        customers.push(res.expect(201, None)["id"].as_str().unwrap().to_string());
    }
    let (vendor, _) = crate::partners::vendor(&app, "Lieferant").await;
    for (i, c) in customers.iter().enumerate() {
        // Some on the same date, some with the same due date.
        let date = format!("2026-03-{:02}", 10 + i % 3);
        let body = json!({"customer_id": c, "invoice_number": format!("R-{i}"), "invoice_date": date,
            "due_date": "2026-04-30",
            "lines": [{"unit_price": "10.00", "tax_code": "USt19"}]});
        app.post("/v1/outgoing-invoices", body)
            .await
            .expect(201, None);
        let body = json!({"vendor_id": vendor, "invoice_number": format!("E-{i}"), "invoice_date": date,
            "lines": [{"unit_price": "10.00", "tax_code": "VSt19", "account": "3400"}]});
        app.post("/v1/invoices", body).await.expect(201, None);
    }
    for (path, id) in [
        ("/v1/customers", "id"),
        ("/v1/outgoing-invoices", "id"),
        ("/v1/invoices?type=invoice", "id"),
        ("/v1/outgoing-invoices/open-items", "invoice_id"),
        ("/v1/invoices/open-items", "invoice_id"),
    ] {
        let all = all_ids(&app, path, id).await;
        assert_eq!(all.len(), 7, "{path}");
        for limit in [1, 2, 3, 7] {
            assert_eq!(
                walk_array_by_cursor(&app, path, id, limit).await,
                all,
                "{path} by {limit}"
            );
        }
        // Offset paging still works and agrees.
        let sep = if path.contains('?') { '&' } else { '?' };
        let res = app.get(&format!("{path}{sep}limit=3&offset=3")).await;
        let page: Vec<String> = res
            .expect(200, None)
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x[id].as_str().unwrap().to_string())
            .collect();
        assert_eq!(page, all[3..6].to_vec(), "{path}");
        assert_eq!(res.headers["x-total-count"], "7");
    }

    // A malformed cursor, or one of another list, gives the first page (never an error).
    let invoices_cursor = app.get("/v1/outgoing-invoices?limit=1").await.headers["x-next-cursor"]
        .to_str()
        .unwrap()
        .to_string();
    let partners_cursor = app.get("/v1/customers?limit=1").await.headers["x-next-cursor"]
        .to_str()
        .unwrap()
        .to_string();
    let first = all_ids(&app, "/v1/outgoing-invoices", "id").await;
    for bad in [
        "nonsense".to_string(),
        "c1zz".to_string(),
        "c1".to_string(),
        format!("c1{}", hex_of("[]")),
        format!("c1{}", hex_of("[\"x\\u0000\",\"y\"]")),
        partners_cursor.clone(),
    ] {
        let res = app
            .get(&format!("/v1/outgoing-invoices?limit=2&cursor={bad}"))
            .await;
        let page = res.expect(200, None).as_array().unwrap().clone();
        let ids: Vec<&str> = page.iter().map(|x| x["id"].as_str().unwrap()).collect();
        assert_eq!(
            ids,
            first[..2].iter().map(String::as_str).collect::<Vec<_>>(),
            "{bad}"
        );
    }
    let res = app
        .get(&format!(
            "/v1/outgoing-invoices/open-items?cursor={invoices_cursor}"
        ))
        .await;
    assert_eq!(res.expect(200, None).as_array().unwrap().len(), 7);

    // The chart of accounts pages by next_cursor.
    let all: Vec<String> = app.get("/v1/accounts?limit=500").await.expect(200, None)["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["number"].as_str().unwrap().to_string())
        .collect();
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            None => "/v1/accounts?limit=60".to_string(),
            Some(c) => format!("/v1/accounts?limit=60&cursor={c}"),
        };
        let body = app.get(&url).await.expect(200, None).clone();
        walked.extend(
            body["accounts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["number"].as_str().unwrap().to_string()),
        );
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(walked, all);
    assert!(all.len() > 150);
}

fn hex_of(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}
