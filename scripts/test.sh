#!/usr/bin/env bash
# `make test`: a throwaway PostgreSQL cluster, then the whole suite against it.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=.test-data/pg
scripts/pg.sh stop "$dir" 2>/dev/null || true
rm -rf .test-data
# Mail folders of earlier test runs (see crates/api/tests/api/common.rs).
rm -rf target/tmp/kontor-mail-*
# The payments tests validate pain.001 files against the ISO XSDs with xmllint (libxml2-utils).
if ! command -v xmllint >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "xmllint not found: installing libxml2-utils" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq libxml2-utils >&2
fi
# The inbox's OCR tests run Tesseract (tesseract-ocr, tesseract-ocr-deu).
scripts/ensure-tesseract.sh
# The API tests validate the OpenAPI document with openapi-spec-validator (PyPI).
if ! python3 -c 'import openapi_spec_validator' >/dev/null 2>&1; then
    echo "openapi-spec-validator not found: installing it from PyPI" >&2
    python3 -m pip install -q openapi-spec-validator >&2 2>/dev/null \
        || python3 -m pip install -q --user openapi-spec-validator >&2 2>/dev/null \
        || python3 -m pip install -q --user --break-system-packages openapi-spec-validator >&2
fi
# The client tests generate a Python client (openapi-python-client) and fuzz the API
# (schemathesis) against a real server (crates/kontor/tests/clients.rs).
for pkg in openapi-python-client schemathesis; do
    cmd=$([ "$pkg" = schemathesis ] && echo st || echo "$pkg")
    if ! command -v "$cmd" >/dev/null 2>&1; then
        echo "$pkg not found: installing it from PyPI" >&2
        python3 -m pip install -q "$pkg" >&2 2>/dev/null \
            || python3 -m pip install -q --user "$pkg" >&2 2>/dev/null \
            || python3 -m pip install -q --user --break-system-packages "$pkg" >&2
    fi
done
# pip --user puts the commands here.
export PATH="$PATH:$HOME/.local/bin"
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
