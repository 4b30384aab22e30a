//! Integration tests: the real HTTP server on a real PostgreSQL (`make test`).

mod common;

mod bookings;
mod helpers;

mod accounts;
mod audit;
mod auth;
mod documents;
mod hostile;
mod identity;
mod invoice_payments;
mod invoices;
mod journal_read;
mod meta;
mod openapi;
mod paging;
mod partners;
mod payment_runs;
mod periods;
mod properties;
mod receivables_properties;
mod reconcile;
mod reports;
mod reversals;
mod settings;
mod tax_codes;
// Bank (issue 10, part 1)
mod bank_accounts;
mod bank_import;
mod bulk;
// Webhooks and the event feed (issue 15)
mod webhooks;
// The inbox (issue 14)
mod inbox;
