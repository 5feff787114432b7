"""A published list change's effect: its item's figures by region in same-length windows before and after it."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg

from core.errors import Conflict
from streams.indicators.queries import Window, indicators
from streams.powerlist.drafts import get


async def effect(conn: asyncpg.Connection, draft_id: str, max_days: int = 90) -> dict[str, Any]:
    """A published change's item, by region, in the same-length windows before and after it took effect."""
    d = await get(conn, draft_id)
    if d["status"] != "published":
        raise Conflict(f"draft {draft_id} is {d['status']}, not published")
    at = datetime.fromisoformat(d["change"]["effective_at"])
    length = min(datetime.now(timezone.utc) - at, timedelta(days=max_days))
    if length <= timedelta(0):
        raise Conflict("the change has not taken effect yet")
    code = d["item_code"]

    async def side(w: Window) -> list[dict]:
        rows = await indicators(conn, w, ("region_code",), {"item_code": code})
        return [{k: v for k, v in r.items() if k != "components"} for r in rows]

    return {"draft_id": draft_id, "item_code": code, "action": d["action"], "effective_at": at.isoformat(),
            "window_days": length / timedelta(days=1), "before": await side(Window(at - length, at)),
            "after": await side(Window(at, at + length))}
