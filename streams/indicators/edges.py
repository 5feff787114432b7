"""Windows that cut a local day: what the events inside the cut parts contribute, in SQL from each event and its
case's stored state (the set-based twin of `evaluate_case`'s contributions; the reference tests hold them equal)."""
from __future__ import annotations

from core.tz import TZ
from streams.cases.logic import DIMS, METRICS, ONLINE_CHANNELS

_DONE = "type = 'completed'"
_HANDLED = f"{_DONE} AND accepted_at IS NOT NULL"


def paused_sql(at: str) -> str:
    """The time a case was suspended between its acceptance and `at`: what pushes its deadline back and is not
    handling time (written into each statement, where the planner runs it without a function call per case)."""
    return ("(CASE WHEN accepted_at IS NULL OR isempty(suspensions) THEN interval '0' ELSE coalesce((SELECT"
            " sum(upper(r) - lower(r)) FROM unnest(suspensions * tstzmultirange(tstzrange(accepted_at,"
            f" greatest(accepted_at, {at}), '[]'))) r), interval '0') END)")


def due_sql(at: str) -> str:
    """A case's deadline as it stands at `at`, pushed back by the time suspended until then (a suspension still
    running counts up to `at`); NULL: the case has no deadline and is never overdue."""
    return f"(deadline + {paused_sql(at)})"


def overdue_sql(at: str, before: str) -> str:
    """A case's deadline as it stands at `at` lies before `before`. The pause only pushes a deadline back, so the
    suspensions are added up only for suspended cases past their own deadline (the live view's open cases)."""
    return f"(deadline < {before} AND (isempty(suspensions) OR {due_sql(at)} < {before}))"


_PAUSED = paused_sql("at")


def _day(col: str) -> str:
    return f"({col} AT TIME ZONE '{TZ.key}')::date"


_EXPRS = {
    "received": "count(*) FILTER (WHERE type = 'submitted')",
    "online": "count(*) FILTER (WHERE type = 'submitted' AND channel IN ("
              + ", ".join(f"'{c}'" for c in sorted(ONLINE_CHANNELS)) + "))",
    "accepted": "count(*) FILTER (WHERE type = 'accepted')",
    "rejected": "count(*) FILTER (WHERE type = 'rejected')",
    "completed": f"count(*) FILTER (WHERE {_DONE})",
    "on_time": f"count(*) FILTER (WHERE {_DONE} AND deadline IS NOT NULL AND at <= deadline + paused)",
    "immediate": f"count(*) FILTER (WHERE {_HANDLED} AND {_day('at')} = {_day('accepted_at')})",
    "handled": f"count(*) FILTER (WHERE {_HANDLED})",
    "handling_us": f"coalesce(sum(extract(epoch FROM at - accepted_at - paused) * 1000000) FILTER (WHERE {_HANDLED}),"
                   " 0)",
    "corr_cases": f"count(*) FILTER (WHERE {_DONE} AND corrections > 0)",
    "corr_once": f"count(*) FILTER (WHERE {_DONE} AND corrections = 1)",
    "evaluated": "count(*) FILTER (WHERE type = 'evaluated')",
    "satisfied": "count(*) FILTER (WHERE type = 'evaluated' AND coalesce(score, 0) >= 4)",
    "out_of_list": "count(*) FILTER (WHERE out_of_list)",
    "no_deadline": f"count(*) FILTER (WHERE {_DONE} AND deadline IS NULL)",
}
assert tuple(_EXPRS) == METRICS


def edge_sql(parts: list[tuple[str, str]]) -> str:
    """Per case group (DIMS), the components of the events in the parts [lo, hi) (disjoint; SQL parameters: as
    scalars, the planner sees how few events they hold). Each event's case is looked up by its key (OFFSET 0
    keeps the planner from hashing every case ever seen instead: 50 ms more at 1M events, growing with history)."""
    dims = ", ".join(DIMS)
    inside = " OR ".join(f"(e.occurred_at >= {lo} AND e.occurred_at < {hi})" for lo, hi in parts)
    return f"""SELECT {dims}, {', '.join(f'{e} AS {m}' for m, e in _EXPRS.items())}
FROM (SELECT x.*, {_PAUSED} AS paused FROM (
    SELECT e.type, e.channel, e.score, e.occurred_at AS at, {', '.join('s.' + d for d in DIMS)}, s.accepted_at,
           s.deadline, s.suspensions, s.corrections,
           EXISTS (SELECT 1 FROM violation v WHERE v.event_id = e.event_id) AS out_of_list
    FROM case_event e CROSS JOIN LATERAL (SELECT * FROM case_state c WHERE c.case_id = e.case_id
                                         AND c.submitted_at IS NOT NULL OFFSET 0) s
    WHERE {inside}) x) y
GROUP BY {dims}"""
