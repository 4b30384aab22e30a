//! The OpenAPI document, generated from the handlers' annotations.

use crate::routes::payment_runs;
use crate::routes::{
    accounts, api_keys, audit, bookings, contact, documents, journal, periods, session, tax_codes,
    users,
};
use crate::routes::{invoices, partners};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "kontor",
        description = "Event-sourced double-entry ledger for German bookkeeping (GoBD, DATEV, SEPA). \
            Money is a decimal string with the currency's minor units; dates are YYYY-MM-DD; errors use \
            one envelope {error, code, details, request_id}. Scopes are resource:read (GET) and resource:write \
            (everything else); `*` allows all.",
        license(name = "Apache-2.0")
    ),
    paths(
        accounts::list, accounts::search, accounts::create, accounts::get, accounts::update, accounts::entries,
        bookings::book, bookings::opening_balances,
        journal::list, journal::get, journal::reverse,
        periods::list, periods::soft_lock, periods::reopen, periods::request_lock, periods::lock_status,
        periods::approve, periods::cancel,
        audit::events,
        session::login, session::logout, session::me, session::forgot_password, session::setup_password,
        users::invite, users::list, users::update, users::deactivate,
        api_keys::create, api_keys::list, api_keys::revoke,
        contact::contact,
        tax_codes::list, tax_codes::get, tax_codes::create, tax_codes::update, tax_codes::deactivate,
        documents::upload, documents::metadata, documents::file, documents::preview,
        partners::list_customers, partners::create_customer, partners::get_customer, partners::update_customer,
        partners::delete_customer,
        partners::list_vendors, partners::create_vendor, partners::get_vendor, partners::update_vendor,
        partners::delete_vendor,
        invoices::list_outgoing, invoices::create_outgoing, invoices::open_items_outgoing, invoices::get_outgoing,
        invoices::update_outgoing, invoices::cancel_outgoing,
        invoices::list_incoming, invoices::create_incoming, invoices::open_items_incoming, invoices::get_incoming,
        invoices::update_incoming, invoices::cancel_incoming,
        payment_runs::eligible, payment_runs::create, payment_runs::list, payment_runs::get,
        payment_runs::approve, payment_runs::export, payment_runs::file, payment_runs::complete,
        payment_runs::cancel,
    ),
    components(schemas(crate::routes::ErrorBody)),
    modifiers(&BearerAuth, &OperationIds, &CommonResponses),
    tags(
        (name = "Journal", description = "Accounts, bookings, journal, reversals, tax codes, documents"),
        (name = "Periods", description = "Fiscal periods: soft lock, four-eyes lock with closing hash, reopen"),
        (name = "Audit", description = "The hash-chained event log for auditors"),
        (name = "Identity", description = "Login, sessions, users, API keys, contact form"),
        (name = "Receivables", description = "Customers with debtor accounts, outgoing invoices, open items"),
        (name = "Payables", description = "Vendors with creditor accounts, incoming invoices, open items, payment runs (SEPA)")
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API key: kt_ followed by 48 hex characters"))
                    .build(),
            ),
        );
    }
}

/// Every operation's `operationId`: unique and named for what it does, for client generators
/// (utoipa would take the handler's name: six operations would be `list`).
const OPERATION_IDS: &[(&str, &str, &str)] = &[
    ("get", "/v1/accounts", "listAccounts"),
    ("post", "/v1/accounts", "createAccount"),
    ("get", "/v1/accounts/search", "searchAccounts"),
    ("get", "/v1/accounts/{number}", "getAccount"),
    ("patch", "/v1/accounts/{number}", "updateAccount"),
    ("get", "/v1/accounts/{number}/entries", "listAccountEntries"),
    ("get", "/v1/api-keys", "listApiKeys"),
    ("post", "/v1/api-keys", "createApiKey"),
    ("delete", "/v1/api-keys/{id}", "revokeApiKey"),
    ("get", "/v1/audit/events", "streamAuditEvents"),
    ("post", "/v1/auth/forgot-password", "forgotPassword"),
    ("post", "/v1/auth/login", "login"),
    ("post", "/v1/auth/logout", "logout"),
    ("get", "/v1/auth/me", "getSession"),
    ("post", "/v1/auth/setup-password", "setupPassword"),
    ("post", "/v1/bookings", "createBooking"),
    (
        "post",
        "/v1/bookings/opening-balances",
        "createOpeningBalances",
    ),
    ("post", "/v1/contact", "sendContactMessage"),
    ("get", "/v1/customers", "listCustomers"),
    ("post", "/v1/customers", "createCustomer"),
    ("delete", "/v1/customers/{id}", "deactivateCustomer"),
    ("get", "/v1/customers/{id}", "getCustomer"),
    ("put", "/v1/customers/{id}", "updateCustomer"),
    ("post", "/v1/documents", "uploadDocument"),
    ("get", "/v1/documents/{id}", "getDocument"),
    ("get", "/v1/documents/{id}/file", "downloadDocument"),
    ("get", "/v1/documents/{id}/preview", "previewDocument"),
    ("get", "/v1/invoices", "listIncomingInvoices"),
    ("post", "/v1/invoices", "createIncomingInvoice"),
    ("get", "/v1/invoices/open-items", "listPayables"),
    ("get", "/v1/invoices/{id}", "getIncomingInvoice"),
    ("patch", "/v1/invoices/{id}", "updateIncomingInvoice"),
    ("post", "/v1/invoices/{id}/cancel", "cancelIncomingInvoice"),
    ("get", "/v1/journal", "listJournal"),
    ("post", "/v1/journal/reverse", "reverseIntent"),
    ("get", "/v1/journal/{intent_id}", "getIntent"),
    ("get", "/v1/outgoing-invoices", "listOutgoingInvoices"),
    ("post", "/v1/outgoing-invoices", "createOutgoingInvoice"),
    ("get", "/v1/outgoing-invoices/open-items", "listReceivables"),
    ("get", "/v1/outgoing-invoices/{id}", "getOutgoingInvoice"),
    (
        "patch",
        "/v1/outgoing-invoices/{id}",
        "updateOutgoingInvoice",
    ),
    (
        "post",
        "/v1/outgoing-invoices/{id}/cancel",
        "cancelOutgoingInvoice",
    ),
    // Payment runs (issue 11).
    (
        "get",
        "/v1/payment-runs/eligible-invoices",
        "listPaymentRunEligibleInvoices",
    ),
    ("get", "/v1/payment-runs", "listPaymentRuns"),
    ("post", "/v1/payment-runs", "createPaymentRun"),
    ("get", "/v1/payment-runs/{id}", "getPaymentRun"),
    ("post", "/v1/payment-runs/{id}/approve", "approvePaymentRun"),
    ("post", "/v1/payment-runs/{id}/export", "exportPaymentRun"),
    (
        "get",
        "/v1/payment-runs/{id}/file",
        "downloadPaymentRunFile",
    ),
    (
        "post",
        "/v1/payment-runs/{id}/complete",
        "completePaymentRun",
    ),
    ("post", "/v1/payment-runs/{id}/cancel", "cancelPaymentRun"),
    ("get", "/v1/periods", "listPeriods"),
    ("post", "/v1/periods/{period}/lock", "requestPeriodLock"),
    (
        "get",
        "/v1/periods/{period}/lock/status",
        "getPeriodLockStatus",
    ),
    (
        "post",
        "/v1/periods/{period}/lock/{request_id}/approve",
        "approvePeriodLock",
    ),
    (
        "post",
        "/v1/periods/{period}/lock/{request_id}/cancel",
        "cancelPeriodLock",
    ),
    ("post", "/v1/periods/{period}/reopen", "reopenPeriod"),
    ("post", "/v1/periods/{period}/soft-lock", "softLockPeriod"),
    ("get", "/v1/tax-codes", "listTaxCodes"),
    ("post", "/v1/tax-codes", "createTaxCode"),
    ("delete", "/v1/tax-codes/{code}", "deactivateTaxCode"),
    ("get", "/v1/tax-codes/{code}", "getTaxCode"),
    ("patch", "/v1/tax-codes/{code}", "updateTaxCode"),
    ("get", "/v1/users", "listUsers"),
    ("post", "/v1/users", "inviteUser"),
    ("delete", "/v1/users/{id}", "deactivateUser"),
    ("patch", "/v1/users/{id}", "updateUser"),
    ("get", "/v1/vendors", "listVendors"),
    ("post", "/v1/vendors", "createVendor"),
    ("delete", "/v1/vendors/{id}", "deactivateVendor"),
    ("get", "/v1/vendors/{id}", "getVendor"),
    ("put", "/v1/vendors/{id}", "updateVendor"),
];

/// Statuses any route can answer, in the error envelope: 500 everywhere, 415 and 400
/// (`malformed_json`, `invalid_field`, …) wherever a body is read, 408 for a body that does not
/// arrive in time.
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let envelope = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            for (_, op) in operations(item) {
                let responses = &mut op.responses.responses;
                responses.entry("500".into()).or_insert_with(|| {
                    envelope("internal: opaque; the cause is logged under the request id").into()
                });
                if op.request_body.is_some() {
                    responses.entry("400".into()).or_insert_with(|| {
                        envelope("malformed_json, unknown_field, invalid_field, invalid_character, invalid_date").into()
                    });
                    responses.entry("408".into()).or_insert_with(|| {
                        envelope("request_timeout: the body did not arrive in time").into()
                    });
                    responses.entry("415".into()).or_insert_with(|| {
                        envelope("unsupported_media_type: the body's Content-Type is not the one the route reads").into()
                    });
                }
            }
        }
    }
}

/// The operations of a path, with their lower-case method.
fn operations(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = (&'static str, &mut utoipa::openapi::path::Operation)> {
    [
        ("get", &mut item.get),
        ("post", &mut item.post),
        ("put", &mut item.put),
        ("patch", &mut item.patch),
        ("delete", &mut item.delete),
    ]
    .into_iter()
    .filter_map(|(method, op)| op.as_mut().map(|op| (method, op)))
}

struct OperationIds;

impl Modify for OperationIds {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            for (method, op) in operations(item) {
                let id = OPERATION_IDS
                    .iter()
                    .find(|(m, p, _)| *m == method && p == path)
                    .map(|(_, _, id)| id.to_string());
                // A route without an entry keeps a name that says so; a test fails on it.
                op.operation_id = Some(id.unwrap_or_else(|| format!("MISSING {method} {path}")));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_a_unique_meaningful_id() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        let mut count = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let id = op["operationId"].as_str().unwrap_or_default();
                assert!(
                    !id.starts_with("MISSING"),
                    "{method} {path} has no entry in OPERATION_IDS"
                );
                assert!(
                    id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                        && id.chars().all(|c| c.is_ascii_alphanumeric()),
                    "{id}: camelCase"
                );
                assert!(seen.insert(id.to_string()), "operationId {id} twice");
                count += 1;
            }
        }
        // Every entry of the table names a real operation.
        assert_eq!(count, OPERATION_IDS.len());
    }
}
