use crate::common::*;
use serde_json::json;

#[tokio::test]
async fn a_sale_with_tax_code_writes_three_lines() {
    let app = spawn_app().await;
    let res = app.post("/v1/bookings", sale("2026-03-14", "100.00", "119.00")).await;
    let body = res.expect(201, None);
    assert_eq!(body["event_count"], 3);
    assert_eq!(app.balance("1400").await, "119.00");
    assert_eq!(app.balance("8400").await, "-100.00");
    assert_eq!(app.balance("1776").await, "-19.00");
}

#[tokio::test]
async fn an_unbalanced_booking_is_refused_and_writes_nothing() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/v1/bookings",
            json!({"booking_date": "2026-03-14", "description": "x",
                   "lines": [{"account": "1400", "debit": "119.00"}, {"account": "8400", "credit": "100.00"}]}),
        )
        .await;
    res.expect(400, Some("unbalanced"));
    assert_eq!(app.balance("1400").await, "0.00");
    let journal = app.get("/v1/journal").await;
    assert_eq!(journal.expect(200, None)["total"], 0);
}
