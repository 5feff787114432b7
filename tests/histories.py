"""Hypothesis strategies: random case histories and power-list histories, adversarial on purpose."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

SH = ZoneInfo("Asia/Shanghai")
BASE = datetime(2024, 3, 1, tzinfo=SH)
REGIONS = ["330100", "330102", "330106", "330102001"]
DEPTS = ["D-FGW", "D-SCJ"]
ITEMS = ["ITEM-A", "ITEM-B", "ITEM-C", "ITEM-D"]
LATER = ["accepted", "rejected", "correction_requested", "correction_submitted", "suspended", "resumed",
         "completed", "withdrawn", "evaluated", "accepted", "completed", "suspended", "resumed"]
OFFSETS = [timezone.utc, SH, timezone(timedelta(hours=-5))]


def iso(ts: datetime, tz) -> str:
    return ts.astimezone(tz).isoformat()


@st.composite
def case_history(draw, n: int) -> list[dict]:
    cid = f"C{n}"
    start = BASE + timedelta(minutes=draw(st.integers(0, 20 * 24 * 60)))
    tz = draw(st.sampled_from(OFFSETS))
    evs = [{
        "event_id": f"{cid}-0", "case_id": cid, "type": "submitted", "occurred_at": iso(start, tz),
        "item_code": draw(st.sampled_from(ITEMS)), "region_code": draw(st.sampled_from(REGIONS)),
        "department_code": draw(st.sampled_from(DEPTS)),
        "channel": draw(st.sampled_from(["online", "mobile", "window", "self_service", "post"])),
    }]
    t = start
    for i in range(1, draw(st.integers(0, 9)) + 1):
        typ = draw(st.sampled_from(LATER))
        # mostly forward in time, sometimes before the submission (adversarial), same-instant ties too
        t = t + timedelta(minutes=draw(st.sampled_from([0, 1, 30, 60 * 5, 60 * 30, 60 * 24 * 3, 60 * 24 * 9])))
        if draw(st.integers(0, 15)) == 0:
            t = start - timedelta(hours=draw(st.integers(1, 30)))
        ev = {"event_id": f"{cid}-{i}", "case_id": cid, "type": typ, "occurred_at": iso(t, tz)}
        if typ == "accepted" and draw(st.booleans()):
            ev["deadline"] = iso(t + timedelta(hours=draw(st.integers(1, 24 * 10))), SH)
        if typ == "completed":
            ev["outcome"] = draw(st.sampled_from(["approved", "denied", "transferred", "terminated"]))
        if typ == "evaluated":
            ev["score"] = draw(st.integers(1, 5))
        evs.append(ev)
    return evs


@st.composite
def list_history(draw) -> list[dict]:
    out = []
    for k, item in enumerate(ITEMS):
        if item == "ITEM-D" or draw(st.integers(0, 4)) == 0:  # never listed
            continue
        t = BASE - timedelta(days=draw(st.integers(-5, 10)))
        regions = draw(st.lists(st.sampled_from(REGIONS[:3]), min_size=1, max_size=3, unique=True))
        out.append({"change_id": f"L{k}-0", "item_code": item, "action": "added", "effective_at": iso(t, SH),
                    "name": f"事項{item}", "category": "行政許可", "department_code": draw(st.sampled_from(DEPTS)),
                    "level": "county", "region_codes": regions,
                    # each source of a deadline: committed days, statutory days only, or neither
                    **{k: v for k, v in (("committed_days", draw(st.sampled_from([None, 0, 1, 3, 5, 20]))),
                                         ("statutory_days", draw(st.sampled_from([None, 2, 20])))) if v is not None}})
        for j in range(1, draw(st.integers(0, 3)) + 1):
            t = t + timedelta(days=draw(st.integers(0, 8)), minutes=draw(st.integers(0, 600)))
            action = draw(st.sampled_from(["cancelled", "devolved", "modified", "added"]))
            ch = {"change_id": f"L{k}-{j}", "item_code": item, "action": action, "effective_at": iso(t, SH)}
            if action == "devolved":
                ch["devolved_to"] = {"level": "town", "region_codes": ["330102001"]}
            elif action == "modified":
                ch[draw(st.sampled_from(["committed_days", "statutory_days"]))] = draw(st.integers(0, 10))
            elif action == "added":
                ch.update(name=f"事項{item}", category="公共服務", department_code=DEPTS[0], level="city",
                          region_codes=["330100"])
            out.append(ch)
    return out


@st.composite
def work_calendar(draw) -> dict:
    """Days around the histories set to working or not (some as they would be anyway)."""
    start, length = draw(st.integers(-10, 40)), draw(st.integers(0, 21))  # a long holiday moves deadlines by weeks
    out = {(BASE + timedelta(days=k)).date(): False for k in range(start, start + length)}
    for k in draw(st.lists(st.integers(-10, 60), max_size=8, unique=True)):
        out[(BASE + timedelta(days=k)).date()] = draw(st.booleans())
    return out


@st.composite
def scenario(draw):
    """Events (with duplicates, shuffled) and list changes, in one random delivery order."""
    n = draw(st.integers(1, 14))
    events = [e for i in range(n) for e in draw(case_history(i))]
    dups = draw(st.lists(st.sampled_from(events), max_size=len(events) // 2 + 1))
    deliveries = draw(st.permutations(events + dups))
    changes = draw(list_history())
    return deliveries, draw(st.permutations(changes))


def random_histories(rng, n_cases: int, dup_rate: float = 0.1) -> list[dict]:
    """The same kind of histories without hypothesis, for long streams (restart test, benchmarks)."""
    out = []
    for n in range(n_cases):
        cid = f"R{n}"
        t = BASE + timedelta(minutes=rng.randrange(0, 30 * 24 * 60))
        out.append({"event_id": f"{cid}-0", "case_id": cid, "type": "submitted", "occurred_at": t.isoformat(),
                    "item_code": rng.choice(ITEMS), "region_code": rng.choice(REGIONS),
                    "department_code": rng.choice(DEPTS), "channel": rng.choice(["online", "window", "mobile"])})
        for i in range(1, rng.randrange(1, 9)):
            typ = rng.choice(LATER)
            t = t + timedelta(minutes=rng.choice([0, 5, 60, 600, 3000, 9000]))
            ev = {"event_id": f"{cid}-{i}", "case_id": cid, "type": typ, "occurred_at": t.isoformat()}
            if typ == "accepted" and rng.random() < 0.5:
                ev["deadline"] = (t + timedelta(hours=rng.randrange(1, 200))).isoformat()
            if typ == "completed":
                ev["outcome"] = "approved"
            if typ == "evaluated":
                ev["score"] = rng.randrange(1, 6)
            out.append(ev)
    out += [dict(e) for e in rng.sample(out, int(len(out) * dup_rate))]
    rng.shuffle(out)
    return out
