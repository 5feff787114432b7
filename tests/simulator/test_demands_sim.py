"""The simulator's demands: accepted by the edge, some naming their item, some with phones that the edge masks."""
from __future__ import annotations

import random
from datetime import datetime, timezone

from schemas.demands import parse_demand
from simulator.demands import demand_for
from streams.demands.classify import classify


def test_demands_are_valid_varied_and_masked():
    rng = random.Random(3)
    item = {"item_code": "I1", "name": "食品经营许可"}
    raws = [demand_for(rng, item, "330102", f"C{i}", datetime.now(timezone.utc), i) for i in range(300)]
    parsed = [parse_demand(r, b"k") for r in raws]
    assert all(d is not None for d, _ in parsed), [r for _, r in parsed if r][:3]
    assert 60 < sum("item_code" in r for r in raws) < 140
    phones = [r for r in raws if "电话" in r["text"]]
    assert phones and all("电话是1" not in d.text for d, _ in parsed if "电话" in d.text)
    topics = {t["topic"] for d, _ in parsed for t in classify(d.text)}
    assert {"材料繁多", "多次跑动", "办理时间长", "就近办理"} <= topics
