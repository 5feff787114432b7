"""Chinese words for search: jieba's search-mode segmentation, in simplified characters, as 'simple' lexemes."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Optional

from core.script import to_simplified
from core.segment import segmenter

_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


_jieba = segmenter  # set up once for every package (core/segment.py)


def words(text: Optional[str]) -> list[str]:
    """The words of a text as search mode cuts them (long words and the shorter words inside them)."""
    clean = _PUNCT.sub(" ", to_simplified(text or "")).strip().lower()
    return [w for w in _jieba().cut_for_search(clean) if w.strip()] if clean else []


# PostgreSQL's tsvector holds at most 1 MB and a lexeme 2 KB: a text's distinct words are kept up to this much
# (lexeme bytes plus ~8 of entry and position each), so no text within the schema fails its indexing; and jieba
# reads the first SEGMENTED_CHARS only (~2 s of a worker for 100,000 characters; the substring search sees all)
VECTOR_BYTES = 512 * 1024
LEXEME_BYTES = 2046
SEGMENTED_CHARS = 100_000


@lru_cache(maxsize=65536)  # a unit's clauses are segmented again each time the unit is rebuilt
def search_vector(text: str) -> str:
    """What to_tsvector('simple', ...) turns into the document's lexemes: its distinct words, first ones first,
    within the bounds above."""
    out, used = [], 0
    for w in dict.fromkeys(words(text[:SEGMENTED_CHARS])):
        size = len(w.encode())
        if size > LEXEME_BYTES:
            continue
        used += size + 8
        if used > VECTOR_BYTES:
            break
        out.append(w)
    return " ".join(out)


def search_query(text: str) -> Optional[str]:
    """A tsquery: every word of the query (as cut for search) must be there; None when it has no words."""
    ws = [w for w in _jieba().lcut(_PUNCT.sub(" ", to_simplified(text)).strip().lower()) if w.strip()]
    return " & ".join("'" + w.replace("'", "''").replace("\\", "") + "'" for w in dict.fromkeys(ws)) or None
