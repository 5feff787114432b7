"""The local time zone of the figures (Asia/Shanghai): days, midnights."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Optional
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")


def local_day(ts: datetime) -> date:
    return ts.astimezone(TZ).date()


def midnight(d: date) -> datetime:
    """The local midnight that starts day d."""
    return datetime.combine(d, time(0), TZ)


def _instant(v) -> Optional[datetime]:
    t = datetime.fromisoformat(v) if isinstance(v, str) else v
    return t if isinstance(t, datetime) and t.tzinfo is not None else None


def shown(v, minutes: bool = True) -> str:
    """An instant (or its ISO text) as people read it: the local time to the minute, or the local day; "" for none."""
    if not v:
        return ""
    t = _instant(v)
    if t is None:
        return str(v)
    return t.astimezone(TZ).strftime("%Y-%m-%d %H:%M" if minutes else "%Y-%m-%d")


def last_day(end) -> date:
    """The last local day of a period that ends (exclusively) at the instant `end`: [2026-01-01, 2026-12-01) → 11-30."""
    return (_instant(end) - timedelta(microseconds=1)).astimezone(TZ).date()


def period(start, end, joint: str = " 至 ") -> str:
    """A period [start, end) as people mean it: its first and last local days."""
    return f"{shown(start, False)}{joint}{last_day(end).isoformat()}"
