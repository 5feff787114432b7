#!/usr/bin/env bash
# Runs ruff and mypy, then the test suite against the real broker (started by the tests) and the PostgreSQL at
# SHENPI_TEST_ADMIN_DSN (default postgresql://postgres@127.0.0.1:5432/postgres). "No tests ran" is a failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
# lint and types first ([tool.ruff], [tool.mypy] in pyproject.toml): a finding fails the run before any test starts
.venv/bin/ruff check . || exit 1
.venv/bin/mypy || exit 1
# two processes by default (SHENPI_TEST_WORKERS, 0 for one): each has its own database and services, a test file stays
# in one of them; most tests wait on processes, brokers and browsers, so two halve the time on two cores
workers="${SHENPI_TEST_WORKERS:-2}"
if [ "$workers" -gt 0 ]; then
  .venv/bin/python -m pytest -n "$workers" --dist loadfile "$@"
else
  .venv/bin/python -m pytest "$@"
fi
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit "$rc"
