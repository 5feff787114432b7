"""The four duty checks against the power list and the approvals half (缺位, 越位, 不到位, 職能交叉), and the workers'
sweep that keeps them in org_finding: run when the staffing changes, the list or the hour (the cases' window) moved,
each finding opened or closed with its alert in the sweep's transaction."""
from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from typing import Any, Sequence

import asyncpg

from streams.staffing.overlap import overlaps
from streams.staffing.queries import custom_plans

DUTY_KINDS = ("duty_unexercised", "power_without_duty", "duty_underperformed", "duty_overlap")


async def duty_findings(conn: asyncpg.Connection, at: datetime, units: set[str], window: tuple[datetime, datetime],
                        params) -> list[dict[str, Any]]:
    """The duty checks of `units` as of `at` (the whole city's clauses are the corpus of 職能交叉)."""
    from streams.staffing.checks import finding

    duties = await duties_at(conn, at)
    in_force = {r["item_code"]: r["department_code"] for r in await conn.fetch(
        "SELECT item_code, department_code FROM list_items_at($1) WHERE active", at)}
    mine = [d for d in duties if d["unit_code"] in units]
    out = [finding("duty_unexercised", d["unit_code"], d["duty_id"], {
        "duty_id": d["duty_id"], "text": d["text"], "item_codes": d["item_codes"], "items_in_force": []})
        for d in mine if d["item_codes"] and not any(i in in_force for i in d["item_codes"])]
    named: dict[str, set[str]] = {}
    for d in duties:
        named.setdefault(d["unit_code"], set()).update(d["item_codes"])
    out += [finding("power_without_duty", dept, item, {"item_code": item}) for item, dept in sorted(in_force.items())
            if dept in units and item not in named.get(dept, set())]
    out += await underperformed(conn, [d for d in mine if d["item_codes"]], window, params)
    # the pairwise work in a thread: a worker's streams go on meanwhile
    return out + await asyncio.to_thread(overlaps, duties, units, params.overlap_threshold, finding)


@custom_plans
async def duties_at(conn: asyncpg.Connection, at: datetime) -> list[dict]:
    return [{"unit_code": r["unit_code"], "duty_id": r["key"], "text": r["text"], "region_code": r["region_code"],
             "item_codes": json.loads(r["item_codes"] or "[]")} for r in await conn.fetch(
        "SELECT v.unit_code, v.key, v.data->>'text' AS text, v.data->'item_codes' AS item_codes,"
        " u.data->>'region_code' AS region_code FROM org_versions_at($1) v"
        " JOIN org_units_at($1, NULL) u ON u.unit_code = v.unit_code WHERE v.part = 'duty'", at)]


async def underperformed(conn: asyncpg.Connection, duties: list[dict], window: tuple[datetime, datetime],
                         params) -> list[dict]:
    """Clauses whose items, together, had at least min_volume cases and an on-time rate below min_on_time."""
    from streams.staffing.checks import finding

    if not duties:
        return []
    from streams.indicators.definitions import BY_KEY
    from streams.indicators.queries import indicators
    from streams.indicators.window import Window

    items = {i for d in duties for i in d["item_codes"]}
    comps = {r["item_code"]: r["components"] for r in await indicators(conn, Window(*window), ("item_code",), {})
             if r["item_code"] in items}
    out = []
    for d in duties:
        total: dict[str, int] = {}
        for i in d["item_codes"]:
            for k, v in comps.get(i, {}).items():
                total[k] = total.get(k, 0) + (v or 0)
        received = BY_KEY["received"].value(total) if total else 0
        rate = BY_KEY["on_time_rate"].value(total) if total else None
        if received >= params.min_volume and rate is not None and rate < params.min_on_time:
            out.append(finding("duty_underperformed", d["unit_code"], d["duty_id"], {
                "duty_id": d["duty_id"], "text": d["text"], "item_codes": d["item_codes"], "received": received,
                "on_time_rate": round(rate, 4), "min_volume": params.min_volume, "min_on_time": params.min_on_time,
                "from": window[0].isoformat(), "to": window[1].isoformat()}))
    return out


FINGERPRINT = ("SELECT concat_ws('|', (SELECT max(received_at) FROM staffing_change),"
               " (SELECT max(ingested_at) FROM list_change), (SELECT count(*) FROM org_document),"
               " date_trunc('hour', now()), $1::text)")


async def sweep(conn: asyncpg.Connection, params, receivers: Sequence[str] = (), force: bool = False,
                now: datetime | None = None) -> dict[str, int]:
    """The duty findings as of now kept in org_finding: new ones opened (and told), gone ones closed (and told), the
    others' figures brought up to date; nothing done when no input moved since the last sweep."""
    from streams.staffing.alerts import queue_finding_alerts
    from streams.staffing.logic import BASIS

    now = now or datetime.now(timezone.utc)
    async with conn.transaction():
        fp = await conn.fetchval(FINGERPRINT, repr(params))
        # one sweep at a time (each worker has the timer): the row is the lock, and the second finds the work done
        await conn.execute("INSERT INTO org_duty_sweep (fingerprint, swept_at) VALUES ('', $1) ON CONFLICT DO NOTHING",
                           now)
        if not force and await conn.fetchval("SELECT fingerprint FROM org_duty_sweep FOR UPDATE") == fp:
            return {"opened": 0, "closed": 0, "kept": 0}
        await conn.execute("UPDATE org_duty_sweep SET fingerprint = $1, swept_at = $2", fp, now)
        units = {r["unit_code"] for r in await conn.fetch("SELECT unit_code FROM org_units_at($1, NULL)", now)}
        found = {(f["unit_code"], f["kind"], f["subject"]): f
                 for f in await duty_findings(conn, now, units, (now - timedelta(days=365), now), params)}
        open_ = {(r["unit_code"], r["kind"], r["subject"]): r for r in await conn.fetch(
            "SELECT * FROM org_finding WHERE closed_at IS NULL AND kind = ANY($1::text[])", list(DUTY_KINDS))}
        fresh = [k for k in found if k not in open_]
        gone = [k for k in open_ if k not in found]
        figs = {k: json.dumps(_figures(found[k]), ensure_ascii=False) for k in found}
        await conn.executemany(
            "INSERT INTO org_finding (unit_code, kind, subject, opened_at, figures, basis, alerted_open_at)"
            " VALUES ($1, $2, $3, $4, $5::jsonb, $6, $4)", [(*k, now, figs[k], BASIS[k[1]]) for k in fresh])
        await conn.executemany(
            "UPDATE org_finding SET closed_at = $5, alerted_close_at = $5 WHERE unit_code = $1 AND kind = $2"
            " AND subject = $3 AND opened_at = $4", [(*k, open_[k]["opened_at"], now) for k in gone])
        await conn.executemany(
            "UPDATE org_finding SET figures = $5::jsonb WHERE unit_code = $1 AND kind = $2 AND subject = $3"
            " AND opened_at = $4 AND figures <> $5::jsonb",
            [(*k, open_[k]["opened_at"], figs[k]) for k in found if k in open_])
        told = lambda k, figures, closed: {"unit_code": k[0], "kind": k[1], "subject": k[2],  # noqa: E731
                                           "opened_at": (now if closed is None else open_[k]["opened_at"]).isoformat(),
                                           "closed_at": closed, "figures": figures, "basis": BASIS[k[1]]}
        await queue_finding_alerts(conn, [told(k, _figures(found[k]), None) for k in fresh],
                                   [told(k, json.loads(open_[k]["figures"]), now.isoformat()) for k in gone], receivers)
    return {"opened": len(fresh), "closed": len(gone), "kept": len(found) - len(fresh)}


def _figures(f: dict) -> dict:
    return {k: v for k, v in f.items() if k not in ("kind", "unit_code", "subject", "basis", "candidate", "opened_at",
                                                    "unit_name")}
