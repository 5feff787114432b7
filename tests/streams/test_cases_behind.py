"""From a figure to its cases, exactly: for any window (whole days or cut), filter and scope, the list of cases
behind a figure is as long as the figure."""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.tz import TZ
from streams.cases.write import InBatch, process_case_batches
from streams.indicators.cases import EVENT_FIGURES, POINT_FIGURES, cases_behind
from streams.indicators.definitions import BY_KEY
from streams.indicators.queries import indicators
from streams.indicators.window import Window
from tests.histories import random_histories

LOADED: set = set()


async def _load(conn):
    if not await conn.fetchval("SELECT count(*) FROM case_event WHERE case_id LIKE 'cb-%' OR true"):
        events = random_histories(random.Random(21), 600)
        await process_case_batches(conn, [InBatch("cases-behind", "t", events)])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.integers(0, 120), hours=st.integers(1, 24 * 40), cut=st.integers(0, 23),
       scope=st.sampled_from(["", "330102", "330106"]))
async def test_a_figures_cases_are_as_many_as_the_figure(conn, start, hours, cut, scope):
    await _load(conn)
    t0 = datetime(2024, 1, 1, tzinfo=TZ) + timedelta(days=start, hours=cut)
    window = Window(t0, t0 + timedelta(hours=hours))
    row = (await indicators(conn, window, (), scope=scope))[0]
    for figure, component in EVENT_FIGURES.items():
        got = (await cases_behind(conn, figure, window, {}, scope, limit=0))["total"]
        want = row[figure] if figure in BY_KEY and not BY_KEY[figure].is_ratio else row["components"][component]
        assert got == want, (figure, got, want)
    for figure in POINT_FIGURES:
        assert (await cases_behind(conn, figure, window, {}, scope, limit=0))["total"] == row[figure], figure


async def test_the_whole_span_and_a_filter(conn):
    await _load(conn)
    window = Window(datetime(2023, 1, 1, tzinfo=TZ), datetime(2026, 1, 1, tzinfo=TZ))
    row = (await indicators(conn, window, ("region_code",), {"region_code": "330102"}))[0]
    out = await cases_behind(conn, "received", window, {"region_code": "330102"}, limit=10)
    assert out["total"] == row["received"] > 0 and len(out["rows"]) == min(10, row["received"])
    assert all(r["region_code"] == "330102" for r in out["rows"])
