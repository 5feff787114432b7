"""`demand_surge` (spec/demands.md §4): an item's demands in the last 7 days above k times its weekly median of the
12 weeks before, and at least n; told once when it starts and once when it ends, in the transaction that records it."""
from __future__ import annotations

from datetime import datetime, timedelta
from statistics import median
from typing import Sequence

import asyncpg

from streams.alerts import outbox

RULE = "demand_surge"
WEEK = timedelta(days=7)


async def surging(conn: asyncpg.Connection, now: datetime, k: float, n: int) -> dict[str, dict]:
    """The items surging at `now`, with their last 7 days' demands and the weekly median before."""
    rows = await conn.fetch(
        "WITH hot AS (SELECT link_item FROM demand WHERE link_item IS NOT NULL AND received_at >= $1::timestamptz - interval"
        " '7 days' AND received_at < $1 GROUP BY 1 HAVING count(*) >= $2)"
        " SELECT d.link_item AS item, floor(extract(epoch FROM $1::timestamptz - d.received_at) / 604800)::int AS week,"
        " count(*) AS n FROM demand d JOIN hot USING (link_item)"
        " WHERE d.received_at >= $1::timestamptz - interval '91 days' AND d.received_at < $1 GROUP BY 1, 2", now, n)
    weeks: dict[str, list[int]] = {}
    for r in rows:
        weeks.setdefault(r["item"], [0] * 13)[r["week"]] = r["n"]
    out = {}
    for item, w in weeks.items():
        base = median(w[1:])
        if w[0] >= n and w[0] > k * base:
            out[item] = {"last_7_days": w[0], "weekly_median": base}
    return out


async def evaluate(conn: asyncpg.Connection, now: datetime, k: float, n: int, receivers: Sequence[str]) -> int:
    """One pass: surges that began fire, those that ended resolve (each told once); how many were told."""
    async with conn.transaction():
        now_surging = await surging(conn, now, k, n)
        firing = {r["group_key"] for r in await conn.fetch(
            "SELECT group_key FROM alert_state WHERE rule = $1 AND status = 'firing' FOR UPDATE", RULE)}
        events = []
        for item, f in sorted(now_surging.items()):
            group = f"item_code={item}"
            if group in firing:
                continue
            await conn.execute(
                "INSERT INTO alert_state (rule, group_key, status, value, threshold, severity, since, fired_at,"
                " last_notified_at) VALUES ($1, $2, 'firing', $3, $4, 'warning', $5, $5, $5)"
                " ON CONFLICT (rule, group_key) DO UPDATE SET status = 'firing', value = $3, threshold = $4,"
                " since = $5, fired_at = $5, last_notified_at = $5, resolved_at = NULL, acknowledged_at = NULL,"
                " acknowledged_by = NULL, updated_at = now()", RULE, group, f["last_7_days"],
                max(k * f["weekly_median"], n), now)
            events.append(outbox.event(RULE, group, "firing", f"诉求激增 {item}: 近7天 {f['last_7_days']} 件，"
                                       f"前12周周中位数 {f['weekly_median']}", now, f["last_7_days"],
                                       max(k * f["weekly_median"], n), "demands.last_7_days", item_code=item))
        for group in sorted(firing - {f"item_code={i}" for i in now_surging}):
            await conn.execute("UPDATE alert_state SET status = 'ok', since = $3, resolved_at = $3,"
                               " last_notified_at = $3, updated_at = now() WHERE rule = $1 AND group_key = $2",
                               RULE, group, now)
            events.append(outbox.event(RULE, group, "resolved", f"诉求激增已回落 {group.split('=', 1)[1]}", now))
        return await outbox.queue(conn, events, receivers)
