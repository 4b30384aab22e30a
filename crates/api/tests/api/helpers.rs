//! Helpers shared by the issue-2 test modules: booking bodies, direct SQL, multipart uploads.

use crate::common::*;
use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::str::FromStr;

/// A booking body with the given date and lines.
pub fn booking(date: &str, lines: Value) -> Value {
    json!({"booking_date": date, "description": "Test booking", "lines": lines})
}

/// A two-line booking without tax: `debit` account debited, `credit` account credited.
pub fn transfer(date: &str, debit: &str, credit: &str, amount: &str) -> Value {
    booking(
        date,
        json!([{"account": debit, "debit": amount}, {"account": credit, "credit": amount}]),
    )
}

/// Adds `key: value` to a JSON object and returns it.
pub fn with(mut body: Value, key: &str, value: Value) -> Value {
    body[key] = value;
    body
}

pub fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap_or_else(|_| panic!("{s:?} is not a decimal"))
}

/// A decimal from a JSON string value (amounts on the wire).
pub fn dec_of(v: &Value) -> Decimal {
    dec(v
        .as_str()
        .unwrap_or_else(|| panic!("{v} is not a string amount")))
}

/// A direct connection to the test database (for configuration rows and checks on the tables).
pub async fn sql() -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(&database_url(), tokio_postgres::NoTls)
        .await
        .expect("database connection");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// Soft-locks a period of a tenant (there is no period endpoint in this issue).
pub async fn soft_lock(tenant: uuid::Uuid, period: &str) {
    sql()
        .await
        .execute(
            "INSERT INTO period_states (tenant_id, period, status) VALUES ($1, $2, 'soft_locked')",
            &[&tenant, &period],
        )
        .await
        .expect("period state");
}

/// The field names of `details.field_errors`.
pub fn field_errors(body: &Value) -> Vec<String> {
    body["details"]["field_errors"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// A small but well-formed-looking PDF.
pub fn pdf(text: &str) -> Vec<u8> {
    format!("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% {text}\ntrailer << /Root 1 0 R >>\n%%EOF\n").into_bytes()
}

pub async fn into_res(r: reqwest::Response) -> Res {
    let status = r.status();
    let headers = r.headers().clone();
    let bytes = r.bytes().await.expect("body").to_vec();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Res {
        status,
        headers,
        body,
        bytes,
    }
}

/// `POST /v1/documents` with one multipart part named `name`.
pub async fn upload_part(
    app: &TestApp,
    key: Option<&str>,
    name: &str,
    content: Vec<u8>,
    file_name: &str,
    mime: &str,
) -> Res {
    let part = reqwest::multipart::Part::bytes(content)
        .file_name(file_name.to_string())
        .mime_str(mime)
        .expect("mime");
    let form = reqwest::multipart::Form::new().part(name.to_string(), part);
    let mut req = app
        .client
        .post(format!("{}/v1/documents", app.address))
        .multipart(form);
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    into_res(req.send().await.expect("request")).await
}

/// Uploads a file as the tenant's owner.
pub async fn upload(app: &TestApp, content: Vec<u8>, file_name: &str, mime: &str) -> Res {
    let key = app.tenant.key.clone();
    upload_part(app, Some(&key), "file", content, file_name, mime).await
}

/// Uploads a PDF and returns its document id.
pub async fn upload_pdf(app: &TestApp, file_name: &str) -> String {
    let res = upload(app, pdf(file_name), file_name, "application/pdf").await;
    res.expect(201, None)["id"]
        .as_str()
        .expect("id")
        .to_string()
}

/// A request with the given key (None: no Authorization header) and raw JSON text.
pub async fn json_text(
    app: &TestApp,
    method: Method,
    path: &str,
    key: Option<&str>,
    text: &str,
) -> Res {
    app.raw(
        method,
        path,
        key,
        "application/json",
        text.as_bytes().to_vec(),
    )
    .await
}

/// A view of the same server acting as another tenant.
pub fn as_tenant(app: &TestApp, tenant: Tenant) -> TestApp {
    TestApp {
        address: app.address.clone(),
        mail_dir: app.mail_dir.clone(),
        store: app.store.clone(),
        tenant,
        client: app.client.clone(),
    }
}

/// Entries and balance of an account for a query string such as `startDate=2026-02-01`.
pub async fn entries(app: &TestApp, account: &str, query: &str) -> (Vec<Value>, Decimal) {
    let res = app
        .get(&format!("/v1/accounts/{account}/entries?{query}"))
        .await;
    let body = res.expect(200, None);
    let entries = body["entries"].as_array().expect("entries").clone();
    (entries, dec_of(&body["balance"]))
}

/// Debit-positive sum of listed entries.
pub fn sum_entries(entries: &[Value]) -> Decimal {
    entries
        .iter()
        .map(|e| {
            let d = e["debit"].as_str().map(dec).unwrap_or_default();
            let c = e["credit"].as_str().map(dec).unwrap_or_default();
            d - c
        })
        .sum()
}

/// The id of the tenant's first (owner) key.
pub async fn owner_key_id(app: &TestApp) -> String {
    let keys = app.store.list_api_keys(app.tenant.id).await.expect("keys");
    keys.first().expect("owner key").id.to_string()
}
