"""Overlapping powers (職能交叉): how alike two items are by name, and the same legal article claimed by two
departments. Chinese text is segmented with jieba; the similarity of names is the cosine of TF-IDF weighted words
and character bigrams (bench/overlap.py measures it against planted near-duplicates and unrelated items)."""
from __future__ import annotations

import functools
import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Optional

import numpy as np

from core.script import cn_number
from core.segment import segmenter

# 《...法》第十二條 / 第12条: the law and the article, whatever the numerals and the script
_ARTICLE = re.compile(r"《([^》]{2,60})》\s*第\s*([0-9零〇一二三四五六七八九十百千两兩]+)\s*[條条]")
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)
STOP = frozenset({"的", "和", "及", "与", "或", "等", "对", "之", "其"})


def articles(legal_basis: Optional[str]) -> set[tuple[str, int]]:
    """The (law, article) pairs a legal basis cites."""
    return {(law.strip(), cn_number(num)) for law, num in _ARTICLE.findall(legal_basis or "")}


def terms(text: Optional[str]) -> list[str]:
    """Words (jieba) and character bigrams of the text, without punctuation and stop words, in simplified
    characters: 食品经营许可 and 食品經營許可 are the same words."""
    from core.script import to_simplified

    clean = _PUNCT.sub(" ", to_simplified(text or "")).strip()
    if not clean:
        return []
    words = [w for piece in clean.split(" ") for w in _words(piece)]
    chars = clean.replace(" ", "")
    return words + [chars[i:i + 2] for i in range(len(chars) - 1)]


@functools.lru_cache(maxsize=65536)
def _words(piece: str) -> tuple[str, ...]:
    """jieba's words of one run of characters between spaces: jieba cuts each such run on its own, so a clause
    met again (材料太多, 跑了三趟) is not segmented again, and the words are those of the whole text."""
    return tuple(w for w in segmenter().lcut(piece) if w.strip() and w not in STOP)


@dataclass(frozen=True)
class Item:
    item_code: str
    name: str
    department_code: Optional[str]
    legal_basis: Optional[str] = None


class Index:
    """TF-IDF vectors of items' names, for cosine similarity; legal bases are compared by the articles they cite."""

    def __init__(self, items: Iterable[Item]):
        self.items = list(items)
        docs = [self._bag(i) for i in self.items]
        df: Counter = Counter()
        for d in docs:
            df.update(d.keys())
        n = max(len(docs), 1)
        self.idf = {t: math.log((1 + n) / (1 + c)) + 1 for t, c in df.items()}
        self.unseen = math.log(1 + max(len(self.items), 1)) + 1  # the weight of a term no name has
        self.vectors = [self._vector(d) for d in docs]

    @staticmethod
    def _bag(i: Item) -> Counter:
        # the name alone: a legal basis on one side only would dilute it (its articles are compared apart)
        return Counter(terms(i.name))

    def _vector(self, bag: Counter) -> dict[str, float]:
        idf, unseen = self.idf, self.unseen
        v = {t: c * idf.get(t, unseen) for t, c in bag.items()}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        return {t: x / norm for t, x in v.items()}

    def similar(self, item: Item, threshold: float, top: int = 5) -> list[dict]:
        """Items in other departments at least `threshold` alike, best first, and identical articles claimed."""
        v = self._vector(self._bag(item))
        mine = articles(item.legal_basis)
        out: list[dict[str, Any]] = []
        for other, w in zip(self.items, self.vectors):
            if other.item_code == item.item_code or other.department_code == item.department_code:
                continue
            score = sum(x * w.get(t, 0.0) for t, x in v.items())
            shared = sorted(f"《{law}》第{n}條" for law, n in mine & articles(other.legal_basis))
            if score >= threshold or shared:
                out.append({"item_code": other.item_code, "name": other.name, "department_code": other.department_code,
                            "score": round(score, 4), "same_articles": shared})
        return sorted(out, key=lambda r: (-bool(r["same_articles"]), -r["score"], r["item_code"]))[:top]


    def best(self, text: str) -> tuple[Optional[Item], float]:
        """The item whose name a free text (a demand's words) is most like, and how alike; a tie goes to the item
        the text's terms reach first. Only the items sharing a term are scored, summed term by term in the text's
        order (the same sums as the cosine over all items, streams/demands/link.py's reference)."""
        if not hasattr(self, "_postings"):
            lists: dict[str, list[tuple[int, float]]] = {}
            for k, vec in enumerate(self.vectors):
                for t, w in vec.items():
                    lists.setdefault(t, []).append((k, w))
            self._postings = {t: (np.array([k for k, _ in ps], dtype=np.intp), np.array([w for _, w in ps]))
                              for t, ps in lists.items()}
        hits = [(self._postings[t], x) for t, x in self._vector(Counter(terms(text))).items() if t in self._postings]
        if not hits:
            return None, 0.0
        ks = np.concatenate([p[0] for p, _ in hits])
        scores = np.bincount(ks, weights=np.concatenate([p[1] * x for p, x in hits]), minlength=len(self.items))
        top = scores.max()
        tied = np.flatnonzero(scores == top)
        best = int(tied[0]) if len(tied) == 1 else int(ks[np.flatnonzero(np.isin(ks, tied))[0]])
        return self.items[best], float(top)

    def all_pairs(self, threshold: float, common: float = 0.05) -> list[dict]:
        """Every pair of items of different departments at least `threshold` alike, or claiming the same article.
        Candidates share a term that few items have (an inverted index), so the report does not grow with the
        square of the list."""
        postings: dict[str, list[int]] = {}
        for k, v in enumerate(self.vectors):
            for t in v:
                postings.setdefault(t, []).append(k)
        limit = max(2, int(common * len(self.items)))
        by_article: dict[tuple[str, int], list[int]] = {}
        for k, it in enumerate(self.items):
            for art in articles(it.legal_basis):
                by_article.setdefault(art, []).append(k)
        seen: set[tuple[int, int]] = set()
        out = []
        for ks in [*(p for p in postings.values() if len(p) <= limit), *by_article.values()]:
            for x in range(len(ks)):
                for y in range(x + 1, len(ks)):
                    i, j = ks[x], ks[y]
                    a, b = self.items[i], self.items[j]
                    if (i, j) in seen or a.department_code == b.department_code:
                        continue
                    seen.add((i, j))
                    vi, vj = self.vectors[i], self.vectors[j]
                    score = sum(w * vj.get(t, 0.0) for t, w in vi.items())
                    shared = sorted(f"《{law}》第{n}條" for law, n in articles(a.legal_basis) & articles(b.legal_basis))
                    if score >= threshold or shared:
                        out.append({"items": [a.item_code, b.item_code], "names": [a.name, b.name],
                                    "departments": [a.department_code, b.department_code], "score": round(score, 4),
                                    "same_articles": shared})
        return sorted(out, key=lambda r: (-bool(r["same_articles"]), -r["score"], r["items"]))


def similarity(a: str, b: str) -> float:
    """Two names alone, weighted by their own two-document vocabulary (bench/overlap.py's measure)."""
    idx = Index([Item("a", a, "x"), Item("b", b, "y")])
    return sum(x * idx.vectors[1].get(t, 0.0) for t, x in idx.vectors[0].items())
