"""Reform recommendations (改革建議): cancel, devolve, merge, high_volume, simplify, each with the figures that triggered it
and the parameters used."""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any, Awaitable, Callable, Optional

import asyncpg

from streams.analysis.merge import MergeParams, merge_sets
from streams.analysis.store import application_counts, in_force_throughout, load_applications
from streams.indicators.queries import Window, indicators

UPPER = ("city", "province")
LOWER = ("county", "town")


@dataclass(frozen=True)
class RecommendParams:
    devolve_min_volume: int = 100
    top: int = 20
    merge: MergeParams = MergeParams()
    # simplify (精簡材料、減少跑動, spec/demands.md §4): an item's 材料繁多 or 多次跑動 complaints at least this many
    # and at least `simplify_ratio` times the median of the items with cases
    simplify_min_complaints: int = 20
    simplify_ratio: float = 3.0

    def check(self) -> "RecommendParams":
        if self.devolve_min_volume < 1 or self.top < 1 or self.simplify_min_complaints < 1:
            raise ValueError("devolve_min_volume, top and simplify_min_complaints must be at least 1")
        if not self.simplify_ratio > 0:
            raise ValueError("simplify_ratio must be above 0")
        self.merge.check()
        return self


def _params(p: RecommendParams) -> dict[str, Any]:
    d = asdict(p)
    d["merge"]["max_gap_days"] = p.merge.max_gap / timedelta(days=1)
    del d["merge"]["max_gap"]
    return d


def cancel(in_force, apps, window: Window) -> list[dict]:
    """An item in force in a region for the whole window with no application there (in force everywhere: none
    anywhere)."""
    where = Counter((a.item, a.region) for a in apps)
    anywhere = Counter(a.item for a in apps)
    out = []
    for f in sorted(in_force, key=lambda f: f.item_code):
        regions = sorted(f.regions) if f.regions is not None else [None]
        for region in regions:
            n = anywhere[f.item_code] if region is None else where[(f.item_code, region)]
            if n == 0:
                out.append({"kind": "cancel", "item_code": f.item_code, "region_code": region, "evidence": {
                    "applications": 0, "in_force_since": f.since.isoformat(), "department_code": f.department_code,
                    "level": f.level, "window_days": (window.t1 - window.t0) / timedelta(days=1)}})
    return out


def devolve(rows: list[dict], apps, min_volume: int) -> list[dict]:
    """An item handled at city or province level in a region with many applications, while a lower level handles
    it elsewhere, with enough applications, and no worse: on-time and satisfaction not lower, handling not longer."""
    volume = Counter((a.item, a.region) for a in apps)
    by_item: dict[str, list[dict]] = {}
    for r in rows:
        by_item.setdefault(r["item_code"], []).append({**r, "applications": volume[(r["item_code"], r["region_code"])]})
    out = []
    for item, regions in sorted(by_item.items()):
        for upper in regions:
            if upper["level"] not in UPPER or upper["applications"] < min_volume:
                continue
            peers = [p for p in regions if p["level"] in LOWER and p["region_code"] != upper["region_code"]
                     and p["applications"] >= min_volume / 5 and _no_worse(p, upper)]
            if peers:
                out.append({"kind": "devolve", "item_code": item, "region_code": upper["region_code"],
                            "evidence": {**_figures(upper), "lower_level_peers": [
                                {"region_code": p["region_code"], **_figures(p)} for p in peers]}})
    return out


def _figures(r: dict) -> dict[str, Any]:
    return {k: r[k] for k in ("level", "applications", "on_time_rate", "satisfaction_rate", "avg_handling_hours")}


def _no_worse(lower: dict, upper: dict) -> bool:
    keys = ("on_time_rate", "satisfaction_rate", "avg_handling_hours")
    if any(lower[k] is None or upper[k] is None for k in keys):
        return False  # not judged where a figure is missing
    return (lower["on_time_rate"] >= upper["on_time_rate"] and lower["satisfaction_rate"] >= upper["satisfaction_rate"]
            and lower["avg_handling_hours"] <= upper["avg_handling_hours"])


def high_volume(now: dict[str, int], before: dict[str, int], top: int) -> list[dict]:
    ranked = sorted(now.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    out = []
    for rank, (item, n) in enumerate(ranked, 1):
        prev = before.get(item, 0)
        out.append({"kind": "high_volume", "item_code": item, "region_code": None, "evidence": {
            "rank": rank, "applications": n, "previous_applications": prev, "change": n - prev,
            "change_ratio": None if prev == 0 else (n - prev) / prev}})
    return out


SIMPLIFY_TOPICS = ("材料繁多", "多次跑动")


async def _with_nearby_demands(conn: asyncpg.Connection, window: Window, recs: list[dict], scope: str) -> list[dict]:
    """就近办理 demands raised in counties about the item, as evidence for devolving it (spec/demands.md §4)."""
    from streams.demands.queries import nearby_from_counties

    found = await nearby_from_counties(conn, window.t0, window.t1, [r["item_code"] for r in recs], scope)
    return [{**r, "evidence": {**r["evidence"], "nearby_demands_from_counties": found.get(r["item_code"], 0)}}
            for r in recs]


async def simplify(conn: asyncpg.Connection, window: Window, items_with_cases: set[str], p: RecommendParams,
                   scope: str) -> list[dict]:
    """Items people complain about for documents and trips far more than the rest: the counts and sample texts."""
    from statistics import median

    from streams.demands.queries import topic_complaints

    found = await topic_complaints(conn, window.t0, window.t1, SIMPLIFY_TOPICS, scope)
    base = median([found[i]["complaints"] if i in found else 0 for i in items_with_cases]) if items_with_cases else 0
    return [{"kind": "simplify", "item_code": item, "region_code": None,
             "evidence": {**f, "median_of_items_with_cases": base}}
            for item, f in sorted(found.items(), key=lambda kv: (-kv[1]["complaints"], kv[0]))
            if f["complaints"] >= p.simplify_min_complaints and f["complaints"] >= p.simplify_ratio * base]


async def recommend(conn: asyncpg.Connection, window: Window, params: RecommendParams = RecommendParams(),
                    merges: Optional[Callable[[list], Awaitable[list[dict]]]] = None, scope: str = "") -> dict:
    """Over the caller's regions (all for no scope)."""
    params.check()
    apps = await load_applications(conn, window.t0, window.t1, scope=scope)
    recs = cancel(await in_force_throughout(conn, window.t0, window.t1, scope), apps, window)
    rows = await indicators(conn, window, ("region_code", "item_code", "level"), scope=scope)
    recs += await _with_nearby_demands(conn, window, devolve(rows, apps, params.devolve_min_volume), scope)
    recs += [{"kind": "merge", "item_code": None, "region_code": None, "item_codes": m["item_codes"],
              "evidence": {k: v for k, v in m.items() if k != "item_codes"}} for m in (await merges(apps) if merges else merge_sets(apps, params.merge))]
    length = window.t1 - window.t0
    recs += high_volume(Counter(a.item for a in apps),
                        await application_counts(conn, window.t0 - length, window.t0, scope), params.top)
    recs += await simplify(conn, window, {a.item for a in apps}, params, scope)
    out = []
    for r in recs:
        codes = r.pop("item_codes", None) or [r.pop("item_code")]
        r.pop("item_code", None)
        out.append({"kind": r["kind"], "item_codes": codes, "region_code": r["region_code"],
                    "evidence": r["evidence"], "parameters": _params(params)})
    return {"from": window.t0.isoformat(), "to": window.t1.isoformat(), "parameters": _params(params),
            "recommendations": out}
