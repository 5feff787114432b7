"""全文檢索 over the archive: jieba's words in simplified characters (so either script finds either), "quoted phrases"
matched as written (in one script), ranked, each hit with its page and a snippet with the words marked."""
from __future__ import annotations

import html
import re
from datetime import date
from typing import Any, Optional

import asyncpg

from core.access import like_pattern, scope_pattern
from core.script import to_simplified
from streams.archive.recognize import SANDING
from streams.staffing.words import search_query, words

_PHRASE = re.compile(r"[\"“”「」『』]([^\"“”「」『』]+)[\"“”「」『』]")
MARK, END = "<mark>", "</mark>"
SNIPPET = 60  # characters either side of the first word found


def parse(text: str) -> tuple[Optional[str], list[str], list[str]]:
    """(the tsquery of every word, the phrases, the words to mark) of a query in either script."""
    plain = to_simplified(text)
    phrases = [p.strip() for p in _PHRASE.findall(plain) if p.strip()]
    query = search_query(plain)
    if query is not None and all(len(w) == 1 for w in words(plain)):  # single characters are not indexed as words
        phrases, query = phrases + [w for w in words(plain)], None
    marks = sorted({w for w in words(plain) if len(w) > 1 or len(plain.strip()) == 1} | set(phrases), key=len,
                   reverse=True)
    return query, phrases, marks


def snippet(text: str, plain: str, marks: list[str]) -> str:
    """Around the first place a word or phrase occurs, the page's own text (its script) with the words marked."""
    hits = [(plain.find(m), m) for m in marks if plain.find(m) >= 0]
    if not hits:
        return text[: 2 * SNIPPET].replace("\n", " ")
    at = min(hits)[0]
    src = text if len(text) == len(plain) else plain  # OpenCC kept the length: offsets hold in the original
    lo, hi = max(0, at - SNIPPET), min(len(src), at + SNIPPET)
    piece, ppiece = src[lo:hi], plain[lo:hi]
    spans, i = [], 0
    pattern = re.compile("|".join(re.escape(m) for m in marks))
    for m in pattern.finditer(ppiece):
        spans.append(piece[i:m.start()])
        spans.append(MARK + piece[m.start():m.end()] + END)
        i = m.end()
    spans.append(piece[i:])
    marked = "".join(spans).replace("\n", " ").replace(END + MARK, "")  # words side by side: one mark
    return ("…" if lo else "") + marked + ("…" if hi < len(src) else "")


def marked_html(s: str) -> str:
    """A snippet for a page: escaped, with its marks kept as marks."""
    return html.escape(s).replace(html.escape(MARK), MARK).replace(html.escape(END), END)


RANKED = 2000  # up to this many documents found are ranked; beyond, the newest come first (ranking all costs seconds)


def _filters(query, phrases, scope, unit, doc_type, years, region, public) -> tuple[str, list]:
    """The WHERE of the documents found, with only the conditions given (so the planner uses the indexes)."""
    args: list = []

    def arg(v) -> str:
        args.append(v)
        return f"${len(args)}"

    where = ["d.status = 'ready'"]
    if query:
        where.append(f"d.tsv @@ to_tsquery('simple', {arg(query)})")
    for pattern in (scope_pattern(scope), scope_pattern(region or "")):
        if pattern:
            where.append(f"d.region_code LIKE {arg(pattern)}")
    if unit:
        where.append(f"d.unit_code = {arg(unit)}")
    if doc_type or public:
        where.append(f"d.doc_type = {arg(SANDING if public else to_simplified(doc_type))}")
    if years[0]:
        where.append(f"d.issued_at >= {arg(date(years[0], 1, 1))}")
    if years[1]:
        where.append(f"d.issued_at < {arg(date(years[1] + 1, 1, 1))}")
    if phrases:  # last: the costliest, on what the rest leaves
        where.append("EXISTS (SELECT 1 FROM archive_page p WHERE p.document_id = d.document_id"
                     f" AND coalesce(p.plain, p.text) LIKE ALL({arg([like_pattern(x) for x in phrases])}::text[]))")
    return " AND ".join(where), args


async def search(conn: asyncpg.Connection, text: str, scope: str = "", unit: Optional[str] = None,
                 doc_type: Optional[str] = None, years: tuple[Optional[int], Optional[int]] = (None, None),
                 region: Optional[str] = None, limit: int = 20, offset: int = 0,
                 public: bool = False) -> dict[str, Any]:
    """Documents that have every word (and every phrase on one page), best first, each with its best page."""
    query, phrases, marks = parse(text)
    if query is None and not phrases:
        return {"query": text, "total": 0, "hits": []}
    where, args = _filters(query, phrases, scope, unit, doc_type, years, region, public)
    n = len(args)
    async with conn.transaction():
        # a word most documents have makes a plain scan look cheaper than the index, and it reads every document's
        # words (50,000 documents: 2 s against 0.2 s through the index)
        await conn.execute("SET LOCAL enable_seqscan = off")
        total, exact = await _count(conn, where, args, phrases)
        order = "ts_rank(d.tsv, to_tsquery('simple', $1)) DESC," if query and total <= RANKED else ""
        docs = await conn.fetch(
            f"SELECT d.document_id, d.doc_no, d.title, d.unit_code, d.doc_type, d.issued_at FROM archive_document d"
            f" WHERE {where} ORDER BY {order} d.issued_at DESC NULLS LAST, d.document_id DESC"
            f" LIMIT ${n + 1} OFFSET ${n + 2}", *args, limit, offset)
    pages = await conn.fetch(
        "SELECT DISTINCT ON (document_id) document_id, n, text, coalesce(plain, text) AS plain FROM archive_page"
        " WHERE document_id = ANY($1::bigint[]) ORDER BY document_id, coalesce(plain, text) LIKE ALL($3::text[]) DESC,"
        " CASE WHEN $2::text IS NULL THEN 0 ELSE ts_rank(tsv, to_tsquery('simple', $2)) END DESC, n",
        [d["document_id"] for d in docs], query, [like_pattern(x) for x in phrases])
    if not exact and len(docs) < limit:  # every document with the words was checked for the phrases
        total, exact = offset + len(docs), True
    best = {p["document_id"]: p for p in pages}  # the page with the phrases and most of the words
    hits = []
    for d in docs:
        p = best.get(d["document_id"])
        hits.append({"document_id": d["document_id"], "doc_no": d["doc_no"], "title": d["title"],
                     "unit_code": d["unit_code"], "doc_type": d["doc_type"],
                     "issued_at": d["issued_at"].isoformat() if d["issued_at"] else None, "page": p["n"] if p else 1,
                     "snippet": snippet(p["text"], p["plain"], marks) if p else ""})
    return {"query": text, "total": total, "total_exact": exact, "ranked": bool(order) or not query, "hits": hits}


async def _count(conn: asyncpg.Connection, where: str, args: list, phrases: list[str]) -> tuple[int, bool]:
    """How many documents are found. A phrase is checked in the pages' text: over more than RANKED documents that
    have its words that costs seconds, so then the count is of those documents (an upper bound, `total_exact`
    false); the hits are still checked one by one."""
    if phrases:
        words_only = where.rsplit(" AND EXISTS (", 1)[0]
        upper = await conn.fetchval(f"SELECT count(*) FROM archive_document d WHERE {words_only}", *args[:-1])
        if upper > RANKED:
            return upper, False
    return await conn.fetchval(f"SELECT count(*) FROM archive_document d WHERE {where}", *args), True
