//! Integration tests: the real HTTP server on a real PostgreSQL (`make test`).

mod common;

mod bookings;
mod helpers;

mod accounts;
mod tax_codes;
mod documents;
mod journal_read;
mod auth;
mod properties;
mod audit;
mod periods;
mod reversals;
mod identity;
mod meta;
