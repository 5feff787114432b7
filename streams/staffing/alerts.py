"""Findings that open or close are told once each through the alert channels."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Sequence

import asyncpg

from streams.alerts import outbox

NAMES = {"over_quota": "超编", "mixed_use": "混编", "over_posts": "超职数", "unapproved_body": "擅自设立内设机构",
         "duty_unexercised": "职责缺位(待研判)", "power_without_duty": "职责越位(待研判)",
         "duty_underperformed": "职责不到位(待研判)", "duty_overlap": "职能交叉"}


def _event(f: dict[str, Any], kind: str, now: datetime) -> dict[str, Any]:
    fig = f["figures"]
    return outbox.event(f"staffing:{f['kind']}", f"unit_code={f['unit_code']},subject={f['subject']}", kind,
                        f"{NAMES.get(f['kind'], f['kind'])} {f['unit_code']} {f['subject']} ({f['basis']})", now,
                        fig.get("actual", fig.get("posts_held")), fig.get("approved", fig.get("posts_approved")) or 0,
                        f["kind"], fired_at=f["opened_at"], finding=f)


async def queue_finding_alerts(conn: asyncpg.Connection, opened: Sequence[dict], closed: Sequence[dict],
                               receivers: Sequence[str]) -> int:
    now = datetime.now(timezone.utc)
    return await outbox.queue(conn, [*(_event(f, "firing", now) for f in opened),
                                     *(_event(f, "resolved", now) for f in closed)], receivers)
