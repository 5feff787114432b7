"""Boards as code: the committed JSON is what the code builds, every SQL panel runs on a real database and the
overview agrees with the query API, every PromQL expression parses and names exported metrics."""
from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
from datetime import datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from web.metrics import database_families
from core.metrics import WorkerMetrics
from dashboards.boards import BOARDS, OUT, label, panels, render
from schemas import ListChange
from simulator.chains import applicant_histories
from streams.analysis.chains import ChainParams
from streams.analysis.service import chains, comparison, recommendations
from streams.cases.write import InBatch, process_case_batches
from streams.indicators.definitions import BY_KEY
from streams.indicators.queries import Window, indicators
from streams.cases.reach import apply_list_changes
from tests.histories import BASE, SH, random_histories


def test_committed_json_is_what_the_code_builds():
    for name in BOARDS:
        assert (OUT / f"{name}.json").read_text(encoding="utf-8") == render(name), "run `shenpi dashboards build`"


def expand(sql: str, t0: datetime, t1: datetime, variables: dict[str, list[str]]) -> str:
    """Grafana's macros and template variables, expanded the way its PostgreSQL data source does."""
    f, t = t0.astimezone(SH).isoformat(), t1.astimezone(SH).isoformat()
    sql = re.sub(r"\$__timeFilter\(([^)]+)\)", lambda m: f"{m.group(1)} BETWEEN '{f}' AND '{t}'", sql)
    sql = re.sub(r"\$__timeGroupAlias\(([^,]+),\s*'?(\d+)m'?\)",
                 lambda m: f"floor(extract(epoch from {m.group(1)})/{int(m.group(2)) * 60})*{int(m.group(2)) * 60}"
                           f" AS \"time\"", sql)
    sql = sql.replace("$__timeFrom()", f"'{f}'").replace("$__timeTo()", f"'{t}'")
    for name, values in variables.items():
        sql = sql.replace(f"${name}", ",".join("'" + v.replace("'", "''") + "'" for v in values) or "''")
    return sql


async def load(conn):
    changes = [ListChange.model_validate(c) for c in (
        {"change_id": f"d{i}", "item_code": item, "action": "added", "effective_at": "2024-01-01T00:00:00+08:00",
         "name": item, "category": "行政許可", "department_code": "D-FGW", "level": "county",
         "region_codes": ["330100", "330102"], "committed_days": 3}
        for i, item in enumerate(["ITEM-A", "ITEM-B"]))]
    await apply_list_changes(conn, changes)
    events = random_histories(random.Random(11), 300)
    for i in range(0, len(events), 200):
        await process_case_batches(conn, [InBatch(f"d{i}", "test", events[i:i + 200])])
    await conn.execute("INSERT INTO alert_event (rule, group_key, kind) VALUES ('r', 'all', 'firing')")
    await conn.execute("INSERT INTO alert_state (rule, group_key, status, severity, since, fired_at)"
                       " VALUES ('r', 'all', 'firing', 'warning', now(), now())")
    await conn.execute("UPDATE list_sync SET status = 'applied', applied_at = now(), latency_ms = 42")
    applicants = list(applicant_histories(300, BASE, 18, seed=3))
    await process_case_batches(conn, [InBatch("chains", "test", applicants)])
    window = Window(BASE, BASE + timedelta(days=20))
    await chains(conn, window, ChainParams(min_support=10))
    await recommendations(conn, window)
    await comparison(conn, window, "ITEM-A", None)


async def test_every_sql_panel_runs_and_the_overview_agrees_with_the_api(private_conn):
    conn = private_conn
    await load(conn)
    t0, t1 = BASE, BASE + timedelta(days=20)
    variables = {k: [r[0] for r in await conn.fetch(f"SELECT DISTINCT {c} FROM indicator_daily")]
                 for k, c in (("region", "region_code"), ("department", "department_code"), ("item", "item_code"))}
    results: dict[str, dict[str, list]] = {}
    n = 0
    for name in BOARDS:
        board = json.loads(render(name))
        for var in board.get("templating", {}).get("list", []):  # each variable offers every value in the data
            offered = [r[0] for r in await conn.fetch(expand(var["query"], t0, t1, {}))]
            assert offered == sorted(variables[var["name"]]), var["name"]
        for p in panels(board):
            for target in p.get("targets", []):
                if "rawSql" not in target:
                    continue
                sql = expand(target["rawSql"], t0, t1 - timedelta(milliseconds=1), variables)
                rows = await conn.fetch(sql)
                results.setdefault(name, {})[p["title"]] = rows
                n += 1
    assert n >= 30
    api = (await indicators(conn, Window(t0, t1), ()))[0]
    ov = {title: rows[0]["value"] for title, rows in results["overview"].items() if rows and "value" in rows[0]}
    assert api["received"] > 0 and api["completed"] > 0
    assert ov["收件量 Received"] == api["received"]
    assert ov["受理量 Accepted"] == api["accepted"]
    assert ov["办结量 Completed"] == api["completed"]
    assert ov["在册事项数 Items on the list"] == 2
    for key in ("on_time_rate", "satisfaction_rate", "online_rate", "rejection_rate", "immediate_rate",
                "one_time_correction_rate", "completion_rate", "avg_handling_hours"):
        assert api[key] is not None, key
        assert ov[label(BY_KEY[key])] == pytest.approx(api[key], rel=1e-12), key
    with pytest.raises(ValueError, match="open_at_start"):  # a point figure is never summed from daily rows
        BY_KEY["completion_rate"].sql()
    drill = {title: rows[0]["value"] for title, rows in results["drilldown"].items() if rows and "value" in rows[0]}
    assert drill["收件量 Received"] == api["received"], "all values selected: the drill-down is the total"
    assert all(results["analysis"][t] for t in results["analysis"]), "every decision-support panel shows rows"


async def test_promql_parses_and_names_exported_metrics(private_conn, tmp_path):
    conn = private_conn
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed (Debian package prometheus; infra/local/setup.sh installs it)")
    exprs = [t["expr"] for p in panels(json.loads(render("pipeline"))) for t in p.get("targets", []) if "expr" in t]
    assert len(exprs) >= 6
    rules = tmp_path / "rules.yml"
    rules.write_text(json.dumps({"groups": [{"name": "panels", "rules": [
        {"record": f"shenpi:panel_{i}", "expr": e} for i, e in enumerate(exprs)]}]}))
    out = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    await load(conn)
    eid = await conn.fetchval("SELECT id FROM alert_event LIMIT 1")
    await conn.execute("INSERT INTO alert_notification (event_id, receiver, payload, status)"
                       " VALUES ($1, 'x', '{}', 'failed')", eid)
    reg = CollectorRegistry()
    worker = WorkerMetrics(reg)  # labelled families show once a child exists, as they do in a running worker
    worker.lag.labels("t", "0").set(0)
    worker.db_retries.labels("case events").inc()
    worker.timer_failures.labels("orphan-sweep").inc()
    from web.metrics import _Snapshot
    db = CollectorRegistry(auto_describe=False)
    db.register(_Snapshot(await database_families(conn)))
    exported = set(re.findall(r"^(shenpi_[a-z_]+)", (generate_latest(reg) + generate_latest(db)).decode(), re.M))
    for e in exprs:
        for name in re.findall(r"shenpi_[a-z_]+", e):
            assert name in exported, f"{name} in {e!r} is not exported"
