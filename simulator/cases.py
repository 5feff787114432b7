"""The platform's applicants: realistic case histories for items online in the catalog, sent to the monitor."""
from __future__ import annotations

import asyncio
import heapq
import itertools
import random
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp

from simulator.demands import maybe_demand
from simulator.platform import Platform

STEPS = [("accepted", 0.9), ("correction_requested", 0.2), ("correction_submitted", 0.18), ("suspended", 0.05),
         ("resumed", 0.05), ("completed", 0.85), ("evaluated", 0.5)]


def history(rng: random.Random, item: dict[str, Any], now: datetime) -> list[dict[str, Any]]:
    cid = f"SIM-{uuid.UUID(int=rng.getrandbits(128)).hex[:16]}"
    t = now
    out = [{"event_id": f"{cid}-0", "case_id": cid, "type": "submitted", "occurred_at": t.isoformat(),
            "item_code": item["item_code"], "region_code": rng.choice(item["region_codes"]),
            "department_code": item.get("department_code") or "UNKNOWN",
            "channel": rng.choice(["online", "online", "mobile", "window", "self_service"]),
            "applicant_key": uuid.UUID(int=rng.getrandbits(128)).hex}]
    if rng.random() < 0.05:
        out.append({"event_id": f"{cid}-r", "case_id": cid, "type": "rejected", "occurred_at": t.isoformat()})
        return out
    for i, (typ, p) in enumerate(STEPS, 1):
        if rng.random() < p:
            t += timedelta(seconds=rng.randrange(1, 600))
            ev: dict[str, Any] = {"event_id": f"{cid}-{i}", "case_id": cid, "type": typ, "occurred_at": t.isoformat()}
            if typ == "completed":
                ev["outcome"] = rng.choice(["approved"] * 8 + ["denied", "terminated"])
            if typ == "evaluated":
                ev["score"] = rng.choices([5, 4, 3, 2, 1], [60, 25, 8, 4, 3])[0]
            out.append(ev)
    return out


async def generate(platform: Platform, webhook: str, token: str, rate: float, seconds: float, seed: int = 0) -> int:
    """Submit `rate` cases a second on average for `seconds`, only for items the catalog has open; each event is sent
    when its time comes, so every event arrives dated now (none in the future). Returns the events sent."""
    loop = asyncio.get_running_loop()
    rng, order = random.Random(seed), itertools.count()
    sent, owed = 0, 0.0
    waiting: list[tuple[datetime, int, dict]] = []  # a heap of (when, order, event) not yet due
    last = start = loop.time()
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        while loop.time() < start + seconds:
            owed += rate * (loop.time() - last)
            last = loop.time()
            now = datetime.now(timezone.utc)
            open_items = [e.view() for e in platform.entries.values() if e.accepting and e.attrs.get("region_codes")]
            said = []
            for _ in range(int(owed) if open_items else 0):
                item = rng.choice(open_items)
                case = history(rng, item, now)
                for ev in case:
                    heapq.heappush(waiting, (datetime.fromisoformat(ev["occurred_at"]), next(order), ev))
                said += [d for d in [maybe_demand(rng, case, item, now)] if d]
            if said:  # what applicants say about their cases; lost on a refusal (a person calls again)
                async with http.post(webhook.rsplit("/", 1)[0] + "/demands", json=said):
                    pass
            owed = owed - int(owed) if open_items else 0.0
            due = []
            while waiting and waiting[0][0] <= now:
                due.append(heapq.heappop(waiting)[2])
            if due:
                async with http.post(webhook, json=due) as r:
                    if r.status == 200:
                        sent += len(due)
                    else:  # tried again at the next tick, in order
                        for ev in due:
                            heapq.heappush(waiting, (datetime.fromisoformat(ev["occurred_at"]), next(order), ev))
            await asyncio.sleep(0.1)
    return sent
