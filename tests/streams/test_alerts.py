"""Alerts: rules validated, a state machine that fires and resolves once, and delivery to real peers."""
from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from datetime import datetime, timedelta, timezone

import aiohttp
import pytest
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st

from core.tz import local_day
from shenpi.broker import free_port, wait_port
from streams.alerts.engine import State, evaluate, step
from streams.alerts.notify import deliver, deliver_due
from streams.alerts.rules import Receiver, Rule, RuleError, RuleFile, load_rules
from streams.calendar.logic import WorkCalendar, add_working_days, overdue_cutoff
from streams.cases.write import InBatch, process_case_batches

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
RULE = Rule.model_validate({"name": "r", "indicator": "overdue", "op": ">", "threshold": 0, "for": 60,
                            "resolve_after_seconds": 60, "repeat": 3600})


def test_shipped_rules_are_valid():
    rules = load_rules()
    assert {r.indicator for r in rules.rules} >= {"on_time_rate", "overdue", "satisfaction_rate", "out_of_list"}


@pytest.mark.parametrize("text, message", [
    ("rules: [{name: a, indicator: speed, op: '<', threshold: 1}]", "rule 'a'.indicator: Value error, unknown indicator 'speed'"),
    ("rules: [{name: b, indicator: received, op: '~', threshold: 1}]", "rule 'b'.op: Input should be"),
    ("rules: [{name: c, indicator: received, op: '<', threshold: 1, group_by: [city]}]", "unknown group key(s) city"),
    ("rules: [{name: d, indicator: received, op: '<', threshold: 1, receivers: [nobody]}]", "unknown receiver(s) nobody"),
    ("receivers: [{name: m, type: email}]", "an email receiver needs 'to'"),
    ("rules: [{name: e, indicator: received, op: '<'}]", "rule 'e'.threshold: Field required"),
    ("rules: [: bad", "cannot read the rules"),
])
def test_a_bad_rules_file_gets_a_clear_error(tmp_path, text, message):
    p = tmp_path / "rules.yaml"
    p.write_text(text)
    with pytest.raises(RuleError) as exc:
        load_rules(p)
    assert message in str(exc.value)


def run(states: list[tuple[float, bool]], rule: Rule = RULE) -> list[tuple[float, str]]:
    st, out = State(), []
    for t, holds in states:
        st, kind = step(st, holds, T0 + timedelta(seconds=t), rule)
        if kind:
            out.append((t, kind))
    return out


def test_fires_once_after_holding_and_resolves_once():
    seq = [(t, 10 <= t < 300) for t in range(0, 600, 5)]
    assert run(seq) == [(70, "firing"), (360, "resolved")]


def test_flapping_faster_than_the_durations_sends_nothing_more():
    seq = [(t, True) for t in range(0, 100, 5)] + [(t, (t // 20) % 2 == 0) for t in range(100, 1000, 5)]
    assert run(seq) == [(60, "firing")]


def test_repeats_while_firing_unless_acknowledged():
    seq = [(t, True) for t in range(0, 8000, 30)]
    assert [k for _, k in run(seq)] == ["firing", "repeat", "repeat"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 200), st.booleans()), max_size=80))
def test_notifications_alternate_and_follow_the_durations(steps):
    t, seq = 0, []
    for dt, holds in steps:
        t += dt
        seq.append((t, holds))
    sent = [(t, k) for t, k in run(seq) if k != "repeat"]
    kinds = [k for _, k in sent]
    assert kinds == ["firing", "resolved"] * (len(kinds) // 2) + ["firing"] * (len(kinds) % 2)
    for t_sent, kind in sent:
        # the condition held (firing) or did not (resolved) at every observation in the last `for` seconds
        want = kind == "firing"
        window = [h for tt, h in seq if t_sent - 60 <= tt <= t_sent]
        assert all(h == want for h in window)


# --------------------------------------------------------------------------------------------- real peers


class Receiver_:
    """A webhook receiver that can be down for a while."""

    def __init__(self):
        self.got: list = []
        self.port = free_port()
        self.runner = None

    async def up(self):
        app = web.Application()

        async def hook(request):
            self.got.append(await request.json())
            return web.json_response({"errcode": 0})

        app.router.add_post("/{tail:.*}", hook)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def down(self):
        await self.runner.cleanup()


def violation_events(n: int) -> list[dict]:
    now = datetime.now(timezone.utc)
    return [{"event_id": f"av{i}", "case_id": f"ac{i}", "type": "submitted", "occurred_at": now.isoformat(),
             "item_code": "NOT-LISTED", "region_code": "330102", "department_code": "D", "channel": "online"}
            for i in range(n)]


async def test_a_receiver_that_was_down_gets_every_notification_when_back(conn):
    hook = Receiver_()
    rules = RuleFile.model_validate({
        "receivers": [{"name": "hook", "type": "webhook", "url": f"http://127.0.0.1:{hook.port}/alerts"},
                      {"name": "robot", "type": "wecom", "url": f"http://127.0.0.1:{hook.port}/wecom?key=k"}],
        "rules": [{"name": "outside", "indicator": "out_of_list", "op": ">", "threshold": 0, "for": 0,
                   "resolve_after_seconds": 0, "severity": "critical", "receivers": ["hook", "robot"]}]})
    now = datetime.now(timezone.utc)
    assert await evaluate(conn, rules, now) == []
    await process_case_batches(conn, [InBatch("a1", "t", violation_events(2))])
    events = await evaluate(conn, rules, now + timedelta(seconds=1))
    assert [(e["kind"], e["value"]) for e in events] == [("firing", 2)]
    assert await evaluate(conn, rules, now + timedelta(seconds=2)) == [], "fires once"
    async with aiohttp.ClientSession() as http:
        assert await deliver_due(conn, http, rules) == (0, 2), "the receiver is down"
        await conn.execute("UPDATE alert_notification SET next_attempt_at = now()")
        await hook.up()
        try:
            assert await deliver_due(conn, http, rules) == (2, 0)
        finally:
            await hook.down()
    generic = next(g for g in hook.got if "rule" in g)
    assert (generic["rule"], generic["kind"], generic["value"], generic["severity"]) == ("outside", "firing", 2, "critical")
    robot = next(g for g in hook.got if "msgtype" in g)
    assert robot["msgtype"] == "markdown"
    assert "out_of_list = 2" in robot["markdown"]["content"]
    row = await conn.fetchrow("SELECT status, attempts FROM alert_notification WHERE receiver = 'hook'")
    assert tuple(row) == ("sent", 2)


# DingTalk's rule (自定義機器人安全設置, 加簽): sign = base64(HMAC-SHA256(key=secret, msg=timestamp LF secret)), URL-encoded.
# Computed once outside the code: printf '1700000000000\nSEC123' | openssl dgst -sha256 -hmac SEC123 -binary | base64
DINGTALK_VECTOR = "lkcPI1uoxBY1gUnCnnPH1Kkru0Hqjo7rFpA3haIVhEQ="


def test_dingtalk_signature_matches_a_vector_computed_apart(monkeypatch):
    import urllib.parse

    from streams.alerts import notify

    monkeypatch.setenv("DT_SECRET", "SEC123")
    monkeypatch.setattr(notify.time, "time", lambda: 1_700_000_000.0)
    r = Receiver(name="dt", type="dingtalk", url="http://robot/send?access_token=t", secret_env="DT_SECRET")
    url, _ = notify.request_for(r, {"rule": "x", "group": "all", "kind": "firing", "value": 1.0, "threshold": 0.0,
                                    "op": ">", "indicator": "overdue", "severity": "warning", "summary": "s",
                                    "window": "today", "at": "2026-01-01T00:00:00+00:00", "fired_at": None})
    q = dict(urllib.parse.parse_qsl(url.split("?", 1)[1]))
    assert q["timestamp"] == "1700000000000"
    assert q["sign"] == DINGTALK_VECTOR


async def test_dingtalk_messages_are_signed(monkeypatch):
    hook = Receiver_()
    got_query = {}
    await hook.up()
    monkeypatch.setenv("DT_SECRET", "SEC123")
    r = Receiver(name="dt", type="dingtalk", url=f"http://127.0.0.1:{hook.port}/robot/send?access_token=t",
                 secret_env="DT_SECRET")
    event = {"rule": "x", "group": "all", "kind": "firing", "value": 1.0, "threshold": 0.0, "op": ">",
             "indicator": "overdue", "severity": "warning", "summary": "超期", "window": "today",
             "at": datetime.now(timezone.utc).isoformat(), "fired_at": None}
    from streams.alerts.notify import request_for
    url, body = request_for(r, event)
    assert "timestamp=" in url and "sign=" in url and "access_token=t" in url
    got_query.update(dict(p.split("=", 1) for p in url.split("?", 1)[1].split("&")))
    import urllib.parse
    assert got_query["timestamp"].isdigit() and urllib.parse.unquote(got_query["sign"])
    assert body["markdown"]["title"].endswith("超期")
    async with aiohttp.ClientSession() as http:
        await deliver(http, r, event)
    await hook.down()
    assert hook.got and hook.got[0]["msgtype"] == "markdown"


async def test_email_reaches_a_real_smtp_server():
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    got = []

    class Keep(Message):
        def handle_message(self, message):
            got.append(message)

    port = free_port()
    ctl = Controller(Keep(), hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        r = Receiver(name="mail", type="email", to=["duty@example.org"], smtp_host="127.0.0.1", smtp_port=port)
        event = {"rule": "sat", "group": "region_code=330102", "kind": "resolved", "value": 0.93, "threshold": 0.9,
                 "op": "<", "indicator": "satisfaction_rate", "severity": "warning", "summary": "好評率低",
                 "window": "last_7_days", "at": datetime.now(timezone.utc).isoformat(), "fired_at": None}
        # a rectification's requirement, written by a person, with a line break in it
        task = {**event, "rule": "rectification:overdue", "group": "task=7,unit_code=U1", "kind": "firing",
                "summary": "整改任务 7 逾期 3 天（U1：核减\r\n超编人员）"}
        async with aiohttp.ClientSession() as http:
            await deliver(http, r, event)
            await deliver(http, r, task)
    finally:
        ctl.stop()
    assert len(got) == 2
    from email.header import decode_header, make_header
    subject = str(make_header(decode_header(got[0]["Subject"])))
    assert got[0]["To"] == "duty@example.org" and "[RESOLVED] 好評率低" in subject
    assert "region_code=330102" in got[0].get_payload(decode=True).decode()
    assert "（U1：核减 超编人员）" in str(make_header(decode_header(got[1]["Subject"])))


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed (Debian package prometheus / prometheus-alertmanager; infra/local/setup.sh"
                    " installs it)")
    return path


async def test_alerts_reach_a_real_alertmanager(tmp_path):
    am = _binary("prometheus-alertmanager")
    port = free_port()
    cfg = tmp_path / "am.yml"
    cfg.write_text("route:\n  receiver: 'null'\nreceivers:\n  - name: 'null'\n")
    proc = subprocess.Popen([am, f"--config.file={cfg}", f"--storage.path={tmp_path}",
                             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
                             ], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port("127.0.0.1", port, 30)
        r = Receiver(name="am", type="alertmanager", url=f"http://127.0.0.1:{port}")
        event = {"rule": "overdue-cases", "group": "department_code=D-1", "kind": "firing", "value": 3.0,
                 "threshold": 0.0, "op": ">", "indicator": "overdue", "severity": "warning", "summary": "超期在辦",
                 "window": "today", "at": datetime.now(timezone.utc).isoformat(), "fired_at": None}
        async with aiohttp.ClientSession() as http:
            await deliver(http, r, event)
            for _ in range(50):
                async with http.get(f"http://127.0.0.1:{port}/api/v2/alerts") as resp:
                    alerts = await resp.json()
                if alerts:
                    break
                await asyncio.sleep(0.1)
        assert len(alerts) == 1
        labels = alerts[0]["labels"]
        assert (labels["alertname"], labels["department_code"], labels["severity"]) == ("overdue-cases", "D-1", "warning")
        assert alerts[0]["status"]["state"] == "active"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.broker
async def test_a_real_prometheus_scrapes_the_metrics(stack, tmp_path):
    prom = _binary("prometheus")
    port = free_port()
    api = stack.url.split("//")[1]
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text(f"global: {{scrape_interval: 1s}}\nscrape_configs:\n  - job_name: shenpi\n"
                   f"    static_configs: [{{targets: ['{api}']}}]\n")
    proc = subprocess.Popen([prom, f"--config.file={cfg}", f"--storage.tsdb.path={tmp_path / 'data'}",
                             f"--web.listen-address=127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_port("127.0.0.1", port, 30)
        async with aiohttp.ClientSession() as http:
            async with http.get(stack.url + "/metrics") as r:
                text = await r.text()
            assert "shenpi_events_received_total" in text and "shenpi_indicator_today" in text
            deadline = time.monotonic() + 30
            result = []
            while time.monotonic() < deadline and not result:
                async with http.get(f"http://127.0.0.1:{port}/api/v1/query",
                                    params={"query": "shenpi_events_received_total"}) as r:
                    result = (await r.json())["data"]["result"]
                await asyncio.sleep(0.5)
        assert result and result[0]["metric"]["job"] == "shenpi"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.broker
async def test_acknowledge_and_silence_need_credentials(stack):
    import psycopg

    from tests.conftest import TOKEN
    with psycopg.connect(stack.settings.database_url, autocommit=True) as c:
        c.execute("DELETE FROM alert_notification; DELETE FROM alert_event; DELETE FROM alert_state")
        aid = c.execute("INSERT INTO alert_state (rule, group_key, status, severity, since, fired_at)"
                        " VALUES ('r1', 'all', 'firing', 'critical', now(), now()) RETURNING id").fetchone()[0]
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{stack.url}/api/v1/alerts/{aid}/ack", json={"by": "duty"}) as r:
            assert r.status == 401
        auth = {"Authorization": f"Bearer {TOKEN}"}
        async with http.post(f"{stack.url}/api/v1/alerts/{aid}/ack", json={"by": "duty"}, headers=auth) as r:
            assert r.status == 200
        async with http.post(f"{stack.url}/api/v1/alerts/{aid}/silence", json={"seconds": 600}, headers=auth) as r:
            assert r.status == 200
        async with http.post(f"{stack.url}/api/v1/alerts/99999999/ack", json={}, headers=auth) as r:
            assert r.status == 404
        async with http.get(f"{stack.url}/api/v1/alerts") as r:
            body = await r.json()
    alert = next(a for a in body["alerts"] if a["id"] == aid)
    # who acknowledged is who authenticated (the platform's token), whatever the body claims
    assert alert["acknowledged_by"] == "platform" and alert["silenced_until"] is not None
    assert [h["kind"] for h in body["history"]][:2] == ["silenced", "acknowledged"]


@settings(max_examples=500, deadline=None)
@given(deadline=st.datetimes(datetime(2024, 1, 1), datetime(2027, 1, 1), timezones=st.just(timezone.utc)),
       later=st.timedeltas(timedelta(0), timedelta(days=40)), n=st.integers(0, 15),
       flips=st.lists(st.tuples(st.integers(-3, 45), st.booleans()), max_size=25))
def test_overdue_cutoff_is_the_working_day_rule_as_one_bound(deadline, later, n, flips):
    calendar = WorkCalendar({local_day(deadline) + timedelta(days=k): w for k, w in flips})
    now = deadline + later
    assert (deadline < overdue_cutoff(now, n, calendar)) == (now >= add_working_days(deadline, n, calendar))


async def test_overdue_by_working_days_counts_only_cases_that_far_past_their_deadline(conn):
    from streams.alerts.engine import observe
    rule = Rule.model_validate({"name": "late", "indicator": "overdue", "overdue_by_working_days": 3,
                                "group_by": ["department_code"], "op": ">", "threshold": 0})
    now = datetime(2026, 1, 9, 12, 0, tzinfo=timezone.utc)  # a Friday

    def case(cid, dept, deadline, suspended=None):
        evs = [{"event_id": f"{cid}-s", "case_id": cid, "type": "submitted", "occurred_at": "2025-12-01T09:00:00+08:00",
                "item_code": "I", "region_code": "330102", "department_code": dept, "channel": "window"},
               {"event_id": f"{cid}-a", "case_id": cid, "type": "accepted", "occurred_at": "2025-12-01T10:00:00+08:00",
                "deadline": deadline}]
        if suspended:
            evs.append({"event_id": f"{cid}-p", "case_id": cid, "type": "suspended", "occurred_at": suspended})
        return evs

    await process_case_batches(conn, [InBatch("o", "t", [
        *case("far", "D1", "2025-12-20T18:00:00+08:00"),            # weeks late
        *case("near", "D1", "2026-01-07T18:00:00+08:00"),           # two days late: not yet
        *case("paused", "D2", "2025-12-20T18:00:00+08:00", "2025-12-02T09:00:00+08:00"),  # suspended since before
    ])])
    assert await observe(conn, rule, now) == {"department_code=D1": 1}
    with pytest.raises(ValueError, match="goes with indicator: overdue"):
        Rule.model_validate({"name": "x", "indicator": "received", "overdue_by_working_days": 1, "op": ">",
                             "threshold": 0})


async def test_a_where_filter_on_a_key_outside_group_by_selects_its_groups(conn):
    """`where` narrows what is counted whatever the grouping: a rule on one region, grouped by department."""
    from streams.alerts.engine import observe

    def sub(cid, region, dept):
        return {"event_id": cid, "case_id": cid, "type": "submitted", "occurred_at": "2026-01-09T09:00:00+08:00",
                "item_code": "I", "region_code": region, "department_code": dept, "channel": "window"}

    await process_case_batches(conn, [InBatch("w", "t", [
        sub("a", "330102", "D1"), sub("b", "330102", "D1"), sub("c", "330103", "D1"), sub("d", "330103", "D2")])])
    now = datetime(2026, 1, 9, 12, 0, tzinfo=timezone.utc)
    rule = Rule.model_validate({"name": "r", "indicator": "received", "group_by": ["department_code"],
                                "where": {"region_code": "330103"}, "op": ">", "threshold": 0})
    assert await observe(conn, rule, now) == {"department_code=D1": 1, "department_code=D2": 1}
    overdue = Rule.model_validate({"name": "o", "indicator": "overdue", "overdue_by_working_days": 0,
                                   "where": {"region_code": "330103"}, "op": ">", "threshold": 0})
    assert await observe(conn, overdue, now) == {}
    with pytest.raises(ValueError, match="unknown filter key"):
        Rule.model_validate({"name": "x", "indicator": "received", "where": {"regoin_code": "1"}, "op": ">",
                             "threshold": 0})
