"""Findings that open or close are told once each through the alert channels (the outbox the alert leader sends)."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional, Sequence

import asyncpg

from streams.alerts.rules import load_rules

NAMES = {"over_quota": "超编", "mixed_use": "混编", "over_posts": "超职数", "unapproved_body": "擅自设立内设机构"}


def finding_receivers(rules_path: Optional[Path]) -> list[str]:
    rules = load_rules(rules_path)
    return list(rules.findings_receivers) if rules.findings_receivers is not None else [r.name for r in rules.receivers]


def _event(f: dict[str, Any], kind: str, now: datetime) -> dict[str, Any]:
    fig = f["figures"]
    value = fig.get("actual", fig.get("posts_held"))
    threshold = fig.get("approved", fig.get("posts_approved"))
    return {"rule": f"staffing:{f['kind']}", "group": f"unit_code={f['unit_code']},subject={f['subject']}",
            "kind": kind, "value": value, "threshold": float(threshold or 0), "op": ">", "indicator": f["kind"],
            "severity": "warning", "window": "as of now", "at": now.isoformat(), "fired_at": f["opened_at"],
            "summary": f"{NAMES.get(f['kind'], f['kind'])} {f['unit_code']} {f['subject']} ({f['basis']})",
            "finding": f}


async def queue_finding_alerts(conn: asyncpg.Connection, opened: Sequence[dict], closed: Sequence[dict],
                               receivers: Sequence[str]) -> int:
    now = datetime.now(timezone.utc)
    n = 0
    for f, kind in [*((f, "firing") for f in opened), *((f, "resolved") for f in closed)]:
        event = _event(f, kind, now)
        eid = await conn.fetchval(
            "INSERT INTO alert_event (rule, group_key, kind, value, at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            event["rule"], event["group"], kind, event["value"], now)
        await conn.executemany(
            "INSERT INTO alert_notification (event_id, receiver, payload) VALUES ($1, $2, $3::jsonb)",
            [(eid, r, json.dumps(event, ensure_ascii=False, default=str)) for r in receivers])
        n += 1
    return n
