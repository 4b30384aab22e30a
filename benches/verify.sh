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
# Beside the wall time of each, the CPU time it took: kontor's own (user + system, from
# /usr/bin/time) and PostgreSQL's (the backends', which the postmaster reaps: the growth of its
# cutime + cstime), so that the figures can be read on a machine that is busy with other work.
#
# Knobs: BENCH_VERIFY_EVENTS=1000000  BENCH_VERIFY_RUNS=5
#        BENCH_VERIFY_BASELINE=path    another kontor binary (e.g. a build of an older commit)
#                                      timed the same way in the same run, for a before/after
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
# A copy: a target directory shared with other checkouts may get another build meanwhile.
mkdir -p .bench-data
cp "${CARGO_TARGET_DIR:-target}/release/kontor" .bench-data/kontor-verify-bench
bin=.bench-data/kontor-verify-bench

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
[ -x /usr/bin/time ] || { export DEBIAN_FRONTEND=noninteractive; apt-get install -y -qq time >&2; }
data_dir=$(cat "$PG_DIR/datadir" 2>/dev/null || echo "$PG_DIR/data")
postmaster=$(head -1 "$data_dir/postmaster.pid")
ticks=$(getconf CLK_TCK)
pg_cpu() { awk -v t="$ticks" '{ printf "%.2f", ($16 + $17) / t }' "/proc/$postmaster/stat"; }
# A backend counts once the postmaster has reaped it: wait (up to 5 s) until only the children
# there were before the runs (checkpointer, walwriter, …) are left.
children() { ps --ppid "$postmaster" -o pid= | sort -n | tr -d ' ' | tr '\n' ,; }
steady=$(children)
settle() { for _ in $(seq 1 100); do [ "$(children)" = "$steady" ] && return; sleep 0.05; done; }
# timed LABEL COMMAND...: one row of samples "wall kontor_cpu pg_cpu" appended to $DATA/verify-LABEL.times
timed() {
    local label=$1; shift
    local before after
    before=$(pg_cpu)
    /usr/bin/time -f "%e %U %S" -o "$DATA/verify-time.txt" "$@" >"$DATA/verify-out.txt"
    settle
    after=$(pg_cpu)
    awk -v b="$before" -v a="$after" '{ printf "%s %.2f %.2f\n", $1, $2 + $3, a - b }' "$DATA/verify-time.txt" >>"$DATA/verify-$label.times"
}
log "warm-up: one verify (also fills the page cache)"
"$bin" verify --tenant "$slug" >"$DATA/verify-out.txt"
grep -q "tenant $slug: OK — $loaded events, chain intact" "$DATA/verify-out.txt" \
    || { log "verify did not accept the chain: $(cat "$DATA/verify-out.txt")"; exit 1; }
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
rm -f "$DATA"/verify-*.times
copy_sql="\\copy (SELECT seq, payload, prev_hash, hash FROM journal_events WHERE tenant_id = '$tenant_id' ORDER BY seq) TO '/dev/null' (FORMAT binary)"
for r in $(seq 1 "$RUNS"); do
    log "run $r: kontor verify"
    timed verify "$bin" verify --tenant "$slug"
    grep -q "chain intact" "$DATA/verify-out.txt" || { log "verify failed: $(cat "$DATA/verify-out.txt")"; exit 1; }
    if [ -n "${BENCH_VERIFY_BASELINE:-}" ]; then
        log "run $r: the baseline $BENCH_VERIFY_BASELINE"
        timed baseline "$BENCH_VERIFY_BASELINE" verify --tenant "$slug"
    fi
    log "run $r: the floor (\\copy … FORMAT binary to /dev/null)"
    timed floor psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 -c "$copy_sql"
done
# row LABEL TITLE: median and best wall time, events/s at the median, median CPU times
row() {
    sort -n "$DATA/verify-$1.times" | awk -v n="$loaded" -v title="$2" '
        { w[NR] = $1; k[NR] = $2; p[NR] = $3 }
        END { m = int((NR + 1) / 2); printf "| %s | %.2f | %.2f | %.0f | %.2f | %.2f |\n", title, w[m], w[1], n / w[m], k[m], p[m] }'
}

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
echo "| what | median s | best s | events/s (median) | kontor CPU s | PostgreSQL CPU s |"
echo "|---|---:|---:|---:|---:|---:|"
row verify "kontor verify --tenant"
[ -n "${BENCH_VERIFY_BASELINE:-}" ] && row baseline "baseline: $(basename "$BENCH_VERIFY_BASELINE") verify --tenant"
row floor "floor: psql \\\\copy … (FORMAT binary) to /dev/null"
echo
echo "(CPU: that of the run with the median wall time; kontor's column for the floor is psql's own.)"
echo
echo "One payload changed (seq $victim, in a scratch copy): $tamper"
} | tee "$DATA/verify-report.md"
log "report in $DATA/verify-report.md"
