#!/usr/bin/env bash
# `make bench` (part): GET /v1/journal at 1,000 and at 1,000,000 journal events, 16 clients.
#
# A fresh PostgreSQL cluster of its own under .bench-data/journal-pg (durable defaults), the
# release binary, one tenant. Loads events through POST /v1/bookings as bookings of 500 lines
# (the largest the API takes) on dates spread over 2026 in two steps: BENCH_JOURNAL_SMALL
# events (default 1,000), then up to BENCH_JOURNAL_EVENTS (default 1,000,000). After each step
# it ANALYZEs, then drives GET /v1/journal with wrk (16 connections, BENCH_DURATION seconds
# each) for: the first page; a page filtered by one account; a deep page by cursor (the middle
# of the journal); a deep page by offset (for contrast). Beside each, the database's own floor
# for the same work, measured in the same run: pgbench running the server's SQL of that page
# (the page query and the query of its total) with 16
# clients. Prints one Markdown table with each page's row at both sizes side by side; see
# benches/README.md. Everything it starts is stopped by its pid, also on error.
#
# Knobs: BENCH_JOURNAL_EVENTS=1000000  BENCH_JOURNAL_SMALL=1000  BENCH_DURATION=20
#        BENCH_CLIENTS=16  BENCH_KONTOR_BIN (a kontor binary to measure instead of building one)
set -euo pipefail
cd "$(dirname "$0")/.."

EVENTS=${BENCH_JOURNAL_EVENTS:-1000000}
SMALL=${BENCH_JOURNAL_SMALL:-1000}
DURATION=${BENCH_DURATION:-20}
CLIENTS=${BENCH_CLIENTS:-16}
DATA=.bench-data
PG_DIR=$DATA/journal-pg
export PG_EXTRA_OPTS=${PG_EXTRA_OPTS:-"-c shared_buffers=512MB -c wal_buffers=64MB -c max_wal_size=4GB -c checkpoint_timeout=15min"}

log() { echo "bench(journal): $*" >&2; }

server_pid=""
pg_started=""
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    [ -n "$pg_started" ] && scripts/pg.sh stop "$PG_DIR" || true
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ! command -v wrk >/dev/null 2>&1; then
    log "wrk not found: installing Debian's wrk package"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 && apt-get install -y -qq wrk >&2
fi
pgbench=$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | tail -1)
[ -x "$pgbench" ] || { log "pgbench not found (Debian's postgresql package has it)"; exit 1; }

if [ -n "${BENCH_KONTOR_BIN:-}" ]; then
    bin=$BENCH_KONTOR_BIN # a binary built before, for an A/B run
else
    log "building the release binary"
    cargo build --release -p kontor >&2
    bin=${CARGO_TARGET_DIR:-target}/release/kontor
fi

mkdir -p "$DATA"
[ -f "$PG_DIR/data/postmaster.pid" ] && scripts/pg.sh stop "$PG_DIR"
rm -rf "$PG_DIR"
pg_started=1
DATABASE_URL=$(scripts/pg.sh start "$PG_DIR")
export DATABASE_URL
psql_q() { psql "$DATABASE_URL" -X -q -tA -v ON_ERROR_STOP=1 -c "$1"; }

export RUST_LOG=${RUST_LOG:-warn}
"$bin" migrate >/dev/null
slug="journal-$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')"
key=$("$bin" admin create-tenant --slug "$slug" --name Bench | python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')
tenant_id=$(psql_q "SELECT id FROM tenants WHERE slug = '$slug'")

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
export KONTOR_BIND=127.0.0.1:$port
"$bin" serve >"$DATA/journal-kontor.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "http://$KONTOR_BIND/ready" 2>/dev/null && break
    sleep 0.1
done
base="http://$KONTOR_BIND"

# --- load ----------------------------------------------------------------------------------
# load_until N: POST bookings of 500 lines until the journal holds N events (dates and
# amounts depend only on the booking's index, so loading in two steps loads the same journal).
load_until() {
log "loading up to $1 events as 500-line bookings"
local started
started=$(date +%s)
python3 - "$base" "$key" "$1" "$(psql_q "SELECT last_seq FROM journal_heads WHERE tenant_id = '$tenant_id'")" <<'PY'
import json, sys, threading, urllib.request, datetime
base, key, events, have = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4] or 0)
per = 500
count = (events + per - 1) // per
accounts = ["4210", "4930", "4920", "4980", "4600", "4800"]
start = datetime.date(2026, 1, 1)
lock = threading.Lock()
next_i = [have // per]
errors = []
def body(i):
    lines = []
    for k in range(per // 2):
        amount = f"{(i * 7 + k) % 9000 + 10}.{k % 100:02d}"
        lines.append({"account": accounts[(i + k) % len(accounts)], "debit": amount})
        lines.append({"account": "1200", "credit": amount})
    return {
        "booking_date": str(start + datetime.timedelta(days=i % 365)),
        "description": f"Bench batch {i}",
        "skip_duplicate_check": True,
        "lines": lines,
    }

def worker():
    while True:
        with lock:
            i = next_i[0]
            next_i[0] += 1
        if i >= count or errors:
            return
        req = urllib.request.Request(
            f"{base}/v1/bookings", data=json.dumps(body(i)).encode(), method="POST",
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                if r.status != 201:
                    errors.append(r.status)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(str(e))

threads = [threading.Thread(target=worker) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
if errors:
    sys.exit(f"loading failed: {errors[:3]}")
PY
loaded=$(psql_q "SELECT last_seq FROM journal_heads WHERE tenant_id = '$tenant_id'")
log "loaded $loaded events in $(( $(date +%s) - started )) s"
load_seconds[$loaded]=$(( $(date +%s) - started ))
psql_q "VACUUM ANALYZE intents, journal_events, entries, account_balances, account_day_balances"
}
declare -A load_seconds

# --- the pages -----------------------------------------------------------------------------
cat >"$DATA/journal-get.lua" <<LUA
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer $key"
local non200 = 0
response = function(status) if status ~= 200 then non200 = non200 + 1 end end
done = function(summary, latency)
  io.write(string.format("RESULT requests=%d p50_us=%d p99_us=%d max_us=%d errors=%d\n",
    summary.requests, latency:percentile(50), latency:percentile(99), latency.max,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout))
end
LUA

pct() { # file with one latency (us) per line, percentile
    sort -n "$1" | awk -v p="$2" '{ a[NR] = $1 } END { i = int(NR * p / 100); if (i < 1) i = 1; printf "%.1f", a[i] / 1000 }'
}

# measure_pages: every page kind at the journal's current size; one table row per page kind in
# $DATA/journal-rows-<page>.md (appended, so both sizes end up side by side).
measure_pages() {
local loaded
loaded=$(psql_q "SELECT last_seq FROM journal_heads WHERE tenant_id = '$tenant_id'")
mid_cursor=$(curl -fsS "$base/v1/journal?limit=1&offset=$((loaded / 2))" -H "Authorization: Bearer $key" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["next_cursor"])')
read -r mid_date mid_seq < <(psql_q "SELECT booking_date, seq FROM entries WHERE tenant_id = '$tenant_id'
    ORDER BY booking_date DESC, seq DESC LIMIT 1 OFFSET $((loaded / 2))" | tr '|' ' ')

cols="seq, intent_id, line_no, booking_date, period, account, debit, credit, currency, amount, tax_code, generated, description, line_description, cost_center, external_reference"
# The total of these pages (no filter, or an account only) comes from the projections
# (store::journal::list_journal): the journal head's last_seq, an account's period rows.
count_sql() {
    if [ -z "$1" ]; then
        echo "SELECT last_seq FROM journal_heads WHERE tenant_id = '$tenant_id';"
    else
        echo "SELECT coalesce(sum(entry_count), 0)::bigint FROM account_balances WHERE tenant_id = '$tenant_id' AND account = '$1';"
    fi
}
declare -A path sql
path[first]="/v1/journal?limit=100"
sql[first]="SELECT $cols FROM entries WHERE tenant_id = '$tenant_id' ORDER BY booking_date DESC, seq DESC LIMIT 101;
$(count_sql "")"
path[account]="/v1/journal?limit=100&account=4930"
sql[account]="SELECT $cols FROM entries WHERE tenant_id = '$tenant_id' AND account = '4930' ORDER BY booking_date DESC, seq DESC LIMIT 101;
$(count_sql 4930)"
path[cursor]="/v1/journal?limit=100&cursor=$mid_cursor"
sql[cursor]="SELECT $cols FROM entries WHERE tenant_id = '$tenant_id' AND (booking_date, seq) < ('$mid_date', $mid_seq) ORDER BY booking_date DESC, seq DESC LIMIT 101;
$(count_sql "")"
path[offset]="/v1/journal?limit=100&offset=$((loaded / 2))"
sql[offset]="SELECT $cols FROM entries WHERE tenant_id = '$tenant_id' ORDER BY booking_date DESC, seq DESC LIMIT 101 OFFSET $((loaded / 2));
$(count_sql "")"

# The plans of the cursor page's SQL at this size, and of the count a page ran before its total
# came from the projections (capped at 10,001 rows), for benches/README.md.
{
    echo "=== $loaded events"
    for q in "$(head -1 <<<"${sql[cursor]}")" "$(count_sql "")" \
             "SELECT count(*) FROM (SELECT 1 FROM entries WHERE tenant_id = '$tenant_id' LIMIT 10001) c;"; do
        echo "--- $q"
        psql_q "EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) ${q%;}"
    done
} >>"$DATA/journal-explain.txt"

for page in first account cursor offset; do
    log "page $page: kontor"
    wrk -t 2 -c "$CLIENTS" -d "${DURATION}s" --timeout 30s -s "$DATA/journal-get.lua" "$base${path[$page]}" >"$DATA/journal-wrk-$page.txt"
    line=$(grep '^RESULT ' "$DATA/journal-wrk-$page.txt")
    req=$(sed 's/.*requests=\([0-9]*\).*/\1/' <<<"$line")
    p50=$(sed 's/.*p50_us=\([0-9]*\).*/\1/' <<<"$line")
    p99=$(sed 's/.*p99_us=\([0-9]*\).*/\1/' <<<"$line")
    errs=$(sed 's/.*errors=\([0-9]*\).*/\1/' <<<"$line")
    [ "$errs" = 0 ] || log "page $page: $errs errors"
    log "page $page: pgbench"
    printf '%s\n' "${sql[$page]}" | tr '\n' ' ' | sed 's/; */;\n/g' >"$DATA/journal-$page.sql"
    rm -f "$DATA"/pgbench_log.*
    (cd "$DATA" && "$pgbench" -n -c "$CLIENTS" -j 2 -T "$DURATION" -l --log-prefix=pgbench_log \
        -f "journal-$page.sql" "$DATABASE_URL" >"journal-pgbench-$page.txt" 2>&1)
    cat "$DATA"/pgbench_log.* | awk '{ print $3 }' >"$DATA/journal-pgbench-$page.lat"
    tps=$(awk -v d="$DURATION" 'END { printf "%.0f", NR / d }' "$DATA/journal-pgbench-$page.lat")
    awk -v page="$page" -v req="$req" -v d="$DURATION" -v p50="$p50" -v p99="$p99" -v tps="$tps" \
        -v b50="$(pct "$DATA/journal-pgbench-$page.lat" 50)" -v b99="$(pct "$DATA/journal-pgbench-$page.lat" 99)" \
        -v events="$loaded" \
        'BEGIN { printf "| %s | %d | %.0f | %.1f | %.1f | %s | %s | %s |\n", page, events, req / d, p50 / 1000, p99 / 1000, tps, b50, b99 }' \
        | tee -a "$DATA/journal-rows-$page.md" >&2
done
}

rm -f "$DATA"/journal-rows-*.md "$DATA/journal-explain.txt"
load_until "$SMALL"
measure_pages
load_until "$EVENTS"
measure_pages

{
echo
echo "kontor GET /v1/journal at $SMALL and at $EVENTS events, $CLIENTS clients, ${DURATION}s each, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD)"
echo "machine: $(nproc) cores, $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); PostgreSQL $(psql_q 'SHOW server_version'); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "load: $(for n in "${!load_seconds[@]}"; do echo -n "$n events after ${load_seconds[$n]} s; "; done)"
echo
echo "| page | events | kontor req/s | kontor p50 ms | kontor p99 ms | pgbench (same SQL) tx/s | pgbench p50 ms | pgbench p99 ms |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for page in first account cursor offset; do cat "$DATA/journal-rows-$page.md"; done
} | tee "$DATA/journal-report.md"
log "report in $DATA/journal-report.md; plans in $DATA/journal-explain.txt"
