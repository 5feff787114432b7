"""Each year's holiday arrangement ships as data; a year without one is told to the admin (an alert, resolved once
it is loaded) instead of its holidays silently counting as working days."""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from core.tz import TZ
from schemas.calendar import load_calendar_file
from streams.calendar.logic import WorkCalendar, add_working_days
from streams.calendar.store import CALENDAR_RULE, tell_missing_years
from streams.cases.reach import set_calendar
from tests.conftest import truncate_all

CALENDARS = Path(__file__).resolve().parents[2] / "infra" / "calendars"


def test_the_2026_arrangement_is_the_published_one():
    days = load_calendar_file(CALENDARS / "cn-2026.yaml").days()
    assert sum(not w for w, _ in days.values()) == 33 and sum(w for w, _ in days.values()) == 6
    cal = WorkCalendar({d: w for d, (w, _) in days.items()})
    assert cal.is_workday(date(2026, 1, 4)) and not cal.is_workday(date(2026, 2, 23))
    # accepted on the last working day before the Spring Festival (Friday 13 Feb; Saturday 14 Feb is worked):
    # one working day later is the 14th, the second is the 24th
    assert add_working_days(datetime(2026, 2, 13, 10, tzinfo=TZ), 2, cal) == datetime(2026, 2, 25, tzinfo=TZ)


async def test_a_year_without_its_arrangement_alerts_until_it_is_loaded(conn, database_url):
    truncate_all(database_url)
    now = datetime(2026, 12, 20, 12, tzinfo=TZ)
    assert await tell_missing_years(conn, now, 90) == [2026, 2027]
    await set_calendar(conn, load_calendar_file(CALENDARS / "cn-2026.yaml").days())
    assert await tell_missing_years(conn, now, 90) == [2027]
    state = {r["group_key"]: r["status"] for r in await conn.fetch(
        "SELECT group_key, status FROM alert_state WHERE rule = $1", CALENDAR_RULE)}
    assert state == {"year=2026": "ok", "year=2027": "firing"}
    kinds = [(r["group_key"], r["kind"]) for r in await conn.fetch(
        "SELECT group_key, kind FROM alert_event WHERE rule = $1 ORDER BY id", CALENDAR_RULE)]
    assert kinds == [("year=2026", "fired"), ("year=2027", "fired"), ("year=2026", "resolved")]
    assert await tell_missing_years(conn, now, 90) == [2027]  # told once, not at every pass
    assert await conn.fetchval("SELECT count(*) FROM alert_event WHERE rule = $1", CALENDAR_RULE) == 3
