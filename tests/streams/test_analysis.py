"""Decision support: the planted chains, merge set, cancel and devolve candidates are found exactly (and the
decoys not); the occurrence rule against a brute-force reference; the CLI's and the API's contract."""
from __future__ import annotations

import itertools
import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import aiohttp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import ListChange
from streams.analysis.chains import ChainParams, mine
from streams.analysis.model import Application, median
from streams.analysis.recommend import RecommendParams
from streams.analysis.service import chains, comparison, recommendations
from streams.cases.write import InBatch, process_case_batches
from streams.indicators.window import QueryError, Window
from streams.cases.reach import apply_list_changes
from tests import analysis_data as plan

PARAMS = ChainParams(max_span=timedelta(days=120))


async def load(conn, p: plan.Plan) -> None:
    await apply_list_changes(conn, [ListChange.model_validate(c) for c in p.changes])
    for i in range(0, len(p.events), 1000):
        await process_case_batches(conn, [InBatch(f"a{i}", "test", p.events[i:i + 1000])])


@pytest.fixture
async def planted(conn):
    p = plan.build()
    await load(conn, p)
    return p


async def test_the_planted_chain_and_nothing_else_with_the_spec_medians(conn, planted):
    window = Window(*plan.WINDOW)
    out = await chains(conn, window, PARAMS)
    assert [c["items"] for c in out["chains"]] == [plan.CHAIN]
    c = out["chains"][0]
    want = plan.chain_medians(planted)
    assert c["support"] == 45
    assert c["median_days"] == pytest.approx(want["median_days"], abs=1e-9)
    for step, handling, wait in zip(c["steps"], want["handling"], want["waits"]):
        assert step["median_handling_days"] == pytest.approx(handling, abs=1e-9)
        assert step["median_wait_days"] == (None if wait is None else pytest.approx(wait, abs=1e-9))
    assert c["steps"][1]["confidence"] == 1.0 and c["steps"][2]["confidence"] == pytest.approx(45 / 57)
    assert c["bottleneck"] == plan.CHAIN[-1], "the last step has the longest handling and a month's wait"
    again = await chains(conn, window, PARAMS)
    assert again["cached"] and again["chains"] == json.loads(json.dumps(out["chains"]))
    # items everybody applies for make no chain: the decoy with a low bar on lift still cannot follow anything
    assert not any(plan.DECOY in c["items"] for c in (await chains(conn, window, ChainParams(
        min_support=10, max_span=timedelta(days=120), min_lift=2)))["chains"])


async def test_recommendations_find_the_planted_candidates(conn, planted):
    out = (await recommendations(conn, Window(*plan.WINDOW), RecommendParams()))["recommendations"]
    kinds = {}
    for r in out:
        kinds.setdefault(r["kind"], []).append((tuple(r["item_codes"]), r["region_code"]))
    assert sorted(kinds["cancel"]) == [((plan.CANCEL,), "330102"), ((plan.CANCEL,), "330106")]
    assert kinds["devolve"] == [((plan.DEVOLVE,), "330100")], "the decoy's county handles it worse"
    assert kinds["merge"] == [(tuple(sorted(plan.MERGE)), None)]
    assert len(kinds["high_volume"]) == 20
    devolve = next(r for r in out if r["kind"] == "devolve")
    assert devolve["evidence"]["applications"] == 120
    assert [p["region_code"] for p in devolve["evidence"]["lower_level_peers"]] == ["330102"]


async def test_comparison_flags_the_worse_region(conn):
    p = plan.Plan()
    p.add_item("CMP", [])
    # handled within the day everywhere (the immediate rate alike), slowly in one region
    for region, hours in (("330102", 2), ("330106", 3), ("330108", 4), ("330109", 3), ("330110", 12)):
        for k in range(25):
            p.case(None, "CMP", plan.START + timedelta(days=k), region=region, handle=timedelta(hours=hours))
    p.case(None, "CMP", plan.START, region="330111", handle=timedelta(hours=13))  # too few to judge
    await load(conn, p)
    out = await comparison(conn, Window(*plan.WINDOW), "CMP", None, 20)
    worse = {r["region_code"]: r["worse"] for r in out["rows"]}
    assert worse["330110"] == ["avg_handling_hours"] and worse["330111"] == []
    assert all(not w for r, w in worse.items() if r not in ("330110",))
    assert out["medians"]["avg_handling_hours"] == pytest.approx(3.0)
    with pytest.raises(QueryError, match="unknown item"):
        await comparison(conn, Window(*plan.WINDOW), "NOPE", None, 20)


T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)


@st.composite
def small_histories(draw):
    apps = []
    for who in range(draw(st.integers(1, 6))):
        for k in range(draw(st.integers(0, 6))):
            t = T0 + timedelta(days=draw(st.integers(0, 30)))
            done = t + timedelta(days=draw(st.integers(0, 5))) if draw(st.booleans()) else None
            apps.append(Application(f"c{who}-{k}", f"p{who}", t, draw(st.sampled_from("ABCD")), "330102", "D",
                                    "county", t if done else None, done))
    return apps, timedelta(days=draw(st.integers(1, 15)))


def brute(apps: list[Application], chain: tuple[str, ...], span: timedelta) -> tuple[int, list]:
    """Followers by exhaustive search, and each follower's occurrence: the feasible tuple that is least by the
    applicant's sequence order (the earliest a1, then the earliest each next)."""
    support, occurrences = 0, []
    for who in sorted({a.applicant for a in apps}):
        seq = sorted((a for a in apps if a.applicant == who), key=lambda a: (a.t, a.case_id))
        cands = [[i for i, a in enumerate(seq) if a.item == item] for item in chain]
        feasible = [m for m in itertools.product(*cands)
                    if all(seq[x].t < seq[y].t for x, y in zip(m, m[1:])) and seq[m[-1]].t - seq[m[0]].t <= span]
        if feasible:
            support += 1
            occurrences.append([seq[i] for i in min(feasible)])
    return support, occurrences


@settings(max_examples=150, deadline=None)
@given(small_histories())
def test_support_and_occurrences_follow_the_rule_by_brute_force(data):
    apps, span = data
    got = {tuple(c["items"]): c for c in mine(apps, ChainParams(min_support=1, max_span=span, min_confidence=0,
                                                                min_lift=0, max_length=3), maximal=False)}
    for k in (2, 3):
        for chain in itertools.permutations("ABCD", k):
            support, occ = brute(apps, chain, span)
            assert (got[chain]["support"] if chain in got else 0) == support, chain
            if support:
                end = [None if o[-1].completed_at is None else (o[-1].completed_at - o[0].t) / timedelta(days=1)
                       for o in occ]
                assert got[chain]["median_days"] == median(end), chain


@pytest.mark.parametrize("bad, why", [
    (ChainParams(min_support=0), "min_support must be at least 1"),
    (ChainParams(max_span=timedelta(days=-1)), "max_span_days must be above 0"),
    (ChainParams(max_span=timedelta(days=400)), "at most 366"),
    (ChainParams(min_confidence=2), "min_confidence must be between 0 and 1"),
    (ChainParams(max_length=20), "max_length must be from 2 to 8")])
def test_bad_parameters_are_refused_clearly(bad, why):
    with pytest.raises(ValueError, match=why):
        bad.check()


async def test_the_cli_and_the_api_answer_the_spec_shape(stack):
    from tests.conftest import truncate_all

    truncate_all(stack.settings.database_url)
    import asyncpg

    conn = await asyncpg.connect(stack.settings.database_url)
    try:
        await load(conn, plan.build())
    finally:
        await conn.close()
    args = ["--from", plan.WINDOW[0].isoformat(), "--to", plan.WINDOW[1].isoformat()]
    env = dict(stack.env)
    run = lambda *a: subprocess.run([sys.executable, "-m", "shenpi", "analyze", *a], env=env,  # noqa: E731
                                    capture_output=True, text=True, timeout=120)
    out = run("chains", *args, "--max-span-days", "120", "--format", "json")
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert [c["items"] for c in body["chains"]] == [plan.CHAIN]
    assert set(body["chains"][0]) >= {"items", "support", "median_days", "steps", "bottleneck"}
    assert set(body["chains"][0]["steps"][1]) >= {"item", "confidence", "lift", "median_wait_days",
                                                   "median_handling_days"}
    rec = json.loads(run("recommend", *args, "--format", "json").stdout)
    assert {"kind", "item_codes", "region_code", "evidence"} <= set(rec["recommendations"][0])
    cmp_ = json.loads(run("compare", "--item", plan.DEVOLVE, *args, "--format", "json").stdout)
    assert {r["region_code"] for r in cmp_["rows"]} == {"330100", "330102"}
    bad = run("chains", "--from", "2025-03-01", "--to", "2025-01-01", "--format", "json")
    assert bad.returncode == 2 and "empty window" in bad.stderr
    bad = run("compare", "--item", "NOPE", "--format", "json")
    assert bad.returncode == 2 and "unknown item" in bad.stderr
    async with aiohttp.ClientSession() as http:
        q = f"from={plan.WINDOW[0].date()}&to={plan.WINDOW[1].date()}"
        async with http.get(f"{stack.url}/api/v1/analysis/chains?{q}&max_span_days=120") as r:
            assert r.status == 200 and [c["items"] for c in (await r.json())["chains"]] == [plan.CHAIN]
        for path in ("chains?max_span_days=-3", "chains?min_support=abc", "chains?max_span_days=nan",
                     "compare?item=NOPE", "compare", "recommendations?from=2025-03-01&to=2025-01-01"):
            async with http.get(f"{stack.url}/api/v1/analysis/{path}") as r:
                assert r.status == 400, (path, r.status, await r.text())


async def test_the_schedule_mines_in_another_process_with_the_same_result(conn, planted):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    window = Window(*plan.WINDOW)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        far = await chains(conn, window, PARAMS, executor=pool)
        far_recs = await recommendations(conn, window, executor=pool)
    await conn.execute("TRUNCATE analysis_result")
    near = await chains(conn, window, PARAMS)
    assert not far["cached"] and not near["cached"] and far["chains"] == near["chains"]
    assert far_recs["recommendations"] == (await recommendations(conn, window))["recommendations"]
