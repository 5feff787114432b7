"""Proposals (spec/archive.md §2-§4): the staffing changes a document or a roster proposes, checked when made or
edited, approved by a second person allowed to maintain the unit's region, and published into the staffing stream
once, through an edge receipt, under change_ids derived from the proposal."""
from __future__ import annotations

import json
import logging
import uuid
from datetime import date, datetime, timezone
from typing import Any, Iterable, Optional

import asyncpg

from core.access import Caller, within
from core.errors import DomainError
from core.script import to_simplified
from core.settings import Settings
from schemas.staffing import DOC_TYPES, STAFF_KINDS, StaffingChange
from streams.archive import checks
from streams.archive.extract import UnitContext, extract
from streams.archive.proposal_reads import listing, show, trail  # noqa: F401 (the proposals' one entry point)

log = logging.getLogger(__name__)
MAINTAINERS = ("staffing_admin",)  # with admin: the roles that may edit, approve or reject
STATUSES = ("proposed", "published", "rejected")


class ProposalError(DomainError):
    """What the caller did wrong, with the HTTP status that says so."""

    def __init__(self, status: int, message: str):
        super().__init__(status, message)  # both in args: it crosses a process boundary (the API's child) intact
        self.status, self.message = status, message

    def __str__(self) -> str:
        return self.message


async def trail_step(conn: asyncpg.Connection, proposal_id: Optional[str], document_id: Optional[str], actor: str,
                     step: str, detail: Any = None) -> None:
    await conn.execute("INSERT INTO org_proposal_trail (proposal_id, document_id, actor, step, detail)"
                       " VALUES ($1, $2, $3, $4, $5::jsonb)", proposal_id, document_id, actor, step,
                       json.dumps(detail, ensure_ascii=False, default=str))


async def unit_context(conn: asyncpg.Connection, unit_code: str, at: datetime) -> tuple[UnitContext, Optional[str]]:
    """The unit as it stands at `at` (its bodies of any time too, for stable codes), and its region."""
    rows = await conn.fetch("SELECT part, key, data, approved, valid_from, valid_to FROM org_version"
                            " WHERE unit_code = $1 ORDER BY valid_from", unit_code)
    standing = [r for r in rows if r["valid_from"] <= at and (r["valid_to"] is None or r["valid_to"] > at)]
    unit = next((json.loads(r["data"]) for r in standing if r["part"] == "unit"), None)
    last = next((json.loads(r["data"]) for r in reversed(rows) if r["part"] == "unit"), None)
    ctx = UnitContext(unit_code, exists=unit is not None, name=(unit or last or {}).get("name"),
                      rank=(unit or {}).get("rank") or (last or {}).get("rank"))
    for r in rows:
        data = json.loads(r["data"])
        if r["part"] == "body":
            ctx.past_bodies[r["key"]] = data["name"]
        elif r["part"] == "duty":
            ctx.duty_ids.add(r["key"])
    for r in sorted(standing, key=lambda r: json.loads(r["data"]).get("n", 0)):
        data = json.loads(r["data"])
        if r["part"] == "body":
            ctx.bodies[r["key"]] = data["name"]
        elif r["part"] == "duty":
            ctx.duties.append({"duty_id": r["key"], "text": data["text"], "item_codes": data.get("item_codes", [])})
        elif r["part"] == "quota":
            ctx.quotas[r["key"]] = r["approved"]
        elif r["part"] == "posts":
            ctx.posts[r["key"]] = r["approved"]
    ctx.items = [dict(r) for r in await conn.fetch(
        "SELECT item_code, name FROM list_items_at($1) WHERE active AND department_code = $2", at, unit_code)]
    return ctx, (unit or last or {}).get("region_code")


def _prepared(pid: str, changes: Iterable[dict], effective_at: datetime, doc_no: Optional[str]) -> list[dict]:
    """Each change with its id derived from the proposal (a repeat of the publication is a duplicate), the
    proposal's instant and document unless it gives its own; an identity number is refused, never stored."""
    out = []
    for i, c in enumerate(changes):
        if not isinstance(c, dict):
            raise ProposalError(400, f"changes[{i}]: a JSON object, not {type(c).__name__}")
        if "id_number" in c:
            raise ProposalError(400, f"changes[{i}]: an identity number is hashed at the edge (id_hash), never held")
        c = {**c, "change_id": f"proposal:{pid}:{i}"}
        c.setdefault("effective_at", effective_at.isoformat())
        if doc_no and "doc_no" not in c and (c.get("kind") not in STAFF_KINDS or c.get("kind") == "staff_in"):
            c["doc_no"] = doc_no
        out.append(c)
    return out


def _unsure_ids(pid: str, unsure: Iterable[dict]) -> list[dict]:
    """An unsure entry names its change by id (the reader names it by position)."""
    out = []
    for u in unsure:
        u = dict(u)
        if isinstance(u.get("change"), int):
            u["change_id"] = f"proposal:{pid}:{u.pop('change')}"
        else:
            u.pop("change", None)
        out.append(u)
    return out


async def create_proposal(conn: asyncpg.Connection, *, source: str, unit_code: str, changes: list[dict],
                          effective_at: datetime, created_by: str, doc_no: Optional[str] = None,
                          document_id: Optional[str] = None, unsure: Iterable[dict] = (),
                          spans: Optional[list[dict]] = None, settings: Optional[Settings] = None,
                          overlap_threshold: Optional[float] = None) -> str:
    """A proposal of staffing changes (spec/staffing.md §1) for a unit, checked at once (diff, would_open,
    would_close, stored): the way in for a document's extraction and a roster's staff_in/out/moved."""
    if not isinstance(changes, list) or not changes:
        raise ProposalError(400, "changes: a non-empty list of staffing changes")
    if effective_at.tzinfo is None:
        raise ProposalError(400, "effective_at: an instant with its offset")
    pid = uuid.uuid4().hex[:16]
    prepared = _prepared(pid, changes, effective_at, doc_no)
    region = await _region(conn, unit_code, prepared)
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO org_proposal (proposal_id, source, document_id, unit_code, region_code, doc_no, effective_at,"
            " changes, spans, unsure, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10::jsonb,"
            " $11)", pid, source, document_id, unit_code, region, doc_no, effective_at,
            json.dumps(prepared, ensure_ascii=False), json.dumps(spans or [], ensure_ascii=False),
            json.dumps(_unsure_ids(pid, unsure), ensure_ascii=False), created_by)
        await trail_step(conn, pid, document_id, created_by, "uploaded" if source == "document" else "proposed",
                         {"source": source, "document_id": document_id})
    await recheck(conn, pid, overlap_threshold or (settings or Settings()).overlap_threshold)
    return pid


async def _region(conn: asyncpg.Connection, unit_code: str, changes: list[dict]) -> Optional[str]:
    region = await conn.fetchval("SELECT data->>'region_code' FROM org_version WHERE unit_code = $1 AND part = 'unit'"
                                 " ORDER BY valid_from DESC LIMIT 1", unit_code)
    return region or next((c["region_code"] for c in changes if c.get("kind") == "unit_set"
                           and isinstance(c.get("region_code"), str)), None)


def _document_change(doc_no: str, doc_type: Optional[str], text: str,
                     title: Optional[str], issued_at: Optional[date], effective_at: datetime) -> dict:
    """The document itself, so that what it sets up is in the archive when it counts (擅自設立 looks there)."""
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")[:200]
    return {"kind": "document", "doc_no": doc_no, "title": (title or first or doc_no)[:500],
            "issued_at": (issued_at or effective_at.date()).isoformat(),
            "doc_type": kind if (kind := to_simplified(doc_type or "")) in DOC_TYPES else "其他",
            "text": text[:2_000_000]}


async def propose_for_document(conn: asyncpg.Connection, *, document_id: str, text: str, pages: Any,
                               doc_no: Optional[str], doc_type: Optional[str], unit_code: Optional[str],
                               effective_at: Optional[datetime], uploaded_by: str, title: Optional[str] = None,
                               issued_at: Optional[date] = None, settings: Optional[Settings] = None,
                               overlap_threshold: Optional[float] = None) -> Optional[str]:
    """The proposal a document's text makes (once per document: asked again, the same id), or None when it
    proposes nothing: no unit recognised, or nothing read that changes a unit (recorded in the trail)."""
    have = await conn.fetchval("SELECT proposal_id FROM org_proposal WHERE document_id = $1 AND source = 'document'",
                               document_id)
    if have:
        return have
    if not unit_code:
        await trail_step(conn, None, document_id, "system", "extracted", {"proposal": None, "why": "no unit recognised"})
        return None
    at = effective_at or datetime.now(timezone.utc)
    ctx, _ = await unit_context(conn, unit_code, at)
    settings = settings or Settings()
    found = extract(text, ctx, doc_type, settings.proposal_suggest_threshold, settings.proposal_near_clause_ratio)
    if not found.changes:
        await trail_step(conn, None, document_id, "system", "extracted",
                         {"proposal": None, "why": "nothing read that changes the unit", "unsure": found.unsure})
        return None
    unsure = list(found.unsure)
    if effective_at is None:
        unsure.append({"field": "effective_at", "reason": "文件未写明生效日期：按当前时间提议"})
    if not doc_no:
        unsure.append({"field": "doc_no", "reason": "未识别出文号：变动须有文号才能生效"})
    changes, spans = found.changes, _paged(found.spans, pages, text)
    if doc_no:
        changes = [_document_change(doc_no, doc_type, text, title, issued_at, at), *changes]
        spans = [{}, *spans]
        unsure = [{**u, "change": u["change"] + 1} if isinstance(u.get("change"), int) else u for u in unsure]
    pid = await create_proposal(conn, source="document", unit_code=unit_code, changes=changes, effective_at=at,
                                created_by=uploaded_by, doc_no=doc_no, document_id=document_id, unsure=unsure,
                                spans=spans, settings=settings, overlap_threshold=overlap_threshold)
    await trail_step(conn, pid, document_id, "system", "extracted", {
        "layout": found.layout, "changes": len(found.changes), "unsure": len(unsure),
        "pages": len(pages) if isinstance(pages, (list, tuple)) else pages})
    return pid


def _paged(spans: list[dict], pages: Any, text: str) -> list[dict]:
    """Each span with the page it starts on, when the text is its pages joined by newlines (as the archive reads)."""
    if not isinstance(pages, (list, tuple)) or "\n".join(str(p) for p in pages) != text:
        return spans
    starts, at = [], 0
    for p in pages:
        starts.append(at)
        at += len(p) + 1

    def mark(v: Any) -> Any:
        if isinstance(v, list):
            return [mark(x) for x in v]
        if isinstance(v, dict) and isinstance(v.get("start"), int):
            return {**v, "page": max(n for n, s in enumerate(starts, 1) if s <= v["start"])}
        return v

    return [{k: mark(v) for k, v in sp.items()} for sp in spans]


async def recheck(conn: asyncpg.Connection, pid: str, overlap_threshold: float = 0.6) -> dict:
    """The checks computed again on the proposal as it is, stored with it; 'warned' in the trail when applying it
    would open a finding (or could not apply), else 'checked'."""
    row = await conn.fetchrow("SELECT changes::text, effective_at, document_id, status FROM org_proposal"
                              " WHERE proposal_id = $1", pid)
    try:  # in a savepoint: checks that fail leave the proposal (and a caller's transaction, e.g. the document's) whole
        async with conn.transaction():
            found = await checks.evaluate(conn, json.loads(row["changes"]), row["effective_at"], overlap_threshold)
    except (asyncpg.PostgresError, ValueError, KeyError, TypeError) as exc:
        log.exception("checks of proposal %s failed", pid)
        await conn.execute("UPDATE org_proposal SET checks = NULL, checked_at = NULL WHERE proposal_id = $1", pid)
        await trail_step(conn, pid, row["document_id"], "system", "check_failed", {"error": f"{type(exc).__name__}:"
                                                                                           f" {str(exc)[:500]}"})
        return {}
    await conn.execute("UPDATE org_proposal SET checks = $2::jsonb, checked_at = now() WHERE proposal_id = $1", pid,
                       json.dumps(found, ensure_ascii=False, default=str))
    warn = found["would_open"] or found["would_not_apply"] or found["invalid"]
    await trail_step(conn, pid, row["document_id"], "system", "warned" if warn else "checked", {
        "would_open": [_brief(f) for f in found["would_open"]], "would_close": [_brief(f) for f in found["would_close"]],
        "would_not_apply": found["would_not_apply"], "invalid": found["invalid"]})
    return found


def _brief(f: dict) -> dict:
    return {"kind": f["kind"], "unit_code": f["unit_code"], "subject": f["subject"]}


# ----------------------------------------------------------------------------- two people

def may_maintain(caller: Caller, region_code: Optional[str]) -> bool:
    """A person (never a machine's token) in a role that maintains staffing data, whose scope holds the region."""
    return (caller.role in (*MAINTAINERS, "admin") and caller.role != "service"
            and (caller.everywhere or (region_code is not None and within(caller.scope, region_code))))


async def _locked(conn: asyncpg.Connection, pid: str, caller: Caller) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT * FROM org_proposal WHERE proposal_id = $1 FOR UPDATE", pid)
    if row is None or not _sees(caller, row["region_code"]):
        raise ProposalError(404, f"no proposal {pid!r} in your regions")
    if not may_maintain(caller, row["region_code"]):
        raise ProposalError(403, f"{caller.name} ({caller.role}) may not maintain staffing data of this unit's region")
    if row["status"] != "proposed":
        raise ProposalError(409, f"proposal {pid} is already {row['status']}")
    return row


async def _out_of_reach(conn: asyncpg.Connection, caller: Caller, changes: list[dict]) -> list[str]:
    """The units the changes touch (named, or where the persons they move stand) outside the caller's regions: a
    proposal of one's own county must not carry changes to another's."""
    if caller.everywhere:
        return []
    named = {c.get(k) for c in changes for k in ("unit_code", "parent_unit_code") if isinstance(c.get(k), str)}
    persons = [c["person_key"] for c in changes if isinstance(c.get("person_key"), str)]
    named |= {r["unit_code"] for r in await conn.fetch(
        "SELECT DISTINCT unit_code FROM org_staff_at(now()) WHERE person_key = ANY($1::text[])", persons)}
    regions = {r["unit_code"]: r["region"] for r in await conn.fetch(
        "SELECT DISTINCT ON (unit_code) unit_code, data->>'region_code' AS region FROM org_version"
        " WHERE part = 'unit' AND unit_code = ANY($1::text[]) ORDER BY unit_code, valid_from DESC", list(named))}
    for c in changes:  # a unit not yet known: the region its founding gives
        if c.get("kind") == "unit_set" and c.get("unit_code") not in regions and isinstance(c.get("region_code"), str):
            regions[c["unit_code"]] = c["region_code"]
    return sorted(u for u in named if not within(caller.scope, regions.get(u)) or regions.get(u) is None)


async def is_person(conn: asyncpg.Connection, name: str) -> bool:
    """A user of the system or the server's operator (cli:<login>); a machine's token (the platform) is no one."""
    return name.startswith("cli:") or bool(await conn.fetchval(
        "SELECT 1 FROM app_user WHERE name = $1 AND role <> 'service'", name))


def _sees(caller: Caller, region_code: Optional[str]) -> bool:
    return caller.everywhere or (region_code is not None and within(caller.scope, region_code))


async def edit(conn: asyncpg.Connection, pid: str, changes: Any, caller: Caller, overlap_threshold: float = 0.6,
               effective_at: Any = None) -> None:
    """The changes replaced (the edit recorded with who, when and what it was before), the date they take effect
    too when given (a change dated as the proposal was moves with it); the checks computed again."""
    if not isinstance(changes, list) or not changes:
        raise ProposalError(400, "changes: a non-empty JSON array of staffing changes")
    when = _instant(effective_at) if effective_at is not None else None
    async with conn.transaction():
        row = await _locked(conn, pid, caller)
        if when is not None:
            changes = [_redated(c, row["effective_at"], when) for c in changes]
        prepared = _prepared(pid, changes, when or row["effective_at"], row["doc_no"])
        far = await _out_of_reach(conn, caller, prepared)
        if far:
            raise ProposalError(403, f"changes to units outside your regions: {', '.join(far[:5])}")
        old = json.loads(row["changes"])
        # a change left as it was keeps the span it was read from
        was = {json.dumps(_bare(c), sort_keys=True): s for c, s in zip(old, json.loads(row["spans"]))}
        spans = [was.get(json.dumps(_bare(c), sort_keys=True), {}) for c in prepared]
        # what the reader noted of the document stays; of a change, while the change stands as it was read
        left = [u for u in json.loads(row["unsure"]) if not u.get("change_id")
                or _same_change(old, prepared, u["change_id"])]
        await conn.execute("UPDATE org_proposal SET changes = $2::jsonb, spans = $3::jsonb, unsure = $4::jsonb,"
                           " edited_by = $5, edited_at = now(), effective_at = coalesce($6, effective_at)"
                           " WHERE proposal_id = $1", pid, json.dumps(prepared, ensure_ascii=False),
                           json.dumps(spans, ensure_ascii=False), json.dumps(left, ensure_ascii=False), caller.name,
                           when)
        await trail_step(conn, pid, row["document_id"], caller.name, "edited", {
            "before": old, "after": prepared, **({"effective_at": {"before": row["effective_at"], "after": when}}
                                                 if when else {})})
    await recheck(conn, pid, overlap_threshold)


def _instant(v: Any) -> datetime:
    """A date (its local midnight) or an ISO time with an offset, as everywhere in the staffing half."""
    from streams.indicators.window import QueryError
    from streams.indicators.window import parse_instant as instant

    try:
        return instant(str(v), "effective_at")
    except QueryError as exc:
        raise ProposalError(400, str(exc)) from None


def _redated(c: Any, old: datetime, new: datetime) -> Any:
    """A change dated as the proposal was (or not at all) takes the proposal's new date."""
    if not isinstance(c, dict):
        return c
    given = c.get("effective_at")
    try:
        same_day = given is None or datetime.fromisoformat(str(given)) == old
    except ValueError:
        return c
    return {**c, "effective_at": new.isoformat()} if same_day else c


def _bare(c: dict) -> dict:
    return {k: v for k, v in c.items() if k != "change_id"}


def _same_change(old: list[dict], new: list[dict], change_id: Optional[str]) -> bool:
    a = next((c for c in old if c.get("change_id") == change_id), None)
    b = next((c for c in new if c.get("change_id") == change_id), None)
    return a is not None and b is not None and _bare(a) == _bare(b)


async def decide(conn: asyncpg.Connection, pid: str, caller: Caller, approve: bool,
                 reason: Optional[str] = None) -> list[StaffingChange]:
    """Approve (the changes to publish, returned: the caller records their receipt in this same transaction, so
    concurrent approvals publish once) or reject with a reason; by a person other than the uploader and the last
    editor."""
    row = await _locked(conn, pid, caller)
    if caller.name in (row["created_by"], row["edited_by"]):
        raise ProposalError(403, "two-person rule: a proposal is approved or rejected by someone other than who"
                                 " uploaded or last edited it")
    if approve and not any([await is_person(conn, n) for n in (row["created_by"], row["edited_by"]) if n]):
        raise ProposalError(403, "two-person rule: it came from a machine and no person has edited it yet; a person"
                                 " reviews it (edit) and another approves")
    if not approve and not (reason or "").strip():
        raise ProposalError(400, "a rejection needs a reason")
    good, bad = checks.validate(json.loads(row["changes"]))
    far = await _out_of_reach(conn, caller, json.loads(row["changes"])) if approve else []
    if far:
        raise ProposalError(403, f"the proposal changes units outside your regions: {', '.join(far[:5])}")
    if approve and bad:
        raise ProposalError(409, "the staffing stream would refuse: " + "; ".join(
            f"{b['change_id']}: {b['reason']}" for b in bad[:5]) + " (edit the proposal)")
    if approve and row["checked_at"] is None:
        raise ProposalError(409, "the proposal has not been checked yet")
    status = "published" if approve else "rejected"
    await conn.execute("UPDATE org_proposal SET status = $2, decided_by = $3, decided_at = now(), reason = $4,"
                       " request_id = $5 WHERE proposal_id = $1", pid, status, caller.name, reason,
                       publication_id(pid) if approve else None)
    await trail_step(conn, pid, row["document_id"], caller.name, "approved" if approve else "rejected",
                     {"reason": reason} if reason else None)
    if approve:
        await trail_step(conn, pid, row["document_id"], "system", "published",
                         {"request_id": publication_id(pid), "change_ids": [c.change_id for c in good]})
    return good if approve else []


async def approve_and_record(conn: asyncpg.Connection, pid: str, caller: Caller, publisher: Any) -> Any:
    """The approval and its publication's edge receipt in one transaction (connectors.edge: the relay sends what
    the caller could not); returns the delivery to send now."""
    from connectors import edge

    async with conn.transaction():
        changes = await decide(conn, pid, caller, True)
        d = publisher.prepare("staffing_change", changes, [], "proposal", publication_id(pid))
        await edge.record(conn, d, len(changes))
    return d


def publication_id(pid: str) -> str:
    """The edge receipt a proposal's publication goes out under: recorded once, whatever repeats."""
    return f"proposal:{pid}"
