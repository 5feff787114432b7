"""The archive's documents: the original kept once by its SHA-256 and verified when read back, the document queued
for a worker to read, its recognised fields and text per page, read through the caller's region scope."""
from __future__ import annotations

import hashlib
import json
from typing import Any, Optional

import asyncpg

from connectors.documents import Limits, Read
from core.access import scope_pattern
from core.settings import Settings

BRIEF = ("document_id", "sha256", "doc_no", "title", "issued_at", "doc_type", "unit_code", "effective_at", "pages",
         "ocr", "chars", "proposal_id", "status")
COLUMNS = ("document_id, sha256, filename, kind, size_bytes, status, reason, doc_no, title, issued_at, doc_type,"
           " unit_code, region_code, effective_at, spans, given, pages, pages_done, ocr, chars, low_confidence_pages,"
           " proposal_id, uploaded_by, uploaded_at, ready_at")
# what a caller of scope $S sees: documents of units in their regions; one concerning no known unit, only those who
# see everywhere
SCOPED = "(${n}::text IS NULL OR region_code LIKE ${n})"


class Corrupted(RuntimeError):
    """The stored bytes no longer have the SHA-256 they were stored under."""


def limits(s: Settings) -> Limits:
    return Limits(s.archive_max_bytes, s.archive_max_expanded_bytes, s.archive_max_pages, s.archive_max_pixels)


def _iso(v: Any) -> Any:
    return v.isoformat() if hasattr(v, "isoformat") else v


def brief(row: asyncpg.Record) -> dict[str, Any]:
    out = {k: _iso(row[k]) for k in BRIEF}
    out.update(filename=row["filename"], low_confidence_pages=row["low_confidence_pages"], reason=row["reason"])
    return out


def scoped(n: int) -> str:
    return SCOPED.replace("{n}", str(n))


async def add(conn: asyncpg.Connection, data: bytes, filename: str, read: Read, *, uploaded_by: str,
              given: Optional[dict[str, Any]] = None, region_code: Optional[str] = None) -> dict[str, Any]:
    """Keep a file that `connectors.documents.read` accepted, queued for a worker; the same bytes again are the same
    document (`duplicate: true`, what was given the first time stands). It belongs to the region of the uploader
    (`region_code`, their scope) until it is read: then to its unit's, if it names a known one."""
    sha = hashlib.sha256(data).hexdigest()
    given = {k: v for k, v in (given or {}).items() if v is not None}
    async with conn.transaction():
        await conn.execute("INSERT INTO archive_original (sha256, bytes) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                           sha, data)
        row = await conn.fetchrow(
            "INSERT INTO archive_document (sha256, filename, kind, size_bytes, given, pages, ocr, uploaded_by, region_code)"
            f" VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9) ON CONFLICT (sha256) DO NOTHING RETURNING {COLUMNS}",
            sha, filename, read.kind, len(data), json.dumps(given, ensure_ascii=False, default=str), len(read.pages),
            bool(read.scans), uploaded_by, region_code or await region_of(conn, given.get("unit_code")))
        if row is not None:
            await conn.execute("NOTIFY shenpi_archive")
            return {**brief(row), "duplicate": False}
    row = await conn.fetchrow(f"SELECT {COLUMNS} FROM archive_document WHERE sha256 = $1", sha)
    return {**brief(row), "duplicate": True}


async def get(conn: asyncpg.Connection, document_id: int, scope: str = "",
              public: bool = False) -> Optional[dict[str, Any]]:
    """The document with its pages and where each field came from; None when not in the caller's regions (with
    `public`: only a 三定規定, which anyone may read)."""
    from streams.archive.recognize import SANDING

    row = await conn.fetchrow(f"SELECT {COLUMNS} FROM archive_document WHERE document_id = $1 AND {scoped(2)}"
                              " AND (NOT $3 OR (doc_type = $4 AND status = 'ready'))",
                              document_id, scope_pattern(scope), public, SANDING)
    if row is None:
        return None
    pages = await conn.fetch("SELECT n, text, ocr, confidence, low_confidence FROM archive_page WHERE document_id = $1"
                             " ORDER BY n", document_id)
    out = {**brief(row), "kind": row["kind"], "size_bytes": row["size_bytes"], "region_code": row["region_code"],
           "spans": json.loads(row["spans"]), "given": json.loads(row["given"]), "pages_done": row["pages_done"],
           "uploaded_at": _iso(row["uploaded_at"]), "ready_at": _iso(row["ready_at"]),
           "pages": [{"n": p["n"], "text": p["text"], "ocr": p["ocr"], "confidence": p["confidence"],
                      "low_confidence": p["low_confidence"]} for p in pages]}
    if not public:
        out["uploaded_by"] = row["uploaded_by"]
    return out


async def original(conn: asyncpg.Connection, document_id: int, scope: str = "") -> Optional[tuple[str, bytes]]:
    """The file's name and bytes exactly as they came in, checked against their SHA-256 (Corrupted if not)."""
    row = await conn.fetchrow(
        "SELECT d.filename, d.sha256, o.bytes FROM archive_document d JOIN archive_original o USING (sha256)"
        f" WHERE d.document_id = $1 AND {scoped(2)}", document_id, scope_pattern(scope))
    if row is None:
        return None
    if hashlib.sha256(row["bytes"]).hexdigest() != row["sha256"]:
        raise Corrupted(f"document {document_id}: the stored bytes do not match their SHA-256 {row['sha256']}")
    return row["filename"], row["bytes"]


async def list_documents(conn: asyncpg.Connection, scope: str = "", unit: Optional[str] = None,
                         limit: int = 200, public: bool = False) -> list[dict[str, Any]]:
    from streams.archive.recognize import SANDING

    rows = await conn.fetch(
        f"SELECT {COLUMNS} FROM archive_document WHERE {scoped(1)} AND ($2::text IS NULL OR unit_code = $2)"
        " AND (NOT $4 OR (doc_type = $5 AND status = 'ready'))"
        " ORDER BY issued_at DESC NULLS LAST, document_id DESC LIMIT $3", scope_pattern(scope), unit, limit, public,
        SANDING)
    return [brief(r) for r in rows]


async def queue_status(conn: asyncpg.Connection) -> dict[str, Any]:
    """The queue: documents by state, OCR pages waiting and done, what is being read now, what failed and why."""
    counts = {r["status"]: r["n"] for r in await conn.fetch(
        "SELECT status, count(*)::int AS n FROM archive_document GROUP BY 1")}
    ocr = await conn.fetchrow(
        "SELECT coalesce(sum(pages) FILTER (WHERE ocr AND status IN ('queued', 'reading')), 0)::int AS waiting,"
        " coalesce(sum(pages_done) FILTER (WHERE ocr AND status IN ('queued', 'reading')), 0)::int AS done,"
        " count(*) FILTER (WHERE low_confidence_pages > 0)::int AS documents_with_low_confidence_pages"
        " FROM archive_document")
    reading = await conn.fetch("SELECT document_id, filename, pages, pages_done, claimed_at FROM archive_document"
                               " WHERE status = 'reading' ORDER BY claimed_at LIMIT 50")
    failed = await conn.fetch("SELECT document_id, filename, reason FROM archive_document WHERE status = 'failed'"
                              " ORDER BY document_id DESC LIMIT 50")
    return {"documents": {k: counts.get(k, 0) for k in ("queued", "reading", "ready", "failed")},
            "ocr_pages": {"in_queue": ocr["waiting"], "done": ocr["done"]},
            "documents_with_low_confidence_pages": ocr["documents_with_low_confidence_pages"],
            "reading": [{k: _iso(v) for k, v in dict(r).items()} for r in reading],
            "failed": [dict(r) for r in failed]}


async def known_units(conn: asyncpg.Connection) -> list[tuple[str, str]]:
    """Every unit by every name it has had (a renamed unit's old documents use its old name)."""
    return [(r[0], r[1]) for r in await conn.fetch(
        "SELECT DISTINCT unit_code, data->>'name' FROM org_version WHERE part = 'unit' AND data->>'name' <> ''")]


async def region_of(conn: asyncpg.Connection, unit_code: Optional[str]) -> Optional[str]:
    if unit_code is None:
        return None
    return await conn.fetchval("SELECT data->>'region_code' FROM org_version WHERE part = 'unit' AND unit_code = $1"
                               " ORDER BY valid_from DESC LIMIT 1", unit_code)
