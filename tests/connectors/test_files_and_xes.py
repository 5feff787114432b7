"""Backfills through the CLI on the real stack: JSONL and CSV files, and a real XES log through its mapping."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime

import pytest

from connectors.parsing import validate
from connectors.xes import XesConnector, mapping_for
from shenpi.demo import SHARED_LOGS
from tests.conftest import truncate_all
from tests.reference import recompute

pytestmark = pytest.mark.broker
LOGS = SHARED_LOGS
SH = __import__("zoneinfo").ZoneInfo("Asia/Shanghai")


def shenpi(stack, *args) -> dict:
    out = subprocess.run([sys.executable, "-m", "shenpi", *args], env=stack.env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout)


def test_jsonl_and_csv_backfills_are_counted_or_dead_lettered(stack, tmp_path):
    truncate_all(stack.settings.database_url)
    events = [
        {"event_id": "f1", "case_id": "fc1", "type": "submitted", "occurred_at": "2024-06-03T09:00:00+08:00",
         "item_code": "I", "region_code": "330102", "department_code": "D", "channel": "online"},
        {"event_id": "f2", "case_id": "fc1", "type": "accepted", "occurred_at": "2024-06-03T10:00:00+08:00"},
        {"event_id": "f2", "case_id": "fc1", "type": "accepted", "occurred_at": "2024-06-03T10:00:00+08:00"},
    ]
    jl = tmp_path / "events.jsonl"
    jl.write_text("\n".join(json.dumps(e) for e in events) + "\n{broken\n")
    out = shenpi(stack, "ingest", str(jl), "--wait")
    assert (out["received"], out["accepted"], out["refused"], out["new"], out["duplicates"]) == (4, 3, 1, 2, 1)
    before = shenpi(stack, "status", "--json")
    shenpi(stack, "ingest", str(jl), "--wait")
    after = shenpi(stack, "status", "--json")
    assert (after["counted"], after["duplicates"]) == (before["counted"], before["duplicates"]) == (2, 1), \
        "the same file twice is a no-op downstream"

    csv = tmp_path / "more.csv"
    csv.write_text("event_id,case_id,type,occurred_at,outcome,score\n"
                   "f3,fc1,completed,2024-06-04T10:00:00+08:00,approved,\n"
                   "f4,fc1,evaluated,2024-06-04T11:00:00+08:00,,5\n"
                   "f5,fc1,evaluated,2024-06-04T11:00:00+08:00,,seven\n")
    out = shenpi(stack, "ingest", str(csv), "--wait")
    assert (out["accepted"], out["refused"]) == (2, 1)
    status = shenpi(stack, "status", "--json")
    assert status["reconciled"] and status["counted"] == 4 and status["dead_lettered"] == 2
    rows = shenpi(stack, "indicators", "--from", "2024-06-01", "--to", "2024-07-01", "--format", "json")
    assert rows[0]["received"] == 1 and rows[0]["completed"] == 1 and rows[0]["satisfaction_rate"] == 1.0
    assert rows[0]["avg_handling_hours"] == 24.0


def test_xes_mapping_turns_every_trace_into_a_valid_case():
    log = LOGS / "WABO_receipt.xes.gz"
    conn = XesConnector(log, mapping_for(log))
    good, bad = validate(list(conn.items()), "case_event", b"test-key")
    assert bad == []
    cases = {e.case_id for e in good}
    assert len(cases) == 1434, "one case per trace"
    assert sum(e.type == "submitted" for e in good) == 1434
    assert {e.type for e in good} >= {"submitted", "accepted", "correction_requested", "completed"}
    for e in good:
        if e.type == "submitted":
            assert e.channel in ("online", "window", "post")


def test_the_shared_logs_are_there():
    """The tests below read them: missing, they fail here, not skip (SHENPI_EVENTLOGS points elsewhere)."""
    assert len(list(LOGS.glob("*.xes.gz"))) >= 7, f"no real event logs in {LOGS}: set SHENPI_EVENTLOGS"


@pytest.mark.parametrize("log", sorted(LOGS.glob("*.xes.gz")), ids=lambda p: p.name.split(".")[0])
def test_every_shared_log_has_a_shipped_mapping_that_gives_valid_cases(log):
    conn = XesConnector(log, mapping_for(log), limit=300)
    good, bad = validate(list(conn.items()), "case_event", b"test-key")
    assert bad == [] and len({e.case_id for e in good}) == 300
    assert sum(e.type == "submitted" for e in good) == 300
    assert {e.type for e in good} >= {"submitted", "accepted", "completed"}
    listed = {c["item_code"] for _, c in conn.list_connector().items()}
    assert listed, "the mapping puts its items on the list"


def test_import_xes_gives_the_indicators_of_a_recomputation(stack):
    truncate_all(stack.settings.database_url)
    log = LOGS / "CoSeLoG_WABO_2.xes.gz"
    out = shenpi(stack, "import-xes", str(log), "--limit", "200", "--wait")
    assert out["case_events"]["refused"] == 0 and out["case_events"]["new"] == out["case_events"]["received"]
    conn = XesConnector(log, mapping_for(log), limit=200)
    events = [e for _, e in conn.items()]
    changes = [c for _, c in conn.list_connector().items()]
    violations = 0
    for frm, to in (("2010-01-01", "2016-01-01"), ("2011-03-01", "2011-06-01")):
        rows = shenpi(stack, "indicators", "--from", frm, "--to", to, "--group-by", "item_code", "--format", "json")
        t0 = datetime.fromisoformat(frm).replace(tzinfo=SH)
        t1 = datetime.fromisoformat(to).replace(tzinfo=SH)
        want = recompute(events, changes, t0, t1, ("item_code",))
        got = {(r["item_code"],): r for r in rows}
        from tests.compare import assert_same
        assert_same(got, want, f"{log.name} {frm}..{to}")
        violations += sum(r["out_of_list"] for r in rows)
    assert violations > 0, "items missing from the list show up as violations"
