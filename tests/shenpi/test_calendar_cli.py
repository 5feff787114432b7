"""`shenpi calendar`: a calendar file in, the working days it sets out; a bad file refused with its reason."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import truncate_all

CN_2025 = Path(__file__).resolve().parents[2] / "infra" / "calendars" / "cn-2025.yaml"


def shenpi(dsn: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "shenpi", *args], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, SHENPI_DATABASE_URL=dsn))


def test_calendar_load_and_show(database_url, tmp_path):
    truncate_all(database_url)
    out = shenpi(database_url, "calendar", "load", str(CN_2025))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"days": 33, "cases_reevaluated": 0}
    days = json.loads(shenpi(database_url, "calendar", "show", "--year", "2025").stdout)
    assert {"day": "2025-01-26", "workday": True, "note": "春節調休"} in days
    assert sum(not d["workday"] for d in days) == 28

    bad = tmp_path / "bad.yaml"
    bad.write_text("holidays:\n  - {name: x, from: 2025-05-05, to: 2025-05-01}\n")
    out = shenpi(database_url, "calendar", "load", str(bad))
    assert out.returncode != 0 and "'to' is before 'from'" in out.stderr
