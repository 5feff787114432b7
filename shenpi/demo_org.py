"""The demo's staffing half: a generated city's units beside its approvals, their figures and findings."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import asyncpg
from rich.console import Console
from rich.table import Table

from connectors.kafka import Publisher
from connectors.records import RecordsConnector
from core.settings import Settings


async def show_city(s: Settings, pub: Publisher, db: asyncpg.Connection, console: Console) -> None:
    from simulator.org import generate_city
    from streams.staffing.checks import findings
    from streams.staffing.queries import figures

    city = generate_city(units=48, seed=7)
    await RecordsConnector(city.list_changes, "list_change", "demo-org").run(pub, receipts=db)
    staffing = RecordsConnector(city.changes, "staffing_change", "demo-org")
    staffing.identity_key = s.identity_secret()
    report = await staffing.run(pub, receipts=db)
    console.print(f"staffing: {len(city.changes):,} changes of {len(city.units)} units since 1983 (三定 in three"
                  " generations, staff hired, moved, promoted and retiring)")
    for _ in range(1200):
        if await db.fetchval("SELECT count(*) FROM staffing_delivery WHERE delivery_key = ANY($1::text[])",
                             report.delivery_keys) == len(report.delivery_keys):
            break
        await asyncio.sleep(0.25)
    now = datetime.now(timezone.utc)
    rows = (await figures(db, now))["rows"]
    tab = Table(title="编制使用 approved vs actual (units over or with a vacancy, first 15)")
    for col in ("unit", "kind", "approved", "actual", "vacant", "over"):
        tab.add_column(col)
    for r in [r for r in rows if r["over"] or r["vacant"]][:15]:
        tab.add_row(r["unit_name"], r["quota_kind"], *(str(r[k]) for k in ("approved", "actual", "vacant", "over")))
    console.print(tab)
    found = await findings(db, now)
    tab = Table(title=f"检查发现 findings ({len(found)})")
    for col in ("kind", "unit", "subject", "since", "basis"):
        tab.add_column(col)
    for f in found[:20]:
        tab.add_row(f["kind"], f["unit_name"] or f["unit_code"], f["subject"], (f["opened_at"] or "")[:10], f["basis"])
    console.print(tab)


async def show_evaluation(db: asyncpg.Connection, console: Console, state_dir) -> None:
    """An evaluation of a unit over its quota, its report, and a rectification task opened from the finding."""
    from datetime import timedelta

    from streams.evaluation.report import report_pdf
    from streams.evaluation import evaluate, rectify
    from streams.evaluation.scorecard import load_scorecard

    unit = await db.fetchval("SELECT unit_code FROM org_finding WHERE kind = 'over_quota' AND closed_at IS NULL"
                             " ORDER BY unit_code LIMIT 1")
    if unit is None:
        return
    now = datetime.now(timezone.utc)
    eid = await evaluate.create(db, unit, now - timedelta(days=365), now, "执行情况", "demo", load_scorecard())
    e = await evaluate.show(db, eid)
    tab = Table(title=f"评估 {eid}: {e['unit_name']} 执行情况 — 综合得分 {e['score']}")
    for col in ("indicator", "value", "score", "weight"):
        tab.add_column(col)
    for i in e["indicators"]:
        tab.add_row(i["name"], "—" if i["value"] is None else f"{i['value']:g}",
                    "—" if i["score"] is None else f"{i['score']:g}", f"{i['weight']:g}")
    console.print(tab)
    task = await rectify.open_task(db, unit, "核减超编人员，按核定编制配备", 20, "demo", "over_quota")
    console.print(f"整改任务 {task}: from the over_quota finding, due in 20 working days "
                  f"(`shenpi rectify show {task} --as NAME`)")
    try:
        pdf, _ = await report_pdf(db, eid)
        path = state_dir / f"evaluation-{eid}.pdf"
        path.write_bytes(pdf)
        console.print(f"report: {path}")
    except Exception as exc:  # the demo goes on without a browser; `shenpi eval report` says why
        console.print(f"[yellow]no PDF[/yellow] ({exc})")
