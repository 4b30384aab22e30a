#!/usr/bin/env bash
# `make bench`: HTTP booking throughput of kontor at concurrency 1, 16 and 64.
#
# Builds the release binary, creates a fresh PostgreSQL cluster of its own under .bench-data/pg
# (durable defaults: fsync, synchronous_commit and full_page_writes stay on), creates a tenant,
# starts `kontor serve` on a free loopback port and drives POST /v1/bookings with wrk
# (benches/bookings.lua). Prints a table and checks the journal afterwards: every booking has
# exactly two events, every 201 is in the journal, and `kontor verify` accepts the chain.
# Everything it starts is stopped again by its pid, also on error. See benches/README.md.
#
# Knobs (environment):
#   BENCH_DURATION=20          seconds measured per concurrency level
#   BENCH_WARMUP=5             seconds of warm-up (concurrency 16, not reported) before the levels
#   BENCH_CONCURRENCY="1 16 64"
#   BENCH_WRK_THREADS=1        wrk threads (one is plenty and leaves the cores to the server)
#   BENCH_ANALYZE=1            ANALYZE the journal tables after the warm-up (0: leave it to autovacuum)
#   BENCH_FLOOR=1              also measure the database's floor for the same work at the same
#                              concurrencies (pgbench, plain SQL, no HTTP; 0: skip)
#   BENCH_BULK_REQUESTS=5      POST /v1/bookings/bulk requests of 10,000 two-line bookings each (0: skip)
#   BENCH_TENANTS=8            one more level at BENCH_SPREAD_CONCURRENCY connections whose requests rotate
#                              over this many tenants (one appender each; 1: skip)
#   BENCH_SPREAD_CONCURRENCY=64
#   BENCH_BIN=path             run this kontor binary instead of building one (A/B against another commit)
#   PG_EXTRA_OPTS              PostgreSQL settings, read by scripts/pg.sh (default below)
#   KONTOR_WORKERS, KONTOR_DB_POOL_SIZE   passed on to the server when set (defaults: nproc, 16)
#   CARGO_TARGET_DIR           respected (default target/)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${BENCH_DURATION:-20}
WARMUP=${BENCH_WARMUP:-5}
LEVELS=${BENCH_CONCURRENCY:-"1 16 64"}
WRK_THREADS=${BENCH_WRK_THREADS:-1}
ANALYZE=${BENCH_ANALYZE:-1}
FLOOR=${BENCH_FLOOR:-1}
BULK_REQUESTS=${BENCH_BULK_REQUESTS:-5}
TENANTS=${BENCH_TENANTS:-8}
SPREAD=${BENCH_SPREAD_CONCURRENCY:-64}
DATA=.bench-data
PG_DIR=$DATA/pg
# Memory and checkpoint spacing only; durability (fsync, synchronous_commit, full_page_writes,
# wal_sync_method) stays at PostgreSQL's defaults.
export PG_EXTRA_OPTS=${PG_EXTRA_OPTS:-"-c shared_buffers=512MB -c wal_buffers=64MB -c max_wal_size=4GB -c checkpoint_timeout=15min"}

log() { echo "bench: $*" >&2; }

server_pid=""
wrk_pid=""
pg_started=""
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$wrk_pid" ] && kill -0 "$wrk_pid" 2>/dev/null; then
        kill "$wrk_pid" 2>/dev/null || true
        wait "$wrk_pid" 2>/dev/null || true
    fi
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

# --- tools ---------------------------------------------------------------------------------
if ! command -v wrk >/dev/null 2>&1; then
    log "wrk not found: installing Debian's wrk package"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 && apt-get install -y -qq wrk >&2
fi
for tool in curl psql python3; do
    command -v "$tool" >/dev/null 2>&1 || { log "$tool is needed"; exit 1; }
done
pgbench=$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | tail -1)
[ "$FLOOR" = 0 ] || [ -x "$pgbench" ] || { log "pgbench not found (Debian's postgresql package has it)"; exit 1; }

if [ -n "${BENCH_BIN:-}" ]; then
    # A/B runs: another build of kontor (e.g. a worktree of an earlier commit) in the same script.
    bin=$BENCH_BIN
    log "using $bin (BENCH_BIN), not building"
else
    log "building the release binary"
    cargo build --release -p kontor >&2
    bin=${CARGO_TARGET_DIR:-target}/release/kontor
fi
[ -x "$bin" ] || { log "no binary at $bin"; exit 1; }

# --- database: a fresh cluster every run, so that runs are comparable -------------------------
mkdir -p "$DATA"
if [ -f "$PG_DIR/data/postmaster.pid" ]; then
    log "stopping the bench cluster an interrupted earlier run left in $PG_DIR"
    scripts/pg.sh stop "$PG_DIR"
fi
rm -rf "$PG_DIR"
pg_started=1
DATABASE_URL=$(scripts/pg.sh start "$PG_DIR")
export DATABASE_URL
postmaster_pid=$(head -1 "$PG_DIR/data/postmaster.pid")
psql_q() { psql "$DATABASE_URL" -X -q -tA -v ON_ERROR_STOP=1 -c "$1"; }

export RUST_LOG=${RUST_LOG:-warn}
unset KONTOR_BIND
"$bin" migrate >/dev/null
slug="bench-$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')"
tenant_json=$("$bin" admin create-tenant --slug "$slug" --name Bench)
key=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])' <<<"$tenant_json")
tenant_id=$(psql_q "SELECT id FROM tenants WHERE slug = '$slug'")
# The tenants of the spread level: the first one and TENANTS - 1 more.
slugs=$slug keys=$key
for i in $(seq 2 "$TENANTS"); do
    s_i="$slug-t$i"
    k_i=$("$bin" admin create-tenant --slug "$s_i" --name "Bench $i" | python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')
    slugs="$slugs $s_i" keys="$keys,$k_i"
done
tenant_ids=$(psql_q "SELECT string_agg(quote_literal(id::text), ',') FROM tenants WHERE slug LIKE '$slug%'")

# --- server --------------------------------------------------------------------------------
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
export KONTOR_BIND=127.0.0.1:$port
"$bin" serve >"$DATA/kontor.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "http://$KONTOR_BIND/health" 2>/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || { log "kontor serve exited:"; tail -20 "$DATA/kontor.log" >&2; exit 1; }
    sleep 0.1
done
curl -fsS -o /dev/null "http://$KONTOR_BIND/health" || { log "kontor did not come up"; exit 1; }

# A first booking by hand, so that a broken request fails loudly before any load.
probe=$(curl -sS -o "$DATA/probe.json" -w '%{http_code}' "http://$KONTOR_BIND/v1/bookings" \
    -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d '{"booking_date":"2026-03-14","description":"bench probe","external_reference":"probe",
         "lines":[{"account":"1200","debit":"10.00"},{"account":"8400","credit":"10.00"}]}')
[ "$probe" = 201 ] || { log "probe booking answered HTTP $probe: $(cat "$DATA/probe.json")"; exit 1; }

# --- machine -------------------------------------------------------------------------------
cores=$(nproc)
cpu_model=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
pg_version=$(psql_q "SHOW server_version")
pg_settings=$(psql_q "SELECT string_agg(name || '=' || current_setting(name), ' ' ORDER BY name) FROM pg_settings
                      WHERE name IN ('fsync','synchronous_commit','full_page_writes','wal_sync_method','shared_buffers',
                                     'wal_buffers','max_wal_size','commit_delay','commit_siblings','checkpoint_timeout')")
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
log "machine: $cores cores, $cpu_model; PostgreSQL $pg_version; load average $load_before"

# CPU time (clock ticks) of the machine and of what this benchmark runs, to tell how much of the
# machine other processes took during a level.
clk=$(getconf CLK_TCK)
ticks_of() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
cpu_sample() { # busy-machine server postgres waited-children(wrk) steal
    local pg p
    pg=$(ticks_of "$postmaster_pid")
    for p in $(ps -o pid= --ppid "$postmaster_pid"); do pg=$((pg + $(ticks_of "$p"))); done
    echo "$(awk '/^cpu /{ print $2 + $3 + $4 }' /proc/stat) $(ticks_of "$server_pid") $pg $(awk '{ print $16 + $17 }' /proc/$$/stat)" \
         "$(awk '/^cpu /{ print $9 }' /proc/stat)"
}

# --- load ----------------------------------------------------------------------------------
results=$DATA/results.txt
: >"$results"
run_wrk() { # phase connections seconds [keys]
    local phase=$1 conns=$2 secs=$3 use_keys=${4:-$key} threads=$WRK_THREADS before after
    [ "$threads" -gt "$conns" ] && threads=$conns
    before=$(cpu_sample)
    BENCH_KEYS=$use_keys BENCH_PHASE="$slug-$phase" \
        wrk -t "$threads" -c "$conns" -d "${secs}s" --timeout 10s -s benches/bookings.lua \
        "http://$KONTOR_BIND" >"$DATA/wrk-$phase.txt" 2>"$DATA/wrk-$phase.err" &
    wrk_pid=$!
    wait "$wrk_pid"
    wrk_pid=""
    after=$(cpu_sample)
    cat "$DATA/wrk-$phase.err" >&2
    local line
    line=$(grep '^RESULT ' "$DATA/wrk-$phase.txt") || { log "wrk gave no result:"; cat "$DATA/wrk-$phase.txt" >&2; exit 1; }
    # seconds of CPU: machine busy, server, postgres, wrk; and time stolen by the hypervisor
    local cpu
    cpu=$(awk -v b="$before" -v a="$after" -v clk="$clk" 'BEGIN { split(b, x, " "); split(a, y, " ");
          printf "cpu_busy=%.2f cpu_server=%.2f cpu_pg=%.2f cpu_wrk=%.2f cpu_steal=%.2f", (y[1]-x[1])/clk, (y[2]-x[2])/clk, (y[3]-x[3])/clk, (y[4]-x[4])/clk, (y[5]-x[5])/clk }')
    echo "$line conns=$conns secs=$secs tenants=$(tr ',' '\n' <<<"$use_keys" | wc -l) $cpu" >>"$results"
}

if [ "$WARMUP" -gt 0 ]; then
    log "warm-up: ${WARMUP}s at concurrency 16"
    run_wrk warmup 16 "$WARMUP"
fi
if [ "$ANALYZE" = 1 ]; then
    # A fresh cluster has no statistics yet, and autovacuum looks only once a minute: until it
    # does, the planner may pick a per-batch scan of all the tenant's intents for the
    # external_reference check (see README, "Findings"). Measure the steady state instead.
    psql_q "ANALYZE intents, journal_events, entries, account_balances"
fi
level=0
for c in $LEVELS; do
    level=$((level + 1))
    log "concurrency $c: ${DURATION}s"
    run_wrk "l$level-c$c" "$c" "$DURATION"
done
if [ "$TENANTS" -gt 1 ]; then
    log "concurrency $SPREAD over $TENANTS tenants: ${DURATION}s"
    run_wrk "spread-c$SPREAD" "$SPREAD" "$DURATION" "$keys"
fi
sleep 1  # let the requests that wrk abandoned at its deadline finish

# --- bulk: POST /v1/bookings/bulk ------------------------------------------------------------
bulk_created=0
: >"$DATA/bulk.txt"
for i in $(seq 1 "$BULK_REQUESTS"); do
    python3 - "$DATA/bulk-$i.json" "$slug-bulk-$i" <<'PY'
import json, random, sys
path, phase = sys.argv[1], sys.argv[2]
pairs = [("1200", "8400", "2026-03-14"), ("1000", "8300", "2026-03-15"), ("1400", "8200", "2026-03-16"),
         ("4930", "1200", "2026-04-01"), ("4210", "1200", "2026-04-02"), ("4980", "1000", "2026-04-03")]
bookings = []
for n in range(10000):
    d, c, day = pairs[n % len(pairs)]
    cents = random.randint(100, 999999)
    amount = f"{cents // 100}.{cents % 100:02d}"
    bookings.append({"booking_date": day, "description": f"bench {phase}", "external_reference": f"{phase}-{n}",
                     "lines": [{"account": d, "debit": amount}, {"account": c, "credit": amount}]})
json.dump({"atomic": True, "bookings": bookings}, open(path, "w"))
PY
    out=$(curl -sS -o "$DATA/bulk-$i.out" -w '%{http_code} %{time_total}' "http://$KONTOR_BIND/v1/bookings/bulk" \
        -H "Authorization: Bearer $key" -H 'Content-Type: application/json' --data-binary "@$DATA/bulk-$i.json")
    code=${out%% *}
    [ "$code" = 201 ] || { log "bulk request $i answered HTTP $code: $(head -c 500 "$DATA/bulk-$i.out")"; exit 1; }
    echo "$out" >>"$DATA/bulk.txt"
    bulk_created=$((bulk_created + 10000))
done

# --- the database's floor: the same two-line booking as plain SQL, no HTTP -------------------
# Insert two entries, upsert two balances, one transaction each, at the same concurrencies; the
# same six account pairs and dates as benches/bookings.lua, so the same hot balance rows.
: >"$DATA/floor.txt"
if [ "$FLOOR" = 1 ]; then
    psql_q "DROP TABLE IF EXISTS bench_floor_entries, bench_floor_balances, bench_floor_pairs;
            CREATE TABLE bench_floor_pairs (id int PRIMARY KEY, debit_account text, credit_account text, day date);
            INSERT INTO bench_floor_pairs VALUES (1, '1200', '8400', '2026-03-14'), (2, '1000', '8300', '2026-03-15'),
                (3, '1400', '8200', '2026-03-16'), (4, '4930', '1200', '2026-04-01'), (5, '4210', '1200', '2026-04-02'),
                (6, '4980', '1000', '2026-04-03');
            CREATE TABLE bench_floor_entries (seq bigserial PRIMARY KEY, intent_id uuid NOT NULL, account text NOT NULL,
                booking_date date NOT NULL, debit numeric NOT NULL, credit numeric NOT NULL, description text NOT NULL);
            CREATE INDEX ON bench_floor_entries (account, booking_date, seq);
            CREATE INDEX ON bench_floor_entries (intent_id);
            CREATE TABLE bench_floor_balances (account text, month date, debit numeric NOT NULL DEFAULT 0,
                credit numeric NOT NULL DEFAULT 0, PRIMARY KEY (account, month));"
    cat >"$DATA/floor.sql" <<'SQL'
\set p random(1, 6)
\set cents random(100, 999999)
BEGIN;
INSERT INTO bench_floor_entries (intent_id, account, booking_date, debit, credit, description)
SELECT i.id, x.account, p.day, x.debit, x.credit, 'floor'
  FROM bench_floor_pairs p, (SELECT gen_random_uuid() AS id) i,
       LATERAL (VALUES (p.debit_account, :cents / 100.0, 0), (p.credit_account, 0, :cents / 100.0)) AS x (account, debit, credit)
 WHERE p.id = :p;
INSERT INTO bench_floor_balances (account, month, debit)
SELECT debit_account, date_trunc('month', day), :cents / 100.0 FROM bench_floor_pairs WHERE id = :p
ON CONFLICT (account, month) DO UPDATE SET debit = bench_floor_balances.debit + EXCLUDED.debit;
INSERT INTO bench_floor_balances (account, month, credit)
SELECT credit_account, date_trunc('month', day), :cents / 100.0 FROM bench_floor_pairs WHERE id = :p
ON CONFLICT (account, month) DO UPDATE SET credit = bench_floor_balances.credit + EXCLUDED.credit;
COMMIT;
SQL
    for c in $LEVELS; do
        log "floor (pgbench) at concurrency $c: ${DURATION}s"
        rm -f "$DATA"/floor_log.*
        jobs=$(( c < 2 ? 1 : 2 ))
        (cd "$DATA" && "$pgbench" -n -c "$c" -j "$jobs" -T "$DURATION" -l --log-prefix=floor_log \
            -f floor.sql "$DATABASE_URL" >"floor-c$c.txt" 2>&1) || { log "pgbench failed:"; cat "$DATA/floor-c$c.txt" >&2; exit 1; }
        cat "$DATA"/floor_log.* | awk '{ print $3 }' | sort -n >"$DATA/floor-c$c.lat"
        awk -v c="$c" -v d="$DURATION" '{ a[NR] = $1 } END {
            p50 = a[int(NR * 0.50) > 0 ? int(NR * 0.50) : 1]; p99 = a[int(NR * 0.99) > 0 ? int(NR * 0.99) : 1];
            printf "%d %.0f %.2f %.2f\n", c, NR / d, p50 / 1000, p99 / 1000 }' "$DATA/floor-c$c.lat" >>"$DATA/floor.txt"
    done
fi
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report --------------------------------------------------------------------------------
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }
{
echo
echo "kontor POST /v1/bookings, two-line bookings, ${DURATION}s per level, wrk -t$WRK_THREADS, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "machine: $cores cores, $cpu_model; PostgreSQL $pg_version"
echo "postgres: $pg_settings"
echo "tables analyzed after the warm-up: $([ "$ANALYZE" = 1 ] && echo yes || echo "no (autovacuum only)")"
echo "server: KONTOR_WORKERS=${KONTOR_WORKERS:-$cores (default)} KONTOR_DB_POOL_SIZE=${KONTOR_DB_POOL_SIZE:-16 (default)}"
echo "load average (1/5/15 min) before / after: $load_before / $load_after"
echo
echo "| concurrency | bookings/s | p50 ms | p99 ms | max ms | bookings/commit | CPU server / postgres / wrk / other / steal (cores) | errors |"
echo "|------------:|-----------:|-------:|-------:|-------:|----------------:|:---------------------------------------------------:|:-------|"
} | tee "$DATA/report.md"
total_created=0 total_non201=0 total_sock=0 total_cutoff=0
while read -r line; do
    created=$(field created "$line"); non201=$(field non201 "$line"); sock=$(field sock_errors "$line")
    sent=$(field sent "$line"); responses=$(field responses "$line")
    total_created=$((total_created + created)); total_non201=$((total_non201 + non201))
    total_sock=$((total_sock + sock)); total_cutoff=$((total_cutoff + sent - responses))
    phase=$(field phase "$line")
    [ "${phase##*-}" = warmup ] && continue
    # Every intent of one appender transaction carries the same recorded_at: that gives the batch size.
    per_commit=$(psql_q "SELECT round(count(*)::numeric / greatest(count(DISTINCT (tenant_id, recorded_at)), 1), 1) FROM intents
                          WHERE tenant_id IN ($tenant_ids) AND external_reference LIKE '$phase-%'")
    awk -v c="$(field conns "$line")" -v t="$(field tenants "$line")" -v n="$created" -v d="$(field duration_us "$line")" \
        -v p50="$(field p50_us "$line")" -v p99="$(field p99_us "$line")" -v mx="$(field max_us "$line")" \
        -v e="$non201" -v st="$(field statuses "$line")" -v se="$sock" -v pc="$per_commit" -v secs="$(field secs "$line")" \
        -v busy="$(field cpu_busy "$line")" -v srv="$(field cpu_server "$line")" -v pg="$(field cpu_pg "$line")" -v wrk="$(field cpu_wrk "$line")" -v steal="$(field cpu_steal "$line")" \
        'BEGIN { err = e " non-201"; if (e > 0) err = err " (" st ")"; if (se > 0) err = err ", " se " socket";
                 other = busy - srv - pg - wrk; if (other < 0) other = 0;
                 cs = c; if (t > 1) cs = c " over " t " tenants";
                 printf "| %s | %.0f | %.2f | %.2f | %.2f | %s | %.2f / %.2f / %.2f / %.2f / %.2f | %s |\n",
                        cs, n / (d / 1e6), p50 / 1000, p99 / 1000, mx / 1000, pc, srv / secs, pg / secs, wrk / secs, other / secs, steal / secs, err }'
done <"$results" >"$DATA/rows.md"
tee -a "$DATA/report.md" <"$DATA/rows.md"
if [ -s "$DATA/floor.txt" ]; then
    {
    echo
    echo "the database's floor in the same run (pgbench: the same two-line booking as plain SQL — insert two entries,"
    echo "upsert two balances, one transaction each, no HTTP — at the same concurrencies), and kontor / floor:"
    echo
    echo "| concurrency | floor tx/s | floor p50 ms | floor p99 ms | kontor bookings/s | kontor / floor |"
    echo "|------------:|-----------:|-------------:|-------------:|------------------:|---------------:|"
    } | tee -a "$DATA/report.md"
    while read -r c tps p50 p99; do
        kontor=$(awk -v c="$c" -F'|' '$2 + 0 == c && $2 !~ /tenants/ { gsub(/ /, "", $3); print $3 }' "$DATA/rows.md" | head -1)
        awk -v c="$c" -v t="$tps" -v a="$p50" -v b="$p99" -v k="${kontor:-0}" \
            'BEGIN { printf "| %d | %d | %.2f | %.2f | %d | %.2f |\n", c, t, a, b, k, (t > 0 ? k / t : 0) }'
        spread=$(awk -v c="$c" -F'|' '$2 + 0 == c && $2 ~ /tenants/ { gsub(/ /, "", $3); print $3 }' "$DATA/rows.md" | head -1)
        if [ -n "$spread" ]; then
            awk -v c="$c" -v n="$TENANTS" -v t="$tps" -v a="$p50" -v b="$p99" -v k="$spread" \
                'BEGIN { printf "| %d over %d tenants | %d | %.2f | %.2f | %d | %.2f |\n", c, n, t, a, b, k, (t > 0 ? k / t : 0) }'
        fi
    done <"$DATA/floor.txt" | tee -a "$DATA/report.md"
fi
if [ -s "$DATA/bulk.txt" ]; then
    awk -v n="$BULK_REQUESTS" '{ t += $2; if ($2 > mx) mx = $2 } END {
        printf "\nPOST /v1/bookings/bulk: %d requests of 10,000 two-line bookings (20,000 lines) each, one after the other:\n", n;
        printf "%.0f journal lines/s (%.2f s per request on average, slowest %.2f s)\n", n * 20000 / t, t / n, mx }' \
        "$DATA/bulk.txt" | tee -a "$DATA/report.md"
fi
echo

# --- verification --------------------------------------------------------------------------
events=$(psql_q "SELECT count(*) FROM journal_events WHERE tenant_id IN ($tenant_ids)")
intents=$(psql_q "SELECT count(*) FROM intents WHERE tenant_id IN ($tenant_ids)")
odd=$(psql_q "SELECT count(*) FROM intents WHERE tenant_id IN ($tenant_ids) AND event_count <> 2")
booked=$((total_created + bulk_created + 1))  # + the probe booking
ok=1
echo "verification ($slugs):"
echo "  201 responses: $booked (incl. the probe), non-201: $total_non201, socket errors: $total_sock"
echo "  requests still in flight when wrk stopped at its deadlines (not counted): $total_cutoff"
echo "  bookings in the journal: $intents, journal events: $events"
if [ "$events" -eq $((2 * intents)) ] && [ "$odd" -eq 0 ]; then
    echo "  ok: journal events = 2 x bookings ($events = 2 x $intents)"
else
    echo "  FAIL: journal events ($events) != 2 x bookings ($intents), or $odd bookings without exactly two lines"; ok=0
fi
if [ "$intents" -ge "$booked" ] && [ "$intents" -le $((booked + total_cutoff)) ]; then
    echo "  ok: bookings in the journal = 201 responses + $((intents - booked)) of the $total_cutoff uncounted in-flight requests"
else
    echo "  FAIL: $intents bookings in the journal, expected $booked..$((booked + total_cutoff))"; ok=0
fi
main_events=$(psql_q "SELECT count(*) FROM journal_events WHERE tenant_id = '$tenant_id'")
verify_start=$(date +%s.%N)
if "$bin" verify --tenant "$slug" >"$DATA/verify.txt" 2>&1; then
    verify_secs=$(awk -v a="$verify_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
    echo "  ok: kontor verify --tenant $slug ($main_events events in $verify_secs s: $(awk -v e="$main_events" -v s="$verify_secs" 'BEGIN { printf "%.0f", e / s }') events/s)"
else
    echo "  FAIL: kontor verify --tenant $slug:"; sed 's/^/    /' "$DATA/verify.txt"; ok=0
fi
for s_i in $slugs; do
    [ "$s_i" = "$slug" ] && continue
    if "$bin" verify --tenant "$s_i" >"$DATA/verify-$s_i.txt" 2>&1; then
        echo "  ok: kontor verify --tenant $s_i"
    else
        echo "  FAIL: kontor verify --tenant $s_i:"; sed 's/^/    /' "$DATA/verify-$s_i.txt"; ok=0
    fi
done
if [ "$total_non201" -gt 0 ] || [ "$total_sock" -gt 0 ]; then
    echo "  FAIL: $total_non201 non-201 responses and $total_sock socket errors (see $DATA/wrk-*.err, $DATA/kontor.log)"; ok=0
fi
[ "$ok" = 1 ] || exit 1
