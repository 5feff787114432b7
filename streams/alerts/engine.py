"""Alert evaluation: a pure state machine per rule and group, and one pass over the rules against the database."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Optional

import asyncpg

from streams.alerts.rules import Rule, RuleFile
from streams.calendar.logic import overdue_cutoff
from streams.calendar.store import load_calendar
from streams.indicators.definitions import BY_KEY
from streams.indicators.edges import overdue_sql
from streams.indicators.queries import GROUP_KEYS, indicators
from streams.indicators.sql import filter_args


@dataclass(frozen=True)
class State:
    status: str = "ok"  # ok, pending, firing, resolving
    since: Optional[datetime] = None
    fired_at: Optional[datetime] = None
    resolved_at: Optional[datetime] = None
    last_notified_at: Optional[datetime] = None
    acknowledged_at: Optional[datetime] = None
    silenced_until: Optional[datetime] = None


def step(st: State, holds: bool, now: datetime, rule: Rule) -> tuple[State, Optional[str]]:
    """The next state, and the notification to send if any: firing once it held for `for`, resolved once it
    stopped holding for `resolve_after`, repeats every `repeat` while firing; short flaps send nothing."""
    hold = lambda since: (now - since).total_seconds()  # noqa: E731
    if st.status == "ok":
        st = replace(st, status="pending", since=now) if holds else st
    if st.status == "pending":
        if not holds:
            return replace(st, status="ok", since=now), None
        if hold(st.since) >= rule.for_seconds:
            return replace(st, status="firing", since=now, fired_at=now, last_notified_at=now,
                           acknowledged_at=None), "firing"
        return st, None
    if st.status == "firing":
        if not holds:
            st = replace(st, status="resolving", since=now)
        elif st.acknowledged_at is None and hold(st.last_notified_at) >= rule.repeat_seconds:
            return replace(st, last_notified_at=now), "repeat"
        else:
            return st, None
    if st.status == "resolving":
        if holds:
            return replace(st, status="firing", since=now), None
        if hold(st.since) >= rule.resolve_after:
            return replace(st, status="ok", since=now, resolved_at=now, last_notified_at=now), "resolved"
    return st, None


def group_key(rule: Rule, row: dict[str, Any]) -> str:
    return ",".join(f"{g}={row[g]}" for g in rule.group_by) or "all"


def group_parts(key: str) -> list[tuple[str, str]]:
    """A group key's (name, value) pairs; none for "all". A value may hold "," (a staffing finding's subject is a
    body's name): a pair starts only where a name and "=" follow."""
    return [tuple(p.split("=", 1)) for p in _PAIR.split(key) if "=" in p]  # type: ignore[misc]


_PAIR = re.compile(r",(?=[a-z_]+=)")


async def overdue_by(conn: asyncpg.Connection, rule: Rule, now: datetime) -> dict[str, Optional[float]]:
    """Open cases past their suspension-adjusted deadline by more than N working days, per group, counted in
    the database: the open cases of a city are too many to bring over every evaluation."""
    cols = "".join(f"{k}, " for k in rule.group_by)
    grouping = f" GROUP BY {', '.join(rule.group_by)}" if rule.group_by else ""
    where = "".join(f" AND {k} = ${i}" for i, k in enumerate((k for k in GROUP_KEYS if k in rule.where), start=3))
    cutoff = overdue_cutoff(now, rule.overdue_by_working_days or 0, await load_calendar(conn))
    rows = await conn.fetch(
        f"SELECT {cols}count(*) AS n FROM cases_open_at($1)"
        f" WHERE {overdue_sql('$1', '$2')}{where}{grouping}",
        now, cutoff, *filter_args(rule.where))
    return {group_key(rule, dict(r)): r["n"] for r in rows if r["n"]}


async def observe(conn: asyncpg.Connection, rule: Rule, now: datetime) -> dict[str, Optional[float]]:
    """The rule's figure per group now; None where the group is below min_volume or has no denominator."""
    if rule.overdue_by_working_days is not None:
        return await overdue_by(conn, rule, now)
    rows = await indicators(conn, rule.window_at(now), rule.group_by, rule.where)
    ind = BY_KEY[rule.indicator]
    out: dict[str, Optional[float]] = {}
    for r in rows:
        volume = ind.volume(r["components"]) if ind.is_ratio else r[rule.indicator]
        out[group_key(rule, r)] = r[rule.indicator] if volume >= rule.min_volume else None
    return out


ALERT_STATE_FIELDS = ("status", "since", "fired_at", "resolved_at", "last_notified_at", "acknowledged_at", "silenced_until")


async def evaluate(conn: asyncpg.Connection, rules: RuleFile, now: datetime) -> list[dict[str, Any]]:
    """One pass: observe every rule, step every group's state, queue notifications; returns the events."""
    events = []
    for rule in rules.rules:
        values = await observe(conn, rule, now)
        async with conn.transaction():
            known = {r["group_key"]: r for r in await conn.fetch(
                "SELECT * FROM alert_state WHERE rule = $1 FOR UPDATE", rule.name)}
            for key in sorted(set(values) | set(known)):
                value = values.get(key)
                old = State(**{k: known[key][k] for k in ALERT_STATE_FIELDS}) if key in known else State()
                new, kind = step(old, rule.holds(value), now, rule)
                if key not in known and new.status == "ok":
                    continue
                await conn.execute(
                    "INSERT INTO alert_state (rule, group_key, status, value, threshold, severity, since, fired_at,"
                    " resolved_at, last_notified_at, acknowledged_at, silenced_until, updated_at)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, now())"
                    " ON CONFLICT (rule, group_key) DO UPDATE SET status = $3, value = $4, threshold = $5,"
                    " severity = $6, since = $7, fired_at = $8, resolved_at = $9, last_notified_at = $10,"
                    " acknowledged_at = $11, silenced_until = $12, updated_at = now()",
                    rule.name, key, new.status, value, rule.threshold, rule.severity, new.since or now, new.fired_at,
                    new.resolved_at, new.last_notified_at, new.acknowledged_at, new.silenced_until)
                if kind is None:
                    continue
                event = {"rule": rule.name, "group": key, "kind": kind, "value": value, "threshold": rule.threshold,
                         "op": rule.op, "indicator": rule.indicator, "severity": rule.severity,
                         "summary": rule.summary or rule.name, "window": rule.window, "at": now.isoformat(),
                         "fired_at": new.fired_at.isoformat() if new.fired_at else None}
                eid = await conn.fetchval(
                    "INSERT INTO alert_event (rule, group_key, kind, value, at) VALUES ($1, $2, $3, $4, $5)"
                    " RETURNING id", rule.name, key, kind, value, now)
                silenced = new.silenced_until is not None and new.silenced_until > now
                if rule.receivers and not silenced:
                    await conn.executemany(
                        "INSERT INTO alert_notification (event_id, receiver, payload) VALUES ($1, $2, $3::jsonb)",
                        [(eid, r, json.dumps(event, ensure_ascii=False)) for r in rule.receivers])
                events.append(event)
    return events
