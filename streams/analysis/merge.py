"""Merge candidates (整合): sets of items an applicant applies for together, all within a gap of each other, in any
order. Level-wise (Apriori): a set can pass the confidence bar only if every subset does, so sets grow from the
passing ones; the maximal passing sets are reported."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from itertools import combinations

from streams.analysis.model import Application, by_applicant


@dataclass(frozen=True)
class MergeParams:
    min_support: int = 30
    max_gap: timedelta = timedelta(days=30)
    min_confidence: float = 0.6
    min_lift: float = 5.0
    max_size: int = 6

    def check(self) -> "MergeParams":
        if self.min_support < 1 or self.max_gap <= timedelta(0) or self.max_size < 2:
            raise ValueError("merge: min_support >= 1, max_gap > 0 and max_size >= 2")
        return self


def _windows(apps: list[Application], gap: timedelta) -> list[frozenset[str]]:
    """The item sets an applicant has within `gap` of each other: one per application, from it onwards."""
    out: list[frozenset[str]] = []
    for i, a in enumerate(apps):
        items = {b.item for b in apps[i:] if b.t - a.t <= gap}
        if len(items) > 1 and not any(items <= w for w in out):
            out.append(frozenset(items))
    return out


def merge_sets(apps: list[Application], params: MergeParams = MergeParams()) -> list[dict]:
    params.check()
    seqs = by_applicant(apps)
    n = len(seqs)
    holders: dict[str, int] = {}
    for seq in seqs.values():
        for item in {a.item for a in seq}:
            holders[item] = holders.get(item, 0) + 1
    windows = {who: _windows(seq, params.max_gap) for who, seq in seqs.items()}

    def support(s: frozenset[str]) -> int:
        return sum(1 for ws in windows.values() if any(s <= w for w in ws))

    sup: dict[frozenset[str], int] = {}
    pair_count: dict[frozenset[str], int] = {}
    for ws in windows.values():
        pairs = {frozenset(p) for w in ws for p in combinations(sorted(w), 2)}
        for p in pairs:
            pair_count[p] = pair_count.get(p, 0) + 1
    level = {p for p, c in pair_count.items() if c >= params.min_support}
    sup.update({p: pair_count[p] for p in level})
    passing: list[frozenset[str]] = []

    def conf_ok(s: frozenset[str]) -> bool:
        return all(sup[s] / holders[x] >= params.min_confidence for x in s)

    size = 2
    while level and size <= params.max_size:
        level = {s for s in level if conf_ok(s)}
        passing += [s for s in level if _lift(s, sup, holders, n, support) >= params.min_lift]
        nxt: set[frozenset[str]] = set()
        for a, b in combinations(sorted(level, key=sorted), 2):
            u = a | b
            if len(u) == size + 1 and u not in nxt and all(frozenset(c) in level for c in combinations(u, size)):
                nxt.add(u)
        level = set()
        for u in nxt:
            sup[u] = support(u)
            if sup[u] >= params.min_support:
                level.add(u)
        size += 1
    maximal = [s for s in passing if not any(s < o for o in passing)]
    out = []
    for s in maximal:
        out.append({"item_codes": sorted(s), "support": sup[s],
                    "confidence": {x: sup[s] / holders[x] for x in sorted(s)},
                    "lift": _lift(s, sup, holders, n, support), "applicants": n})
    return sorted(out, key=lambda r: (-r["support"], r["item_codes"]))


def _lift(s: frozenset[str], sup: dict, holders: dict[str, int], n: int, support) -> float:
    """The least, over the set's items x, of confidence(x → the rest) / share of applicants with the rest
    together: for a pair, P(AB) / (P(A) P(B))."""
    out = float("inf")
    for x in s:
        rest = s - {x}
        rest_sup = holders[next(iter(rest))] if len(rest) == 1 else sup.get(rest) or support(rest)
        out = min(out, (sup[s] / holders[x]) / (rest_sup / n))
    return out
