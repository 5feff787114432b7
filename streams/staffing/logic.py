"""The staffing rules, pure: a unit's versions and a person's spans from their changes (by effective time, whatever
the arrival order), and the findings of a unit's state (spec/staffing.md §3, the four kept as changes arrive)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Callable, Iterable, Optional

from core.script import to_simplified

# at one instant: the document first, the unit before its parts, abolitions last; a person enters before moving
ORDER = {"document": 0, "unit_set": 1, "body_set": 2, "quota_set": 2, "posts_set": 2, "duties_set": 2,
         "body_abolished": 3, "unit_abolished": 4, "staff_in": 5, "staff_moved": 6, "staff_out": 7}
FOUNDING = ("name", "region_code", "nature", "rank", "funding")
UNIT_ATTRS = (*FOUNDING, "parent_unit_code")
BASIS = {k: to_simplified(v) for k, v in {
    "over_quota": "《地方各級人民政府機構設置和編制管理條例》第六條、第二十六條",
    "mixed_use": "《地方各級人民政府機構設置和編制管理條例》第十五條",
    "over_posts": "《地方各級人民政府機構設置和編制管理條例》第二十六條、第二十八條",
    "unapproved_body": "《地方各級人民政府機構設置和編制管理條例》第十三條、第二十六條",
    "duty_unexercised": "三定規定",
    "power_without_duty": "三定規定；權責清單",
    "duty_underperformed": "三定規定；14項監測指標",
    "duty_overlap": "三定規定",
}.items()}
CANDIDATES = ("duty_unexercised", "power_without_duty", "duty_underperformed")


def order_key(c: dict[str, Any]) -> tuple:
    return c["effective_at"], ORDER[c["kind"]], c["change_id"]


@dataclass
class Version:
    unit_code: str
    part: str  # unit, body, quota, posts, duty
    key: str
    valid_from: datetime
    valid_to: Optional[datetime]
    data: dict[str, Any]
    approved: Optional[int]
    doc_no: Optional[str]
    change_id: str


@dataclass
class Span:
    person_key: str
    valid_from: datetime
    valid_to: Optional[datetime]
    unit_code: str
    body_code: Optional[str]
    quota_kind: str
    post_level: Optional[str]
    name: str
    sex: str
    id_hash: Optional[str]
    change_id: str
    doc_no: Optional[str]


class _Open:
    """The versions being built: opening one closes the one it replaces (or takes its place at the same instant)."""

    def __init__(self, unit_code: str):
        self.unit_code, self.out, self.now = unit_code, [], {}

    def open(self, part: str, key: str, t: datetime, data: dict, c: dict, approved: Optional[int] = None) -> None:
        self.close(part, key, t)
        v = Version(self.unit_code, part, key, t, None, data, approved, c.get("doc_no"), c["change_id"])
        self.out.append(v)
        self.now[(part, key)] = v

    def close(self, part: str, key: str, t: datetime) -> bool:
        v = self.now.pop((part, key), None)
        if v is None:
            return False
        if v.valid_from == t:  # replaced at the instant it began: it never stood
            self.out.remove(v)
        else:
            v.valid_to = t
        return True

    def keys(self, part: str) -> list[str]:
        return [k for p, k in self.now if p == part]


def unit_history(unit_code: str, changes: Iterable[dict[str, Any]],
                 start: Iterable[Version] = ()) -> tuple[list[Version], dict[str, str]]:
    """The unit's versions, and the changes that do not apply where they stand (change_id -> why). `start`: the
    versions in force after every earlier change (the unit standing), when only later changes are given."""
    built, refused = _Open(unit_code), {}
    for v in map(replace, start):
        built.out.append(v)
        built.now[(v.part, v.key)] = v
    founded = built.now.get(("unit", ""))
    attrs: dict[str, Any] = dict(founded.data) if founded else {}
    exists = founded is not None
    for c in sorted(changes, key=order_key):
        t, kind = c["effective_at"], c["kind"]
        when = t.isoformat()
        if kind == "unit_set":
            merged = {**attrs, **{k: c[k] for k in UNIT_ATTRS if k in c}}
            missing = [k for k in FOUNDING if merged.get(k) is None]
            if not exists and missing:
                refused[c["change_id"]] = f"unit {unit_code} is founded at {when} without {', '.join(missing)}"
                continue
            attrs, exists = merged, True
            built.open("unit", "", t, dict(attrs), c)
            continue
        if not exists:
            refused[c["change_id"]] = f"unit {unit_code} does not exist at {when} ({kind})"
            continue
        if kind == "unit_abolished":
            for part, key in list(built.now):
                built.close(part, key, t)
            exists = False
        elif kind == "body_set":
            built.open("body", c["body_code"], t, {"name": c["name"], "rank": c.get("rank")}, c)
        elif kind == "body_abolished":
            if not built.close("body", c["body_code"], t):
                refused[c["change_id"]] = f"unit {unit_code} has no internal body {c['body_code']} at {when}"
        elif kind == "quota_set":
            built.open("quota", c["quota_kind"], t, {"approved": c["approved"]}, c, c["approved"])
        elif kind == "posts_set":
            built.open("posts", c["post_level"], t, {"approved": c["approved"]}, c, c["approved"])
        elif kind == "duties_set":
            for key in built.keys("duty"):
                built.close("duty", key, t)
            for n, d in enumerate(c["duties"]):
                built.open("duty", d["duty_id"], t, {"text": d["text"], "item_codes": d.get("item_codes", []),
                                                     "n": n}, c)
    return built.out, refused


def person_spans(person_key: str, changes: Iterable[dict[str, Any]],
                 stands: Callable[[str, datetime], bool] = lambda u, t: True,
                 start: Optional[Span] = None) -> tuple[list[Span], dict[str, str]]:
    """Where the person held a quota, span by span, and the changes that do not apply where they stand (among them
    an entry or a move into a unit that does not stand then). `start`: the span open after every earlier change,
    when only later changes are given."""
    cur: Optional[Span] = replace(start) if start else None
    spans: list[Span] = [cur] if cur else []
    refused: dict[str, str] = {}
    for c in sorted(changes, key=order_key):
        t, kind, when = c["effective_at"], c["kind"], c["effective_at"].isoformat()
        if c.get("unit_code") and not stands(c["unit_code"], t):
            refused[c["change_id"]] = f"unit {c['unit_code']} does not stand at {when} ({kind} of {person_key})"
            continue
        if kind == "staff_in":
            if cur is not None:
                refused[c["change_id"]] = f"{person_key} is already in ({cur.unit_code}) at {when}"
                continue
            cur = Span(person_key, t, None, c["unit_code"], c.get("body_code"), c["quota_kind"], c.get("post_level"),
                       c["name"], c["sex"], c.get("id_hash"), c["change_id"], c.get("doc_no"))
            spans.append(cur)
            continue
        if cur is None:
            refused[c["change_id"]] = f"{person_key} is not in the establishment at {when} ({kind})"
            continue
        if cur.valid_from == t:  # a change at the instant the span began takes its place
            spans.remove(cur)
        else:
            cur.valid_to = t
        if kind == "staff_out":
            cur = None
            continue
        new = Span(**{**cur.__dict__, "valid_from": t, "valid_to": None, "change_id": c["change_id"],
                      "doc_no": c.get("doc_no") or cur.doc_no})
        if "unit_code" in c and c["unit_code"] != cur.unit_code:
            new.unit_code, new.body_code = c["unit_code"], None  # a body belongs to its unit
        for k in ("body_code", "quota_kind", "post_level"):
            if k in c:
                setattr(new, k, c[k])
        if c.get("id_hash"):
            new.id_hash = c["id_hash"]
        spans.append(new)
        cur = new
    return spans, refused


@dataclass
class UnitState:
    """A unit at one instant: what the findings look at."""

    exists: bool = False
    approved: dict[str, int] = field(default_factory=dict)  # quota kind -> approved
    posts: dict[str, int] = field(default_factory=dict)  # post level -> approved
    bodies: dict[str, tuple[str, Optional[str]]] = field(default_factory=dict)  # body code -> (name, doc_no)
    holders: dict[str, set[str]] = field(default_factory=dict)  # quota kind -> persons
    held: Counter = field(default_factory=Counter)  # post level -> persons holding it
    # quota kind -> persons who hold it throughout (counted, the first 50 by key named), beside `holders`
    kept: dict[str, tuple[int, list[str]]] = field(default_factory=dict)

    def keep(self, kind: str, level: Optional[str], n: int, persons: list[str]) -> None:
        """Persons holding a kind (and level) from the start on, counted rather than each a span."""
        had, names = self.kept.get(kind, (0, []))
        self.kept[kind] = (had + n, sorted(names + persons)[:50])
        self.holders.setdefault(kind, set())
        if level:
            self.held[level] += n

    def actual(self, kind: str) -> int:
        return len(self.holders.get(kind, ())) + self.kept.get(kind, (0, []))[0]

    def persons(self, kind: str) -> list[str]:
        return sorted([*self.holders.get(kind, ()), *self.kept.get(kind, (0, []))[1]])[:50]

    def add_version(self, v: Version, sign: int) -> None:
        if v.part == "unit":
            self.exists = sign > 0
        elif v.part == "quota":
            self._put(self.approved, v.key, v.approved, sign)
        elif v.part == "posts":
            self._put(self.posts, v.key, v.approved, sign)
        elif v.part == "body":
            self._put(self.bodies, v.key, (v.data.get("name"), v.doc_no), sign)

    @staticmethod
    def _put(d: dict, key: str, value: Any, sign: int) -> None:
        if sign > 0:
            d[key] = value
        elif d.get(key) == value:
            del d[key]

    def add_span(self, s: Span, sign: int) -> None:
        holders = self.holders.setdefault(s.quota_kind, set())
        (holders.add if sign > 0 else holders.discard)(s.person_key)
        if s.post_level:
            self.held[s.post_level] += sign


Finding = tuple[str, str]  # kind, subject


def quota_figures(approved: Optional[int], actual: int) -> dict[str, Any]:
    """One (unit, quota kind)'s figures (spec §2): the figures, the findings and the evaluation use these alone."""
    a = approved or 0
    return {"approved": a, "actual": actual, "vacant": max(0, a - actual), "over": max(0, actual - a),
            "usage_rate": round(actual / a, 4) if a else None}


def quota_finding(approved: Optional[int], actual: int) -> Optional[str]:
    """What a kind's figures show (spec §3): 超編 only where a quota is approved; holders of a kind approved 0 or
    absent are 混編 alone, never also 超編."""
    if approved and actual > approved:
        return "over_quota"
    return "mixed_use" if actual and not approved else None


def findings_at(st: UnitState, in_archive: Callable[[str], bool]) -> dict[Finding, dict[str, Any]]:
    """The four findings the staffing data alone decides, with the figures that show them."""
    if not st.exists:
        return {}
    out: dict[Finding, dict[str, Any]] = {}
    for kind in st.holders:
        actual, approved = st.actual(kind), st.approved.get(kind)
        found = quota_finding(approved, actual)
        if found == "over_quota":
            out[(found, kind)] = {"quota_kind": kind, "approved": approved, "actual": actual, "over": actual - approved}
        elif found == "mixed_use":
            out[(found, kind)] = {"quota_kind": kind, "approved": approved, "actual": actual,
                                  "persons": st.persons(kind)}
    for level, n in st.held.items():
        if n > st.posts.get(level, 0):
            out[("over_posts", level)] = {"post_level": level, "posts_approved": st.posts.get(level, 0),
                                          "posts_held": n}
    for code, (name, doc_no) in st.bodies.items():
        if not doc_no or not in_archive(doc_no):
            out[("unapproved_body", code)] = {"body_code": code, "name": name, "doc_no": doc_no,
                                              "why": "no doc_no" if not doc_no else "doc_no not in the archive"}
    return out


@dataclass
class Interval:
    kind: str
    subject: str
    opened_at: datetime
    closed_at: Optional[datetime]
    figures: dict[str, Any]


def finding_intervals(versions: Iterable[Version], spans: Iterable[Span], in_archive: Callable[[str], bool],
                      start: Optional[datetime] = None,
                      kept: Iterable[tuple[str, Optional[str], int, list[str]]] = ()) -> list[Interval]:
    """Sweep the unit's history (from `start`, with what stood then, when given): at each instant something starts
    or ends, the findings that hold then; each finding's intervals with the figures as it opened. `kept`: spans
    standing at `start` that never end, counted per quota kind and post level (the first 50 persons named)."""
    st = UnitState()
    moments: dict[datetime, list[tuple[int, Any]]] = {}
    for kind, level, n, persons in kept:
        st.keep(kind, level, n, persons)
        moments.setdefault(start, [])  # type: ignore[index]
    for x in [*versions, *spans]:
        moments.setdefault(x.valid_from if start is None else max(x.valid_from, start), []).append((1, x))
        if x.valid_to is not None:
            moments.setdefault(x.valid_to, []).append((-1, x))
    open_: dict[Finding, Interval] = {}
    out: list[Interval] = []
    for t in sorted(moments):
        for sign, x in sorted(moments[t], key=lambda p: p[0]):  # ends before starts
            (st.add_version if isinstance(x, Version) else st.add_span)(x, sign)
        now = findings_at(st, in_archive)
        for f in [f for f in open_ if f not in now]:
            open_.pop(f).closed_at = t
        for f, figures in now.items():
            if f not in open_:
                open_[f] = Interval(f[0], f[1], t, None, figures)
                out.append(open_[f])
    return out
