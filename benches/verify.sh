#!/usr/bin/env bash
# `make bench` (part): `kontor verify` over 1,000,000 journal events of one tenant.
#
# A fresh PostgreSQL cluster of its own under .bench-data/verify-pg (durable defaults), the
# release binary, one tenant. Loads BENCH_VERIFY_EVENTS journal events (default 1,000,000)
# through the real write path, so every hash is a real one: POST /v1/bookings/bulk requests of
# 10,000 two-line bookings (20,000 events) each, one after the other. Then times
# `kontor verify --tenant <slug>` BENCH_VERIFY_RUNS times (default 5) and, as the floor in the
# same run, the database's own cost to hand out the rows verify reads:
# `psql \copy (SELECT seq, payload, prev_hash, hash FROM journal_events WHERE tenant_id = …
# ORDER BY seq) TO '/dev/null' (FORMAT binary)`, as often. Finally it changes one payload in a
# scratch copy of the database (CREATE DATABASE … TEMPLATE, triggers off for that session) and
# checks that verify fails there and names that event. Prints a Markdown table, left in
# .bench-data/verify-report.md; see benches/README.md. Everything it starts is stopped by its
# pid, also on error.
#
# Knobs: BENCH_VERIFY_EVENTS=1000000  BENCH_VERIFY_RUNS=5
#        BENCH_VERIFY_KEEP=1  leave the cluster running afterwards (and reuse a loaded one on the
#                             next run): for profiling; stop it with scripts/pg.sh stop .bench-data/verify-pg
set -euo pipefail
cd "$(dirname "$0")/.."

EVENTS=${BENCH_VERIFY_EVENTS:-1000000}
RUNS=${BENCH_VERIFY_RUNS:-5}
KEEP=${BENCH_VERIFY_KEEP:-0}
DATA=.bench-data
PG_DIR=$DATA/verify-pg
export PG_EXTRA_OPTS=${PG_EXTRA_OPTS:-"-c shared_buffers=512MB -c wal_buffers=64MB -c max_wal_size=4GB -c checkpoint_timeout=15min"}

log() { echo "bench(verify): $*" >&2; }

server_pid=""
pg_started=""
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [ -n "$pg_started" ] && [ "$KEEP" != 1 ]; then scripts/pg.sh stop "$PG_DIR" || true; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "building the release binary"
cargo build --release -p kontor >&2
bin=${CARGO_TARGET_DIR:-target}/release/kontor

mkdir -p "$DATA"
if [ "$KEEP" = 1 ] && [ -f "$PG_DIR/loaded" ]; then
    log "reusing the loaded cluster in $PG_DIR"
else
    [ -d "$PG_DIR" ] && scripts/pg.sh stop "$PG_DIR"
    rm -rf "$PG_DIR"
fi
pg_started=1
DATABASE_URL=$(scripts/pg.sh start "$PG_DIR")
export DATABASE_URL
psql_q() { psql "$DATABASE_URL" -X -q -tA -v ON_ERROR_STOP=1 -c "$1"; }
export RUST_LOG=${RUST_LOG:-warn}

if [ -f "$PG_DIR/loaded" ]; then
    slug=$(cat "$PG_DIR/loaded")
    tenant_id=$(psql_q "SELECT id FROM tenants WHERE slug = '$slug'")
else
    "$bin" migrate >/dev/null
    slug="verify-$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')"
    key=$("$bin" admin create-tenant --slug "$slug" --name Bench | python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')
    tenant_id=$(psql_q "SELECT id FROM tenants WHERE slug = '$slug'")

    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    export KONTOR_BIND=127.0.0.1:$port
    "$bin" serve >"$DATA/verify-kontor.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 100); do
        curl -fsS -o /dev/null "http://$KONTOR_BIND/ready" 2>/dev/null && break
        sleep 0.1
    done

    requests=$(( (EVENTS + 19999) / 20000 ))
    log "loading $((requests * 20000)) events: $requests bulk requests of 10,000 two-line bookings"
    started=$(date +%s)
    for i in $(seq 1 "$requests"); do
        python3 - "$DATA/verify-bulk.json" "$i" <<'PY'
import json, random, sys, datetime
path, i = sys.argv[1], int(sys.argv[2])
pairs = [("1200", "8400"), ("1000", "8300"), ("1400", "8200"), ("4930", "1200"), ("4210", "1200"), ("4980", "1000")]
start = datetime.date(2026, 1, 1)
bookings = []
for n in range(10000):
    d, c = pairs[n % len(pairs)]
    cents = random.randint(100, 999999)
    amount = f"{cents // 100}.{cents % 100:02d}"
    bookings.append({"booking_date": str(start + datetime.timedelta(days=(i * 7 + n) % 365)),
                     "description": f"Bench Müller & Söhne \"{i}\" {n}", "external_reference": f"v-{i}-{n}",
                     "lines": [{"account": d, "debit": amount}, {"account": c, "credit": amount}]})
json.dump({"atomic": True, "bookings": bookings}, open(path, "w"))
PY
        code=$(curl -sS -o "$DATA/verify-bulk.out" -w '%{http_code}' "http://$KONTOR_BIND/v1/bookings/bulk" \
            -H "Authorization: Bearer $key" -H 'Content-Type: application/json' --data-binary "@$DATA/verify-bulk.json")
        [ "$code" = 201 ] || { log "bulk request $i answered HTTP $code: $(head -c 500 "$DATA/verify-bulk.out")"; exit 1; }
    done
    log "loaded in $(( $(date +%s) - started )) s"
    kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
    psql_q "VACUUM ANALYZE journal_events"
    psql_q "CHECKPOINT"
    echo "$slug" >"$PG_DIR/loaded"
fi
loaded=$(psql_q "SELECT last_seq FROM journal_heads WHERE tenant_id = '$tenant_id'")
payload_bytes=$(psql_q "SELECT round(avg(octet_length(payload::text))) FROM journal_events WHERE tenant_id = '$tenant_id'")

# --- timings -------------------------------------------------------------------------------
now() { date +%s.%N; }
log "warm-up: one verify (also fills the page cache)"
"$bin" verify --tenant "$slug" >"$DATA/verify-out.txt"
grep -q "tenant $slug: OK — $loaded events, chain intact" "$DATA/verify-out.txt" \
    || { log "verify did not accept the chain: $(cat "$DATA/verify-out.txt")"; exit 1; }
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
verify_times=()
floor_times=()
for r in $(seq 1 "$RUNS"); do
    log "run $r: kontor verify"
    t0=$(now)
    "$bin" verify --tenant "$slug" >"$DATA/verify-out.txt"
    t1=$(now)
    verify_times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')")
    log "run $r: the floor (\\copy … FORMAT binary to /dev/null)"
    t0=$(now)
    psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 -c "\\copy (SELECT seq, payload, prev_hash, hash FROM journal_events WHERE tenant_id = '$tenant_id' ORDER BY seq) TO '/dev/null' (FORMAT binary)"
    t1=$(now)
    floor_times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')")
done
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
best() { printf '%s\n' "$@" | sort -n | head -1; }
v_med=$(median "${verify_times[@]}"); v_best=$(best "${verify_times[@]}")
f_med=$(median "${floor_times[@]}"); f_best=$(best "${floor_times[@]}")

# --- tampering: one payload changed in a scratch copy ------------------------------------------
log "tampering: one payload changed in a scratch copy of the database"
scratch_url=${DATABASE_URL%/*}/verify_scratch
psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS verify_scratch" -c "CREATE DATABASE verify_scratch TEMPLATE kontor"
victim=$((loaded * 2 / 3 + 1))
psql "$scratch_url" -X -q -v ON_ERROR_STOP=1 -c "SET session_replication_role = replica" \
    -c "UPDATE journal_events SET payload = jsonb_set(payload, '{amount}', '\"0.01\"') WHERE tenant_id = '$tenant_id' AND seq = $victim"
set +e
DATABASE_URL=$scratch_url "$bin" verify --tenant "$slug" >"$DATA/verify-tampered.txt"
tamper_rc=$?
set -e
psql "$DATABASE_URL" -X -q -c "DROP DATABASE verify_scratch"
if [ "$tamper_rc" = 1 ] && grep -q "MISMATCH at event seq $victim:" "$DATA/verify-tampered.txt"; then
    tamper="exit 1, \`$(cut -c1-60 "$DATA/verify-tampered.txt")…\`"
else
    log "verify did not name the changed event $victim (exit $tamper_rc): $(cat "$DATA/verify-tampered.txt")"
    exit 1
fi

{
echo
echo "kontor verify at $loaded journal events (payload avg $payload_bytes bytes as text), $RUNS runs, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "machine: $(nproc) cores, $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); PostgreSQL $(psql_q 'SHOW server_version'); load average before the runs: $load_before"
echo
echo "| what | median s | best s | events/s (median) |"
echo "|---|---:|---:|---:|"
awk -v n="$loaded" -v m="$v_med" -v b="$v_best" 'BEGIN { printf "| kontor verify --tenant | %.2f | %.2f | %.0f |\n", m, b, n / m }'
awk -v n="$loaded" -v m="$f_med" -v b="$f_best" 'BEGIN { printf "| floor: psql \\\\copy (FORMAT binary) to /dev/null | %.2f | %.2f | %.0f |\n", m, b, n / m }'
echo
echo "One payload changed (seq $victim, in a scratch copy): $tamper"
} | tee "$DATA/verify-report.md"
log "report in $DATA/verify-report.md"
