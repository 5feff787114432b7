"""The simulator's applicants: histories only for items the catalog has open, and valid by the contract."""
from __future__ import annotations

import random
from datetime import datetime, timezone

from aiohttp import web

from schemas import parse_case_event
from shenpi.broker import free_port
from simulator.cases import generate, history
from simulator.platform import Platform


def test_histories_are_valid_and_start_with_submitted():
    rng = random.Random(3)
    item = {"item_code": "I-1", "region_codes": ["330102", "330105"], "department_code": "D"}
    for _ in range(200):
        evs = history(rng, item, datetime.now(timezone.utc))
        assert evs[0]["type"] == "submitted" and evs[0]["region_code"] in item["region_codes"]
        assert all(parse_case_event(e)[1] is None for e in evs)
        assert [e["occurred_at"] for e in evs] == sorted(e["occurred_at"] for e in evs)


async def _monitor(got: list) -> tuple[web.AppRunner, int]:
    """A stand-in for the monitor's webhook: what arrives, with when it arrived."""
    app = web.Application()

    async def hook(request):
        assert request.headers["Authorization"] == "Bearer tok"
        arrived = datetime.now(timezone.utc)
        got.extend((arrived, e) for e in await request.json())
        return web.json_response({})

    app.router.add_post("/api/v1/case-events", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, port


async def test_the_generator_applies_only_for_open_items():
    got: list = []
    runner, port = await _monitor(got)
    platform = Platform("p")
    platform.apply("k1", "publish", "OPEN", {"region_codes": ["330102"], "department_code": "D"})
    platform.apply("k2", "publish", "SHUT", {"region_codes": ["330102"], "department_code": "D"})
    platform.apply("k3", "withdraw", "SHUT", {})
    try:
        sent = await generate(platform, f"http://127.0.0.1:{port}/api/v1/case-events", "tok", 50, 0.5)
    finally:
        await runner.cleanup()
    assert sent == len(got) > 0
    assert {e["item_code"] for _, e in got if e["type"] == "submitted"} == {"OPEN"}


async def test_the_generator_keeps_its_rate_and_dates_events_now():
    got: list = []
    runner, port = await _monitor(got)
    platform = Platform("p")
    platform.apply("k1", "publish", "OPEN", {"region_codes": ["330102"], "department_code": "D"})
    try:
        await generate(platform, f"http://127.0.0.1:{port}/api/v1/case-events", "tok", 4, 3.0)
    finally:
        await runner.cleanup()
    cases = [e for _, e in got if e["type"] == "submitted"]
    assert 9 <= len(cases) <= 13, len(cases)  # about 4 a second for 3 seconds, not 10 a tick
    assert all(datetime.fromisoformat(e["occurred_at"]) <= at for at, e in got), "no event dated in the future"
