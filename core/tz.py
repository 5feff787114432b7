"""The local time zone of the figures (Asia/Shanghai): days, midnights."""
from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")


def local_day(ts: datetime) -> date:
    return ts.astimezone(TZ).date()


def midnight(d: date) -> datetime:
    """The local midnight that starts day d."""
    return datetime.combine(d, time(0), TZ)
