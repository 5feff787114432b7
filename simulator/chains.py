"""Applicants who go through real service chains (高效辦成一件事): whole chains, partial ones, and noise, with the
Chinese names of the well-known items, for the demo, the tests and the benchmarks. Deterministic by seed."""
from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any, Iterator

# matter -> its items in the order applicants go through them (code, name, department)
CHAINS: dict[str, list[tuple[str, str, str]]] = {
    "新生兒出生": [("CH-BIRTH-CERT", "出生醫學證明", "D-WJW"), ("CH-HUKOU", "戶口登記", "D-GA"),
                ("CH-MED-INS", "醫保參保登記", "D-YB"), ("CH-SS-CARD", "社保卡申領", "D-RS")],
    "二手房轉移登記": [("CH-PROP-TRANSFER", "不動產轉移登記", "D-ZRZY"), ("CH-DEED-TAX", "契稅申報", "D-SW"),
                ("CH-UTILITIES", "水電氣過戶", "D-GY")],
    "開辦企業": [("CH-COMPANY-REG", "企業設立登記", "D-SCJ"), ("CH-SEAL", "印章刻製", "D-GA"),
             ("CH-INVOICE", "發票申領", "D-SW"), ("CH-SS-REG", "社保登記", "D-RS")],
}
NOISE = [(f"CH-OTHER-{k:02d}", f"其他事項{k:02d}", "D-ZW") for k in range(30)]
REGIONS = ["330102", "330105", "330106", "330108", "330110"]


def list_changes(effective: datetime) -> list[dict[str, Any]]:
    """The list entries the chains' items need, in force from `effective`."""
    out = []
    for code, name, dept in [i for items in CHAINS.values() for i in items] + NOISE:
        out.append({"change_id": f"sim-{code}-added", "item_code": code, "action": "added",
                    "effective_at": effective.isoformat(), "name": name, "category": "公共服務",
                    "department_code": dept, "level": "county", "region_codes": REGIONS, "committed_days": 5})
    return out


def _case(rng: random.Random, cid: str, who: str, item: tuple[str, str, str], t: datetime,
          region: str) -> list[dict[str, Any]]:
    code, _, dept = item
    acc = t + timedelta(hours=rng.uniform(0.2, 8))
    done = acc + timedelta(days=rng.uniform(0.2, 6))
    return [
        {"event_id": f"{cid}-s", "case_id": cid, "type": "submitted", "occurred_at": t.isoformat(),
         "item_code": code, "region_code": region, "department_code": dept,
         "channel": rng.choice(["online", "mobile", "window"]), "applicant_key": who},
        {"event_id": f"{cid}-a", "case_id": cid, "type": "accepted", "occurred_at": acc.isoformat()},
        {"event_id": f"{cid}-c", "case_id": cid, "type": "completed", "occurred_at": done.isoformat(),
         "outcome": "approved"},
    ]


def applicant_histories(n_applicants: int, start: datetime, days: int, seed: int = 0,
                        follow: float = 0.35, partial: float = 0.15, others: tuple[int, int] = (1, 3)
                        ) -> Iterator[dict[str, Any]]:
    """Events of `n_applicants`: a share follow a whole chain (steps days to weeks apart), a share stop part way,
    everybody applies for a few unrelated items."""
    rng = random.Random(seed)
    n = 0
    for k in range(n_applicants):
        who = f"sim-applicant-{seed}-{k}"
        region = rng.choice(REGIONS)
        r = rng.random()
        if r < follow + partial:
            items = rng.choice(list(CHAINS.values()))
            if r >= follow:
                items = items[:rng.randint(1, len(items) - 1)]
            t = start + timedelta(days=rng.uniform(0, max(1, days - 60)))
            for item in items:
                n += 1
                evs = _case(rng, f"sim-{seed}-{n}", who, item, t, region)
                yield from evs
                t = datetime.fromisoformat(evs[-1]["occurred_at"]) + timedelta(days=rng.uniform(0.5, 12))
        for item in rng.sample(NOISE, rng.randint(*others)):
            n += 1
            yield from _case(rng, f"sim-{seed}-{n}", who, item, start + timedelta(days=rng.uniform(0, days)), region)
