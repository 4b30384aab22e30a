#!/usr/bin/env bash
# `make test`: a throwaway PostgreSQL cluster, then the whole suite against it.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=.test-data/pg
scripts/pg.sh stop "$dir" 2>/dev/null || true
rm -rf .test-data
# Mail folders of earlier test runs (see crates/api/tests/api/common.rs).
rm -rf target/tmp/kontor-mail-*
# Durability is irrelevant for a throwaway cluster; speed is not.
export PG_EXTRA_OPTS="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
DATABASE_URL=$(scripts/pg.sh start "$dir")
export DATABASE_URL
trap 'scripts/pg.sh stop "$dir"' EXIT
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --no-fail-fast "$@"
else
    cargo test --workspace --no-fail-fast "$@"
fi
