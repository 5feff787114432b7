"""Reading what decision support needs from the database: the applications of a window, the items in force."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional

import asyncpg

from core.access import scope_pattern, within
from streams.analysis.model import Application

APPLICATIONS_SQL = """
SELECT s.case_id, s.submitted_at, s.item_code, s.region_code, s.department_code, s.level, s.accepted_at,
       (SELECT e.applicant_key FROM case_event e WHERE e.case_id = s.case_id AND e.type = 'submitted'
        ORDER BY e.occurred_at, e.event_id LIMIT 1) AS applicant_key,
       (SELECT min(e.occurred_at) FROM case_event e WHERE e.case_id = s.case_id AND e.type = 'completed') AS completed_at
FROM case_state s
WHERE s.submitted_at >= $1 AND s.submitted_at < $2 AND ($3::text IS NULL OR s.item_code = $3)
  AND ($4::text IS NULL OR s.region_code LIKE $4)
"""


async def load_applications(conn: asyncpg.Connection, t0: datetime, t1: datetime,
                            item: Optional[str] = None, scope: str = "") -> list[Application]:
    """Every application (a case's first `submitted`) in [t0, t1), in the caller's regions."""
    return [Application(r["case_id"], r["applicant_key"], r["submitted_at"], r["item_code"], r["region_code"],
                        r["department_code"], r["level"], r["accepted_at"], r["completed_at"])
            for r in await conn.fetch(APPLICATIONS_SQL, t0, t1, item, scope_pattern(scope))]


async def application_counts(conn: asyncpg.Connection, t0: datetime, t1: datetime,
                             scope: str = "") -> dict[str, int]:
    rows = await conn.fetch("SELECT item_code, count(*) AS n FROM case_state WHERE submitted_at >= $1"
                            " AND submitted_at < $2 AND ($3::text IS NULL OR region_code LIKE $3) GROUP BY 1",
                            t0, t1, scope_pattern(scope))
    return {r["item_code"]: r["n"] for r in rows}


@dataclass(frozen=True)
class InForce:
    """An item active on the list for a whole window, and where: the regions every version named (None:
    everywhere)."""

    item_code: str
    since: datetime
    regions: Optional[frozenset[str]]
    department_code: Optional[str]
    level: Optional[str]


async def in_force_throughout(conn: asyncpg.Connection, t0: datetime, t1: datetime,
                              scope: str = "") -> list[InForce]:
    rows = await conn.fetch(
        "SELECT item_code, valid_from, valid_to, active, region_codes, department_code, level FROM list_item_version"
        " WHERE valid_from < $2 AND (valid_to IS NULL OR valid_to > $1) ORDER BY item_code, valid_from", t0, t1)
    by_item: dict[str, list] = {}
    for r in rows:
        by_item.setdefault(r["item_code"], []).append(r)
    out = []
    for item, vs in by_item.items():
        if vs[0]["valid_from"] > t0 or not all(v["active"] for v in vs):
            continue
        since = vs[0]["valid_from"]
        regions: Optional[frozenset[str]] = None
        for v in vs:
            if v["region_codes"]:
                named = frozenset(v["region_codes"])
                regions = named if regions is None else regions & named
        if scope and regions is not None:
            regions = frozenset(r for r in regions if within(scope, r))
            if not regions:
                continue
        elif scope:  # in force everywhere: for a scoped caller, in each of their regions it applies to is unknown
            continue
        out.append(InForce(item, since, regions, vs[-1]["department_code"], vs[-1]["level"]))
    return out


async def item_known(conn: asyncpg.Connection, item: str) -> bool:
    return bool(await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM list_item_version WHERE item_code = $1)"
        " OR EXISTS (SELECT 1 FROM case_state WHERE item_code = $1)", item))


async def department_known(conn: asyncpg.Connection, department: str) -> bool:
    return bool(await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM list_item_version WHERE department_code = $1)"
        " OR EXISTS (SELECT 1 FROM case_state WHERE department_code = $1)", department))
