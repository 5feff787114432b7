"""Taking up a unit or person from where it stands (changes later than everything stored for it) gives the same
tables as working its whole history out again: random histories, random takes, both ways compared."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from schemas.staffing import StaffingChange, parse_staffing_change
from simulator.org import make_uscc
from streams.staffing import rebuild
from streams.staffing.store import apply_staffing_changes

KEY = b"test-identity-key"
KINDS = ("行政", "事业", "工勤")
LEVELS = ("正处", "副处")
TABLES = (
    "SELECT unit_code, part, key, valid_from, valid_to, data::text, approved, doc_no, change_id, tsv::text"
    " FROM org_version",
    "SELECT person_key, valid_from, valid_to, unit_code, body_code, quota_kind, post_level, change_id, doc_no"
    " FROM org_staff",
    "SELECT unit_code, kind, subject, opened_at, closed_at, figures::text FROM org_finding"
    " WHERE kind = ANY('{over_quota,mixed_use,over_posts,unapproved_body}')",  # a stack's worker may sweep duties in
    "SELECT change_id, state, reason FROM staffing_change",
    "SELECT doc_no, title FROM org_document",
)


def history(rng: random.Random, n: int) -> list[StaffingChange]:
    """Units founded, changed, abolished and founded again, staff entering, moving and leaving, documents: on few
    distinct days (so that changes meet at one instant), some before what they need (they wait)."""
    units = [make_uscc("11", "330100", 800 + k) for k in range(4)]
    persons = [f"R{k}" for k in range(8)]
    days = [datetime(2000, 1, 1, tzinfo=timezone(timedelta(hours=8))) + timedelta(days=30 * d) for d in range(25)]
    out: list[StaffingChange] = []
    for i in range(n):
        u, p, at = rng.choice(units), rng.choice(persons), rng.choice(days)
        doc = rng.choice(["测编〔2000〕1号", "测编〔2000〕2号", None])
        kind = rng.choices(["unit_set", "unit_abolished", "body_set", "body_abolished", "quota_set", "posts_set",
                            "duties_set", "document", "staff_in", "staff_moved", "staff_out"],
                           [6, 1, 3, 1, 4, 2, 2, 1, 8, 6, 3])[0]
        c: dict = {"change_id": f"F{i:04d}", "kind": kind, "effective_at": at.isoformat(), "doc_no": doc or "测编〔2000〕3号"}
        if kind == "unit_set":
            c.update(unit_code=u, **({"name": f"单位{u[-3:]}", "region_code": "330100", "nature": "行政机关",
                                      "rank": "正处级", "funding": "全额拨款"} if rng.random() < 0.8 else
                                     {"name": f"更名{i}"}))
        elif kind in ("unit_abolished",):
            c.update(unit_code=u)
        elif kind in ("body_set", "body_abolished"):
            c.update(unit_code=u, body_code=rng.choice(["B1", "B2"]), **({"name": "办公室"} if kind == "body_set" else {}))
        elif kind == "quota_set":
            c.update(unit_code=u, quota_kind=rng.choice(KINDS), approved=rng.randint(0, 3))
        elif kind == "posts_set":
            c.update(unit_code=u, post_level=rng.choice(LEVELS), approved=rng.randint(0, 2))
        elif kind == "duties_set":
            c.update(unit_code=u, duties=[{"duty_id": f"D{k}", "text": rng.choice(["负责港口管理。", "承担航道建设。"]),
                                           "item_codes": []} for k in range(rng.randint(0, 2))])
        elif kind == "document":
            c.update(doc_no=rng.choice(["测编〔2000〕1号", "测编〔2000〕2号"]), title=f"文件{i}",
                     issued_at=at.date().isoformat(), doc_type="三定规定", text=f"第{i}号文件正文")
        elif kind == "staff_in":
            c.update(person_key=p, name="赵六", sex="男", unit_code=u, quota_kind=rng.choice(KINDS),
                     **({"post_level": rng.choice(LEVELS)} if rng.random() < 0.3 else {}))
            c.pop("doc_no")
        elif kind == "staff_moved":
            c.update(person_key=p, **rng.choice([{"unit_code": u}, {"quota_kind": rng.choice(KINDS)},
                                                 {"post_level": rng.choice([*LEVELS, None])}, {"body_code": "B1"}]))
        else:
            c.update(person_key=p)
        parsed, refusal = parse_staffing_change(c, KEY)
        assert parsed is not None and refusal is None, (c, refusal)
        out.append(parsed)
    return sorted(out, key=lambda c: (c.effective_at, c.change_id))


def takes(rng: random.Random, changes: list[StaffingChange]) -> list[list[StaffingChange]]:
    """Mostly in time order (the way an import comes, where keys are taken up where they stand), now and then a
    change held back to a later take (late, so worked out whole), in takes of random size."""
    held: list[StaffingChange] = []
    order: list[StaffingChange] = []
    for c in changes:
        (held if rng.random() < 0.1 else order).append(c)
        if held and rng.random() < 0.2:
            order.append(held.pop(0))
    order += held
    out, i = [], 0
    while i < len(order):
        n = rng.choice((1, 2, 5, 20))
        out.append(order[i:i + n])
        i += n
    return out


async def _tables(conn) -> list:
    return [sorted(tuple(r) for r in await conn.fetch(q)) for q in TABLES]


@pytest.mark.parametrize("seed", range(6))
async def test_taking_up_where_a_key_stands_equals_working_it_out_whole(conn, seed, monkeypatch):
    rng = random.Random(seed)
    seen: list[tuple] = []  # (nothing stored before, taken up)
    later = rebuild.later
    monkeypatch.setattr(rebuild, "later", lambda news, last: seen.append((last is None, later(news, last))) or seen[-1][1])
    split = takes(rng, history(rng, 160))
    results = []
    for whole in (False, True):
        await conn.execute("TRUNCATE staffing_change, staffing_delivery, org_version, org_staff, org_document,"
                           " org_finding, org_lock")
        seen.clear()
        for n, take in enumerate(split):
            if whole:  # nothing stored is ever earlier than a change: every key is worked out whole
                await conn.execute("UPDATE org_lock SET last_at = '9999-01-01Z'")
            await apply_staffing_changes(conn, [(f"t{n}-{j}", c) for j, c in enumerate(take)])
        results.append(await _tables(conn))
        # the first way took keys up where they stood, and worked late ones out whole; the second never took one up
        assert ((False, True) in seen and (False, False) in seen) if not whole else (False, True) not in seen
    assert results[0] == results[1]
    assert any(r[1] == "pending" for r in results[0][3]) and results[0][1]  # waits and spans were exercised


async def test_a_take_inside_a_callers_transaction_leaves_its_planner_settings_as_they_were(conn):
    take = history(random.Random(1), 20)
    async with conn.transaction():
        await apply_staffing_changes(conn, [(f"s{j}", c) for j, c in enumerate(take)])
        assert await conn.fetchval("SELECT current_setting('enable_hashjoin') || current_setting('enable_mergejoin')"
                                   ) == "onon"
    assert await conn.fetchval("SELECT count(*) FROM staffing_change") == 20
