//! Integration tests: the real HTTP server on a real PostgreSQL (`make test`).

mod common;

mod bookings;
