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


async def search(conn: asyncpg.Connection, text: str, scope: str = "", unit: Optional[str] = None,
                 doc_type: Optional[str] = None, years: tuple[Optional[int], Optional[int]] = (None, None),
                 region: Optional[str] = None, limit: int = 20, offset: int = 0,
                 public: bool = False) -> dict[str, Any]:
    """Pages that have every word (and every phrase), best first, one hit per document (its best page)."""
    query, phrases, marks = parse(text)
    if query is None and not phrases:
        return {"query": text, "total": 0, "hits": []}
    y0, y1 = years
    args = [query, [like_pattern(p) for p in phrases], scope_pattern(scope), unit, doc_type and to_simplified(doc_type),
            date(y0, 1, 1) if y0 else None, date(y1 + 1, 1, 1) if y1 else None, scope_pattern(region or ""), public]
    where = ("($1::text IS NULL OR p.tsv @@ to_tsquery('simple', $1)) AND p.plain LIKE ALL($2::text[])"
             " AND d.status = 'ready' AND ($3::text IS NULL OR d.region_code LIKE $3)"
             " AND ($4::text IS NULL OR d.unit_code = $4) AND ($5::text IS NULL OR d.doc_type = $5)"
             " AND ($6::date IS NULL OR d.issued_at >= $6) AND ($7::date IS NULL OR d.issued_at < $7)"
             " AND ($8::text IS NULL OR d.region_code LIKE $8) AND (NOT $9 OR d.doc_type = '三定规定')")
    total = await conn.fetchval("SELECT count(DISTINCT p.document_id) FROM archive_page p JOIN archive_document d"
                                f" USING (document_id) WHERE {where}", *args)
    rows = await conn.fetch(
        "SELECT * FROM (SELECT DISTINCT ON (p.document_id) p.document_id, p.n, p.text, p.plain, d.doc_no, d.title,"
        "  d.unit_code, d.doc_type, d.issued_at,"
        "  CASE WHEN $1::text IS NULL THEN 0 ELSE ts_rank(p.tsv, to_tsquery('simple', $1)) END AS rank"
        f"  FROM archive_page p JOIN archive_document d USING (document_id) WHERE {where}"
        "  ORDER BY p.document_id, rank DESC, p.n) best"
        " ORDER BY rank DESC, issued_at DESC NULLS LAST, document_id DESC LIMIT $10 OFFSET $11", *args, limit, offset)
    return {"query": text, "total": total, "hits": [
        {"document_id": r["document_id"], "doc_no": r["doc_no"], "title": r["title"], "unit_code": r["unit_code"],
         "doc_type": r["doc_type"], "issued_at": r["issued_at"].isoformat() if r["issued_at"] else None,
         "page": r["n"], "rank": round(float(r["rank"]), 6), "snippet": snippet(r["text"], r["plain"], marks)}
        for r in rows]}
