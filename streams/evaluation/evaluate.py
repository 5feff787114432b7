"""An evaluation of a unit over a period: the evidence collected from both halves (kept whole, so that showing it
again gives the same numbers whatever arrives later), scored by the scorecard, compared with the unit's earlier
evaluations and ranked among units of the same nature for the same period."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Optional

import asyncpg

from core.script import to_simplified
from streams.evaluation.scorecard import Scorecard, score
from streams.staffing import checks, queries
from streams.staffing.checks import DutyParams
from streams.staffing.logic import quota_finding
from streams.staffing.duties import underperformed as underperforming

TYPES = ("执行情况", "使用效益")


class EvaluationError(ValueError):
    pass


def canonical_type(value: str) -> str:
    t = to_simplified((value or "").strip())
    if t not in TYPES:
        raise EvaluationError(f"type: {value!r} is not one of {', '.join(TYPES)}")
    return t


def _iso(v: Any) -> Any:
    return v.isoformat() if hasattr(v, "isoformat") else v


SCORED_AT_END = ("over_quota", "mixed_use", "over_posts")


def _open_at(f: dict, t: datetime) -> bool:
    return f["closed_at"] is None or datetime.fromisoformat(f["closed_at"]) >= t


async def collect(conn: asyncpg.Connection, unit: str, t0: datetime, t1: datetime,
                  params: DutyParams = DutyParams()) -> dict[str, Any]:
    """Everything the evaluation stands on, as it is now; `values` are the figures a scorecard may name."""
    from streams.indicators.queries import indicators
    from streams.indicators.window import Window

    shown = await queries.unit_as_of(conn, unit, t1) or await queries.unit_as_of(conn, unit, t0)
    if shown is None:
        raise EvaluationError(f"unit {unit} stood neither at the period's start nor at its end")
    quotas, posts = shown["quotas"], shown["posts"]
    found = await checks.in_period(conn, unit, t0, t1)
    duties = shown["duties"]
    status = {s: sum(1 for d in duties if d["status"] == s) for s in ("exercised", "unexercised", "unlinked")}
    underperformed = len(await underperforming(conn, [{**d, "unit_code": unit} for d in duties if d["item_codes"]],
                                               (t0, t1), params))
    ind = (await indicators(conn, Window(t0, t1), (), {"department_code": unit}))[0]
    ind = {k: v for k, v in ind.items() if k != "components"}
    cps = (await queries.cases_per_staff(conn, (t0, t1), "", unit) or [{}])[0]
    changes = await conn.fetch(
        "SELECT change_id, item_code, action, effective_at FROM list_change WHERE effective_at >= $2"
        " AND effective_at < $3 AND item_code IN (SELECT item_code FROM list_item_version WHERE department_code = $1)"
        " ORDER BY effective_at, change_id", unit, t0, t1)
    reforms = await conn.fetch(
        "SELECT draft_id, item_code, action, status, decided_by, decided_at FROM list_draft WHERE decided_at >= $2"
        " AND decided_at < $3 AND item_code IN (SELECT item_code FROM list_item_version WHERE department_code = $1)"
        " ORDER BY decided_at", unit, t0, t1)
    from streams.demands.queries import department_figures

    demands = await department_figures(conn, unit, t0, t1, ind.get("received"))
    linked = status["exercised"] + status["unexercised"]
    values = {
        # each kind as of `to`, once: a kind approved 0 is 混編, not also 超編
        "staffing.over_kinds": sum(1 for q in quotas if quota_finding(q["approved"], q["actual"]) == "over_quota"),
        "staffing.mixed_kinds": sum(1 for q in quotas if quota_finding(q["approved"], q["actual"]) == "mixed_use"),
        "staffing.over_post_levels": sum(1 for p in posts if p["posts_held"] > p["posts_approved"]),
        # the findings the three indicators above do not already score (those still standing at `to`)
        "findings.count": sum(1 for f in found if not (f["kind"] in SCORED_AT_END and _open_at(f, t1))),
        "findings.open_at_end": sum(1 for f in found if _open_at(f, t1)),
        "duties.exercised_share": round(status["exercised"] / linked, 4) if linked else None,
        "duties.unexercised": status["unexercised"],
        "cases_per_staff": cps.get("cases_per_staff"),
        "list.changes": len(changes),
        "reforms.decided": sum(1 for r in reforms if r["status"] == "published"),
        **{f"indicators.{k}": v for k, v in ind.items() if isinstance(v, (int, float)) or v is None},
        # 社會評價 from data (spec/demands.md §4)
        "demands.complaints_per_10k_cases": demands["complaints_per_10k_cases"],
        "demands.satisfaction_rate": demands["satisfaction_rate"],
    }
    return {
        "unit": {k: shown.get(k) for k in ("unit_code", "name", "nature", "rank", "region_code", "funding")},
        "staffing": {"as_of": shown["as_of"], "quotas": quotas, "posts": posts, "staff": shown["staff"]},
        "findings": found,
        "duties": {"clauses": len(duties), **status, "underperformed": underperformed,
                   "list": [{k: d.get(k) for k in ("duty_id", "text", "item_codes", "status")} for d in duties]},
        "indicators": ind,
        "demands": demands,
        "cases_per_staff": cps,
        "list_changes": [{k: _iso(v) for k, v in dict(r).items()} for r in changes],
        "reforms": [{k: _iso(v) for k, v in dict(r).items()} for r in reforms],
        "values": values,
    }


async def create(conn: asyncpg.Connection, unit: str, t0: datetime, t1: datetime, type_: str, actor: str,
                 card: Scorecard, scope: str = "", params: DutyParams = DutyParams()) -> int:
    from core.access import within

    if t1 <= t0:
        raise EvaluationError("the period is empty: to must be after from")
    inputs = await collect(conn, unit, t0, t1, params)
    if not within(scope, inputs["unit"]["region_code"]):
        raise EvaluationError(f"unit {unit} is outside your regions")
    return await conn.fetchval(
        "INSERT INTO evaluation (unit_code, unit_nature, region_code, period_from, period_to, type, scorecard_version,"
        " scorecard, inputs, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10)"
        " RETURNING evaluation_id", unit, inputs["unit"]["nature"], inputs["unit"]["region_code"], t0, t1,
        canonical_type(type_), card.version, card.model_dump_json(),
        json.dumps(inputs, ensure_ascii=False, default=str), actor)


async def _manual(conn: asyncpg.Connection, ids: list[int]) -> dict[int, dict[str, float]]:
    out: dict[int, dict[str, float]] = {i: {} for i in ids}
    for r in await conn.fetch("SELECT evaluation_id, code, value FROM evaluation_score"
                              " WHERE evaluation_id = ANY($1::bigint[]) ORDER BY id", ids):
        out[r["evaluation_id"]][r["code"]] = r["value"]
    return out


async def _scored(conn: asyncpg.Connection, rows: list[asyncpg.Record]) -> dict[int, tuple[list[dict], Optional[float]]]:
    manual = await _manual(conn, [r["evaluation_id"] for r in rows])
    return {r["evaluation_id"]: score(Scorecard.model_validate_json(r["scorecard"]), json.loads(r["inputs"]),
                                      manual[r["evaluation_id"]]) for r in rows}


async def show(conn: asyncpg.Connection, evaluation_id: int, scope: str = "") -> Optional[dict[str, Any]]:
    """The evaluation as it was made (its own inputs and scorecard, the people's scores given since), its rank among
    units of the same nature evaluated for the same period and type, and the unit's earlier evaluations."""
    from core.access import scope_pattern, within

    r = await conn.fetchrow("SELECT * FROM evaluation WHERE evaluation_id = $1", evaluation_id)
    if r is None or not within(scope, r["region_code"]):
        return None
    peers = await conn.fetch(  # ranked among the caller's regions only: others' evaluations are not theirs to count
        "SELECT DISTINCT ON (unit_code) * FROM evaluation WHERE unit_nature IS NOT DISTINCT FROM $1"
        " AND period_from = $2 AND period_to = $3 AND type = $4 AND ($5::text IS NULL OR region_code LIKE $5)"
        " ORDER BY unit_code, evaluation_id DESC",
        r["unit_nature"], r["period_from"], r["period_to"], r["type"], scope_pattern(scope))
    earlier = await conn.fetch(
        "SELECT * FROM evaluation WHERE unit_code = $1 AND type = $2 AND evaluation_id <> $3 AND period_to <= $4"
        " ORDER BY period_to DESC, evaluation_id DESC LIMIT 10", r["unit_code"], r["type"], evaluation_id,
        r["period_to"])
    scored = await _scored(conn, [r, *peers, *earlier])
    rows, total = scored[evaluation_id]
    ranked = sorted((s for p in peers if (s := scored[p["evaluation_id"]][1]) is not None), reverse=True)
    inputs = json.loads(r["inputs"])
    return {
        "evaluation_id": evaluation_id, "unit_code": r["unit_code"], "unit_name": inputs["unit"]["name"],
        "nature": r["unit_nature"], "from": r["period_from"].isoformat(), "to": r["period_to"].isoformat(),
        "type": r["type"], "scorecard_version": r["scorecard_version"], "indicators": rows, "score": total,
        "rank": {"position": 1 + sum(1 for s in ranked if total is not None and s > total) if total is not None
                 else None, "of": len(ranked)},
        "previous": [{"evaluation_id": e["evaluation_id"], "from": e["period_from"].isoformat(),
                      "to": e["period_to"].isoformat(), "score": scored[e["evaluation_id"]][1]} for e in earlier],
        "findings": inputs["findings"], "inputs": inputs, "created_by": r["created_by"],
        "created_at": r["created_at"].isoformat(),
    }


async def give_score(conn: asyncpg.Connection, evaluation_id: int, code: str, value: float, actor: str,
                     note: Optional[str] = None) -> None:
    """A person's score for a manual indicator of the evaluation's scorecard, with who gave it and when."""
    card = await conn.fetchval("SELECT scorecard FROM evaluation WHERE evaluation_id = $1", evaluation_id)
    if card is None:
        raise EvaluationError(f"no evaluation {evaluation_id}")
    manual = {i.source[len("manual:"):] for i in Scorecard.model_validate_json(card).indicators
              if i.source.startswith("manual:")}
    if code not in manual:
        raise EvaluationError(f"{code!r} is not a manual indicator of this scorecard ({', '.join(sorted(manual))})")
    await conn.execute("INSERT INTO evaluation_score (evaluation_id, code, value, note, given_by)"
                       " VALUES ($1, $2, $3, $4, $5)", evaluation_id, code, value, note, actor)
