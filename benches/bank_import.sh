#!/usr/bin/env bash
# Bank statement import: 100,000 camt.053 transactions through
# POST /v1/bank-transactions/import-file, against a same-run baseline (PostgreSQL COPY of the
# same 100,000 rows into a scratch table with the same columns).
#
# Builds the release binary, creates a fresh PostgreSQL cluster of its own under
# .bench-data/bank-pg (durable defaults), a tenant and a bank account, starts `kontor serve` on
# a free loopback port, generates one camt.053 file with BENCH_BANK_ROWS entries (one
# statement, balances that add up) and uploads it with curl, then uploads it again (every row a
# duplicate). Checks the result in the database: BENCH_BANK_ROWS transactions, their sum, one
# statement with balance_ok. Everything it starts is stopped again by its pid, also on error.
# See benches/README.md, "Bank statement import".
#
# Knobs (environment):
#   BENCH_BANK_ROWS=100000
#   PG_EXTRA_OPTS              PostgreSQL settings, read by scripts/pg.sh (default below)
#   KONTOR_WORKERS, KONTOR_DB_POOL_SIZE   passed on to the server when set
#   CARGO_TARGET_DIR           respected (default target/)
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=${BENCH_BANK_ROWS:-100000}
DATA=.bench-data/bank
PG_DIR=.bench-data/bank-pg
export PG_EXTRA_OPTS=${PG_EXTRA_OPTS:-"-c shared_buffers=512MB -c wal_buffers=64MB -c max_wal_size=4GB -c checkpoint_timeout=15min"}

log() { echo "bench-bank: $*" >&2; }

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

# --- database: a fresh cluster every run ------------------------------------------------------
mkdir -p "$DATA"
if [ -f "$PG_DIR/data/postmaster.pid" ]; then
    scripts/pg.sh stop "$PG_DIR"
fi
rm -rf "$PG_DIR"
pg_started=1
DATABASE_URL=$(scripts/pg.sh start "$PG_DIR")
export DATABASE_URL
psql_q() { psql "$DATABASE_URL" -X -q -tA -v ON_ERROR_STOP=1 -c "$1"; }

export RUST_LOG=${RUST_LOG:-warn,app::bank=info}
unset KONTOR_BIND
"$bin" migrate >/dev/null
slug="bank-$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')"
tenant_json=$("$bin" admin create-tenant --slug "$slug" --name "Bank Bench")
key=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])' <<<"$tenant_json")
tenant_id=$(psql_q "SELECT id FROM tenants WHERE slug = '$slug'")

# --- the file and the baseline's rows ---------------------------------------------------------
IBAN=DE89370400440532013000
log "generating $ROWS camt.053 entries"
python3 - "$ROWS" "$IBAN" "$DATA/statement.xml" "$DATA/rows.tsv" <<'PY'
import sys
rows, iban, xml_path, tsv_path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
total = sum(100 + i % 9900 for i in range(rows))  # cents, all money in
with open(xml_path, "w") as x, open(tsv_path, "w") as t:
    x.write('<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">'
            '<BkToCstmrStmt><GrpHdr><MsgId>BENCH</MsgId><CreDtTm>2026-03-31T23:00:00</CreDtTm></GrpHdr>'
            f'<Stmt><Id>BENCH-1</Id><Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>EUR</Ccy></Acct>'
            '<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">0.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-01-01</Dt></Dt></Bal>'
            f'<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{total // 100}.{total % 100:02d}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-03-31</Dt></Dt></Bal>')
    for i in range(rows):
        cents = 100 + i % 9900
        amount = f"{cents // 100}.{cents % 100:02d}"
        day = f"2026-{1 + (i * 3) // rows:02d}-{1 + i % 28:02d}"
        x.write(f'<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>'
                f'<BookgDt><Dt>{day}</Dt></BookgDt><ValDt><Dt>{day}</Dt></ValDt><AcctSvcrRef>R{i}</AcctSvcrRef>'
                f'<NtryDtls><TxDtls><Refs><EndToEndId>E{i}</EndToEndId></Refs><RltdPties><Dbtr><Pty><Nm>Kunde {i}</Nm></Pty></Dbtr>'
                '<DbtrAcct><Id><IBAN>DE02120300000000202051</IBAN></Id></DbtrAcct></RltdPties>'
                f'<RmtInf><Ustrd>Rechnung RE-{i}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>')
        # The baseline's row: the same fields, a 32-byte key, a raw text of the entry's size.
        t.write(f"\\\\x{i:064x}\t{day}\t{day}\t{amount}\tEUR\tKunde {i}\tDE02120300000000202051\tRechnung RE-{i}\tE{i}\tR{i}\t{'x' * 400}\n")
    x.write("</Stmt></BkToCstmrStmt></Document>")
PY
expected_sum=$(python3 -c "import sys; r=int(sys.argv[1]); t=sum(100 + i % 9900 for i in range(r)); print(f'{t // 100}.{t % 100:02d}')" "$ROWS")
size=$(stat -c %s "$DATA/statement.xml")
log "file: $((size / 1000000)) MB"

# --- baseline: COPY of the same rows into a scratch table --------------------------------------
cols="fingerprint, booking_date, value_date, amount, currency, counterparty_name, counterparty_iban, remittance_info, end_to_end_id, bank_reference, raw"
psql_q "CREATE TABLE bench_copy (fingerprint bytea, booking_date date, value_date date, amount numeric, currency text,
        counterparty_name text, counterparty_iban text, remittance_info text, end_to_end_id text, bank_reference text, raw text)"
# The same table as bank_transactions (its indexes, checks and defaults; no foreign keys, no
# triggers), constant tenant, account and batch.
psql_q "CREATE TABLE bench_copy_indexed (LIKE bank_transactions INCLUDING ALL);
        ALTER TABLE bench_copy_indexed ALTER COLUMN tenant_id SET DEFAULT '$tenant_id',
            ALTER COLUMN id SET DEFAULT gen_random_uuid(), ALTER COLUMN bank_account_id SET DEFAULT gen_random_uuid(),
            ALTER COLUMN batch_id SET DEFAULT gen_random_uuid()"
timed() { local start; start=$(date +%s.%N); "$@"; python3 -c "import sys,time; print(f'{time.time() - float(sys.argv[1]):.2f}')" "$start"; }
copy_s=$(timed psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 -c "\\copy bench_copy ($cols) FROM '$DATA/rows.tsv'")
# One account for every row, as in the import (the unique key is per tenant and account).
psql_q "ALTER TABLE bench_copy_indexed ALTER COLUMN bank_account_id SET DEFAULT '00000000-0000-0000-0000-000000000001'"
copy_idx_s=$(timed psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 -c "\\copy bench_copy_indexed ($cols) FROM '$DATA/rows.tsv'")
copied=$(psql_q "SELECT count(*) FROM bench_copy")
copied_idx=$(psql_q "SELECT count(*) FROM bench_copy_indexed")

# --- server --------------------------------------------------------------------------------
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
export KONTOR_BIND=127.0.0.1:$port
export KONTOR_REQUEST_TIMEOUT_SECS=${KONTOR_REQUEST_TIMEOUT_SECS:-300}
"$bin" serve >"$DATA/kontor.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "http://$KONTOR_BIND/health" 2>/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || { log "kontor serve exited:"; tail -20 "$DATA/kontor.log" >&2; exit 1; }
    sleep 0.1
done
account=$(curl -fsS "http://$KONTOR_BIND/v1/bank-accounts" -H "Authorization: Bearer $key" \
    -H 'Content-Type: application/json' -d "{\"name\":\"Bench\",\"iban\":\"$IBAN\"}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')

upload() { # output-file -> prints "http_code seconds"
    curl -sS -o "$1" -w '%{http_code} %{time_total}\n' "http://$KONTOR_BIND/v1/bank-transactions/import-file" \
        -H "Authorization: Bearer $key" -F "bank_account_id=$account" -F "file=@$DATA/statement.xml"
}
log "importing"
read -r code1 time1 < <(upload "$DATA/import1.json")
[ "$code1" = 201 ] || { log "import answered HTTP $code1: $(head -c 500 "$DATA/import1.json")"; exit 1; }
log "importing again (every row a duplicate)"
read -r code2 time2 < <(upload "$DATA/import2.json")
[ "$code2" = 201 ] || { log "re-import answered HTTP $code2: $(head -c 500 "$DATA/import2.json")"; exit 1; }
field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {"d": d}))' "$1" "$2"; }
imported=$(field "$DATA/import1.json" 'd["imported"]')
ok=$(field "$DATA/import1.json" 'd["statements"][0]["balance_check"]["ok"]')
reimported=$(field "$DATA/import2.json" 'd["imported"]')
dups=$(field "$DATA/import2.json" 'd["skipped_duplicates"]')

# --- report and verification ------------------------------------------------------------------
in_db=$(psql_q "SELECT count(*) || ' ' || sum(amount) FROM bank_transactions WHERE tenant_id = '$tenant_id'")
statements=$(psql_q "SELECT count(*) FILTER (WHERE balance_ok) || '/' || count(*) FROM bank_statements WHERE tenant_id = '$tenant_id'")
cores=$(nproc)
cpu_model=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
{
echo
echo "kontor bank import, $ROWS camt.053 transactions ($((size / 1000000)) MB), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "machine: $cores cores, $cpu_model; PostgreSQL $(psql_q 'SHOW server_version'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| step | seconds | rows/s |"
echo "|:-----|--------:|-------:|"
awk -v r="$ROWS" -v t="$time1" 'BEGIN { printf "| POST /v1/bank-transactions/import-file (upload, parse, fingerprint, insert, commit) | %.2f | %.0f |\n", t, r / t }'
awk -v r="$ROWS" -v t="$time2" 'BEGIN { printf "| the same file again (every row a duplicate) | %.2f | %.0f |\n", t, r / t }'
awk -v r="$copied" -v t="$copy_s" 'BEGIN { printf "| baseline: psql \\\\copy of the same rows into a scratch table | %.2f | %.0f |\n", t, r / t }'
awk -v r="$copied_idx" -v t="$copy_idx_s" 'BEGIN { printf "| baseline: psql \\\\copy of the same rows into a table like bank_transactions (its 5 indexes) | %.2f | %.0f |\n", t, r / t }'
echo
echo "server's own timings (ms since the file was read; app::bank log lines):"
grep -o '"message":"statement file[^"]*"\|"ms":[0-9]*' "$DATA/kontor.log" | paste -d' ' - - | sed 's/^/  /' || true
echo
} | tee "$DATA/report.md"
fail=0
echo "verification ($slug):"
if [ "$imported" = "$ROWS" ] && [ "$in_db" = "$ROWS $expected_sum" ]; then
    echo "  ok: $imported imported; the database holds $ROWS transactions summing to $expected_sum"
else
    echo "  FAIL: imported $imported, database: $in_db (expected $ROWS $expected_sum)"; fail=1
fi
if [ "$ok" = True ] && [ "$statements" = "1/1" ]; then
    echo "  ok: the statement's balances add up (balance_check.ok, $statements statements ok)"
else
    echo "  FAIL: balance_check.ok=$ok, statements ok/all: $statements"; fail=1
fi
if [ "$reimported" = 0 ] && [ "$dups" = "$ROWS" ]; then
    echo "  ok: the re-import imported 0 and counted $dups duplicates"
else
    echo "  FAIL: the re-import imported $reimported, duplicates $dups"; fail=1
fi
[ "$fail" = 0 ] || exit 1
