#!/usr/bin/env bash
# Reports bench: the DATEV export of BENCH_EXPORT_LINES journal lines (default 1,000,000) and
# the trial balance of a tenant with BENCH_TB_LINES entries (default 10,000,000): wall time and
# peak memory (/usr/bin/time -v) of each, beside the database's own floor measured in the same
# run (psql streaming the same lines to /dev/null; the same sums as a plain aggregate).
#
# Loading goes through the use cases and the appender (`crates/app/examples/reports_bench.rs`,
# 256 concurrent writers, batches of up to 256 bookings), not over HTTP. Each measured
# operation runs in a process of its own, so its peak RSS is its own. The cluster is a
# throwaway one under .bench-data/reports/pg with fsync off: this bench reads, and durability
# does not change a read. Results: .bench-data/reports/report.md; see benches/README.md.
#
# The same tenant also gives the balance of one account at several dates (`reports_bench
# balance`, issue 13), beside the plain sum over its entries (the floor) and the read of before
# issue 13 (the month's entries instead of its day rows), both timed with psql in the same run,
# and the plans of the reads (`reports_bench explain`, EXPLAIN ANALYZE BUFFERS) in
# .bench-data/reports/explain.txt.
#
# Knobs: BENCH_EXPORT_LINES, BENCH_TB_LINES, PG_EXTRA_OPTS, CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

EXPORT_LINES=${BENCH_EXPORT_LINES:-1000000}
TB_LINES=${BENCH_TB_LINES:-10000000}
DATA=.bench-data/reports
PG_DIR=$DATA/pg
export PG_EXTRA_OPTS=${PG_EXTRA_OPTS:-"-c shared_buffers=1GB -c work_mem=64MB -c max_wal_size=16GB -c checkpoint_timeout=30min -c fsync=off -c synchronous_commit=off -c full_page_writes=off"}
BIN=${CARGO_TARGET_DIR:-target}/release/examples/reports_bench

log() { echo "reports-bench: $*" >&2; }

pg_started=""
cleanup() {
    local rc=$?
    if [ -n "$pg_started" ]; then scripts/pg.sh stop "$PG_DIR" >/dev/null 2>&1 || true; fi
    exit $rc
}
trap cleanup EXIT INT TERM

[ -x /usr/bin/time ] || { log "installing GNU time"; apt-get install -y -qq time >&2; }
log "building the bench binary (release)"
cargo build --release -q -p app --example reports_bench

mkdir -p "$DATA"
scripts/pg.sh stop "$PG_DIR" >/dev/null 2>&1 || true
rm -rf "$PG_DIR"
DATABASE_URL=$(scripts/pg.sh start "$PG_DIR")
export DATABASE_URL
pg_started=1

# Runs a command under /usr/bin/time -v; prints "<wall seconds> <peak RSS MiB>" and keeps the
# command's stdout in $DATA/last.out.
measure() {
    /usr/bin/time -v "$@" >"$DATA/last.out" 2>"$DATA/time.txt"
    local wall rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,p,":"); s=0; for(i=1;i<=n;i++) s=s*60+p[i]; print s}' "$DATA/time.txt")
    rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$DATA/time.txt")
    echo "$wall $rss"
}

run=$(date -u +%Y%m%d%H%M%S)
export_slug="bench-export-$run"
tb_slug="bench-tb-$run"

log "loading $EXPORT_LINES lines for the export"
read -r load_e_s _ < <(measure "$BIN" load "$export_slug" "$EXPORT_LINES")
load_e=$(cat "$DATA/last.out")
log "loading $TB_LINES entries for the trial balance (SQL, see below)"
"$BIN" load "$tb_slug" 0 >/dev/null
tb_id=$(psql "$DATABASE_URL" -qAt -c "SELECT id FROM tenants WHERE slug = '$tb_slug'")
# The trial balance and the balances read the projections only (account_balances and
# account_day_balances), so its tenant is filled by SQL, in chunks of 1,000,000 lines: two-line
# intents (balanced, as the entries trigger checks) over 2026 on 12 accounts, every 1,000th in
# period 13 (dated on any day of the year, as year-end adjustments may be), and both
# projections aggregated from them exactly as the appender keeps them (period 13's row on
# December). No journal_events or intents rows: this tenant is for reading sums only
# (`kontor verify` would refuse it).
start_load=$(date +%s.%N)
chunk=1000000
done_lines=0
while [ "$done_lines" -lt "$TB_LINES" ]; do
    n=$(( TB_LINES - done_lines < chunk ? TB_LINES - done_lines : chunk ))
    psql "$DATABASE_URL" -q -v ON_ERROR_STOP=1 >/dev/null <<SQL
INSERT INTO entries (tenant_id, seq, intent_id, line_no, account, booking_date, period, debit, credit,
                     currency, amount, description)
SELECT '$tb_id', s, md5('$tb_slug' || ((s + 1) / 2))::uuid, 2 - s % 2,
       (ARRAY['1000','1200','1400','1600','4200','4210','4930','4980','4500','4600','8400','8300'])[1 + ((s + 1) / 2 + (s % 2) * 5) % 12],
       d, CASE WHEN (s + 1) / 2 % 1000 = 0 THEN '2026-13' ELSE to_char(d, 'YYYY-MM') END,
       CASE WHEN s % 2 = 1 THEN a ELSE 0 END, CASE WHEN s % 2 = 0 THEN a ELSE 0 END, 'EUR', a, 'bulk'
  FROM (SELECT s, date '2026-01-01' + ((s + 1) / 2 % 365)::int AS d,
               ((s + 1) / 2 % 99991 + 1) / 100.0 AS a
          FROM generate_series($done_lines + 1, $done_lines + $n) s) g;
SQL
    done_lines=$(( done_lines + n ))
done
psql "$DATABASE_URL" -q -v ON_ERROR_STOP=1 >/dev/null <<SQL
INSERT INTO account_balances (tenant_id, account, period, month_start, debit, credit, entry_count)
SELECT tenant_id, account, period, to_date(left(period, 4) || '-' || least(right(period, 2)::int, 12), 'YYYY-MM'),
       sum(debit), sum(credit), count(*)
  FROM entries WHERE tenant_id = '$tb_id' GROUP BY tenant_id, account, period;
INSERT INTO account_day_balances (tenant_id, account, booking_date, period, debit, credit, entry_count)
SELECT tenant_id, account, booking_date, period, sum(debit), sum(credit), count(*)
  FROM entries WHERE tenant_id = '$tb_id' GROUP BY tenant_id, account, booking_date, period;
UPDATE journal_heads SET last_seq = $TB_LINES WHERE tenant_id = '$tb_id';
SQL
load_t_s=$(echo "$(date +%s.%N) - $start_load" | bc)
load_t="SQL bulk load of $TB_LINES entries"
for t in entries account_balances account_day_balances journal_events intents; do
    psql "$DATABASE_URL" -qAt -c "VACUUM ANALYZE $t" >/dev/null
done

tenant() { psql "$DATABASE_URL" -qAt -c "SELECT id FROM tenants WHERE slug = '$1'"; }
export_id=$(tenant "$export_slug")
lines_e=$(psql "$DATABASE_URL" -qAt -c "SELECT count(*) FROM entries WHERE tenant_id = '$export_id'")
lines_t=$(psql "$DATABASE_URL" -qAt -c "SELECT count(*) FROM entries WHERE tenant_id = '$tb_id'")

log "DATEV export of $lines_e lines"
read -r export_s export_mb < <(measure "$BIN" export "$export_slug")
export_out=$(cat "$DATA/last.out")
log "floor: psql streams the same lines to /dev/null"
floor_sql="SELECT e.seq, e.intent_id, e.line_no, e.booking_date, e.period, e.account, e.debit, e.credit, e.currency, e.amount, e.tax_code, e.generated, e.description, e.line_description, e.cost_center, e.external_reference, CASE WHEN e.generated IS NULL THEN tc.rate END, CASE WHEN e.line_no = 1 THEN (SELECT n.document_id FROM intents n WHERE n.tenant_id = e.tenant_id AND n.intent_id = e.intent_id) END, CASE WHEN e.line_no = 1 THEN (SELECT i.invoice_number FROM invoices i WHERE i.tenant_id = e.tenant_id AND i.intent_id = e.intent_id) END FROM entries e LEFT JOIN tax_codes tc ON tc.tenant_id = e.tenant_id AND tc.code = e.tax_code WHERE e.tenant_id = '$export_id' AND e.booking_date BETWEEN '2026-01-01' AND '2026-12-31' ORDER BY e.booking_date, e.seq"
read -r floor_e_s floor_e_mb < <(PGOPTIONS="-c jit=off" measure psql "$DATABASE_URL" -qAt -c "\\copy ($floor_sql) TO '/dev/null'")

log "trial balance at $lines_t entries"
read -r tb_s tb_mb < <(measure "$BIN" trial-balance "$tb_slug")
tb_out=$(cat "$DATA/last.out")
log "floor: the same sums as one aggregate over entries, and over account_balances"
read -r floor_t_s _ < <(measure psql "$DATABASE_URL" -qAt -o /dev/null -c "SELECT account, sum(debit), sum(credit) FROM entries WHERE tenant_id = '$tb_id' AND booking_date BETWEEN '2026-01-01' AND '2026-12-31' GROUP BY account")
read -r floor_b_s _ < <(measure psql "$DATABASE_URL" -qAt -o /dev/null -c "SELECT account, sum(debit), sum(credit) FROM account_balances WHERE tenant_id = '$tb_id' GROUP BY account")

# The balance of one account at several dates: kontor (in process, warm, mean of 50 calls),
# the floor (the plain sum over the account's entries through the date) and the read of before
# issue 13 (period rows + the month's entries + period 13 through journal_events), the latter
# two with psql: the median of 5 warm runs.
BAL_ACCOUNT=1200
log "balance of $BAL_ACCOUNT at several dates"
bal_out=$("$BIN" balance "$tb_slug" "$BAL_ACCOUNT")
"$BIN" explain "$tb_slug" "$BAL_ACCOUNT" >"$DATA/explain.txt"
psql_ms() { # SQL -> "<median ms> <value>"
    local sql=$1 out
    out=$( { echo '\timing on'; for _ in 1 2 3 4 5 6; do echo "$sql;"; done; } | psql "$DATABASE_URL" -X -qAt 2>&1)
    local value ms
    value=$(grep -v '^Time:' <<<"$out" | head -1)
    ms=$(grep '^Time:' <<<"$out" | tail -5 | awk '{print $2}' | sort -n | sed -n 3p)
    echo "$ms $value"
}
month_of() { date -d "$1" +%Y-%m-01; }
cut_of() { # the store's cut: the next month's first day after a month end, else the month's
    local next
    next=$(date -d "$1 + 1 day" +%Y-%m-%d)
    if [ "${next:8:2}" = 01 ]; then echo "$next"; else month_of "$1"; fi
}
bal_rows=""
while read -r line; do
    [ -n "$line" ] || continue
    at=$(sed 's/.*"at":"\([^"]*\)".*/\1/' <<<"$line")
    day=$(sed 's/.*"date":"\([^"]*\)".*/\1/' <<<"$line")
    value=$(sed 's/.*"balance":"\([^"]*\)".*/\1/' <<<"$line")
    mean=$(sed 's/.*"mean_ms":\([0-9.]*\).*/\1/' <<<"$line")
    read -r floor_ms floor_value < <(psql_ms "SELECT coalesce(sum(debit - credit), 0) FROM entries WHERE tenant_id = '$tb_id' AND account = '$BAL_ACCOUNT' AND booking_date <= '$day'")
    month=$(month_of "$day")
    read -r old_ms _ < <(psql_ms "SELECT (SELECT coalesce(sum(debit - credit), 0) FROM account_balances WHERE tenant_id = '$tb_id' AND account = '$BAL_ACCOUNT' AND month_start < '$month') + (SELECT coalesce(sum(debit - credit), 0) FROM entries WHERE tenant_id = '$tb_id' AND account = '$BAL_ACCOUNT' AND booking_date >= '$month' AND booking_date <= '$day') + (SELECT coalesce(sum(e.debit - e.credit), 0) FROM journal_events j JOIN entries e ON e.tenant_id = j.tenant_id AND e.seq = j.seq WHERE j.tenant_id = '$tb_id' AND j.period = '2026-13' AND e.account = '$BAL_ACCOUNT' AND e.booking_date < '$month')")
    cut=$(cut_of "$day")
    days=$(psql "$DATABASE_URL" -qAt -c "SELECT count(*) FROM account_day_balances WHERE tenant_id = '$tb_id' AND account = '$BAL_ACCOUNT' AND booking_date >= '$cut' AND booking_date <= '$day'")
    p13=$(psql "$DATABASE_URL" -qAt -c "SELECT count(*) FROM account_day_balances WHERE tenant_id = '$tb_id' AND account = '$BAL_ACCOUNT' AND period = '2026-13' AND booking_date < '$cut' AND '$cut' <= '2026-12-01'")
    periods=$(psql "$DATABASE_URL" -qAt -c "SELECT count(*) FROM account_balances WHERE tenant_id = '$tb_id' AND account = '$BAL_ACCOUNT' AND month_start < '$cut'")
    entries_through=$(psql "$DATABASE_URL" -qAt -c "SELECT count(*) FROM entries WHERE tenant_id = '$tb_id' AND account = '$BAL_ACCOUNT' AND booking_date <= '$day'")
    same=$([ "$value" = "$floor_value" ] && echo yes || echo "NO ($floor_value)")
    bal_rows+="| $at ($day) | $mean ms | $periods + $days + $p13 | $floor_ms ms ($entries_through entries) | $old_ms ms | $same |"$'\n'
done <<<"$bal_out"
# The trial balance's partial-month read before issue 13 (the entries of 1-17 June), the same
# way, for the largest of its three reads (through 17 June).
old_tb_sql="SELECT account, coalesce(sum(d), 0), coalesce(sum(c), 0) FROM (SELECT account, debit AS d, credit AS c FROM account_balances WHERE tenant_id = '$tb_id' AND month_start < '2026-06-01' UNION ALL SELECT account, debit, credit FROM entries WHERE tenant_id = '$tb_id' AND booking_date >= '2026-06-01' AND booking_date <= '2026-06-17' UNION ALL SELECT e.account, e.debit, e.credit FROM journal_events j JOIN entries e ON e.tenant_id = j.tenant_id AND e.seq = j.seq WHERE j.tenant_id = '$tb_id' AND j.period = '2026-13' AND e.booking_date < '2026-06-01') x GROUP BY account"
read -r old_tb_ms _ < <(psql_ms "SELECT count(*), sum(d) FROM ($old_tb_sql) t(a, d, c)")

seconds_of() { sed -n "s/.*\"range\":\"$1\".*\"seconds\":\([0-9.]*\).*/\1/p" <<<"$tb_out"; }
{
    echo "run $run (UTC), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    echo "| what | scale | time | peak RSS | floor (psql, same run) |"
    echo "|---|---:|---:|---:|---:|"
    echo "| DATEV export (Buchungsstapel 2026, process incl. start-up) | $lines_e lines | ${export_s} s | ${export_mb} MiB | ${floor_e_s} s to stream the lines (${floor_e_mb} MiB psql) |"
    echo "| trial balance, whole year (in process, warm) | $lines_t entries | $(seconds_of year) s | ${tb_mb} MiB (process, 3 ranges) | ${floor_t_s} s aggregate over entries; ${floor_b_s} s over account_balances |"
    echo "| trial balance, one month | $lines_t entries | $(seconds_of month) s | | |"
    echo "| trial balance, partial month (1–17 June) | $lines_t entries | $(seconds_of partial_month) s | | |"
    echo
    echo "Balance of account $BAL_ACCOUNT (\`Store::balance_at\`, in process, warm, mean of 50 calls) at $lines_t entries:"
    echo
    echo "| date | kontor | rows read: periods + days + period-13 days | floor: plain sum over entries (psql, median of 5) | before issue 13 (psql, same SQL as then) | equals the floor |"
    echo "|---|---:|---:|---:|---:|---|"
    printf '%s' "$bal_rows"
    echo
    echo "Trial balance, sums through 17 June as read before issue 13 (psql, median of 5): ${old_tb_ms} ms"
    echo "Plans (EXPLAIN ANALYZE BUFFERS): $DATA/explain.txt"
    echo
    echo "export: $export_out"
    echo "trial balance process wall time: ${tb_s} s"
    echo "load: $load_e ($load_e_s s)"
    echo "load: $load_t ($load_t_s s)"
    echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- crates schema || echo ' (with uncommitted changes)')"
} | tee "$DATA/report.md"
