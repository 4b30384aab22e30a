//! The `/v1` endpoints. Each handler parses, authorizes, calls a use case of `app`, and maps the result.

pub mod accounts;
pub mod api_keys;
pub mod audit;
// Bank accounts, statement imports, transaction reads (issue 10, part 1).
pub mod bank;
pub mod bookings;
pub mod contact;
pub mod documents;
// The inbox: e-invoices, OCR, review cases, ingestion log (issue 14).
pub mod inbox;
pub mod invoices;
pub mod journal;
pub mod meta;
pub mod partners;
pub mod payment_runs;
pub mod periods;
pub mod reconcile;
pub mod reports;
pub mod session;
pub mod settings;
pub mod tax_codes;
pub mod users;
// Webhooks and the event feed (issue 15).
pub mod webhooks;

use actix_web::web;
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;

/// Formats an amount with exactly the currency's minor units ("1190.00").
/// Sets `X-Total-Count`, and `X-Total-Count-Estimated: true` when the total is an estimate.
pub fn with_total(
    mut res: actix_web::HttpResponseBuilder,
    total: app::ledger::Total,
) -> actix_web::HttpResponseBuilder {
    res.insert_header(("X-Total-Count", total.count.to_string()));
    if total.estimated {
        res.insert_header(("X-Total-Count-Estimated", "true"));
    }
    res
}

/// The id in a path: a UUID, else 404 naming `what` (an id that cannot exist is not found).
pub fn path_id(what: &str, id: &str) -> Result<uuid::Uuid, crate::error::ApiError> {
    id.parse()
        .map_err(|_| crate::error::ApiError::not_found(format!("{what} {id} not found")))
}

/// `with_total`, and the cursor of the next page in `X-Next-Cursor` (absent on the last page).
pub fn with_page(
    res: actix_web::HttpResponseBuilder,
    total: app::ledger::Total,
    next: Option<app::ListCursor>,
) -> actix_web::HttpResponseBuilder {
    let mut res = with_total(res, total);
    if let Some(next) = next {
        res.insert_header(("X-Next-Cursor", next.encode()));
    }
    res
}

/// The `cursor` query parameter of a list: None when absent or malformed (a malformed list
/// parameter falls back to its default, the first page).
pub fn list_cursor(q: &crate::extract::Params) -> Option<app::ListCursor> {
    q.text("cursor").and_then(|c| app::ListCursor::decode(&c))
}

pub fn money(amount: Decimal, currency: &str) -> String {
    match ::journal::Currency::from_code(currency) {
        Ok(c) => c.format(amount),
        Err(_) => amount.normalize().to_string(),
    }
}

/// The error envelope (every 4xx/5xx).
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// For humans.
    #[schema(example = "Booking is not balanced: debit 119.00 != credit 100.00")]
    pub error: String,
    /// What clients branch on.
    #[schema(example = "unbalanced")]
    pub code: String,
    /// Optional, e.g. `{"field_errors": {"lines[1].credit": ["must be > 0"]}}`.
    pub details: Option<serde_json::Value>,
    pub request_id: String,
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/v1")
            .route("/openapi.json", web::get().to(meta::openapi_authenticated))
            .route("/auth/login", web::post().to(session::login))
            .route("/auth/logout", web::post().to(session::logout))
            .route("/auth/me", web::get().to(session::me))
            .route(
                "/auth/forgot-password",
                web::post().to(session::forgot_password),
            )
            .route(
                "/auth/setup-password",
                web::post().to(session::setup_password),
            )
            .route("/users", web::post().to(users::invite))
            .route("/users", web::get().to(users::list))
            .route("/users/{id}", web::patch().to(users::update))
            .route("/users/{id}", web::delete().to(users::deactivate))
            .route("/api-keys", web::post().to(api_keys::create))
            .route("/api-keys", web::get().to(api_keys::list))
            .route("/api-keys/{id}", web::delete().to(api_keys::revoke))
            .route("/contact", web::post().to(contact::contact))
            .route("/accounts", web::get().to(accounts::list))
            .route("/accounts", web::post().to(accounts::create))
            .route("/accounts/search", web::get().to(accounts::search))
            .route("/accounts/{number}", web::get().to(accounts::get))
            .route("/accounts/{number}", web::patch().to(accounts::update))
            .route(
                "/accounts/{number}/entries",
                web::get().to(accounts::entries),
            )
            .route("/bookings", web::post().to(bookings::book))
            .route("/bookings/bulk", web::post().to(bookings::bulk))
            .route(
                "/bookings/opening-balances",
                web::post().to(bookings::opening_balances),
            )
            .route("/journal", web::get().to(journal::list))
            .route("/journal/reverse", web::post().to(journal::reverse))
            .route("/journal/{intent_id}", web::get().to(journal::get))
            .route("/periods", web::get().to(periods::list))
            .route(
                "/periods/{period}/soft-lock",
                web::post().to(periods::soft_lock),
            )
            .route("/periods/{period}/reopen", web::post().to(periods::reopen))
            .route(
                "/periods/{period}/lock",
                web::post().to(periods::request_lock),
            )
            .route(
                "/periods/{period}/lock/status",
                web::get().to(periods::lock_status),
            )
            .route(
                "/periods/{period}/lock/{request_id}/approve",
                web::post().to(periods::approve),
            )
            .route(
                "/periods/{period}/lock/{request_id}/cancel",
                web::post().to(periods::cancel),
            )
            .route("/audit/events", web::get().to(audit::events))
            .route("/tax-codes", web::get().to(tax_codes::list))
            .route("/tax-codes", web::post().to(tax_codes::create))
            .route("/tax-codes/{code}", web::get().to(tax_codes::get))
            .route("/tax-codes/{code}", web::patch().to(tax_codes::update))
            .route("/tax-codes/{code}", web::delete().to(tax_codes::deactivate))
            .route("/customers", web::get().to(partners::list_customers))
            .route("/customers", web::post().to(partners::create_customer))
            .route("/customers/{id}", web::get().to(partners::get_customer))
            .route("/customers/{id}", web::put().to(partners::update_customer))
            .route(
                "/customers/{id}",
                web::delete().to(partners::delete_customer),
            )
            .route("/vendors", web::get().to(partners::list_vendors))
            .route("/vendors", web::post().to(partners::create_vendor))
            .route("/vendors/{id}", web::get().to(partners::get_vendor))
            .route("/vendors/{id}", web::put().to(partners::update_vendor))
            .route("/vendors/{id}", web::delete().to(partners::delete_vendor))
            .route("/outgoing-invoices", web::get().to(invoices::list_outgoing))
            .route(
                "/outgoing-invoices",
                web::post().to(invoices::create_outgoing),
            )
            .route(
                "/outgoing-invoices/open-items",
                web::get().to(invoices::open_items_outgoing),
            )
            .route(
                "/outgoing-invoices/{id}",
                web::get().to(invoices::get_outgoing),
            )
            .route(
                "/outgoing-invoices/{id}",
                web::patch().to(invoices::update_outgoing),
            )
            .route(
                "/outgoing-invoices/{id}/cancel",
                web::post().to(invoices::cancel_outgoing),
            )
            .route(
                "/outgoing-invoices/{id}/payments",
                web::post().to(invoices::pay_outgoing),
            )
            .route(
                "/outgoing-invoices/{id}/write-off",
                web::post().to(invoices::write_off_outgoing),
            )
            .route(
                "/invoices/{id}/payments",
                web::post().to(invoices::pay_incoming),
            )
            .route(
                "/invoices/{id}/write-off",
                web::post().to(invoices::write_off_incoming),
            )
            .route("/invoices", web::get().to(invoices::list_incoming))
            .route("/invoices", web::post().to(invoices::create_incoming))
            .route(
                "/invoices/open-items",
                web::get().to(invoices::open_items_incoming),
            )
            .route("/invoices/{id}", web::get().to(invoices::get_incoming))
            .route("/invoices/{id}", web::patch().to(invoices::update_incoming))
            .route(
                "/invoices/{id}/cancel",
                web::post().to(invoices::cancel_incoming),
            )
            .route("/documents", web::post().to(documents::upload))
            .route("/documents/{id}", web::get().to(documents::metadata))
            .route("/documents/{id}/file", web::get().to(documents::file))
            .route("/documents/{id}/preview", web::get().to(documents::preview))
            .route("/settings", web::get().to(settings::get))
            .route("/settings", web::patch().to(settings::update))
            .route("/reports", web::get().to(reports::report))
            .route(
                "/reports/monthly-revenue-expenses",
                web::get().to(reports::monthly),
            )
            .route(
                "/reports/datev-export",
                web::get().to(reports::datev_export),
            )
            // Bank (issue 10, part 1). Ids are matched as UUIDs only, so that fixed paths such
            // as /bank-transactions/suggestions never reach a {id} route.
            .route("/bank-accounts", web::get().to(bank::list_accounts))
            .route("/bank-accounts", web::post().to(bank::create_account))
            .route(
                "/bank-accounts/balance-history",
                web::get().to(bank::balance_history),
            )
            .route(
                "/bank-accounts/{id:[0-9a-fA-F-]+}",
                web::get().to(bank::get_account),
            )
            .route(
                "/bank-accounts/{id:[0-9a-fA-F-]+}",
                web::put().to(bank::update_account),
            )
            .route(
                "/bank-accounts/{id:[0-9a-fA-F-]+}/reconciliation",
                web::get().to(bank::reconciliation),
            )
            .route(
                "/bank-accounts/{id:[0-9a-fA-F-]+}/upload",
                web::post().to(bank::upload),
            )
            .route("/bank-transactions", web::get().to(bank::list_transactions))
            .route(
                "/bank-transactions",
                web::post().to(bank::import_transactions),
            )
            .route(
                "/bank-transactions/import-file",
                web::post().to(bank::import_file),
            )
            .route(
                "/bank-transactions/unreconciled-count",
                web::get().to(bank::unreconciled_count),
            )
            .route(
                "/bank-transactions/{id:[0-9a-fA-F-]+}",
                web::get().to(bank::get_transaction),
            )
            .route(
                "/bank-transactions/{id:[0-9a-fA-F-]+}/evidence",
                web::get().to(bank::get_evidence),
            )
            .route(
                "/bank-transactions/{id:[0-9a-fA-F-]+}/evidence",
                web::put().to(bank::put_evidence),
            )
            // The inbox (issue 14): fixed paths before {id}.
            .route("/inbox", web::get().to(inbox::list))
            .route("/inbox", web::post().to(inbox::upload))
            .route("/inbox/address", web::get().to(inbox::address))
            .route("/inbox/{id}", web::get().to(inbox::get))
            .route("/inbox/{id}/confirm", web::post().to(inbox::confirm))
            .route("/inbox/{id}/reject", web::post().to(inbox::reject))
            .route("/ocr/extract", web::post().to(inbox::ocr_extract))
            .route("/invoice-review-cases", web::get().to(inbox::list_cases))
            .route("/invoice-review-cases/{id}", web::get().to(inbox::get_case))
            .route(
                "/invoice-review-cases/{id}",
                web::patch().to(inbox::update_case),
            )
            .route(
                "/invoice-review-cases/{id}/approve",
                web::post().to(inbox::approve_case),
            )
            .route(
                "/invoice-review-cases/{id}/reject",
                web::post().to(inbox::reject_case),
            )
            .route(
                "/payables/ingestion-log",
                web::get().to(inbox::ingestion_log),
            )
            // Payment runs (issue 11).
            .route(
                "/payment-runs/eligible-invoices",
                web::get().to(payment_runs::eligible),
            )
            .route("/payment-runs", web::get().to(payment_runs::list))
            .route("/payment-runs", web::post().to(payment_runs::create))
            .route("/payment-runs/{id}", web::get().to(payment_runs::get))
            .route(
                "/payment-runs/{id}/approve",
                web::post().to(payment_runs::approve),
            )
            .route(
                "/payment-runs/{id}/export",
                web::post().to(payment_runs::export),
            )
            .route("/payment-runs/{id}/file", web::get().to(payment_runs::file))
            .route(
                "/payment-runs/{id}/complete",
                web::post().to(payment_runs::complete),
            )
            .route(
                "/payment-runs/{id}/cancel",
                web::post().to(payment_runs::cancel),
            )
            // Reconciliation (issue 10): the fixed paths before any /bank-transactions/{id}.
            .route(
                "/bank-transactions/suggestions",
                web::get().to(reconcile::suggestions),
            )
            .route(
                "/bank-transactions/batch-reconcile",
                web::post().to(reconcile::batch_reconcile),
            )
            .route(
                "/bank-transactions/{id}/reconcile",
                web::post().to(reconcile::reconcile),
            )
            .route(
                "/bank-transactions/{id}/unmatch",
                web::post().to(reconcile::unmatch),
            )
            .route(
                "/bank-transactions/{id}/dismiss",
                web::post().to(reconcile::dismiss),
            )
            .route(
                "/bank-match-groups",
                web::post().to(reconcile::create_match_group),
            )
            .route(
                "/bank-match-groups/{id}/unmatch",
                web::post().to(reconcile::unmatch_group),
            )
            // Webhooks and the event feed (issue 15).
            .route("/webhooks", web::post().to(webhooks::create))
            .route("/webhooks", web::get().to(webhooks::list))
            .route("/webhooks/{id}", web::get().to(webhooks::get))
            .route("/webhooks/{id}", web::patch().to(webhooks::update))
            .route("/webhooks/{id}", web::delete().to(webhooks::delete))
            .route(
                "/webhooks/{id}/rotate-secret",
                web::post().to(webhooks::rotate_secret),
            )
            .route(
                "/webhooks/{id}/deliveries",
                web::get().to(webhooks::deliveries),
            )
            .route(
                "/webhooks/{id}/failed_deliveries",
                web::get().to(webhooks::failed_deliveries),
            )
            .route(
                "/webhooks/{id}/deliveries/{delivery_id}/redeliver",
                web::post().to(webhooks::redeliver),
            )
            .route("/events", web::get().to(webhooks::events)),
    );
}
