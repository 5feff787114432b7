#!/usr/bin/env bash
# Sets up the project on a fresh machine: a virtualenv in .venv with the project and its test tools.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test]"
# Real peers for the alerting and metrics tests (Debian packages), where this machine can install them.
if ! command -v prometheus >/dev/null || ! command -v prometheus-alertmanager >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus prometheus-alertmanager \
      >/dev/null || { echo "could not install prometheus/prometheus-alertmanager: their tests need them" >&2; exit 1; }
  else
    echo "prometheus and prometheus-alertmanager are missing: install them (their tests fail without)" >&2
  fi
fi
# The browser for the console's tests: Debian's chromium (Playwright drives it; no browser download), and a CJK
# font so that its pages and screenshots show Chinese.
if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk"; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei \
      >/dev/null || { echo "could not install chromium: the browser and report tests need it" >&2; exit 1; }
  else
    echo "chromium is missing: install it (the browser and report tests fail without)" >&2
  fi
fi
# The archive: OCR (tesseract with simplified and traditional Chinese, measured against RapidOCR by bench/ocr.py),
# scanned PDF pages rendered for it (poppler-utils), old .doc/.wps converted by LibreOffice headless.
if ! command -v tesseract >/dev/null || ! command -v pdftoppm >/dev/null || ! command -v soffice >/dev/null \
   || ! tesseract --list-langs 2>/dev/null | grep -q chi_tra; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends tesseract-ocr \
      tesseract-ocr-chi-sim tesseract-ocr-chi-tra poppler-utils libreoffice-writer-nogui >/dev/null \
      || { echo "could not install tesseract/poppler-utils/libreoffice: the archive's tests need them" >&2; exit 1; }
  else
    echo "tesseract-ocr(-chi-sim, -chi-tra), poppler-utils, libreoffice-writer-nogui are missing: install them" >&2
  fi
fi
# Node.js and npm (Debian's) for the console's front-end packages and the TimescaleDB tests.
if ! command -v npm >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null \
      || { echo "could not install nodejs/npm" >&2; exit 1; }
  fi
fi
# The console's front-end packages (ECharts), from npm.
if command -v npm >/dev/null; then
  (cd infra/console && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || { echo "npm ci in infra/console failed" >&2; exit 1; }
fi
# TimescaleDB for the tests: PGlite with the extension, served over the wire protocol (infra/pglite).
if command -v npm >/dev/null; then
  (cd infra/pglite && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || { echo "npm ci in infra/pglite failed" >&2; exit 1; }
else
  echo "Node.js/npm are missing: the TimescaleDB tests and the console's charts need them" >&2
fi
echo "set up: .venv (shenpi $(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("shenpi"))'))"
