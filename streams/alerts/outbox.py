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
    for e in events:
        eid = await conn.fetchval(
            "INSERT INTO alert_event (rule, group_key, kind, value, at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            e["rule"], e["group"], e["kind"], e["value"], datetime.fromisoformat(e["at"]))
        await conn.executemany(
            "INSERT INTO alert_notification (event_id, receiver, payload) VALUES ($1, $2, $3::jsonb)",
            [(eid, r, json.dumps(e, ensure_ascii=False, default=str)) for r in receivers])
    return len(events)
