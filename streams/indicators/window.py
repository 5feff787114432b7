"""What a query asks for: a window [from, to) of instants and a grouping, read from the caller's words."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Mapping, Optional, Sequence

from core.errors import Invalid
from core.tz import TZ, midnight
from schemas.events import EARLIEST, LATEST
from streams.cases.logic import DIMS

GROUP_KEYS = DIMS


class QueryError(Invalid):
    """A query the caller got wrong: the message says how."""


@dataclass(frozen=True)
class Window:
    """[t0, t1): day-granular components over local days [d0, d1), point-in-time figures at t0 and t1."""

    t0: datetime
    t1: datetime

    @property
    def d0(self) -> date:
        return self.t0.astimezone(TZ).date()

    @property
    def d1(self) -> date:
        local = self.t1.astimezone(TZ)
        return local.date() if local.timetz().replace(tzinfo=None) == time(0) else local.date() + timedelta(days=1)


def parse_instant(value: str, name: str) -> datetime:
    """A date (local midnight) or an instant with its offset, as the caller wrote it; else QueryError."""
    if "\x00" in value:
        raise QueryError(f"{name}: NUL characters are not allowed")
    try:
        if len(value) == 10:
            d = date.fromisoformat(value)
            ts = datetime(d.year, d.month, d.day, tzinfo=TZ)
        else:
            ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
            ts = ts if ts.tzinfo else ts.replace(tzinfo=TZ)
        ok = EARLIEST - timedelta(days=1) <= ts <= LATEST + timedelta(days=1)
    except (ValueError, OverflowError):
        raise QueryError(f"{name}: {value!r} is neither a date (YYYY-MM-DD) nor an ISO 8601 time") from None
    if not ok:  # no event lies outside these bounds (the contract refuses it), so no window needs to
        raise QueryError(f"{name}: {value!r} is outside {EARLIEST.date()} .. {LATEST.date()}")
    return ts


def parse_window(start: Optional[str], end: Optional[str], now: Optional[datetime] = None) -> Window:
    """Dates are local (Asia/Shanghai) midnights; defaults: from today's midnight to now."""
    now = now or datetime.now(TZ)
    t0 = parse_instant(start, "from") if start else midnight(now.astimezone(TZ).date())
    t1 = parse_instant(end, "to") if end else now
    if t1 <= t0:
        raise QueryError(f"empty window: to ({t1.isoformat()}) must be after from ({t0.isoformat()})")
    return Window(t0, t1)


def parse_group_by(spec: Optional[str | Sequence[str]]) -> tuple[str, ...]:
    parts = [p.strip() for p in (spec.split(",") if isinstance(spec, str) else (spec or ())) if p.strip()]
    bad = [p for p in parts if p not in GROUP_KEYS]
    if bad:
        raise QueryError(f"group_by: unknown key(s) {', '.join(bad)}; use any of {', '.join(GROUP_KEYS)}")
    return tuple(k for k in GROUP_KEYS if k in parts)


def check_filters(filters: Optional[Mapping[str, str]]) -> dict[str, str]:
    """Filters keep the groups whose keys have the given values; only group keys can be filtered on."""
    filters = dict(filters or {})
    bad = [k for k in filters if k not in GROUP_KEYS]
    if bad:
        raise QueryError(f"filter: unknown key(s) {', '.join(bad)}; use any of {', '.join(GROUP_KEYS)}")
    return {k: str(v) for k, v in filters.items()}
