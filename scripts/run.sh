#!/usr/bin/env bash
# `make run`: the server with its embedded default database.
# Without DATABASE_URL a local cluster under .data/ is created (once) and started; with it,
# that database is used. Migrations run, a `demo` tenant is created once, and the server
# listens on KONTOR_BIND (default 127.0.0.1:8080).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${DATABASE_URL:-}" ]; then
    DATABASE_URL=$(scripts/pg.sh start .data/pg)
    export DATABASE_URL
fi
export KONTOR_BIND=${KONTOR_BIND:-127.0.0.1:8080}
# Without KONTOR_SMTP_URL, mails (invites, resets) are written here as .eml files.
export KONTOR_MAIL_DIR=${KONTOR_MAIL_DIR:-.data/mail}

# The inbox reads scans with Tesseract (tesseract-ocr, tesseract-ocr-deu).
scripts/ensure-tesseract.sh || true
cargo build --release -p kontor
bin=${CARGO_TARGET_DIR:-target}/release/kontor
"$bin" migrate >/dev/null

# The demo key's plaintext is shown once by the service; keep it beside the database it belongs
# to so that a second `make run` can print it again.
mkdir -p .data
key_file=".data/demo-key-$(printf '%s' "$DATABASE_URL" | cksum | cut -d' ' -f1)"
if [ ! -s "$key_file" ]; then
    if out=$("$bin" admin create-tenant --slug demo --name "Demo GmbH" 2>/dev/null); then
        :
    else
        out=$("$bin" admin create-api-key --tenant demo --name "make run")
    fi
    python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])' <<<"$out" > "$key_file"
    chmod 600 "$key_file"
fi
key=$(cat "$key_file")

cat <<MSG

  kontor is starting on http://$KONTOR_BIND  (database: $DATABASE_URL)

  demo tenant API key:  $key

  A first booking:

    curl -s http://$KONTOR_BIND/v1/bookings \\
      -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \\
      -d '{"booking_date":"2026-03-14","description":"Invoice 2026-0042 Acme",
           "lines":[{"account":"1400","debit":"119.00"},
                    {"account":"8400","credit":"100.00","tax_code":"USt19"}]}'

  Then:  curl -s http://$KONTOR_BIND/v1/journal -H "Authorization: Bearer $key"

MSG
exec "$bin" serve
