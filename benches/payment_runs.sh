#!/usr/bin/env bash
# Payment runs: how long exporting a run of 1,000 invoices takes over HTTP (issue 11: under a
# second), next to the baseline of the same run: the SQL that loads the run's rows.
#
# Builds the binary, creates a fresh PostgreSQL cluster under .bench-data/payruns-pg, a tenant,
# a bank account, BENCH_VENDORS vendors with IBANs and BENCH_INVOICES incoming invoices (over
# HTTP), starts `kontor serve`, creates a run of all invoices (one payment per invoice), has a
# second key approve it, and times:
#   - baseline: loading the run's payments and items in psql (the rows the export reads),
#   - the first export (pain.001.001.09 written, checked and stored), the replay of the stored
#     file, and GET …/file,
#   - for information, creating the run and completing it (one booking per payment).
# The file is validated against the ISO XSD with xmllint when ../shared/fixtures/xsd exists.
# Exits 1 when the first export takes BENCH_LIMIT_MS (1000) or more. Stops what it started.
#
# Knobs: BENCH_INVOICES (1000), BENCH_VENDORS (100), BENCH_PROFILE (release | debug; debug uses
# target/debug/kontor without a release build), BENCH_LIMIT_MS (1000), CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

INVOICES=${BENCH_INVOICES:-1000}
VENDORS=${BENCH_VENDORS:-100}
PROFILE=${BENCH_PROFILE:-release}
LIMIT_MS=${BENCH_LIMIT_MS:-1000}
DATA=.bench-data
PG_DIR=$DATA/payruns-pg

log() { echo "bench(payment runs): $*" >&2; }

server_pid=""
pg_started=""
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [ -n "$pg_started" ]; then
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
target=${CARGO_TARGET_DIR:-target}
if [ "$PROFILE" = release ]; then
    log "building the release binary"
    cargo build --release -p kontor >&2
    bin=$target/release/kontor
else
    cargo build -p kontor >&2
    bin=$target/debug/kontor
fi
[ -x "$bin" ] || { log "no binary at $bin"; exit 1; }

mkdir -p "$DATA"
if [ -f "$PG_DIR/data/postmaster.pid" ]; then
    scripts/pg.sh stop "$PG_DIR"
fi
rm -rf "$PG_DIR"
pg_started=1
DATABASE_URL=$(scripts/pg.sh start "$PG_DIR")
export DATABASE_URL
psql_q() { psql "$DATABASE_URL" -X -q -tA -v ON_ERROR_STOP=1 -c "$1"; }

export RUST_LOG=${RUST_LOG:-warn}
unset KONTOR_BIND
"$bin" migrate >/dev/null
slug="payruns-$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')"
tenant_json=$("$bin" admin create-tenant --slug "$slug" --name "Bench Zahllauf GmbH")
key=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])' <<<"$tenant_json")
key2_json=$("$bin" admin create-api-key --tenant "$slug" --name approver --scopes payments:read,payments:write)
key2=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])' <<<"$key2_json")
tenant_id=$(psql_q "SELECT id FROM tenants WHERE slug = '$slug'")
bank_id=$(python3 -c 'import uuid; print(uuid.uuid4())')
psql_q "INSERT INTO bank_accounts (tenant_id, id, name, iban, bic, currency, ledger_account, created_by)
        VALUES ('$tenant_id', '$bank_id', 'Hausbank', 'DE44500105175407324931', 'COBADEFFXXX', 'EUR', '1200',
                '{\"kind\":\"system\",\"id\":\"bench\"}')"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
export KONTOR_BIND=127.0.0.1:$port
"$bin" serve >"$DATA/payruns-kontor.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "http://$KONTOR_BIND/health" 2>/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || { log "kontor serve exited:"; tail -20 "$DATA/payruns-kontor.log" >&2; exit 1; }
    sleep 0.1
done

xsd=../shared/fixtures/xsd/pain.001.001.09.xsd
BENCH_KEY=$key BENCH_KEY2=$key2 BENCH_BANK=$bank_id BENCH_ADDR=$KONTOR_BIND \
BENCH_N=$INVOICES BENCH_V=$VENDORS BENCH_OUT=$DATA/payruns python3 - <<'PY' >"$DATA/payruns-times.txt"
import http.client, json, os, time, datetime
addr = os.environ["BENCH_ADDR"]; key = os.environ["BENCH_KEY"]; key2 = os.environ["BENCH_KEY2"]
n = int(os.environ["BENCH_N"]); nv = int(os.environ["BENCH_V"]); out = os.environ["BENCH_OUT"]
conn = http.client.HTTPConnection(addr)
def call(method, path, body=None, k=key, expect=(200, 201)):
    h = {"Authorization": "Bearer " + k}
    data = None
    if body is not None:
        data = json.dumps(body); h["Content-Type"] = "application/json"
    t = time.perf_counter()
    conn.request(method, path, data, h)
    r = conn.getresponse(); raw = r.read()
    ms = (time.perf_counter() - t) * 1000
    if r.status not in expect:
        raise SystemExit(f"{method} {path}: HTTP {r.status} {raw[:500]!r}")
    return raw, ms, r
def iban(i):
    # German IBANs with valid check digits: DEkk 37040044 + a 10-digit account.
    bban = "37040044" + f"{i + 1:010d}"
    num = int("".join(str(int(c, 36)) for c in bban + "DE00"))
    return f"DE{98 - num % 97:02d}{bban}"
today = datetime.date.today()
vendors = []
for v in range(nv):
    raw, _, _ = call("POST", "/v1/vendors", {"name": f"Lieferant {v:03d} Müller & Söhne GmbH", "iban": iban(v)})
    vendors.append(json.loads(raw)["id"])
ids = []
t0 = time.perf_counter()
for i in range(n):
    raw, _, _ = call("POST", "/v1/invoices", {
        "vendor_id": vendors[i % nv], "invoice_number": f"RE-2026/{i:05d}",
        "invoice_date": str(today - datetime.timedelta(days=3)), "due_date": str(today + datetime.timedelta(days=2)),
        "lines": [{"description": "Material", "unit_price": f"{10 + i % 90}.{i % 100:02d}", "tax_code": "VSt19", "account": "3400"}]})
    ids.append(json.loads(raw)["id"])
setup_s = time.perf_counter() - t0
raw, create_ms, _ = call("POST", "/v1/payment-runs", {
    "bank_account_id": os.environ["BENCH_BANK"], "execution_date": str(today + datetime.timedelta(days=1)),
    "invoice_ids": ids, "label": "Bench"})
run = json.loads(raw)
rid = run["id"]
call("POST", f"/v1/payment-runs/{rid}/approve", k=key2)
raw, export_ms, _ = call("POST", f"/v1/payment-runs/{rid}/export")
ex = json.loads(raw)
open(out + ".xml", "w").write(ex["sepa_xml"])
raw2, replay_ms, _ = call("POST", f"/v1/payment-runs/{rid}/export")
assert json.loads(raw2)["sepa_xml"] == ex["sepa_xml"], "the replay differs"
raw3, file_ms, _ = call("GET", f"/v1/payment-runs/{rid}/file")
assert raw3.decode() == ex["sepa_xml"], "the file differs"
raw, complete_ms, _ = call("POST", f"/v1/payment-runs/{rid}/complete")
assert json.loads(raw)["status"] == "completed"
print(f"run={rid} invoices={n} vendors={nv} transactions={ex['number_of_transactions']} control_sum={ex['control_sum']} "
      f"xml_bytes={len(ex['sepa_xml'].encode())} setup_s={setup_s:.1f} create_ms={create_ms:.1f} export_ms={export_ms:.1f} "
      f"replay_ms={replay_ms:.1f} file_ms={file_ms:.1f} complete_ms={complete_ms:.1f}")
PY
line=$(cat "$DATA/payruns-times.txt")
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $line"; }
run_id=$(field run)
# Baseline: the rows the export reads (the run, its payments and items, as store::payment_runs
# loads them), timed by psql; the second of two rounds (warm), the three statements summed.
baseline_sql="SELECT id, status, execution_date, debtor_name, debtor_iban, debtor_bic FROM payment_runs
                WHERE tenant_id = '$tenant_id' AND id = '$run_id';
              SELECT position, end_to_end_id, vendor_id, creditor_name, creditor_iban, creditor_bic, amount, remittance
                FROM payment_run_payments WHERE tenant_id = '$tenant_id' AND run_id = '$run_id' ORDER BY position;
              SELECT position, invoice_id, vendor_id, invoice_number, invoice_type, open_amount, amount, discount, end_to_end_id
                FROM payment_run_items WHERE tenant_id = '$tenant_id' AND run_id = '$run_id' ORDER BY position;"
baseline=$(printf '\\timing on\n\\o /dev/null\n%s\n%s\n' "$baseline_sql" "$baseline_sql" \
    | psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' \
    | tail -3 | awk '{ s += $1 } END { printf "%.1f", s }')
valid="not checked (../shared/fixtures/xsd missing or xmllint not installed)"
if [ -f "$xsd" ] && command -v xmllint >/dev/null 2>&1; then
    if xmllint --noout --schema "$xsd" "$DATA/payruns.xml" 2>"$DATA/payruns-xmllint.txt"; then
        valid="valid against pain.001.001.09.xsd"
    else
        valid="INVALID (see $DATA/payruns-xmllint.txt)"
    fi
fi
{
echo
echo "kontor payment run export, $(field invoices) invoices of $(field vendors) vendors, $PROFILE build, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "machine: $(nproc) cores, $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| step | ms |"
echo "|:-----|---:|"
echo "| baseline: SELECT of the run's payments and items (psql, warm) | $baseline |"
echo "| POST …/export, first (pain.001.001.09 written, checked, stored) | $(field export_ms) |"
echo "| POST …/export, again (stored file replayed) | $(field replay_ms) |"
echo "| GET …/file | $(field file_ms) |"
echo "| POST /v1/payment-runs (plan and write the draft) | $(field create_ms) |"
echo "| POST …/complete ($(field transactions) bookings + applications, one transaction) | $(field complete_ms) |"
echo
echo "file: $(field transactions) transactions, control sum $(field control_sum), $(field xml_bytes) bytes, $valid"
} | tee "$DATA/payruns-report.md"
case "$valid" in INVALID*) exit 1 ;; esac
ok=$(awk -v e="$(field export_ms)" -v l="$LIMIT_MS" 'BEGIN { print (e < l) ? 1 : 0 }')
[ "$ok" = 1 ] || { log "the first export took $(field export_ms) ms (limit $LIMIT_MS ms)"; exit 1; }
