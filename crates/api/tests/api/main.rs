//! Integration tests: the real HTTP server on a real PostgreSQL (`make test`).

mod common;

mod bookings;
mod helpers;

mod accounts;
mod audit;
mod auth;
mod documents;
mod identity;
mod journal_read;
mod meta;
mod periods;
mod properties;
mod reversals;
mod tax_codes;
mod invoices;
mod partners;
mod receivables_properties;
