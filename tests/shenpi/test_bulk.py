"""`shenpi ingest --bulk`: a backfill straight through the write path by several processes, exact, idempotent,
every line counted or dead-lettered."""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from datetime import timedelta


from streams.indicators.queries import Window, indicators
from streams.indicators.status import totals
from tests.compare import GROUPINGS, assert_same, rows_by_key
from tests.histories import BASE, random_histories
from tests.reference import recompute


async def test_bulk_backfill_is_exact_and_idempotent(tmp_path, private_conn):
    conn = private_conn
    dsn = f"postgresql://{conn._params.user}@{conn._addr[0]}:{conn._addr[1]}/{conn._params.database}"
    # ordered by time, as platforms export (a case's events spread through the file)
    events = sorted(random_histories(random.Random(9), 3000), key=lambda e: e["occurred_at"])
    bad = [{"event_id": "bad-1", "case_id": "x", "type": "teleported", "occurred_at": "2024-03-02T00:00:00+08:00"}]
    f = tmp_path / "backfill.jsonl"
    f.write_text("\n".join([*(json.dumps(e) for e in events + bad), "{not json"]) + "\n")
    env = dict(os.environ, SHENPI_DATABASE_URL=dsn, SHENPI_STATE_DIR=str(tmp_path / "state"))
    env.pop("SHENPI_KAFKA_BOOTSTRAP", None)

    def ingest():
        out = subprocess.run([sys.executable, "-m", "shenpi", "ingest", str(f), "--bulk", "--jobs", "2"], env=env,
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        return json.loads(out.stdout)

    first = ingest()
    unique = len({e["event_id"] for e in events})
    assert (first["received"], first["refused"], first["new"], first["invalid_in_stream"]) == (
        len(events) + 2, 1, unique, 1)
    t = await totals(conn)
    assert t["reconciled"] and t["in_flight"] == 0 and t["received"] == len(events) + 2
    assert (t["counted"] + t["pending"], t["duplicates"], t["dead_lettered"]) == (unique, len(events) - unique, 2)
    window = Window(BASE - timedelta(days=5), BASE + timedelta(days=60))
    for g in GROUPINGS[:3]:
        assert_same(rows_by_key(await indicators(conn, window, g), g), recompute(events, [], window.t0, window.t1, g),
                    f"bulk backfill by {g}")
    again = ingest()
    assert again["new"] == 0
    assert (await totals(conn))["received"] == t["received"], "the same file again is the same receipt"
