"""Working days (工作日): Monday to Friday, except statutory holidays and the weekend days worked in their place."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Optional

from core.tz import local_day, midnight


class WorkCalendar:
    """Working days: Monday to Friday, except the days given: statutory holidays (False) and the weekend days
    worked in their place (調休, True)."""

    def __init__(self, exceptions: Optional[dict[date, bool]] = None):
        self.exceptions = dict(exceptions or {})
        self.ends: dict[tuple[date, int], datetime] = {}  # (start day, days) -> the deadline: cases share them

    def is_workday(self, d: date) -> bool:
        w = self.exceptions.get(d)
        return d.weekday() < 5 if w is None else w


MON_FRI = WorkCalendar()


def add_working_days(start: datetime, days: int, calendar: WorkCalendar = MON_FRI) -> datetime:
    """End (next local midnight) of the `days`-th working day after `start`'s local day."""
    first = local_day(start)
    end = calendar.ends.get((first, days))
    if end is None:
        d, n = first, days
        while n > 0:
            d += timedelta(days=1)
            if calendar.is_workday(d):
                n -= 1
        end = calendar.ends[(first, days)] = midnight(d + timedelta(days=1))
    return end


def overdue_cutoff(now: datetime, n: int, calendar: WorkCalendar = MON_FRI) -> datetime:
    """At `now`, a case is more than n working days past its (suspension-adjusted) deadline exactly when that
    deadline lies before this instant: the start of the n-th working day counting back from yesterday (today's
    start for n = 0). The same as `now >= add_working_days(deadline, n)`, as one bound SQL can compare to."""
    d = local_day(now)
    while n > 0:
        d -= timedelta(days=1)
        if calendar.is_workday(d):
            n -= 1
    return midnight(d)
