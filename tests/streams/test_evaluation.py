"""Evaluations reproduce and score by the scorecard; rectification tasks run through their states under the
two-person rule, tell an overdue deadline once per step, and see their condition clear."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from schemas import parse_list_change
from schemas.staffing import parse_staffing_change
from simulator.org import generate_city
from streams.evaluation import evaluate, rectify
from streams.evaluation.scorecard import SHIPPED, load_scorecard
from streams.cases.reach import apply_list_changes
from streams.staffing.store import apply_staffing_changes

NOW = datetime.now(timezone.utc)
T0 = datetime(2025, 1, 1, tzinfo=timezone(timedelta(hours=8)))


@pytest.fixture(scope="module")
def city():
    return generate_city(units=16, seed=9)


async def _load(conn, city):
    await apply_list_changes(conn, [parse_list_change(x)[0] for x in city.list_changes])
    changes = [parse_staffing_change(c, b"k")[0] for c in city.changes]
    for i in range(0, len(changes), 1000):
        await apply_staffing_changes(conn, [(f"e{i + j}", c) for j, c in enumerate(changes[i:i + 1000])])


def _over(city):
    return next((u, s) for k, u, s in city.planted if k == "over_quota")


def plain_score(indicators, card_yaml):
    """The total the scorecard file defines, recomputed from the shown values alone."""
    spec = {i["code"]: i for i in card_yaml["indicators"]}
    num = den = 0.0
    for row in indicators:
        if row["value"] is None:
            continue
        i = spec[row["code"]]
        share = min(1.0, max(0.0, (row["value"] - i["zero"]) / (i["full"] - i["zero"])))
        num, den = num + 100 * share * i["weight"], den + i["weight"]
    return round(num / den, 2)


async def test_an_evaluation_shows_the_overrun_scores_it_and_reproduces(conn, city):
    await _load(conn, city)
    unit, kind = _over(city)
    card = load_scorecard()
    eid = await evaluate.create(conn, unit, T0, NOW, "執行情況", "sup-a", card)
    e = await evaluate.show(conn, eid)
    assert e["type"] == "执行情况" and e["scorecard_version"] == card.version
    by = {i["code"]: i for i in e["indicators"]}
    assert by["over_quota"]["value"] >= 1 and by["over_quota"]["score"] < 100
    assert any(f["kind"] == "over_quota" and f["subject"] == kind for f in e["findings"])
    assert by["satisfaction_survey"]["left_out"]  # no person's score yet
    assert e["score"] == plain_score(e["indicators"], yaml.safe_load(SHIPPED.read_text(encoding="utf-8")))
    await evaluate.give_score(conn, eid, "satisfaction_survey", 90, "sup-b")
    scored = await evaluate.show(conn, eid)
    assert {i["code"]: i for i in scored["indicators"]}["satisfaction_survey"]["score"] == 75.0
    assert scored["score"] == plain_score(scored["indicators"], yaml.safe_load(SHIPPED.read_text(encoding="utf-8")))
    with pytest.raises(evaluate.EvaluationError, match="not a manual indicator"):
        await evaluate.give_score(conn, eid, "on_time_rate", 1, "sup-b")
    # more data arrives (the overrun ends): the evaluation shown again is the same
    staff = await conn.fetch("SELECT person_key FROM org_staff WHERE unit_code = $1 AND quota_kind = $2"
                             " AND valid_to IS NULL ORDER BY person_key", unit, kind)
    outs = [parse_staffing_change({"change_id": f"OUT{k}", "kind": "staff_out", "person_key": r["person_key"],
                                   "effective_at": (NOW - timedelta(hours=1)).isoformat()}, b"k")[0]
            for k, r in enumerate(staff[:5])]
    await apply_staffing_changes(conn, [(f"o{k}", c) for k, c in enumerate(outs)])
    again = await evaluate.show(conn, eid)
    assert (again["indicators"], again["score"], again["findings"]) == (scored["indicators"], scored["score"],
                                                                       scored["findings"])
    later = await evaluate.show(conn, await evaluate.create(conn, unit, T0, NOW, "执行情况", "sup-a", card))
    assert {i["code"]: i for i in later["indicators"]}["over_quota"]["value"] == 0
    assert [p["evaluation_id"] for p in later["previous"]] == [eid]


async def test_rank_among_units_of_the_same_nature(conn, city):
    await _load(conn, city)
    card = load_scorecard()
    nature = city.units[0]["nature"]
    same = [u["unit_code"] for u in city.units if u["nature"] == nature][:3]
    ids = [await evaluate.create(conn, u, T0, NOW, "使用效益", "sup-a", card) for u in same]
    shown = [await evaluate.show(conn, i) for i in ids]
    assert all(s["rank"]["of"] == 3 for s in shown)
    best = max(s["score"] for s in shown)
    assert all((s["rank"]["position"] == 1) == (s["score"] == best) for s in shown)


async def test_a_task_runs_its_states_under_the_two_person_rule(conn, city):
    await _load(conn, city)
    unit, kind = _over(city)
    with pytest.raises(rectify.TaskError, match="no open finding"):
        await rectify.open_task(conn, unit, "x", 5, "sup-a", "over_posts")
    tid = await rectify.open_task(conn, unit, "核减超编人员", 5, "sup-a", "over_quota")
    t = await rectify.show(conn, tid)
    assert t["state"] == "open" and t["finding"]["subject"] == kind and t["condition_cleared"] is False
    with pytest.raises(rectify.TaskError, match="needs it"):
        await rectify.act(conn, tid, "verify", "sup-b")
    await rectify.act(conn, tid, "start", "clerk")
    with pytest.raises(rectify.TaskError, match="evidence"):
        await rectify.act(conn, tid, "submit", "clerk")
    await rectify.act(conn, tid, "submit", "clerk", evidence=[rectify.Evidence("plan.txt", None, b"plan")])
    with pytest.raises(rectify.TaskError, match="two-person"):
        await rectify.act(conn, tid, "verify", "clerk")
    with pytest.raises(rectify.TaskError, match="reason"):
        await rectify.act(conn, tid, "return", "sup-b")
    await rectify.act(conn, tid, "return", "sup-b", reason="证明材料不全")
    await rectify.act(conn, tid, "start", "clerk")
    await rectify.act(conn, tid, "submit", "clerk", evidence=[rectify.Evidence("text", "已调出5人")])
    await rectify.act(conn, tid, "verify", "sup-b")
    done = await rectify.act(conn, tid, "close", "sup-a")
    assert done["state"] == "closed"
    assert [e["to_state"] for e in done["events"]] == ["open", "in_progress", "submitted", "returned", "in_progress",
                                                        "submitted", "verified", "closed"]
    assert [(e["name"], e["sha256"], e["size"]) for e in done["evidence"]] == [
        ("plan.txt", hashlib.sha256(b"plan").hexdigest(), 4), ("text", hashlib.sha256("已调出5人".encode()).hexdigest(), 13)]
    assert rectify.may("verify", "viewer") is False and rectify.may("submit", "viewer") is True


async def test_overdue_told_once_per_step_and_the_condition_clears(conn, city):
    await _load(conn, city)
    unit, kind = _over(city)
    tid = await rectify.open_task(conn, unit, "核减超编人员", 3, "sup-a", "over_quota")
    due = datetime.fromisoformat((await rectify.show(conn, tid))["due_at"])
    assert await rectify.overdue_sweep(conn, [7, 30], due - timedelta(minutes=1)) == []
    first = await rectify.overdue_sweep(conn, [7, 30], due + timedelta(hours=1))
    assert [e["task_id"] for e in first] == [tid] and first[0]["kind"] == "firing"
    assert await rectify.overdue_sweep(conn, [7, 30], due + timedelta(days=2)) == []
    step = await rectify.overdue_sweep(conn, [7, 30], due + timedelta(days=8))
    assert [e["escalation_step"] for e in step] == [2]
    assert await rectify.overdue_sweep(conn, [7, 30], due + timedelta(days=9)) == []
    over = await conn.fetchval("SELECT (figures->>'over')::int FROM org_finding WHERE unit_code = $1 AND kind ="
                               " 'over_quota' AND subject = $2 AND closed_at IS NULL", unit, kind)
    staff = await conn.fetch("SELECT person_key FROM org_staff WHERE unit_code = $1 AND quota_kind = $2"
                             " AND valid_to IS NULL ORDER BY person_key", unit, kind)
    outs = [parse_staffing_change({"change_id": f"X{k}", "kind": "staff_out", "person_key": r["person_key"],
                                   "effective_at": (NOW - timedelta(minutes=5)).isoformat()}, b"k")[0]
            for k, r in enumerate(staff[:over])]
    await apply_staffing_changes(conn, [(f"x{k}", c) for k, c in enumerate(outs)])
    t = await rectify.show(conn, tid)
    assert t["condition_cleared"] is True and t["state"] == "open" and t["overdue"] is False  # a person verifies
