//! The OpenAPI document, generated from the handlers' annotations.

use crate::routes::{
    accounts, api_keys, audit, bookings, contact, documents, journal, periods, session, tax_codes,
    users,
};
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
    ),
    components(schemas(crate::routes::ErrorBody)),
    modifiers(&BearerAuth),
    tags(
        (name = "Journal", description = "Accounts, bookings, journal, reversals, tax codes, documents"),
        (name = "Periods", description = "Fiscal periods: soft lock, four-eyes lock with closing hash, reopen"),
        (name = "Audit", description = "The hash-chained event log for auditors"),
        (name = "Identity", description = "Login, sessions, users, API keys, contact form")
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
