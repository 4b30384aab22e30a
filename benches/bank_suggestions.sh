#!/usr/bin/env bash
# Suggestions for 10,000 open bank transactions against 50,000 open items:
# GET /v1/bank-transactions/suggestions?limit=10000, timed over HTTP, with a same-run baseline
# of the database's floor (the SQL that loads the same rows, run by psql). See benches/README.md.
#
# Builds the release binary, creates a fresh PostgreSQL cluster under .bench-data/suggest-pg,
# creates a tenant, seeds it with direct SQL (customers, vendors and their accounts, 50,000
# invoices with one booking row each, a bank account with 10,000 transactions), starts
# `kontor serve` on a free loopback port, and measures. Everything it starts is stopped again
# by its pid, also on error.
#
# Knobs: BENCH_INVOICES=50000 BENCH_TRANSACTIONS=10000 BENCH_RUNS=5 PG_EXTRA_OPTS
set -euo pipefail
cd "$(dirname "$0")/.."

INVOICES=${BENCH_INVOICES:-50000}
TRANSACTIONS=${BENCH_TRANSACTIONS:-10000}
RUNS=${BENCH_RUNS:-5}
DATA=.bench-data
PG_DIR=$DATA/suggest-pg
export PG_EXTRA_OPTS=${PG_EXTRA_OPTS:-"-c shared_buffers=512MB -c work_mem=64MB"}

log() { echo "bench: $*" >&2; }

server_pid=""
pg_started=""
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        log "stopping kontor (pid $server_pid)"
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [ -n "$pg_started" ]; then
        log "stopping PostgreSQL ($PG_DIR)"
        scripts/pg.sh stop "$PG_DIR" || true
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for tool in curl psql python3; do
    command -v "$tool" >/dev/null 2>&1 || { log "$tool is needed"; exit 1; }
done

log "building the release binary"
cargo build --release -p kontor >&2
bin=${CARGO_TARGET_DIR:-target}/release/kontor
[ -x "$bin" ] || { log "no binary at $bin"; exit 1; }

mkdir -p "$DATA"
if [ -f "$PG_DIR/data/postmaster.pid" ]; then
    scripts/pg.sh stop "$PG_DIR"
fi
rm -rf "$PG_DIR"
pg_started=1
DATABASE_URL=$(scripts/pg.sh start "$PG_DIR")
export DATABASE_URL
psql_q() { psql "$DATABASE_URL" -X -q -tA -v ON_ERROR_STOP=1 "$@"; }

export RUST_LOG=${RUST_LOG:-warn}
unset KONTOR_BIND
"$bin" migrate >/dev/null
slug="suggest-$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')"
tenant_json=$("$bin" admin create-tenant --slug "$slug" --name Bench)
key=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])' <<<"$tenant_json")
tenant=$(psql_q -c "SELECT id FROM tenants WHERE slug = '$slug'")
bank=$(python3 -c 'import uuid; print(uuid.uuid4())')
batch=$(python3 -c 'import uuid; print(uuid.uuid4())')

# --- seed ------------------------------------------------------------------------------------
# Direct SQL, bypassing the journal's write path: invoices need a booking row (intents) each,
# but no journal events, so `kontor verify` would not accept this tenant. Invoices 0..70 % are
# outgoing (2,000 customers), the rest incoming (1,000 vendors); every fifth grants 2 % Skonto
# for 10 days. Transactions point at invoice (7·g mod N): 60 % pay it exactly and name its number
# and partner, 10 % pay half of it from the partner's IBAN, 10 % take the Skonto, 20 % are noise.
log "seeding $INVOICES invoices and $TRANSACTIONS bank transactions"
seed_start=$(date +%s.%N)
psql_q -v tenant="$tenant" -v bank="$bank" -v batch="$batch" -v invoices="$INVOICES" \
    -v transactions="$TRANSACTIONS" <<'SQL'
BEGIN;
INSERT INTO accounts (tenant_id, number, name, type, category, report_group, collective_account)
SELECT :'tenant', (10000 + g)::text, 'Kunde ' || g, 'asset', 'debtors', 'bs.aktiva.B.II.1', '1400'
  FROM generate_series(0, 1999) g;
INSERT INTO accounts (tenant_id, number, name, type, category, report_group, collective_account)
SELECT :'tenant', (70000 + g)::text, 'Lieferant ' || g, 'liability', 'creditors', 'bs.passiva.C.4', '1600'
  FROM generate_series(0, 999) g;
INSERT INTO partners (tenant_id, id, kind, account_number, name, iban)
SELECT :'tenant', gen_random_uuid(), 'customer', (10000 + g)::text, 'Kunde ' || g || ' GmbH',
       'DE' || lpad((10000 + g)::text, 20, '0')
  FROM generate_series(0, 1999) g;
INSERT INTO partners (tenant_id, id, kind, account_number, name, iban)
SELECT :'tenant', gen_random_uuid(), 'vendor', (70000 + g)::text, 'Lieferant ' || g || ' AG',
       'DE' || lpad((70000 + g)::text, 20, '0')
  FROM generate_series(0, 999) g;

CREATE TEMP TABLE seed AS
SELECT g, gen_random_uuid() AS id, gen_random_uuid() AS intent_id,
       CASE WHEN g < :invoices * 7 / 10 THEN 'outgoing' ELSE 'incoming' END AS direction,
       (1000 + floor(random() * 999000))::numeric / 100 AS gross,
       date '2026-01-01' + (g % 280) AS invoice_date
  FROM generate_series(0, :invoices - 1) g;
INSERT INTO intents (tenant_id, intent_id, kind, booking_date, period, description, currency, first_seq,
                     event_count, total_debit, total_credit, actor, recorded_at)
SELECT :'tenant', intent_id, 'booking', invoice_date, to_char(invoice_date, 'YYYY-MM'), 'bench invoice', 'EUR',
       g + 1, 2, gross, gross, '{"kind":"system","id":"bench"}', now()
  FROM seed;
INSERT INTO invoices (tenant_id, id, direction, type, partner_id, invoice_number, invoice_date, due_date,
                      currency, total_net, total_tax, total_gross, intent_id, created_by,
                      cash_discount_percent, cash_discount_days)
SELECT :'tenant', s.id, s.direction, 'invoice', p.id,
       CASE s.direction WHEN 'outgoing' THEN 'RE-2026-' ELSE 'ER-' END || lpad(s.g::text, 6, '0'),
       s.invoice_date, s.invoice_date + 14, 'EUR', round(s.gross / 1.19, 2), s.gross - round(s.gross / 1.19, 2),
       s.gross, s.intent_id, '{"kind":"system","id":"bench"}',
       CASE WHEN s.g % 5 = 0 THEN 2 END, CASE WHEN s.g % 5 = 0 THEN 10 END
  FROM seed s
  JOIN partners p ON p.tenant_id = :'tenant' AND p.account_number =
       CASE s.direction WHEN 'outgoing' THEN (10000 + s.g % 2000)::text ELSE (70000 + s.g % 1000)::text END;

INSERT INTO bank_accounts (tenant_id, id, name, iban, currency, ledger_account, created_by)
VALUES (:'tenant', :'bank', 'Bench bank', 'DE89370400440532013000', 'EUR', '1200', '{"kind":"system","id":"bench"}');
INSERT INTO bank_import_batches (tenant_id, id, bank_account_id, format, total_rows, imported, skipped_duplicates, actor)
VALUES (:'tenant', :'batch', :'bank', 'json', :transactions, :transactions, 0, '{"kind":"system","id":"bench"}');
INSERT INTO bank_transactions (tenant_id, id, bank_account_id, batch_id, fingerprint, booking_date, amount, currency,
                               counterparty_name, counterparty_iban, remittance_info)
SELECT :'tenant', gen_random_uuid(), :'bank', :'batch', sha256(t.g::text::bytea), i.invoice_date + 7,
       round(CASE WHEN t.g % 10 < 6 THEN 1 WHEN t.g % 10 = 6 THEN 0.5 WHEN t.g % 10 = 7 THEN 0.98
                  ELSE random()::numeric END * i.total_gross, 2)
         * CASE i.direction WHEN 'outgoing' THEN 1 ELSE -1 END,
       'EUR',
       CASE WHEN t.g % 10 < 6 THEN p.name END,
       CASE WHEN t.g % 10 BETWEEN 6 AND 7 THEN p.iban END,
       CASE WHEN t.g % 10 < 6 THEN 'Rechnung ' || i.invoice_number || ' vom ' || i.invoice_date
            ELSE 'Lastschrift ' || md5(t.g::text) END
  FROM generate_series(0, :transactions - 1) t(g)
  JOIN seed s ON s.g = (t.g * 7) % :invoices
  JOIN invoices i ON i.tenant_id = :'tenant' AND i.id = s.id
  JOIN partners p ON p.tenant_id = i.tenant_id AND p.id = i.partner_id;
COMMIT;
ANALYZE;
SQL
seed_s=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$seed_start" "$(date +%s.%N)")
log "seeded in ${seed_s}s"

# --- baseline: the SQL the endpoint runs, by psql, rows sent to the client ----------------------
# The queries are read from crates/store/src/bank_match.rs, so they cannot drift from the code.
python3 - "$tenant" "$bank" "$TRANSACTIONS" >"$DATA/suggest-baseline.sql" <<'PY'
import re, sys
tenant, bank, limit = sys.argv[1:]
src = open("crates/store/src/bank_match.rs", encoding="utf-8").read()
def const(name):
    m = re.search(r'pub const %s: &str = "(.*?)";' % name, src, re.S)
    return m.group(1)
def bind(sql, params):
    for i in range(len(params), 0, -1):
        sql = sql.replace("$%d" % i, params[i - 1])
    return sql
t, b = "'%s'::uuid" % tenant, "'%s'::uuid" % bank
print("\\timing on")
print("\\o /dev/null")
print("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;")
print(bind(const("OPEN_TRANSACTIONS_SQL"), [t, b, "true", limit]) + ";")
print(bind(const("OPEN_INVOICES_SQL"), [t]) + ";")
print(bind(const("UNMATCHED_ENTRIES_SQL"), [t, "'1200'"]) + ";")
print(bind(const("LEARNED_SQL"), [t]) + ";")
print(bind(const("OPEN_TRANSACTIONS_SQL"), [t, b, "false", "100000"]) + ";")
print("COMMIT;")
PY
baseline_ms() {
    psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 -f "$DATA/suggest-baseline.sql" 2>&1 \
        | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | awk '{ s += $1 } END { printf "%.0f", s }'
}

# --- server ------------------------------------------------------------------------------------
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
export KONTOR_BIND=127.0.0.1:$port
"$bin" serve >"$DATA/suggest-kontor.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "http://$KONTOR_BIND/health" 2>/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || { log "kontor serve exited"; tail -20 "$DATA/suggest-kontor.log" >&2; exit 1; }
    sleep 0.1
done
url="http://$KONTOR_BIND/v1/bank-transactions/suggestions?bank_account_id=$bank&limit=$TRANSACTIONS&per_transaction=3"
request_ms() { # [url]
    curl -sS -o "$DATA/suggestions.json" -w '%{http_code} %{time_total}\n' -H "Authorization: Bearer $key" "${1:-$url}" \
        | awk '{ if ($1 != 200) { print "HTTP " $1 > "/dev/stderr"; exit 1 } printf "%.0f", $2 * 1000 }'
}

log "warm-up"
request_ms >/dev/null
baseline_ms >/dev/null
# limit=1: the same loading and indexing of every candidate, scoring one transaction only.
one="http://$KONTOR_BIND/v1/bank-transactions/suggestions?bank_account_id=$bank&limit=1&per_transaction=3"
api=() floor=() load=()
for i in $(seq 1 "$RUNS"); do
    floor+=("$(baseline_ms)")
    load+=("$(request_ms "$one")")
    api+=("$(request_ms)")
    log "run $i: endpoint ${api[-1]} ms, limit=1 ${load[-1]} ms, SQL floor ${floor[-1]} ms"
done
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
summary=$(python3 - "$DATA/suggestions.json" <<'PY'
import json, sys, collections
rows = json.load(open(sys.argv[1]))
txs = {r["bank_transaction_id"] for r in rows}
top = {}
for r in rows:
    top.setdefault(r["bank_transaction_id"], r)
kinds = collections.Counter(r["candidate_kind"] for r in top.values())
strong = sum(1 for r in top.values() if r["score"] >= 0.8)
print(f"{len(rows)} suggestions for {len(txs)} transactions; top scores >= 0.8: {strong}; top kinds: {dict(kinds)}")
PY
)
{
echo
echo "kontor GET /v1/bank-transactions/suggestions, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "machine: $(nproc) cores, $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); PostgreSQL $(psql_q -c 'SHOW server_version')"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "data: $INVOICES open invoices, $TRANSACTIONS open transactions (seeded in ${seed_s}s)"
echo
echo "| what | median ms | min ms | max ms | runs |"
echo "|---|---:|---:|---:|---:|"
echo "| endpoint (HTTP, limit=$TRANSACTIONS, per_transaction=3) | $(median "${api[@]}") | $(printf '%s\n' "${api[@]}" | sort -n | head -1) | $(printf '%s\n' "${api[@]}" | sort -n | tail -1) | $RUNS |"
echo "| endpoint with limit=1 (all candidates loaded and indexed, one transaction scored) | $(median "${load[@]}") | $(printf '%s\n' "${load[@]}" | sort -n | head -1) | $(printf '%s\n' "${load[@]}" | sort -n | tail -1) | $RUNS |"
echo "| SQL floor (psql, the same five queries, rows to the client) | $(median "${floor[@]}") | $(printf '%s\n' "${floor[@]}" | sort -n | head -1) | $(printf '%s\n' "${floor[@]}" | sort -n | tail -1) | $RUNS |"
echo
echo "$summary"
} | tee "$DATA/suggest-report.md"
