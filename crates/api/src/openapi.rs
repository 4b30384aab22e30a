//! The OpenAPI document, generated from the handlers' annotations.

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
    ),
    components(schemas(crate::routes::ErrorBody)),
    modifiers(&BearerAuth),
    tags(
        (name = "Journal", description = "Accounts, bookings, journal, reversals, tax codes, documents"),
        (name = "Periods", description = "Fiscal periods: soft lock, four-eyes lock with closing hash, reopen"),
        (name = "Audit", description = "The hash-chained event log for auditors"),
        (name = "Identity", description = "Login, sessions, users, API keys, contact form"),
        (name = "Receivables", description = "Customers with debtor accounts, outgoing invoices, open items"),
        (name = "Payables", description = "Vendors with creditor accounts, incoming invoices, open items")
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
