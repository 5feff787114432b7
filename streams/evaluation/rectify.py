"""Rectification tasks (整改): opened from a finding, an evaluation or by hand, with a deadline in working days, run
through open → in_progress → submitted → verified → closed (submitted → returned → in_progress), two people apart at
verification and closing, every transition kept; overdue told once per escalation step."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Optional, Sequence

import asyncpg

from core.access import within
from schemas.private import mask_text, neutralise
from streams.calendar.logic import add_working_days
from streams.calendar.store import load_calendar

STATES = ("open", "in_progress", "submitted", "returned", "verified", "closed")
DONE = ("verified", "closed")
# action -> (the states it may start from, the state it leads to)
TRANSITIONS = {"start": (("open", "returned"), "in_progress"), "submit": (("in_progress",), "submitted"),
               "verify": (("submitted",), "verified"), "return": (("submitted",), "returned"),
               "close": (("verified",), "closed")}
NOT_THE_SUBMITTER = ("verify", "return", "close")  # the two-person rule


class TaskError(ValueError):
    """A request the task's rules refuse (the message says why)."""


@dataclass(frozen=True)
class Evidence:
    name: str
    text: Optional[str] = None
    content: Optional[bytes] = None

    def __post_init__(self) -> None:
        # a file name shown on pages: no control characters, no bidi override reversing it; no private data kept
        object.__setattr__(self, "name", neutralise(self.name) or "file")
        if self.text is not None:
            object.__setattr__(self, "text", mask_text(neutralise(self.text)))

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.content if self.content is not None else (self.text or "").encode()).hexdigest()


# the files a task's evidence may be: the type by the name's ending, the content's first bytes agreeing
_OLE, _ZIP = b"\xd0\xcf\x11\xe0", b"PK\x03\x04"
EVIDENCE_TYPES = {".pdf": ("application/pdf", b"%PDF"), ".png": ("image/png", b"\x89PNG"),
                  ".jpg": ("image/jpeg", b"\xff\xd8\xff"), ".jpeg": ("image/jpeg", b"\xff\xd8\xff"),
                  ".doc": ("application/msword", _OLE), ".xls": ("application/vnd.ms-excel", _OLE),
                  ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", _ZIP),
                  ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _ZIP),
                  ".txt": ("text/plain; charset=utf-8", b"")}
EVIDENCE_MAX_BYTES = 8 * 1024 * 1024


def content_type(name: str) -> str:
    """The type a stored evidence file is served as (by its accepted ending)."""
    return EVIDENCE_TYPES.get(_ending(name), ("application/octet-stream", b""))[0]


def _ending(name: str) -> str:
    return "." + name.rsplit(".", 1)[1].lower() if "." in name else ""


def check_file(e: Evidence, max_bytes: int = EVIDENCE_MAX_BYTES) -> None:
    """A file is one of the accepted types (its content agreeing with its name) and not larger than max_bytes."""
    if e.content is None:
        return
    kind = EVIDENCE_TYPES.get(_ending(e.name))
    if kind is None:
        raise TaskError(f"file {e.name!r}: accepted types are {', '.join(sorted(EVIDENCE_TYPES))}")
    if len(e.content) > max_bytes:
        raise TaskError(f"file {e.name!r}: {len(e.content)} bytes, more than the {max_bytes} allowed")
    if not e.content.startswith(kind[1]):
        raise TaskError(f"file {e.name!r}: its content is not a {_ending(e.name)} file")
    if _ending(e.name) == ".txt":
        try:
            e.content.decode("utf-8")
        except UnicodeDecodeError:
            raise TaskError(f"file {e.name!r}: a .txt file must be UTF-8 text") from None


async def evidence_file(conn: asyncpg.Connection, task_id: int, evidence_id: int, scope: str = "") -> asyncpg.Record:
    """One stored evidence file of a task in the caller's regions (LookupError otherwise)."""
    row = await conn.fetchrow("SELECT e.name, e.content, e.text, e.sha256, r.region_code FROM rectification_evidence e"
                              " JOIN rectification r USING (task_id) WHERE e.task_id = $1 AND e.id = $2",
                              task_id, evidence_id)
    if row is None or not within(scope, row["region_code"]):
        raise LookupError(f"no evidence {evidence_id} of task {task_id} in your regions")
    return row


async def _unit_region(conn: asyncpg.Connection, unit: str) -> Optional[str]:
    return await conn.fetchval("SELECT data->>'region_code' FROM org_version WHERE unit_code = $1 AND part = 'unit'"
                               " ORDER BY valid_from DESC LIMIT 1", unit)


async def open_task(conn: asyncpg.Connection, unit: str, requirement: str, days: int, actor: str,
                    finding_kind: Optional[str] = None, subject: Optional[str] = None,
                    evaluation_id: Optional[int] = None, scope: str = "", now: Optional[datetime] = None) -> int:
    now = now or datetime.now(timezone.utc)
    if not requirement.strip():
        raise TaskError("text: say what must be done")
    if not 1 <= days <= 3650:
        raise TaskError("days: 1 to 3650 working days")
    region = await _unit_region(conn, unit)
    if region is None:
        raise TaskError(f"no unit {unit}")
    if not within(scope, region):
        raise TaskError(f"unit {unit} is outside your regions")
    opened_at = None
    if finding_kind:
        found = await _open_findings(conn, unit, finding_kind, now)
        if subject is not None:
            found = [f for f in found if f[0] == subject]
        if not found:
            raise TaskError(f"unit {unit} has no open finding of kind {finding_kind!r}"
                            + (f" about {subject!r}" if subject else ""))
        subject, opened_at = found[0]
    if evaluation_id is not None and not await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM evaluation WHERE evaluation_id = $1 AND unit_code = $2)", evaluation_id, unit):
        raise TaskError(f"no evaluation {evaluation_id} of unit {unit}")
    due = add_working_days(now, days, await load_calendar(conn))
    source = "finding" if finding_kind else "evaluation" if evaluation_id is not None else "manual"
    async with conn.transaction():
        task = await conn.fetchval(
            "INSERT INTO rectification (unit_code, region_code, source, finding_kind, finding_subject,"
            " finding_opened_at, evaluation_id, requirement, days, opened_at, due_at, opened_by)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING task_id", unit, region, source,
            finding_kind, subject, opened_at, evaluation_id, requirement.strip(), days, now, due, actor)
        await conn.execute("INSERT INTO rectification_event (task_id, to_state, actor, at, reason)"
                           " VALUES ($1, 'open', $2, $3, $4)", task, actor, now, requirement.strip())
    return task


async def _open_findings(conn: asyncpg.Connection, unit: str, kind: str, now: datetime) -> list[tuple[str, Any]]:
    """The unit's findings of a kind that hold now, as the workers keep them: (subject, since)."""
    return [(r["subject"], r["opened_at"]) for r in await conn.fetch(
        "SELECT subject, opened_at FROM org_findings_at($3) WHERE unit_code = $1 AND kind = $2 ORDER BY subject",
        unit, kind, now)]


async def act(conn: asyncpg.Connection, task_id: int, action: str, actor: str, reason: Optional[str] = None,
              evidence: Sequence[Evidence] = (), scope: str = "", now: Optional[datetime] = None,
              max_bytes: int = EVIDENCE_MAX_BYTES) -> dict[str, Any]:
    """One transition, or a TaskError saying why not; kept with who, when and why."""
    now = now or datetime.now(timezone.utc)
    for e in evidence:
        check_file(e, max_bytes)
    if action not in TRANSITIONS:
        raise TaskError(f"action: one of {', '.join(TRANSITIONS)}")
    starts, to = TRANSITIONS[action]
    async with conn.transaction():
        t = await conn.fetchrow("SELECT * FROM rectification WHERE task_id = $1 FOR UPDATE", task_id)
        if t is None or not within(scope, t["region_code"]):
            raise LookupError(f"no task {task_id} in your regions")
        if t["state"] not in starts:
            raise TaskError(f"task {task_id} is {t['state']}: {action} needs it {' or '.join(starts)}")
        if action in NOT_THE_SUBMITTER and actor == t["submitted_by"]:
            raise TaskError(f"{actor} submitted task {task_id}: another person must {action} it (two-person rule)")
        if action == "return" and not (reason or "").strip():
            raise TaskError("return: give the reason")
        if action == "submit" and not evidence:
            raise TaskError("submit: give evidence (a text or files)")
        await conn.execute("UPDATE rectification SET state = $2, submitted_by = CASE WHEN $3 THEN $4 ELSE"
                           " submitted_by END WHERE task_id = $1", task_id, to, action == "submit", actor)
        await conn.execute("INSERT INTO rectification_event (task_id, from_state, to_state, actor, at, reason)"
                           " VALUES ($1, $2, $3, $4, $5, $6)", task_id, t["state"], to, actor, now, reason)
        if evidence:
            await conn.executemany(
                "INSERT INTO rectification_evidence (task_id, name, text, content, sha256, size, added_by)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7)",
                [(task_id, e.name, e.text, e.content, e.digest,
                  len(e.content) if e.content is not None else len((e.text or "").encode()), actor) for e in evidence])
    return await show(conn, task_id, scope, now)


async def show(conn: asyncpg.Connection, task_id: int, scope: str = "", now: Optional[datetime] = None) -> dict:
    now = now or datetime.now(timezone.utc)
    t = await conn.fetchrow("SELECT * FROM rectification WHERE task_id = $1", task_id)
    if t is None or not within(scope, t["region_code"]):
        raise LookupError(f"no task {task_id} in your regions")
    events = await conn.fetch("SELECT from_state, to_state, actor, at, reason FROM rectification_event"
                              " WHERE task_id = $1 ORDER BY id", task_id)
    files = await conn.fetch("SELECT id, name, sha256, size, added_by, added_at, text FROM rectification_evidence"
                             " WHERE task_id = $1 ORDER BY id", task_id)
    out = _row(t, now)
    if t["finding_kind"]:
        still = {s for s, _ in await _open_findings(conn, t["unit_code"], t["finding_kind"], now)}
        out["condition_cleared"] = t["finding_subject"] not in still
    out["events"] = [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in dict(e).items()} for e in events]
    out["evidence"] = [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in dict(f).items()} for f in files]
    return out


def _row(t: asyncpg.Record, now: datetime) -> dict[str, Any]:
    overdue = t["state"] not in DONE and now > t["due_at"]
    return {"task_id": t["task_id"], "unit_code": t["unit_code"], "region_code": t["region_code"],
            "source": t["source"], "finding": {"kind": t["finding_kind"], "subject": t["finding_subject"],
                                               "opened_at": t["finding_opened_at"].isoformat()
                                               if t["finding_opened_at"] else None} if t["finding_kind"] else None,
            "evaluation_id": t["evaluation_id"], "requirement": t["requirement"], "days": t["days"],
            "opened_at": t["opened_at"].isoformat(), "due_at": t["due_at"].isoformat(), "state": t["state"],
            "opened_by": t["opened_by"], "submitted_by": t["submitted_by"], "overdue": overdue,
            "overdue_days": (now - t["due_at"]).days if overdue else 0, "escalation_step": t["alerted_step"]}


async def tasks(conn: asyncpg.Connection, scope: str = "", state: Optional[str] = None, unit: Optional[str] = None,
                overdue: Optional[bool] = None, actor: Optional[str] = None, limit: int = 500) -> list[dict]:
    """Tasks in the caller's regions; `actor`: those the person opened, submitted or acted on."""
    from core.access import scope_pattern

    now = datetime.now(timezone.utc)
    rows = await conn.fetch(
        "SELECT * FROM rectification t WHERE ($1::text IS NULL OR region_code LIKE $1)"
        " AND ($2::text IS NULL OR state = $2) AND ($3::text IS NULL OR unit_code = $3)"
        " AND ($4::boolean IS NULL OR (state NOT IN ('verified', 'closed') AND due_at < $5) = $4)"
        " AND ($6::text IS NULL OR EXISTS (SELECT 1 FROM rectification_event e WHERE e.task_id = t.task_id"
        "   AND e.actor = $6)) ORDER BY due_at, task_id LIMIT $7",
        scope_pattern(scope), state, unit, overdue, now, actor, limit)
    return [_row(r, now) for r in rows]


async def overdue_sweep(conn: asyncpg.Connection, steps: Sequence[int], now: Optional[datetime] = None) -> list[dict]:
    """Tasks past their deadline and not verified: told once when the deadline passes and once more at each
    escalation step (days over); a step is claimed in the same statement that finds it, so two workers never tell
    it twice. Returns the alert events."""
    from streams.alerts import outbox

    now = now or datetime.now(timezone.utc)
    marks = sorted({0, *steps})
    rows = await conn.fetch(
        "WITH due AS (SELECT task_id, (SELECT count(*) FROM unnest($2::int[]) s"
        "   WHERE $1 >= due_at + make_interval(days => s))::int AS step FROM rectification"
        "   WHERE state NOT IN ('verified', 'closed') AND due_at < $1)"
        " UPDATE rectification r SET alerted_step = due.step FROM due"
        " WHERE r.task_id = due.task_id AND due.step > r.alerted_step RETURNING r.*", now, marks)
    events = []
    for t in rows:
        days = (now - t["due_at"]).days
        kind = "firing" if t["alerted_step"] == 1 else "repeat"
        events.append(outbox.event("rectification:overdue", f"task={t['task_id']},unit_code={t['unit_code']}", kind,
                                   f"整改任务 {t['task_id']} 逾期 {days} 天（{t['unit_code']}：{t['requirement'][:40]}）",
                                   now, float(days), 0, "rectification_overdue", task_id=t["task_id"],
                                   escalation_step=t["alerted_step"], due_at=t["due_at"].isoformat()))
    return events


SUPERVISING = ("supervisor", "admin")
OPERATOR = "operator"  # the server's operator at the CLI, with no person's token: recorded as cli:<login>


def may(action: str, role: str) -> bool:
    """Supervisors open, verify, return and close; the responsible unit's people (any signed-in role) start and
    submit; evaluations are made and scored by supervisors. A machine (the platform's token, role "service") takes
    no person's step; the operator is no identified person, so never the second one of the two-person rule."""
    if role == OPERATOR:
        return action not in NOT_THE_SUBMITTER
    if action in ("start", "submit"):
        return role in (*SUPERVISING, "viewer", "list_admin")
    return role in SUPERVISING
