"""The archive's queue in the workers: a document taken (SKIP LOCKED, so workers share the queue), its text read (OCR
in child processes, page by page, progress kept), recognised, segmented and stored with its proposal in one
transaction; a document no worker finishes is taken again, and after the last attempt it fails with the reason."""
from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any, Optional

import asyncpg

from connectors.documents import Limits, Refused, page_image, read
from core.script import to_simplified
from core.settings import Settings
from streams.archive import documents
from streams.archive.ocr import PageText, recognize_image
from streams.context import WorkerContext, steady
from streams.staffing.words import search_vector

log = logging.getLogger(__name__)


def ocr_page(data: bytes, kind: str, n: int, engine: str, lim: Limits) -> PageText:
    """Page n of a scan through OCR (in a child process: never on an event loop)."""
    return recognize_image(page_image(data, kind, n, lim), engine)


def _words(texts: list[str]) -> list[tuple[str, str]]:
    plain = [to_simplified(t) for t in texts]
    return [(p, search_vector(p)) for p in plain]


async def claim(conn: asyncpg.Connection, s: Settings) -> Optional[asyncpg.Record]:
    """The next document waiting (or one a worker took and never finished), marked as being read."""
    return await conn.fetchrow(
        "UPDATE archive_document d SET status = 'reading', claimed_at = now(), attempts = attempts + 1, pages_done = 0"
        " FROM archive_original o WHERE o.sha256 = d.sha256 AND d.document_id = ("
        "  SELECT document_id FROM archive_document WHERE status = 'queued' OR (status = 'reading'"
        "   AND claimed_at < now() - make_interval(secs => $1)) ORDER BY document_id FOR UPDATE SKIP LOCKED LIMIT 1)"
        " RETURNING d.document_id, d.filename, d.kind, d.sha256, d.attempts, d.given, d.uploaded_by, o.bytes",
        s.archive_stale_seconds)


async def read_pages(pool: asyncpg.Pool, doc: asyncpg.Record, s: Settings,
                     executor: Optional[Executor]) -> tuple[list[str], list[Optional[float]]]:
    """The text of every page, the scans through OCR one page at a time, progress written after each."""
    data, lim = bytes(doc["bytes"]), documents.limits(s)
    got = await asyncio.to_thread(read, data, doc["filename"], lim)
    texts: list[str] = [p or "" for p in got.pages]
    conf: list[Optional[float]] = [None] * len(texts)
    loop = asyncio.get_running_loop()
    for done, i in enumerate(got.scans, 1):
        page = await loop.run_in_executor(executor, ocr_page, data, got.kind, i, s.archive_ocr_engine, lim)
        texts[i], conf[i] = page.text, page.confidence
        await pool.execute("UPDATE archive_document SET pages_done = $2 WHERE document_id = $1", doc["document_id"], done)
    return texts, conf


async def store(conn: asyncpg.Connection, doc: asyncpg.Record, texts: list[str], conf: list[Optional[float]],
                s: Settings) -> dict[str, Any]:
    """Fields, pages and the proposal, in one transaction."""
    from streams.archive.recognize import recognize

    words = await asyncio.to_thread(_words, texts)
    fields = recognize(texts, await documents.known_units(conn), json.loads(doc["given"]))
    low = [c is not None and c < s.archive_min_confidence for c in conf]
    async with conn.transaction():
        await conn.executemany(
            "INSERT INTO archive_page (document_id, n, text, plain, ocr, confidence, low_confidence, tsv)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, to_tsvector('simple', $8)) ON CONFLICT (document_id, n) DO UPDATE"
            " SET text = excluded.text, plain = excluded.plain, ocr = excluded.ocr, confidence = excluded.confidence,"
            " low_confidence = excluded.low_confidence, tsv = excluded.tsv",
            [(doc["document_id"], n, t, None if w[0] == t else w[0], c is not None, c, lo, w[1])
             for n, (t, w, c, lo) in enumerate(zip(texts, words, conf, low), 1)])
        region = await documents.region_of(conn, fields.get("unit_code"))
        proposal_id = await _propose(conn, doc, texts, fields, s)
        await conn.execute(
            "UPDATE archive_document SET status = 'ready', reason = NULL, doc_no = $2, title = $3, issued_at = $4,"
            " doc_type = $5, unit_code = $6, region_code = coalesce($7, region_code), effective_at = $8, spans = $9::jsonb, pages = $10,"
            " pages_done = $11, chars = $12, low_confidence_pages = $13, proposal_id = $14, ready_at = now(),"
            " tsv = to_tsvector('simple', $15) WHERE document_id = $1", doc["document_id"], fields.get("doc_no"), fields.get("title"),
            _date(fields.get("issued_at")), fields.get("doc_type"), fields.get("unit_code"), region,
            _instant(fields.get("effective_at")), json.dumps(fields["spans"], ensure_ascii=False), len(texts),
            sum(c is not None for c in conf), sum(len(t) for t in texts), sum(low), proposal_id,
            " ".join(w[1] for w in words))
    return fields


async def _propose(conn: asyncpg.Connection, doc: asyncpg.Record, texts: list[str], fields: dict,
                   s: Settings) -> Optional[str]:
    from streams.archive.proposals import propose_for_document

    return await propose_for_document(
        conn, document_id=str(doc["document_id"]), text="\n".join(texts), pages=texts, doc_no=fields.get("doc_no"),
        doc_type=fields.get("doc_type"), unit_code=fields.get("unit_code"),
        effective_at=_instant(fields.get("effective_at")), uploaded_by=doc["uploaded_by"], title=fields.get("title"),
        issued_at=_date(fields.get("issued_at")), settings=s)


def _date(v: Any):
    from datetime import date

    return date.fromisoformat(v) if isinstance(v, str) else v


def _instant(v: Any):
    """A date takes effect at its local midnight (as everywhere in the staffing half)."""
    from datetime import date, datetime

    from core.tz import TZ

    if isinstance(v, str):
        v = datetime.fromisoformat(v) if "T" in v else date.fromisoformat(v)
    if isinstance(v, datetime):
        return v if v.tzinfo else v.replace(tzinfo=TZ)
    return datetime(v.year, v.month, v.day, tzinfo=TZ) if isinstance(v, date) else None


async def fail(conn: asyncpg.Connection, document_id: int, reason: str) -> None:
    await conn.execute("UPDATE archive_document SET status = 'failed', reason = $2 WHERE document_id = $1",
                       document_id, reason[:1000])


async def read_next(pool: asyncpg.Pool, s: Settings, executor: Optional[Executor] = None) -> Optional[int]:
    """Take one document from the queue and read it whole; its id, or None when the queue is empty."""
    async with pool.acquire() as conn:
        doc = await claim(conn, s)
    if doc is None:
        return None
    try:
        texts, conf = await read_pages(pool, doc, s, executor)
        async with pool.acquire() as conn:
            await store(conn, doc, texts, conf, s)
    except Refused as exc:  # read again by a newer reader than the one that accepted it
        async with pool.acquire() as conn:
            await fail(conn, doc["document_id"], str(exc))
    except (asyncpg.PostgresConnectionError, OSError, asyncio.CancelledError):
        raise  # not the document's fault: it is taken again when stale
    except Exception as exc:  # noqa: BLE001 - the document's own fault (OCR crashed on it): tried again, then failed
        log.exception("archive: document %s could not be read", doc["document_id"])
        async with pool.acquire() as conn:
            if doc["attempts"] >= s.archive_max_attempts:
                await fail(conn, doc["document_id"], f"could not be read after {doc['attempts']} attempts:"
                                                     f" {type(exc).__name__}: {exc}")
            else:
                await conn.execute("UPDATE archive_document SET status = 'queued' WHERE document_id = $1",
                                   doc["document_id"])
    return doc["document_id"]


def ocr_executor(s: Settings) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(s.archive_ocr_processes, mp_context=multiprocessing.get_context("spawn"))


def register(ctx: WorkerContext) -> None:
    s = ctx.settings
    executor: dict[str, ProcessPoolExecutor] = {}

    @ctx.app.timer(interval=s.archive_poll_seconds, name="archive-reader")
    @steady(ctx, "archive-reader")
    async def reader():
        pool = await ctx.db.pool()
        if "pool" not in executor:
            executor["pool"] = ocr_executor(s)
        try:
            while await read_next(pool, s, executor["pool"]) is not None:
                pass
        finally:
            if getattr(executor["pool"], "_broken", False):  # an OCR child died (memory?): a fresh one next round
                executor.pop("pool").shutdown(wait=False, cancel_futures=True)

    @ctx.app.on_before_shutdown.connect  # type: ignore[arg-type]  # mode's stub wants its own generic signal type
    async def close_ocr(sender, **kwargs) -> None:
        if "pool" in executor:
            executor.pop("pool").shutdown(wait=False, cancel_futures=True)
