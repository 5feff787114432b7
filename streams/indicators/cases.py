"""The cases behind a figure: the same predicate the figure counts by, over the same window and scope, so the list
is as long as the figure (a test holds the counts equal to the engine's figures)."""
from __future__ import annotations

from typing import Any, Optional

import asyncpg

from core.access import scope_pattern
from streams.indicators.edges import _EXPRS, _PAUSED, overdue_sql
from streams.indicators.window import QueryError, Window, check_filters

# a figure that counts events in the window -> the component whose predicate it is
EVENT_FIGURES = {"received": "received", "accepted": "accepted", "completed": "completed", "out_of_list": "out_of_list",
                 "completed_without_deadline": "no_deadline", "on_time": "on_time", "immediate": "immediate",
                 "online": "online", "rejected": "rejected", "evaluated": "evaluated", "satisfied": "satisfied",
                 "corr_cases": "corr_cases", "corr_once": "corr_once", "handled": "handled"}
POINT_FIGURES = ("in_progress", "overdue")  # cases open at the window's end (overdue: past their deadline then)
# a rate's list is that of its numerator
RATES = {"on_time_rate": "on_time", "immediate_rate": "immediate", "online_rate": "online",
         "rejection_rate": "rejected", "satisfaction_rate": "satisfied", "one_time_correction_rate": "corr_once",
         "completion_rate": "completed", "avg_handling_hours": "handled"}
FIGURES = (*EVENT_FIGURES, *POINT_FIGURES, *RATES)
COLUMNS = ("case_id", "at", "region_code", "department_code", "item_code", "submitted_at", "accepted_at", "ended_at",
           "deadline")


def _predicate(expr: str) -> str:
    """The FILTER of a component's count (count(*) FILTER (WHERE p) -> p)."""
    head = "count(*) FILTER (WHERE "
    if not expr.startswith(head):
        raise QueryError("this figure is not a count of cases")
    return expr[len(head):-1]


async def cases_behind(conn: asyncpg.Connection, figure: str, window: Window, filters: dict[str, str],
                       scope: str = "", limit: Optional[int] = 100, offset: int = 0) -> dict[str, Any]:
    """The rows (one per counted event, or per open case) and how many there are."""
    figure = RATES.get(figure, figure)
    filters = check_filters(filters)
    args: list[Any] = [window.t0, window.t1, scope_pattern(scope)]
    where = ["($3::text IS NULL OR s.region_code LIKE $3)"]
    for k, v in filters.items():
        args.append(v)
        where.append(f"s.{k} = ${len(args)}")
    if figure in EVENT_FIGURES:
        pred = _predicate(_EXPRS[EVENT_FIGURES[figure]])
        base = f"""SELECT * FROM (SELECT x.*, {_PAUSED} AS paused FROM (
            SELECT e.type, e.channel, e.score, e.occurred_at AS at, s.case_id, s.region_code, s.department_code,
                   s.item_code, s.level, s.submitted_at, s.accepted_at, s.ended_at, s.deadline, s.suspensions,
                   s.corrections, EXISTS (SELECT 1 FROM violation v WHERE v.event_id = e.event_id) AS out_of_list
            FROM case_event e JOIN case_state s ON s.case_id = e.case_id AND s.submitted_at IS NOT NULL
            WHERE e.occurred_at >= $1 AND e.occurred_at < $2 AND {' AND '.join(where)}) x) y WHERE {pred}"""
    elif figure in POINT_FIGURES:
        cond = overdue_sql("$2", "$2") if figure == "overdue" else "TRUE"
        base = f"""SELECT s.case_id, $2::timestamptz AS at, s.region_code, s.department_code, s.item_code,
                   s.submitted_at, s.accepted_at, s.ended_at, s.deadline, s.suspensions
            FROM cases_open_at($2) s WHERE $1::timestamptz IS NOT NULL AND {cond} AND {' AND '.join(where)}"""
    else:
        raise QueryError(f"figure: one of {', '.join(FIGURES)}")
    total = await conn.fetchval(f"SELECT count(*) FROM ({base}) q", *args)
    page = f" LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
    rows = await conn.fetch(f"SELECT {', '.join(COLUMNS)} FROM ({base}) q ORDER BY at, case_id{page}", *args)
    return {"figure": figure, "from": window.t0.isoformat(), "to": window.t1.isoformat(), "total": total,
            "rows": [{k: (r[k].isoformat() if hasattr(r[k], "isoformat") else r[k]) for k in COLUMNS} for r in rows]}
