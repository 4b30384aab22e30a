#!/usr/bin/env python3
"""Generates a Python client from a running kontor's OpenAPI document with
openapi-python-client, and drives the server through it: creates a booking, reads it from
the journal, reverses it, lists the periods. Exits 0 when every step answers as documented.

    scripts/api_client_check.py BASE_URL API_KEY WORK_DIR

Used by crates/kontor/tests/clients.rs (`make test` installs openapi-python-client).
"""

import importlib
import json
import subprocess
import sys
import urllib.request
from pathlib import Path


def main() -> int:
    base, key, work = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    work.mkdir(parents=True, exist_ok=True)
    spec = work / "openapi.json"
    with urllib.request.urlopen(f"{base}/openapi.json") as r:
        spec.write_bytes(r.read())
    out = work / "kontor_client"
    gen = subprocess.run(
        [
            "openapi-python-client", "generate", "--path", str(spec), "--meta", "none",
            "--output-path", str(out), "--overwrite",
        ],
        capture_output=True, text=True,
    )
    print(gen.stdout[-3000:], gen.stderr[-3000:], file=sys.stderr)
    if gen.returncode != 0:
        print("client generation failed", file=sys.stderr)
        return 1
    sys.path.insert(0, str(work))
    client_mod = importlib.import_module("kontor_client")
    create_booking = importlib.import_module("kontor_client.api.journal.create_booking")
    get_intent = importlib.import_module("kontor_client.api.journal.get_intent")
    list_journal = importlib.import_module("kontor_client.api.journal.list_journal")
    reverse_intent = importlib.import_module("kontor_client.api.journal.reverse_intent")
    list_periods = importlib.import_module("kontor_client.api.periods.list_periods")
    models = importlib.import_module("kontor_client.models")

    client = client_mod.AuthenticatedClient(base_url=base, token=key, raise_on_unexpected_status=True)
    steps = {}

    booking = models.BookingRequest.from_dict({
        "booking_date": "2026-03-14",
        "description": "Booked through the generated client",
        "external_reference": "CLIENT-1",
        "lines": [
            {"account": "1400", "debit": "119.00"},
            {"account": "8400", "credit": "100.00", "tax_code": "USt19"},
        ],
    })
    res = create_booking.sync_detailed(client=client, body=booking)
    assert res.status_code == 201, (res.status_code, res.content)
    intent_id = str(res.parsed.intent_id)
    steps["createBooking"] = intent_id

    res = get_intent.sync_detailed(intent_id=intent_id, client=client)
    assert res.status_code == 200, (res.status_code, res.content)
    lines = res.parsed.to_dict()["entries"]
    assert len(lines) == 3, lines  # receivable, revenue and the generated VAT line
    steps["getIntent"] = len(lines)

    res = list_journal.sync_detailed(client=client, external_reference="CLIENT-1")
    assert res.status_code == 200, (res.status_code, res.content)
    found = [e for e in res.parsed.to_dict()["entries"] if e["intent_id"] == intent_id]
    assert len(found) == 3, res.parsed.to_dict()
    steps["listJournal"] = len(found)

    res = reverse_intent.sync_detailed(
        client=client,
        body=models.ReverseRequest.from_dict({"intent_id": intent_id, "reason": "Typo in the amount"}),
    )
    assert res.status_code == 201, (res.status_code, res.content)
    reversal = res.parsed.to_dict()
    assert reversal["original_intent_id"] == intent_id, reversal
    steps["reverseIntent"] = reversal["reversal_intent_id"]

    res = list_periods.sync_detailed(client=client, fiscal_year=2026)
    assert res.status_code == 200, (res.status_code, res.content)
    periods = [p.to_dict() if hasattr(p, "to_dict") else p for p in res.parsed]
    assert len(periods) >= 12, periods
    steps["listPeriods"] = len(periods)

    print(json.dumps(steps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
