#!/usr/bin/env bash
# The inbox's extraction bench: per-field accuracy and time per document for each path (xml,
# text, ocr) on fixtures/einvoices/. Needs tesseract-ocr and tesseract-ocr-deu (installed as
# root when missing). INBOX_BENCH_ROUNDS (default 20; OCR runs at most 3 rounds);
# INBOX_BENCH_PROFILE=dev for a debug build (default release). Figures: benches/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-tesseract.sh
profile=${INBOX_BENCH_PROFILE:-release}
mkdir -p .bench-data
if [ "$profile" = release ]; then
    cargo run -q --release -p inbox --example accuracy -- "${INBOX_BENCH_ROUNDS:-20}" | tee .bench-data/inbox-report.md
else
    cargo run -q -p inbox --example accuracy -- "${INBOX_BENCH_ROUNDS:-20}" | tee .bench-data/inbox-report.md
fi
