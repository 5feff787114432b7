"""Planted decision-support data: chains, a merge set, cancel and devolve candidates, a devolve decoy, among noise
and a decoy item a third of applicants apply for; with the facts a test checks, computed here from the plan."""
from __future__ import annotations

import random
import statistics
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

SH = ZoneInfo("Asia/Shanghai")
START = datetime(2025, 1, 6, 9, tzinfo=SH)
WINDOW = (START, START + timedelta(days=300))
CHAIN = ["出生醫學證明", "戶口登記", "醫保參保登記", "社保卡申領"]
MERGE = ["不動產轉移登記", "契稅申報"]
DECOY = "居住證申領"
NOISE = [f"N{i:02d}" for i in range(20)]
CANCEL = "C-ZERO"
DEVOLVE, DEVOLVE_DECOY = "D-GOOD", "D-BAD"


class Plan:
    def __init__(self, seed: int = 5):
        self.rng = random.Random(seed)
        self.events: list[dict] = []
        self.changes: list[dict] = []
        self.n = 0
        self.chain_occurrences: list[list[tuple[datetime, datetime | None, datetime | None]]] = []

    def case(self, who: str | None, item: str, t: datetime, region: str = "330102", handle: timedelta | None = None,
             deadline: timedelta | None = None, score: int | None = None) -> tuple[datetime, datetime | None]:
        """One application; returns its acceptance and completion times."""
        self.n += 1
        cid = f"K{self.n}"
        sub = {"event_id": f"{cid}-s", "case_id": cid, "type": "submitted", "occurred_at": t.isoformat(),
               "item_code": item, "region_code": region, "department_code": "D1", "channel": "online"}
        if who:
            sub["applicant_key"] = who
        self.events.append(sub)
        if handle is None:
            return None, None
        acc, done = t + timedelta(hours=1), t + timedelta(hours=1) + handle
        ev = {"event_id": f"{cid}-a", "case_id": cid, "type": "accepted", "occurred_at": acc.isoformat()}
        if deadline is not None:
            ev["deadline"] = (acc + deadline).isoformat()
        self.events += [ev, {"event_id": f"{cid}-c", "case_id": cid, "type": "completed",
                             "occurred_at": done.isoformat(), "outcome": "approved"}]
        if score is not None:
            self.events.append({"event_id": f"{cid}-e", "case_id": cid, "type": "evaluated",
                                "occurred_at": (done + timedelta(hours=1)).isoformat(), "score": score})
        return acc, done

    def add_item(self, code: str, regions: list[str], level: str = "county") -> None:
        self.changes.append({"change_id": f"add-{code}", "item_code": code, "action": "added",
                             "effective_at": (START - timedelta(days=30)).isoformat(), "name": code,
                             "category": "行政許可", "department_code": "D1", "level": level,
                             "region_codes": regions})


def build(seed: int = 5) -> Plan:
    p = Plan(seed)
    rng = p.rng
    for item in [*CHAIN, *MERGE, DECOY, *NOISE, DEVOLVE, DEVOLVE_DECOY]:
        p.add_item(item, [])
    p.add_item(CANCEL, ["330102", "330106"])
    # 300 background applicants: a few noise items each, and the decoy for a third of them
    for k in range(300):
        who = f"bg{k}"
        for item in rng.sample(NOISE, rng.randint(1, 3)):
            p.case(who, item, START + timedelta(days=rng.uniform(0, 290)), handle=timedelta(days=rng.uniform(1, 5)))
        if k % 3 == 0:
            p.case(who, DECOY, START + timedelta(days=rng.uniform(0, 290)), handle=timedelta(days=1))
    # 45 follow the whole chain, a month and more between steps; 12 stop after two steps
    for k in range(57):
        who = f"ch{k}"
        t = START + timedelta(days=rng.uniform(0, 150))
        occ = []
        for j, item in enumerate(CHAIN if k < 45 else CHAIN[:2]):
            if j:
                t = t + timedelta(days=rng.uniform(32, 38))
            acc, done = p.case(who, item, t, handle=timedelta(days=rng.uniform(0.5, 3 + 4 * j)))
            occ.append((t, acc, done))
        if k < 45:
            p.chain_occurrences.append(occ)
        if k % 3 == 0:
            p.case(who, DECOY, START + timedelta(days=rng.uniform(0, 290)), handle=timedelta(days=1))
    # 40 apply for the merge set within days of each other, in either order
    for k in range(40):
        who = f"mg{k}"
        t = START + timedelta(days=rng.uniform(0, 250))
        items = MERGE[:] if k % 2 else MERGE[::-1]
        for j, item in enumerate(items):
            p.case(who, item, t + timedelta(days=j * rng.uniform(1, 10)), handle=timedelta(days=2))
    # devolve: at the city 120 slow cases; at a county 30 quicker, on time and as well rated
    for item, county_hours in ((DEVOLVE, 10), (DEVOLVE_DECOY, 200)):
        for _ in range(120):
            p.case(None, item, START + timedelta(days=rng.uniform(0, 290)), region="330100",
                   handle=timedelta(hours=100), deadline=timedelta(hours=150), score=4)
        for _ in range(30):
            p.case(None, item, START + timedelta(days=rng.uniform(0, 290)),
                   region="330102" if item == DEVOLVE else "330106",
                   handle=timedelta(hours=county_hours), deadline=timedelta(hours=250), score=5)
    return p


def chain_medians(p: Plan) -> dict:
    """The spec's medians for the planted chain, from the plan's own times."""
    end = [(occ[-1][2] - occ[0][0]) / timedelta(days=1) for occ in p.chain_occurrences]
    handling = [statistics.median((occ[j][2] - occ[j][1]) / timedelta(days=1) for occ in p.chain_occurrences)
                for j in range(len(CHAIN))]
    waits = [None] + [statistics.median((occ[j][0] - occ[j - 1][2]) / timedelta(days=1)
                                        for occ in p.chain_occurrences) for j in range(1, len(CHAIN))]
    return {"median_days": statistics.median(end), "handling": handling, "waits": waits}
