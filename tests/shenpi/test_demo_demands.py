"""The demo's demands (simulator/demands.py: planted_demands) stored beside the demo's applicants: `shenpi analyze
recommend` gives `simplify` for the over-documented item with its counts and sample texts, and not for the rude
counter, which has as many complaints about something simplifying would not fix."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta

from rich.console import Console

from core.tz import TZ
from schemas import ListChange
from schemas.demands import parse_demand
from shenpi.demo_demands import HEAVY, RUDE, planted_figures, show_simplify
from simulator.chains import CHAINS, NOISE, REGIONS, applicant_histories, list_changes
from simulator.demands import TOO_MANY, planted_demands
from streams.cases.reach import apply_list_changes
from streams.cases.write import InBatch, process_case_batches
from streams.demands.store import apply_demands

START = datetime(2025, 1, 6, tzinfo=TZ)
DAYS = 295


async def test_simplify_for_the_over_documented_item_not_for_the_rude_counter(conn, database_url):
    await apply_list_changes(conn, [ListChange.model_validate(c) for c in list_changes(START - timedelta(days=30))])
    events = list(applicant_histories(300, START, DAYS, seed=7))
    for i in range(0, len(events), 2000):
        await process_case_batches(conn, [InBatch(f"demo{i}", "test", events[i:i + 2000])])
    others = [(c, n) for c, n, _ in [i for items in CHAINS.values() for i in items] + NOISE
              if c not in (HEAVY[0], RUDE[0])]
    raws = planted_demands(HEAVY, RUDE, others, REGIONS, START, DAYS)
    parsed = [parse_demand(r, b"k") for r in raws]
    assert not [r for _, r in parsed if r]
    await apply_demands(conn, [(d.demand_id, d) for d, _ in parsed if d], 0.3)
    rude = await conn.fetchrow("SELECT count(*) AS n, count(*) FILTER (WHERE '服务态度' = ANY(topics)) AS manner,"
                               " count(*) FILTER (WHERE topics && '{材料繁多,多次跑动}') AS simplify FROM demand"
                               " WHERE link_item = $1 AND kind = '投诉'", RUDE[0])
    heavy = await conn.fetchval("SELECT count(*) FROM demand WHERE link_item = $1 AND kind = '投诉'", HEAVY[0])
    assert rude["manner"] >= 20 and abs(rude["n"] - heavy) <= 5, (rude, heavy)  # as many complaints, of manners

    out = subprocess.run([sys.executable, "-m", "shenpi", "analyze", "recommend", "--from", START.date().isoformat(),
                          "--to", (START + timedelta(days=DAYS + 1)).date().isoformat(), "--format", "json"],
                         env={**os.environ, "SHENPI_DATABASE_URL": database_url},
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    simplify = [r for r in json.loads(out.stdout)["recommendations"] if r["kind"] == "simplify"]
    assert [r["item_codes"] for r in simplify] == [[HEAVY[0]]], simplify
    ev = simplify[0]["evidence"]
    assert ev["complaints"] >= 20 and ev["complaints"] >= 3 * ev["median_of_items_with_cases"]
    assert ev["by_topic"]["材料繁多"] > 0 and ev["by_topic"]["多次跑动"] > 0 and len(ev["sample_texts"]) == 3
    said = {s.format(name="不动产转移登记") for s in TOO_MANY}
    assert set(ev["sample_texts"]) <= said, ev["sample_texts"]
    assert rude["simplify"] < 20, "the rude counter's complaints are not about documents or trips"

    console = Console(record=True, width=240)  # the demo's summary: the recommendation, its evidence, the contrast
    show_simplify(simplify, await planted_figures(conn, START, START + timedelta(days=DAYS + 1)), console)
    text = console.export_text()
    assert "不动产转移登记" in text and f"材料繁多 {ev['by_topic']['材料繁多']}" in text and ev["sample_texts"][0] in text
    assert f"「户口登记」投诉 {rude['n']} 条，其中服务态度 {rude['manner']} 条" in text and "不建议精简" in text
