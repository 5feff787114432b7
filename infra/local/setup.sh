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
echo "set up: .venv (shenpi $(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("shenpi"))'))"
