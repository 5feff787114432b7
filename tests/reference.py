"""A plain batch recomputation of the indicators from raw events, written from the spec, not from the code."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable, Optional
from zoneinfo import ZoneInfo

SH = ZoneInfo("Asia/Shanghai")


def _ts(v: Any) -> Optional[datetime]:
    return datetime.fromisoformat(v) if isinstance(v, str) else v


def _level(region: str) -> str:
    if len(region) == 9:
        return "town"
    return "province" if region[2:] == "0000" else "city" if region[4:] == "00" else "county"


def _workday_deadline(accepted: datetime, days: int, calendar: Optional[dict] = None) -> datetime:
    """`calendar`: date -> is a working day, for the days that differ from Monday to Friday."""
    d = accepted.astimezone(SH).date()
    n = 0
    while n < days:
        d += timedelta(days=1)
        if (calendar or {}).get(d, d.weekday() < 5):
            n += 1
    return datetime(d.year, d.month, d.day, tzinfo=SH) + timedelta(days=1)


class ListState:
    def __init__(self, changes: Iterable[dict]):
        self.changes = sorted(({**c, "effective_at": _ts(c["effective_at"])} for c in
                               {c["change_id"]: c for c in changes}.values()),
                              key=lambda c: (c["effective_at"], c["change_id"]))

    def item_at(self, code: str, t: datetime) -> Optional[dict]:
        """None if never listed by t; else a dict with active, regions, devolved_from, committed_days..."""
        st: Optional[dict] = None
        for c in self.changes:
            if c["item_code"] != code or c["effective_at"] > t:
                continue
            st = dict(st or {"active": False, "ever": False, "regions": [], "devolved_from": []})
            if c["action"] == "added":
                st.update(active=True, ever=True, regions=list(c["region_codes"]), department=c["department_code"],
                          level=c["level"])
            elif c["action"] == "cancelled":
                st["active"] = False
            elif c["action"] == "devolved":
                to = c["devolved_to"]
                st["devolved_from"] = st["devolved_from"] + [r for r in st["regions"] if r not in to["region_codes"]]
                st.update(active=True, ever=True, regions=list(to["region_codes"]), level=to["level"])
            else:
                for k in ("department_code", "level", "region_codes"):
                    if c.get(k) is not None:
                        st[{"department_code": "department", "region_codes": "regions"}.get(k, k)] = c[k]
            if c["action"] in ("added", "modified"):
                for k in ("committed_days", "statutory_days"):
                    if c.get(k) is not None:
                        st[k] = c[k]
        return st

    def violates(self, code: str, region: str, t: datetime) -> bool:
        st = self.item_at(code, t)
        if st is None or not st["active"]:
            return True
        return bool(st["regions"]) and region not in st["regions"]

    def items(self) -> set[str]:
        return {c["item_code"] for c in self.changes}


def _susp_intervals(evs: list[dict]) -> list[tuple[datetime, Optional[datetime]]]:
    out, start = [], None
    for e in evs:
        if e["type"] == "suspended" and start is None:
            start = e["occurred_at"]
        elif e["type"] == "resumed" and start is not None:
            out.append((start, e["occurred_at"]))
            start = None
    if start is not None:
        out.append((start, None))
    return out


def _suspended(ivs, a: datetime, b: datetime) -> timedelta:
    tot = timedelta(0)
    for s, e in ivs:
        hi = b if e is None else min(b, e)
        lo = max(a, s)
        if hi > lo:
            tot += hi - lo
    return tot


def recompute(events: Iterable[dict], changes: Iterable[dict], t0: datetime, t1: datetime,
              group_by: tuple[str, ...], calendar: Optional[dict] = None) -> dict[tuple, dict]:
    """Indicators per group for W = [t0, t1)."""
    lst = ListState(changes)
    uniq: dict[str, dict] = {}
    for e in events:
        uniq.setdefault(e["event_id"], {**e, "occurred_at": _ts(e["occurred_at"]), "deadline": _ts(e.get("deadline"))})
    cases: dict[str, list[dict]] = defaultdict(list)
    for e in uniq.values():
        cases[e["case_id"]].append(e)
    zero: Callable[[], defaultdict] = lambda: defaultdict(int)  # noqa: E731
    acc: dict[tuple, defaultdict] = defaultdict(zero)
    inw = lambda e: t0 <= e["occurred_at"] < t1  # noqa: E731

    def key(dims: dict) -> tuple:
        return tuple(dims[k] for k in group_by)

    for evs in cases.values():
        evs.sort(key=lambda e: (e["occurred_at"], e["event_id"]))
        subs = [e for e in evs if e["type"] == "submitted"]
        if not subs:
            continue
        s = subs[0]
        dims = {"region_code": s["region_code"], "department_code": s["department_code"],
                "item_code": s["item_code"], "level": _level(s["region_code"])}
        a = acc[key(dims)]
        accs = [e for e in evs if e["type"] == "accepted"]
        acc_at = accs[0]["occurred_at"] if accs else None
        # the first acceptance's own deadline, else the item's committed days, else its statutory days (the
        # version in force at acceptance), in working days from the acceptance day; else none
        deadline = accs[0].get("deadline") if accs else None
        if deadline is None and acc_at is not None:
            st = lst.item_at(s["item_code"], acc_at) or {}
            days = st.get("committed_days", st.get("statutory_days"))
            if days is not None:
                deadline = _workday_deadline(acc_at, days, calendar)
        ivs = _susp_intervals(evs)
        ncorr = sum(e["type"] == "correction_requested" for e in evs)

        def open_at(t: datetime) -> bool:
            return any(e["type"] == "accepted" and e["occurred_at"] < t for e in evs) and not any(
                e["type"] in ("completed", "withdrawn") and e["occurred_at"] < t for e in evs)

        a["open_t0"] += open_at(t0)
        if open_at(t1):
            a["in_progress"] += 1
            if deadline is not None and deadline + _suspended(ivs, acc_at, t1) < t1:
                a["overdue"] += 1
        for e in evs:
            if not inw(e):
                continue
            t = e["type"]
            a[t] += 1
            if lst.violates(s["item_code"], s["region_code"], e["occurred_at"]):
                a["out_of_list"] += 1
            if t == "submitted":
                a["online"] += e["channel"] in ("online", "mobile")
            elif t == "evaluated":
                a["good"] += e["score"] >= 4
            elif t == "completed":
                c = e["occurred_at"]
                if acc_at is not None:
                    a["handled"] += 1
                    a["handling_us"] += (c - acc_at - _suspended(ivs, acc_at, c)) // timedelta(microseconds=1)
                    a["immediate"] += c.astimezone(SH).date() == acc_at.astimezone(SH).date()
                if deadline is None:
                    a["no_deadline"] += 1  # never on time nor late: left out of the rate
                else:
                    a["judged"] += 1
                    a["on_time"] += c <= deadline + _suspended(ivs, acc_at, c)
                if ncorr >= 1:
                    a["corr"] += 1
                    a["corr1"] += ncorr == 1
    # items active at t1, and those of them without a submitted in W
    for code in lst.items():
        st = lst.item_at(code, t1)
        if not st or not st["active"]:
            continue
        for region in st["regions"] or [""]:
            dims = {"region_code": region, "department_code": st.get("department"), "item_code": code,
                    "level": st.get("level")}
            k = key(dims)
            seen = acc[k].setdefault("_items", set())
            seen.add(code)
    out = {}
    for k, a in acc.items():
        items = a.get("_items", set())
        zero_items = {i for i in items if not _received(cases, t0, t1, group_by, k, i)}

        def rate(n, d):
            return None if d == 0 else n / d

        out[k] = {
            "items_active": len(items), "received": a["submitted"], "accepted": a["accepted"],
            "completed": a["completed"], "completion_rate": rate(a["completed"], a["open_t0"] + a["accepted"]),
            "in_progress": a["in_progress"], "overdue": a["overdue"],
            "on_time_rate": rate(a["on_time"], a["judged"]), "one_time_correction_rate": rate(a["corr1"], a["corr"]),
            "immediate_rate": rate(a["immediate"], a["completed"]),
            "avg_handling_hours": None if a["handled"] == 0 else float(a["handling_us"]) / a["handled"] / 3600000000.0,
            "online_rate": rate(a["online"], a["submitted"]),
            "rejection_rate": rate(a["rejected"], a["accepted"] + a["rejected"]),
            "satisfaction_rate": rate(a["good"], a["evaluated"]),
            "out_of_list": a["out_of_list"], "zero_case_items": len(zero_items),
            "completed_without_deadline": a["no_deadline"],
        }
    return out


def _received(cases, t0, t1, group_by, k, item) -> bool:
    for evs in cases.values():
        subs = [e for e in evs if e["type"] == "submitted"]
        if not subs or subs[0]["item_code"] != item:
            continue
        s = subs[0]
        dims = {"region_code": s["region_code"], "department_code": s["department_code"],
                "item_code": s["item_code"], "level": _level(s["region_code"])}
        if tuple(dims[g] for g in group_by) == k and any(
                e["type"] == "submitted" and t0 <= e["occurred_at"] < t1 for e in evs):
            return True
    return False
