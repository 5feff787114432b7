"""Nothing lost quietly: file imports of staffing and list changes keep their records in edge receipts like the
webhook (so the relay can send them again after a broker loses them), `--wait` gives up within its bound with a clear
message, and `shenpi status` shows every stream and is not reconciled while one is not."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import asyncpg
import psycopg
import pytest

from connectors import edge
from connectors.kafka import Publisher
from simulator.org import generate_city
from tests.conftest import truncate_all

pytestmark = pytest.mark.broker


def _cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "shenpi", *args], env=env, capture_output=True, text=True,
                          timeout=120)


async def test_file_imports_keep_receipts_the_relay_resends_and_status_tells(stack, tmp_path):
    truncate_all(stack.settings.database_url)
    city = generate_city(units=4, seed=3)
    org, lists = tmp_path / "org.jsonl", tmp_path / "lists.jsonl"
    org.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in city.changes[:200]))
    lists.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in city.list_changes[:20]))
    stack.stop("worker")  # nobody takes them: as if the broker had lost them
    try:
        env = {**stack.env, "SHENPI_WAIT_SECONDS": "2"}
        started = time.monotonic()
        out = _cli(env, "org", "import", str(org), "--wait")
        assert out.returncode == 1 and "gave up waiting" in out.stderr, out.stderr
        assert time.monotonic() - started < 60
        out = _cli(env, "ingest", str(lists), "--kind", "list-changes", "--wait")
        assert out.returncode == 1 and "gave up waiting" in out.stderr, out.stderr
        conn = await asyncpg.connect(stack.settings.database_url)
        try:
            kept = await conn.fetch("SELECT kind, records IS NOT NULL AS kept FROM edge_receipt"
                                    " WHERE source = 'file' AND settled_at IS NULL")
            assert {r["kind"] for r in kept} == {"staffing_change", "list_change"} and all(r["kept"] for r in kept)
            pub = Publisher(stack.settings)
            await pub.start()
            try:  # a broker that lost them: the relay sends the kept records again
                assert await edge.relay_once(conn, pub, resend_after=0) == len(kept)
            finally:
                await pub.stop()
        finally:
            await conn.close()
        status = _cli(env, "status")
        assert status.returncode == 1, status.stdout
        assert "编制变更对账" in status.stdout and "清单变更对账" in status.stdout
        js = json.loads(_cli(env, "status", "--json").stdout)
        assert js["case_events_reconciled"] and not js["reconciled"]
        assert not js["staffing"]["reconciled"] and not js["list_stream"]["reconciled"]
    finally:
        stack.start_worker()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # taken at last: every stream reconciles
        js = json.loads(_cli(stack.env, "status", "--json").stdout)
        if js["reconciled"]:
            break
        time.sleep(0.5)
    assert js["reconciled"], js
    with psycopg.connect(stack.settings.database_url, autocommit=True) as c:
        assert c.execute("SELECT count(*) FROM staffing_change").fetchone()[0] > 0
