"""Events that are not threshold rules (staffing findings, rectification deadlines) into the alert history and the
outbox the alert leader delivers from: one event, one notification per receiver."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Optional, Sequence

import asyncpg

from streams.alerts.rules import load_rules


def event_receivers(rules_path) -> list[str]:
    """Who hears of such events: `findings_receivers` of the rules file, or every receiver."""
    rules = load_rules(rules_path)
    return list(rules.findings_receivers) if rules.findings_receivers is not None else [r.name for r in rules.receivers]


def event(rule: str, group: str, kind: str, summary: str, at: datetime, value: Optional[float] = None,
          threshold: float = 0.0, indicator: str = "", **extra: Any) -> dict[str, Any]:
    """An event with the fields every receiver's message is made from (streams/alerts/notify.py)."""
    return {"rule": rule, "group": group, "kind": kind, "value": value, "threshold": float(threshold), "op": ">",
            "indicator": indicator or rule, "severity": "warning", "window": "as of now", "at": at.isoformat(),
            "summary": summary, **extra}


async def queue(conn: asyncpg.Connection, events: Sequence[dict[str, Any]], receivers: Sequence[str]) -> int:
    """The events and a notification per receiver, in two statements whatever their number (a first sweep of a city
    opens tens of thousands of findings at once); the ids are taken first, so each notification names its event."""
    if not events:
        return 0
    ids = [r[0] for r in await conn.fetch("SELECT nextval(pg_get_serial_sequence('alert_event', 'id'))"
                                          " FROM generate_series(1, $1)", len(events))]
    await conn.execute(
        "INSERT INTO alert_event (id, rule, group_key, kind, value, at)"
        " SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::timestamptz[])",
        ids, [e["rule"] for e in events], [e["group"] for e in events], [e["kind"] for e in events],
        [e["value"] for e in events], [datetime.fromisoformat(e["at"]) for e in events])
    if receivers:
        pairs = [(i, r, json.dumps(e, ensure_ascii=False, default=str)) for i, e in zip(ids, events) for r in receivers]
        await conn.execute(
            "INSERT INTO alert_notification (event_id, receiver, payload)"
            " SELECT * FROM unnest($1::bigint[], $2::text[], $3::jsonb[])",
            [p[0] for p in pairs], [p[1] for p in pairs], [p[2] for p in pairs])
    return len(events)
