#!/usr/bin/env bash
# The inbox reads scans and photos with Tesseract (Debian packages tesseract-ocr and
# tesseract-ocr-deu): installed here as root when missing. Used by scripts/test.sh and
# scripts/run.sh; without root it only says what is missing (OCR then answers 502 ocr_failed).
set -euo pipefail
if command -v tesseract >/dev/null 2>&1 && tesseract --list-langs 2>/dev/null | grep -qx deu; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "tesseract (with German) not found: installing tesseract-ocr tesseract-ocr-deu" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq tesseract-ocr tesseract-ocr-deu >&2
else
    echo "warning: tesseract with German (tesseract-ocr, tesseract-ocr-deu) is missing: OCR of scans will fail" >&2
fi
