"""Bringing many cases up to date at once in SQL (a backfill's takes): the set-based twin of `recompute_cases`,
leaving the same rows (a property test holds them equal); the calendar's working days still come from Python."""
from __future__ import annotations

from typing import Sequence

import asyncpg

from core.tz import midnight
from streams.calendar.logic import WorkCalendar, add_working_days
from streams.cases.logic import DIMS, METRICS
from streams.cases.recompute import CASE_STATE_COLS, VIOLATION_COLS
from streams.indicators.edges import CONTRIB_EXPRS, PAUSED, day_of

_M = ", ".join(METRICS)
_TEMP = f"""
CREATE TEMP TABLE IF NOT EXISTS eval_case (case_id text PRIMARY KEY, had boolean NOT NULL, region_code text,
    department_code text, item_code text, level text, contrib text) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS eval_state (LIKE case_state INCLUDING DEFAULTS, days integer) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS eval_contrib (case_id text, day date,
    {', '.join(f'{m} bigint' for m in METRICS)}) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS eval_violation (LIKE violation INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"""

# the cases and what each last contributed (to retract), locked in key order so that writers never deadlock
_LOCK = """INSERT INTO eval_case (case_id, had, region_code, department_code, item_code, level, contrib)
SELECT c, s.case_id IS NOT NULL, s.region_code, s.department_code, s.item_code, s.level, s.contrib
FROM unnest($1::text[]) c LEFT JOIN (SELECT case_id, region_code, department_code, item_code, level, contrib
    FROM case_state WHERE case_id = ANY($1::text[]) ORDER BY case_id FOR UPDATE) s ON s.case_id = c
ON CONFLICT (case_id) DO UPDATE SET had = excluded.had, region_code = excluded.region_code,
    department_code = excluded.department_code, item_code = excluded.item_code, level = excluded.level,
    contrib = excluded.contrib"""

# Events in the case logic's order: by instant, then by id as Python compares strings (code points: "C").
_ORDER = 'occurred_at, event_id COLLATE "C"'
_LEVEL = ("CASE WHEN length(sub.region_code) = 9 THEN 'town' WHEN sub.region_code LIKE '%0000' THEN 'province'"
          " WHEN sub.region_code LIKE '%00' THEN 'city' ELSE 'county' END")
# the item's version in force at `at`, as PowerList.at picks it
_VERSION = ("SELECT * FROM list_item_version v WHERE v.item_code = {item} AND v.valid_from <= {at}"
            ' ORDER BY v.valid_from DESC, v.change_id COLLATE "C" DESC LIMIT 1')

# Each case with a `submitted`: its state from all its events, as evaluate_case makes it (the deadline's working
# days are added afterwards). Suspensions: a `suspended` starts one unless one runs, a `resumed` ends a running one.
_STATE = f"""INSERT INTO eval_state (case_id, submitted_at, {', '.join(DIMS)}, accepted_at, deadline, days, ended_at,
    suspensions, corrections, last_event_at, contrib)
WITH ev AS MATERIALIZED (
    SELECT e.event_id, e.case_id, e.type, e.occurred_at, e.item_code, e.region_code, e.department_code, e.deadline
    FROM case_event e JOIN eval_case USING (case_id)),
sub AS (SELECT DISTINCT ON (case_id) * FROM ev WHERE type = 'submitted' ORDER BY case_id, {_ORDER}),
acc AS (SELECT DISTINCT ON (case_id) * FROM ev WHERE type = 'accepted' ORDER BY case_id, {_ORDER}),
agg AS (SELECT case_id, min(occurred_at) FILTER (WHERE type IN ('completed', 'withdrawn')) AS ended_at,
               count(*) FILTER (WHERE type = 'correction_requested') AS corrections, max(occurred_at) AS last_event_at
        FROM ev GROUP BY case_id),
sr AS (SELECT case_id, type, occurred_at, lag(type) OVER (PARTITION BY case_id ORDER BY {_ORDER}) AS prev
       FROM ev WHERE type IN ('suspended', 'resumed')),
turn AS (SELECT case_id, type, occurred_at, row_number() OVER (PARTITION BY case_id, type ORDER BY occurred_at) AS n
         FROM sr WHERE CASE type WHEN 'suspended' THEN prev IS DISTINCT FROM 'suspended' ELSE prev = 'suspended' END),
susp AS (SELECT s.case_id, range_agg(tstzrange(s.occurred_at, r.occurred_at, '[)')) AS spans
         FROM turn s LEFT JOIN turn r ON r.case_id = s.case_id AND r.type = 'resumed' AND r.n = s.n
         WHERE s.type = 'suspended' GROUP BY s.case_id)
SELECT sub.case_id, sub.occurred_at, sub.region_code, sub.department_code, sub.item_code, {_LEVEL}, acc.occurred_at,
       acc.deadline, CASE WHEN acc.deadline IS NULL THEN coalesce(v.committed_days, v.statutory_days) END,
       agg.ended_at, coalesce(susp.spans, '{{}}'), agg.corrections, agg.last_event_at, '{{}}'
FROM sub JOIN agg USING (case_id) LEFT JOIN acc USING (case_id) LEFT JOIN susp USING (case_id)
LEFT JOIN LATERAL ({_VERSION.format(item='sub.item_code', at='acc.occurred_at')}) v ON acc.case_id IS NOT NULL"""

_DUE_DAYS = f"""SELECT DISTINCT {day_of('accepted_at')} AS day, days FROM eval_state
WHERE deadline IS NULL AND days IS NOT NULL"""
_SET_DUE = f"""UPDATE eval_state s SET deadline = x.due FROM unnest($1::date[], $2::int[], $3::timestamptz[])
    AS x(day, days, due) WHERE s.deadline IS NULL AND s.days = x.days AND {day_of('s.accepted_at')} = x.day"""

_RULE = ("CASE WHEN v.item_code IS NULL OR NOT (v.active OR v.was_listed) THEN 'never_listed'"
         " WHEN NOT v.active THEN 'cancelled'"
         " WHEN cardinality(v.region_codes) > 0 AND NOT s.region_code = ANY(v.region_codes) THEN"
         " CASE WHEN s.region_code = ANY(v.devolved_from) THEN 'devolved_away' ELSE 'outside_regions' END END")
# every event's contribution, by case and local day, with the rule it breaks (evaluate_case's second loop)
_CONTRIB = f"""WITH x AS MATERIALIZED (
    SELECT y.*, CASE WHEN type = 'completed' THEN {PAUSED} END AS paused, rule IS NOT NULL AS out_of_list FROM (
        SELECT e.event_id, e.case_id, e.type, e.channel, e.score, e.occurred_at AS at, {', '.join('s.' + d for d in DIMS)},
               s.accepted_at, s.deadline, s.suspensions, s.corrections, {_RULE} AS rule
        FROM case_event e JOIN eval_state s USING (case_id)
        LEFT JOIN LATERAL ({_VERSION.format(item='s.item_code', at='e.occurred_at')}) v ON true) y),
viol AS (INSERT INTO eval_violation ({', '.join(VIOLATION_COLS)})
         SELECT event_id, case_id, type, item_code, region_code, department_code, at, rule FROM x
         WHERE rule IS NOT NULL)
INSERT INTO eval_contrib (case_id, day, {_M})
SELECT case_id, {day_of('at')}, {', '.join(CONTRIB_EXPRS.values())} FROM x GROUP BY case_id, {day_of('at')}"""

_SET_CONTRIB = f"""UPDATE eval_state s SET contrib = c.text FROM (
    SELECT case_id, '{{' || string_agg(format('"%s":[%s]', to_char(day, 'YYYY-MM-DD'), concat_ws(',', {_M})), ','
                                       ORDER BY day) || '}}' AS text
    FROM eval_contrib GROUP BY case_id) c WHERE s.case_id = c.case_id"""

_STATE_COLS = ", ".join(CASE_STATE_COLS)
# New cases get a row (a case still waiting for its `submitted` an empty one); a row created meanwhile by another
# writer is left alone, and the case is done again as one that had a row.
_CREATE = f"""INSERT INTO case_state ({_STATE_COLS})
SELECT c.case_id, {', '.join(f's.{col}' for col in CASE_STATE_COLS[1:9])}, coalesce(s.suspensions, '{{}}'),
       coalesce(s.corrections, 0), s.last_event_at, coalesce(s.contrib, '{{}}')
FROM eval_case c LEFT JOIN eval_state s USING (case_id) WHERE NOT c.had ORDER BY c.case_id
ON CONFLICT (case_id) DO NOTHING RETURNING case_id"""
_UPDATE = f"""UPDATE case_state t SET {', '.join(f'{col} = s.{col}' for col in CASE_STATE_COLS[1:])},
    updated_at = now()
FROM eval_state s JOIN eval_case c USING (case_id) WHERE t.case_id = s.case_id AND c.had"""

_PRIOR = ", ".join(f"-(p.value->>{i})::bigint" for i in range(len(METRICS)))
_SETS = ", ".join(f"{m} = indicator_daily.{m} + excluded.{m}" for m in METRICS)
# what indicator_daily changes by: the new contributions added, the prior ones retracted; rows that cancel left out
_DAILY = f"""INSERT INTO indicator_daily (day, {', '.join(DIMS)}, {_M})
SELECT day, {', '.join(DIMS)}, {', '.join(f'sum({m})' for m in METRICS)} FROM (
    SELECT n.day, {', '.join('s.' + d for d in DIMS)}, {', '.join('n.' + m for m in METRICS)}
    FROM eval_contrib n JOIN eval_state s USING (case_id)
    UNION ALL
    SELECT p.key::date, {', '.join('c.' + d for d in DIMS)}, {_PRIOR}
    FROM eval_case c CROSS JOIN LATERAL jsonb_each(c.contrib::jsonb) p
    WHERE c.had AND c.region_code IS NOT NULL) d
GROUP BY day, {', '.join(DIMS)} HAVING {' OR '.join(f'sum({m}) <> 0' for m in METRICS)}
ORDER BY day, {', '.join(DIMS)}
ON CONFLICT (day, {', '.join(DIMS)}) DO UPDATE SET {_SETS}, updated_at = now()"""

_VIOLATIONS = f"""DELETE FROM violation WHERE case_id IN (SELECT case_id FROM eval_case WHERE had);
INSERT INTO violation ({', '.join(VIOLATION_COLS)}) SELECT {', '.join(VIOLATION_COLS)} FROM eval_violation"""


class _Lost(Exception):
    """Rows of these new cases were created meanwhile by another writer."""

    def __init__(self, case_ids: list[str]):
        self.case_ids = case_ids


async def lock_set(conn: asyncpg.Connection, case_ids: Sequence[str]) -> None:
    """Lock the cases that have a row (in a transaction, before their new events are stored), noting what each
    last contributed."""
    await conn.execute(_TEMP)
    await conn.execute(_LOCK, sorted(set(case_ids)))


async def recompute_set(conn: asyncpg.Connection, touched: Sequence[str], calendar: WorkCalendar) -> None:
    """What recompute_cases does, set-based, for the cases locked by lock_set that have new events."""
    await conn.execute("DELETE FROM eval_case WHERE NOT case_id = ANY($1::text[])", list(touched))
    while True:
        try:
            async with conn.transaction():
                await _evaluate(conn, calendar)
            return
        except _Lost as lost:  # now committed: locked and taken with what it contributed
            await conn.execute(_LOCK, lost.case_ids)


async def _evaluate(conn: asyncpg.Connection, calendar: WorkCalendar) -> None:
    await conn.execute(_STATE)
    due = await conn.fetch(_DUE_DAYS)
    if due:
        await conn.execute(_SET_DUE, [r["day"] for r in due], [r["days"] for r in due],
                           [add_working_days(midnight(r["day"]), r["days"], calendar) for r in due])
    await conn.execute(_CONTRIB)
    await conn.execute(_SET_CONTRIB)
    new = await conn.fetch("SELECT case_id FROM eval_case WHERE NOT had")
    won = {r["case_id"] for r in await conn.fetch(_CREATE)} if new else set()
    lost = sorted({r["case_id"] for r in new} - won)
    if lost:
        raise _Lost(lost)
    await conn.execute(_UPDATE)
    await conn.execute(_DAILY)
    await conn.execute(_VIOLATIONS)

