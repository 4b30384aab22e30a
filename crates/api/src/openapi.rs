//! The OpenAPI document, generated from the handlers' annotations.

use crate::routes::payment_runs;
use crate::routes::reconcile;
use crate::routes::webhooks;
use crate::routes::{
    accounts, api_keys, audit, bookings, contact, documents, journal, periods, session, tax_codes,
    users,
};
use crate::routes::{invoices, partners};
use crate::routes::{reports, settings};
// Bank (issue 10, part 1)
use crate::routes::bank;
// The inbox (issue 14)
use crate::routes::inbox;
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
        bookings::book, bookings::bulk, bookings::opening_balances,
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
        invoices::pay_outgoing, invoices::write_off_outgoing, invoices::pay_incoming, invoices::write_off_incoming,
        settings::get, settings::update,
        reports::report, reports::monthly, reports::datev_export,
        // Bank (issue 10, part 1)
        bank::list_accounts, bank::create_account, bank::get_account, bank::update_account,
        bank::balance_history, bank::reconciliation, bank::upload,
        bank::list_transactions, bank::import_transactions, bank::import_file,
        bank::unreconciled_count, bank::get_transaction, bank::get_evidence, bank::put_evidence,
        payment_runs::eligible, payment_runs::create, payment_runs::list, payment_runs::get,
        payment_runs::approve, payment_runs::export, payment_runs::file, payment_runs::complete,
        payment_runs::cancel,
        reconcile::suggestions, reconcile::reconcile, reconcile::unmatch, reconcile::dismiss,
        reconcile::batch_reconcile, reconcile::create_match_group, reconcile::unmatch_group,
        // Webhooks and the event feed (issue 15).
        webhooks::create, webhooks::list, webhooks::get, webhooks::update, webhooks::delete,
        webhooks::rotate_secret, webhooks::deliveries, webhooks::failed_deliveries, webhooks::redeliver,
        webhooks::events,
        // The inbox (issue 14)
        inbox::upload, inbox::list, inbox::get, inbox::confirm, inbox::reject, inbox::address,
        inbox::ocr_extract, inbox::list_cases, inbox::get_case, inbox::update_case,
        inbox::approve_case, inbox::reject_case, inbox::ingestion_log,
    ),
    components(schemas(
        crate::routes::ErrorBody,
        reports::TrialBalanceRowDto, reports::StatementRowDto, reports::VatRowDto, reports::OpenItemRowDto,
        reports::StatementLineDto, reports::MonthRowDto, reports::ReportEnvelope,
        inbox::OcrExtractionDto, inbox::LineItemDto,
    )),
    modifiers(&BearerAuth, &OperationIds, &CommonResponses, &Patterns),
    tags(
        (name = "Journal", description = "Accounts, bookings, journal, reversals, tax codes, documents"),
        (name = "Periods", description = "Fiscal periods: soft lock, four-eyes lock with closing hash, reopen"),
        (name = "Audit", description = "The hash-chained event log for auditors"),
        (name = "Identity", description = "Login, sessions, users, API keys, contact form"),
        (name = "Receivables", description = "Customers with debtor accounts, outgoing invoices, open items"),
        (name = "Payables", description = "Vendors with creditor accounts, incoming invoices, open items, payment runs (SEPA)"),
        (name = "Reports", description = "Trial balance, P&L, balance sheet, VAT return, open items, account statement, DATEV export"),
        (name = "Settings", description = "Tenant settings: DATEV numbers, VAT method, fiscal calendar, chart, currency"),
        (name = "Inbox", description = "Incoming documents by upload and mail, e-invoice / PDF / OCR extraction, invoice review cases, the ingestion log"),
        (name = "Bank", description = "Bank accounts, statement imports (camt.053, MT940, CSV, JSON), bank transactions, evidence, reconciliation view, suggestions, reconcile, match groups"),
        (name = "Webhooks", description = "Webhooks (owner session only): signed, retried deliveries of events; the event feed GET /v1/events. The events and their payloads are in this document's `webhooks` section")
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
    // Webhooks and the event feed (issue 15).
    ("post", "/v1/webhooks", "createWebhook"),
    ("get", "/v1/webhooks", "listWebhooks"),
    ("get", "/v1/webhooks/{id}", "getWebhook"),
    ("patch", "/v1/webhooks/{id}", "updateWebhook"),
    ("delete", "/v1/webhooks/{id}", "deleteWebhook"),
    (
        "post",
        "/v1/webhooks/{id}/rotate-secret",
        "rotateWebhookSecret",
    ),
    (
        "get",
        "/v1/webhooks/{id}/deliveries",
        "listWebhookDeliveries",
    ),
    (
        "get",
        "/v1/webhooks/{id}/failed_deliveries",
        "listFailedWebhookDeliveries",
    ),
    (
        "post",
        "/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
        "redeliverWebhookDelivery",
    ),
    ("get", "/v1/events", "listEvents"),
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
    ("post", "/v1/bookings/bulk", "createBookingsBulk"),
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
    ("post", "/v1/invoices/{id}/payments", "payIncomingInvoice"),
    (
        "post",
        "/v1/invoices/{id}/write-off",
        "writeOffIncomingInvoice",
    ),
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
        "post",
        "/v1/outgoing-invoices/{id}/payments",
        "payOutgoingInvoice",
    ),
    (
        "post",
        "/v1/outgoing-invoices/{id}/write-off",
        "writeOffOutgoingInvoice",
    ),
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
    ("get", "/v1/settings", "getSettings"),
    ("patch", "/v1/settings", "updateSettings"),
    ("get", "/v1/reports", "getReport"),
    (
        "get",
        "/v1/reports/monthly-revenue-expenses",
        "getMonthlyRevenueExpenses",
    ),
    ("get", "/v1/reports/datev-export", "exportDatev"),
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
    // Bank (issue 10, part 1)
    ("get", "/v1/bank-accounts", "listBankAccounts"),
    ("post", "/v1/bank-accounts", "createBankAccount"),
    (
        "get",
        "/v1/bank-accounts/balance-history",
        "getBankBalanceHistory",
    ),
    ("get", "/v1/bank-accounts/{id}", "getBankAccount"),
    ("put", "/v1/bank-accounts/{id}", "updateBankAccount"),
    (
        "get",
        "/v1/bank-accounts/{id}/reconciliation",
        "getBankReconciliation",
    ),
    (
        "post",
        "/v1/bank-accounts/{id}/upload",
        "uploadBankStatement",
    ),
    ("get", "/v1/bank-transactions", "listBankTransactions"),
    ("post", "/v1/bank-transactions", "importBankTransactions"),
    (
        "post",
        "/v1/bank-transactions/import-file",
        "importBankStatementFile",
    ),
    (
        "get",
        "/v1/bank-transactions/unreconciled-count",
        "countUnreconciledBankTransactions",
    ),
    ("get", "/v1/bank-transactions/{id}", "getBankTransaction"),
    (
        "get",
        "/v1/bank-transactions/{id}/evidence",
        "getBankTransactionEvidence",
    ),
    (
        "put",
        "/v1/bank-transactions/{id}/evidence",
        "putBankTransactionEvidence",
    ),
    // Reconciliation (issue 10, part 2).
    (
        "get",
        "/v1/bank-transactions/suggestions",
        "listBankSuggestions",
    ),
    (
        "post",
        "/v1/bank-transactions/batch-reconcile",
        "batchReconcileBankTransactions",
    ),
    (
        "post",
        "/v1/bank-transactions/{id}/reconcile",
        "reconcileBankTransaction",
    ),
    (
        "post",
        "/v1/bank-transactions/{id}/unmatch",
        "unmatchBankTransaction",
    ),
    (
        "post",
        "/v1/bank-transactions/{id}/dismiss",
        "dismissBankTransaction",
    ),
    ("post", "/v1/bank-match-groups", "createBankMatchGroup"),
    (
        "post",
        "/v1/bank-match-groups/{id}/unmatch",
        "unmatchBankMatchGroup",
    ),
    // The inbox (issue 14).
    ("get", "/v1/inbox", "listInboxItems"),
    ("post", "/v1/inbox", "uploadInboxDocument"),
    ("get", "/v1/inbox/address", "getInboxAddress"),
    ("get", "/v1/inbox/{id}", "getInboxItem"),
    ("post", "/v1/inbox/{id}/confirm", "confirmInboxItem"),
    ("post", "/v1/inbox/{id}/reject", "rejectInboxItem"),
    ("post", "/v1/ocr/extract", "extractDocument"),
    ("get", "/v1/invoice-review-cases", "listInvoiceReviewCases"),
    (
        "get",
        "/v1/invoice-review-cases/{id}",
        "getInvoiceReviewCase",
    ),
    (
        "patch",
        "/v1/invoice-review-cases/{id}",
        "updateInvoiceReviewCase",
    ),
    (
        "post",
        "/v1/invoice-review-cases/{id}/approve",
        "approveInvoiceReviewCase",
    ),
    (
        "post",
        "/v1/invoice-review-cases/{id}/reject",
        "rejectInvoiceReviewCase",
    ),
    ("get", "/v1/payables/ingestion-log", "listIngestionLog"),
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
                // U+0000 in any query parameter (also one the route does not read) is refused.
                responses.entry("400".into()).or_insert_with(|| {
                    envelope(if op.request_body.is_some() {
                        "malformed_json, unknown_field, invalid_field, invalid_character, invalid_date"
                    } else {
                        "invalid_character: U+0000 in a query parameter"
                    })
                    .into()
                });
                if op.request_body.is_some() {
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

/// The grammar of dates (`format: date`), IBANs and BICs as `pattern`s, wherever a schema has
/// such a field; amounts carry theirs on the field (`pattern` in `#[schema]`, see
/// [`AMOUNT_PATTERN`] and [`SIGNED_AMOUNT_PATTERN`]).
struct Patterns;

/// Dates: exactly `YYYY-MM-DD` (the range 1900-01-01 to 2199-12-31 is in the description).
pub const DATE_PATTERN: &str = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$";
/// Amounts, rates, quantities that are never negative: digits, optionally `.` and digits.
pub const AMOUNT_PATTERN: &str = r"^[0-9]+(\.[0-9]+)?$";
/// Amounts that may be negative: the same with an optional leading `-`.
pub const SIGNED_AMOUNT_PATTERN: &str = r"^-?[0-9]+(\.[0-9]+)?$";
/// IBANs as accepted (blanks allowed between groups; the check digits are verified).
pub const IBAN_PATTERN: &str = r"^[A-Za-z]{2}[0-9]{2}[A-Za-z0-9 ]{11,40}$";
/// BICs: 8 or 11 characters (case-insensitive).
pub const BIC_PATTERN: &str = r"^[A-Za-z]{6}[A-Za-z0-9]{2}([A-Za-z0-9]{3})?$";

impl Modify for Patterns {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            for schema in components.schemas.values_mut() {
                add_patterns(schema, None);
            }
        }
    }
}

fn add_patterns(schema: &mut utoipa::openapi::RefOr<utoipa::openapi::Schema>, name: Option<&str>) {
    use utoipa::openapi::schema::{KnownFormat, SchemaFormat};
    use utoipa::openapi::{RefOr, Schema};
    let RefOr::T(schema) = schema else { return };
    match schema {
        Schema::Object(o) => {
            if o.pattern.is_none() {
                let date = matches!(o.format, Some(SchemaFormat::KnownFormat(KnownFormat::Date)));
                o.pattern = match name {
                    _ if date => Some(DATE_PATTERN.to_string()),
                    Some("iban") => Some(IBAN_PATTERN.to_string()),
                    Some("bic") => Some(BIC_PATTERN.to_string()),
                    _ => None,
                };
            }
            for (key, property) in o.properties.iter_mut() {
                add_patterns(property, Some(key));
            }
        }
        Schema::Array(a) => {
            if let utoipa::openapi::schema::ArrayItems::RefOrSchema(items) = &mut a.items {
                add_patterns(items, name);
            }
        }
        Schema::OneOf(x) => x.items.iter_mut().for_each(|s| add_patterns(s, name)),
        Schema::AllOf(x) => x.items.iter_mut().for_each(|s| add_patterns(s, name)),
        Schema::AnyOf(x) => x.items.iter_mut().for_each(|s| add_patterns(s, name)),
        _ => {}
    }
}

/// OpenAPI links from what an operation creates to the operations on it (the id in the created
/// object's body), so that a client — and schemathesis' stateful tests — can follow them:
/// (source operationId, status, target operationId, [(parameter, runtime expression)],
/// request body with runtime expressions).
#[allow(clippy::type_complexity)] // a table literal; clippy 1.95 flags it on main as merged
const LINKS: &[(&str, &str, &str, &[(&str, &str)], Option<&str>)] = &[
    (
        "createBooking",
        "201",
        "getIntent",
        &[("intent_id", "$response.body#/intent_id")],
        None,
    ),
    (
        "createBooking",
        "201",
        "reverseIntent",
        &[],
        Some(
            r#"{"intent_id": "{$response.body#/intent_id}", "reason": "Reversed by a linked request"}"#,
        ),
    ),
    (
        "createOpeningBalances",
        "201",
        "getIntent",
        &[("intent_id", "$response.body#/intent_id")],
        None,
    ),
    (
        "createAccount",
        "201",
        "getAccount",
        &[("number", "$response.body#/number")],
        None,
    ),
    (
        "createAccount",
        "201",
        "updateAccount",
        &[("number", "$response.body#/number")],
        None,
    ),
    (
        "createAccount",
        "201",
        "listAccountEntries",
        &[("number", "$response.body#/number")],
        None,
    ),
    (
        "createTaxCode",
        "201",
        "getTaxCode",
        &[("code", "$response.body#/code")],
        None,
    ),
    (
        "createTaxCode",
        "201",
        "updateTaxCode",
        &[("code", "$response.body#/code")],
        None,
    ),
    (
        "createTaxCode",
        "201",
        "deactivateTaxCode",
        &[("code", "$response.body#/code")],
        None,
    ),
    (
        "uploadDocument",
        "201",
        "getDocument",
        &[("id", "$response.body#/id")],
        None,
    ),
    (
        "uploadDocument",
        "201",
        "downloadDocument",
        &[("id", "$response.body#/id")],
        None,
    ),
    (
        "uploadDocument",
        "201",
        "previewDocument",
        &[("id", "$response.body#/id")],
        None,
    ),
    (
        "createCustomer",
        "201",
        "getCustomer",
        &[("id", "$response.body#/id")],
        None,
    ),
    (
        "createCustomer",
        "201",
        "createOutgoingInvoice",
        &[],
        Some(
            r#"{"customer_id": "{$response.body#/id}", "invoice_number": "LINKED-1", "invoice_date": "2025-07-15",
                "cash_discount_percent": "2", "cash_discount_days": 10,
                "lines": [{"description": "Consulting", "unit_price": "100.00", "tax_code": "USt19"}]}"#,
        ),
    ),
    (
        "createCustomer",
        "201",
        "updateCustomer",
        &[("id", "$response.body#/id")],
        None,
    ),
    (
        "createCustomer",
        "201",
        "deactivateCustomer",
        &[("id", "$response.body#/id")],
        None,
    ),
    (
        "createVendor",
        "201",
        "getVendor",
        &[("id", "$response.body#/id")],
        None,
    ),
    (
        "createVendor",
        "201",
        "createIncomingInvoice",
        &[],
        Some(
            r#"{"vendor_id": "{$response.body#/id}", "invoice_number": "LINKED-1", "invoice_date": "2025-07-15",
                "lines": [{"description": "Material", "unit_price": "100.00", "tax_code": "VSt19", "account": "3400"}]}"#,
        ),
    ),
    (
        "createVendor",
        "201",
        "updateVendor",
        &[("id", "$response.body#/id")],
        None,
    ),
    (
        "createVendor",
        "201",
        "deactivateVendor",
        &[("id", "$response.body#/id")],
        None,
    ),
    (
        "createOutgoingInvoice",
        "201",
        "getOutgoingInvoice",
        &[("id", "$response.body#/id")],
        None,
    ),
    (
        "createOutgoingInvoice",
        "201",
        "updateOutgoingInvoice",
        &[("id", "$response.body#/id")],
        None,
    ),
    (
        "createOutgoingInvoice",
        "201",
        "cancelOutgoingInvoice",
        &[("id", "$response.body#/id")],
        None,
    ),
    (
        "createOutgoingInvoice",
        "201",
        "payOutgoingInvoice",
        &[("id", "$response.body#/id")],
        Some(
            r#"{"date": "2025-07-20", "amount": "116.62", "account": "1200", "discount": "2.38"}"#,
        ),
    ),
    (
        "createOutgoingInvoice",
        "201",
        "writeOffOutgoingInvoice",
        &[("id", "$response.body#/id")],
        None,
    ),
    (
        "createOutgoingInvoice",
        "201",
        "getIntent",
        &[("intent_id", "$response.body#/intent_id")],
        None,
    ),
    (
        "createIncomingInvoice",
        "201",
        "getIncomingInvoice",
        &[("id", "$response.body#/id")],
        None,
    ),
    (
        "createIncomingInvoice",
        "201",
        "updateIncomingInvoice",
        &[("id", "$response.body#/id")],
        None,
    ),
    (
        "createIncomingInvoice",
        "201",
        "cancelIncomingInvoice",
        &[("id", "$response.body#/id")],
        None,
    ),
    (
        "createIncomingInvoice",
        "201",
        "payIncomingInvoice",
        &[("id", "$response.body#/id")],
        Some(r#"{"date": "2025-07-20", "amount": "119.00", "account": "1200"}"#),
    ),
    (
        "createIncomingInvoice",
        "201",
        "writeOffIncomingInvoice",
        &[("id", "$response.body#/id")],
        None,
    ),
    (
        "requestPeriodLock",
        "201",
        "getPeriodLockStatus",
        &[("period", "$response.body#/period")],
        None,
    ),
    (
        "requestPeriodLock",
        "201",
        "approvePeriodLock",
        &[
            ("period", "$response.body#/period"),
            ("request_id", "$response.body#/request_id"),
        ],
        None,
    ),
    (
        "requestPeriodLock",
        "201",
        "cancelPeriodLock",
        &[
            ("period", "$response.body#/period"),
            ("request_id", "$response.body#/request_id"),
        ],
        None,
    ),
    (
        "createApiKey",
        "201",
        "revokeApiKey",
        &[("id", "$response.body#/id")],
        None,
    ),
    (
        "inviteUser",
        "201",
        "updateUser",
        &[("id", "$response.body#/id")],
        None,
    ),
    (
        "inviteUser",
        "201",
        "deactivateUser",
        &[("id", "$response.body#/id")],
        None,
    ),
];

/// The OpenAPI document as served: [`ApiDoc`] with the [`LINKS`] added. (utoipa's `Link`
/// serializes its fields in snake case, which is not OpenAPI; the links are written as JSON.)
/// Built once per process: the document does not change while the process runs.
pub fn document() -> &'static serde_json::Value {
    static DOCUMENT: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    DOCUMENT.get_or_init(build_document)
}

fn build_document() -> serde_json::Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    if let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) {
        for item in paths.values_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for op in item.values_mut() {
                let Some(source) = op["operationId"].as_str().map(str::to_string) else {
                    continue;
                };
                for (from, status, target, params, body) in LINKS {
                    if *from != source {
                        continue;
                    }
                    let Some(response) = op
                        .get_mut("responses")
                        .and_then(|r| r.get_mut(*status))
                        .and_then(|r| r.as_object_mut())
                    else {
                        continue;
                    };
                    let mut link = serde_json::Map::new();
                    link.insert("operationId".into(), (*target).into());
                    if !params.is_empty() {
                        let p: serde_json::Map<String, serde_json::Value> = params
                            .iter()
                            .map(|(k, v)| (k.to_string(), (*v).into()))
                            .collect();
                        link.insert("parameters".into(), p.into());
                    }
                    if let Some(body) = body {
                        link.insert(
                            "requestBody".into(),
                            serde_json::from_str(body).unwrap_or_default(),
                        );
                    }
                    response
                        .entry("links")
                        .or_insert_with(|| serde_json::json!({}))
                        .as_object_mut()
                        .map(|links| links.insert(target.to_string(), link.into()));
                }
            }
        }
    }
    doc["webhooks"] = crate::webhook_docs::webhooks_section();
    doc
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

    /// Every schema property of the document, with its name.
    fn properties(doc: &serde_json::Value) -> Vec<(String, serde_json::Value)> {
        fn walk(v: &serde_json::Value, out: &mut Vec<(String, serde_json::Value)>) {
            match v {
                serde_json::Value::Object(m) => {
                    if let Some(serde_json::Value::Object(props)) = m.get("properties") {
                        for (k, p) in props {
                            out.push((k.clone(), p.clone()));
                        }
                    }
                    m.values().for_each(|x| walk(x, out));
                }
                serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        walk(&doc["components"], &mut out);
        out
    }

    #[test]
    fn the_amount_grammar_is_the_one_the_server_parses() {
        let signed = regex::Regex::new(SIGNED_AMOUNT_PATTERN).unwrap();
        let unsigned = regex::Regex::new(AMOUNT_PATTERN).unwrap();
        for (text, ok) in [
            ("5", true),
            ("5.00", true),
            ("0.0001", true),
            ("-5.25", true),
            ("+5.00", false),
            (" 5.00", false),
            ("5.00 ", false),
            (".5", false),
            ("5.", false),
            ("1e3", false),
            ("5,00", false),
            ("--5", false),
            ("", false),
        ] {
            assert_eq!(signed.is_match(text), ok, "{text:?}");
            assert_eq!(
                ::journal::money::parse_decimal(text).is_ok(),
                ok,
                "{text:?}"
            );
            assert_eq!(
                unsigned.is_match(text),
                ok && !text.starts_with('-'),
                "{text:?}"
            );
        }
    }

    #[test]
    fn body_fields_carry_their_patterns() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let props = properties(&doc);
        let mut dates = 0;
        for (name, p) in &props {
            if let Some(pattern) = p["pattern"].as_str() {
                regex::Regex::new(pattern).unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            if p["format"] == "date" {
                dates += 1;
                assert_eq!(p["pattern"], DATE_PATTERN, "{name}");
            }
            if name == "iban" {
                assert_eq!(p["pattern"], IBAN_PATTERN, "{name}");
            }
        }
        assert!(dates > 5);
        // The amounts of the booking and invoice bodies.
        let schema = |n: &str| doc["components"]["schemas"][n]["properties"].clone();
        assert_eq!(schema("LineRequest")["debit"]["pattern"], AMOUNT_PATTERN);
        assert_eq!(schema("LineRequest")["credit"]["pattern"], AMOUNT_PATTERN);
        assert_eq!(
            schema("InvoiceLineRequest")["unit_price"]["pattern"],
            SIGNED_AMOUNT_PATTERN
        );
        assert_eq!(schema("PayInvoice")["amount"]["pattern"], AMOUNT_PATTERN);
        // Every decimal request field has one of the two amount patterns.
        let amounts = props
            .iter()
            .filter(|(_, p)| {
                p["pattern"] == AMOUNT_PATTERN || p["pattern"] == SIGNED_AMOUNT_PATTERN
            })
            .count();
        assert!(amounts >= 20, "{amounts}");
    }

    #[test]
    fn every_link_names_operations_that_exist() {
        let doc = document();
        let ids: std::collections::BTreeSet<String> = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|item| item.as_object().unwrap().values())
            .filter_map(|op| op["operationId"].as_str().map(str::to_string))
            .collect();
        let mut links = 0;
        for (from, status, target, _, _) in LINKS {
            assert!(ids.contains(*from), "{from}");
            assert!(ids.contains(*target), "{target}");
            let found = doc["paths"].as_object().unwrap().values().any(|item| {
                item.as_object().unwrap().values().any(|op| {
                    op["operationId"] == *from
                        && op["responses"][*status]["links"][*target]["operationId"] == *target
                })
            });
            assert!(found, "{from} {status} -> {target}");
            links += 1;
        }
        assert!(links > 30);
    }

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
