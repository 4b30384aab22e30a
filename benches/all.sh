#!/usr/bin/env bash
# `make bench`: every benchmark of benches/, one after the other (each starts and stops its own
# PostgreSQL cluster and server). BENCH_SUITES selects some, e.g. BENCH_SUITES="journal_read".
# Results: .bench-data/*report*.md; the figures and how they were measured: benches/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
SUITES=${BENCH_SUITES:-"bookings journal_read bank_import bank_suggestions payment_runs reports inbox verify"}
for suite in $SUITES; do
    case "$suite" in
        bookings) benches/run.sh ;;
        *) [ -x "benches/$suite.sh" ] || { echo "bench: no suite $suite" >&2; exit 2; }
           "benches/$suite.sh" ;;
    esac
done
