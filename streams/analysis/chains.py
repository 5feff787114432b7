"""Service chains (辦事鏈條) mined from applicants' application sequences, by the occurrence rule of the spec:
an applicant follows i1 → … → ik when applications a1 … ak for them exist with t1 < … < tk and tk − t1 within the
span; the occurrence is matched from the earliest a1 for which that is possible, each next application being the
earliest after the previous one.

Mining grows prefixes depth first (PrefixSpan's projection: per applicant, every a1 whose greedy match of the
prefix fits in the span), so support, confidence and lift are exact for every chain considered; steps that miss
the confidence or lift bar end the growth, as no extension can pass them. Reported: the maximal chains (none is a
subsequence of another reported chain), ranked by support."""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Optional

from streams.analysis.model import Application, by_applicant, days, median

Match = tuple[int, ...]  # positions in an applicant's sequence, one per chain item


@dataclass(frozen=True)
class ChainParams:
    min_support: int = 30
    max_span: timedelta = timedelta(days=90)
    min_confidence: float = 0.3
    min_lift: float = 3.0
    max_length: int = 8

    def check(self) -> "ChainParams":
        if self.min_support < 1:
            raise ValueError("min_support must be at least 1")
        if not timedelta(0) < self.max_span <= timedelta(days=366):
            raise ValueError("max_span_days must be above 0 and at most 366")
        if not 0 <= self.min_confidence <= 1:
            raise ValueError("min_confidence must be between 0 and 1")
        if self.min_lift < 0:
            raise ValueError("min_lift must not be negative")
        if not 2 <= self.max_length <= 8:
            raise ValueError("max_length must be from 2 to 8")
        return self


class _Seqs:
    """Per applicant: the sequence, and per item the times and positions of its applications."""

    def __init__(self, apps: list[Application]):
        self.seqs = by_applicant(apps)
        self.index: dict[str, dict[str, tuple[list, list[int]]]] = {}
        for who, seq in self.seqs.items():
            idx: dict[str, tuple[list, list[int]]] = {}
            for pos, a in enumerate(seq):
                ts, ps = idx.setdefault(a.item, ([], []))
                ts.append(a.t)
                ps.append(pos)
            self.index[who] = idx
        self.n = len(self.seqs)
        self.holders: dict[str, int] = {}
        for idx in self.index.values():
            for item in idx:
                self.holders[item] = self.holders.get(item, 0) + 1

    def share(self, item: str) -> float:
        return self.holders.get(item, 0) / self.n if self.n else 0.0

    def next_after(self, who: str, item: str, after_pos: int) -> Optional[int]:
        """The position of the earliest application for `item` strictly later than the one at after_pos."""
        hit = self.index[who].get(item)
        if hit is None:
            return None
        ts, ps = hit
        k = bisect_right(ts, self.seqs[who][after_pos].t)
        return ps[k] if k < len(ps) else None


def matches(seqs: _Seqs, who: str, chain: tuple[str, ...], span: timedelta) -> list[Match]:
    """Every a1 (in time order) whose greedy match of the chain fits in the span."""
    out = []
    first = seqs.index[who].get(chain[0])
    for p in (first[1] if first else ()):
        m = [p]
        for item in chain[1:]:
            q = seqs.next_after(who, item, m[-1])
            if q is None or seqs.seqs[who][q].t - seqs.seqs[who][p].t > span:
                break
            m.append(q)
        else:
            out.append(tuple(m))
    return out


def mine(apps: list[Application], params: ChainParams = ChainParams(), maximal: bool = True) -> list[dict]:
    params.check()
    seqs = _Seqs(apps)
    span = params.max_span
    found: list[tuple[tuple[str, ...], dict[str, list[Match]], list[tuple[float, float]]]] = []
    # a step's lift is at most 1 / share: items too common can never be a later step
    later_ok = {i for i, n in seqs.holders.items()
                if n >= params.min_support and (params.min_lift == 0 or n / seqs.n <= 1 / params.min_lift)}

    def grow(chain: tuple[str, ...], proj: dict[str, list[Match]], steps: list[tuple[float, float]]) -> None:
        if len(chain) >= 2:
            found.append((chain, proj, steps))
        if len(chain) >= params.max_length:
            return
        ext: dict[str, dict[str, list[Match]]] = {}
        for who, ms in proj.items():
            seq = seqs.seqs[who]
            for m in ms:
                start, last = seq[m[0]].t, m[-1]
                seen: set[str] = set()
                for q in range(last + 1, len(seq)):
                    a = seq[q]
                    if a.t - start > span:
                        break
                    if a.t <= seq[last].t or a.item in seen or a.item in chain or a.item not in later_ok:
                        continue
                    seen.add(a.item)  # the earliest application of the item after the last one
                    ext.setdefault(a.item, {}).setdefault(who, []).append((*m, q))
        support = len(proj)
        for item, nproj in sorted(ext.items()):
            s = len(nproj)
            if s < params.min_support:
                continue
            conf = s / support
            lift = conf / seqs.share(item)
            if conf >= params.min_confidence and lift >= params.min_lift:
                grow((*chain, item), nproj, [*steps, (conf, lift)])

    for item in sorted(i for i, n in seqs.holders.items() if n >= params.min_support):
        proj: dict[str, list[Match]] = {}
        for who, idx in seqs.index.items():
            if item in idx:
                proj[who] = [(p,) for p in idx[item][1]]
        grow((item,), proj, [])
    chains = [c for c, _, _ in found]
    keep = [f for f in found if not maximal or not any(
        len(other) > len(f[0]) and _subsequence(f[0], other) for other in chains)]
    out = [_describe(seqs, chain, proj, steps) for chain, proj, steps in keep]
    return sorted(out, key=lambda c: (-c["support"], c["items"]))


def _subsequence(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    it = iter(long)
    return all(x in it for x in short)


def _describe(seqs: _Seqs, chain: tuple[str, ...], proj: dict[str, list[Match]],
              steps: list[tuple[float, float]]) -> dict:
    """Support, the medians over the followers' occurrences (each from its earliest a1), and the bottleneck."""
    occ = {who: ms[0] for who, ms in proj.items()}  # the first feasible a1 in time order
    rows: list[dict[str, Any]] = []
    for j, item in enumerate(chain):
        waits, handling = [], []
        for who, m in occ.items():
            seq = seqs.seqs[who]
            a = seq[m[j]]
            handling.append(days(a.accepted_at, a.completed_at))
            if j:
                waits.append(days(seq[m[j - 1]].completed_at, a.t))
        conf, lift = steps[j - 1] if j else (None, None)
        rows.append({"item": item, "confidence": conf, "lift": lift,
                     "median_wait_days": median(waits) if j else None, "median_handling_days": median(handling)})
    scored = [(s["median_wait_days"] or 0) + (s["median_handling_days"] or 0) for s in rows]
    defined = [k for k, s in enumerate(rows) if s["median_wait_days"] is not None or s["median_handling_days"] is not None]
    bottleneck = rows[max(defined, key=lambda k: scored[k])]["item"] if defined else None
    end = [days(seqs.seqs[who][m[0]].t, seqs.seqs[who][m[-1]].completed_at) for who, m in occ.items()]
    return {"items": list(chain), "support": len(proj), "median_days": median(end), "steps": rows,
            "bottleneck": bottleneck}
