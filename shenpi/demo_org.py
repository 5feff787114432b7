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
from core.names import region_name
from core.tz import shown
from streams.evaluation.report import KINDS


async def show_city(s: Settings, pub: Publisher, db: asyncpg.Connection, console: Console) -> None:
    from simulator.org import generate_city
    from streams.staffing.checks import findings
    from streams.staffing.queries import figures

    city = generate_city(units=48, seed=7)
    await RecordsConnector(city.list_changes, "list_change", "demo-org").run(pub, receipts=db)
    staffing = RecordsConnector(city.changes, "staffing_change", "demo-org")
    staffing.identity_key = s.identity_secret()
    report = await staffing.run(pub, receipts=db)
    console.print(f"机构编制：{len(city.units)} 个单位自1983年以来的 {len(city.changes):,} 条变更（三代三定，人员录用、"
                  "调动、晋升、退休）")
    for _ in range(1200):
        if await db.fetchval("SELECT count(*) FROM staffing_delivery WHERE delivery_key = ANY($1::text[])",
                             report.delivery_keys) == len(report.delivery_keys):
            break
        await asyncio.sleep(0.25)
    now = datetime.now(timezone.utc)
    rows = (await figures(db, now))["rows"]
    tab = Table(title="编制使用：核定与实有（超编或有空编的单位，前15个）")
    for col in ("单位", "编制类型", "核定", "实有", "空编", "超编"):
        tab.add_column(col)
    for r in [r for r in rows if r["over"] or r["vacant"]][:15]:
        tab.add_row(r["unit_name"], r["quota_kind"], *(str(r[k]) for k in ("approved", "actual", "vacant", "over")))
    console.print(tab)
    found = await findings(db, now)
    tab = Table(title=f"检查发现（{len(found)}）")
    for col in ("类型", "单位", "对象", "发现于", "依据"):
        tab.add_column(col)
    for f in found[:20]:
        tab.add_row(KINDS.get(f["kind"], f["kind"]), f["unit_name"] or f["unit_code"], f.get("name") or f["subject"],
                    shown(f["opened_at"], False), f["basis"])
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
    tab = Table(title=f"评估 {eid}：{e['unit_name']} 执行情况 — 综合得分 {e['score']}")
    for col in ("指标", "数值", "得分", "权重"):
        tab.add_column(col)
    for i in e["indicators"]:
        tab.add_row(i["name"], "—" if i["value"] is None else f"{i['value']:g}",
                    "—" if i["score"] is None else f"{i['score']:g}", f"{i['weight']:g}")
    console.print(tab)
    task = await rectify.open_task(db, unit, "核减超编人员，按核定编制配备", 20, "demo", "over_quota")
    console.print(f"整改任务 {task}：由超编发现开启，期限20个工作日（控制台 /rectifications/{task}）")
    try:
        pdf, _ = await report_pdf(db, eid)
        path = state_dir / f"evaluation-{eid}.pdf"
        path.write_bytes(pdf)
        console.print(f"评估报告：{path}")
    except Exception as exc:  # the demo goes on without a browser; `shenpi eval report` says why
        console.print(f"[yellow]未生成PDF[/yellow]（{exc}）")


DEMO_PEOPLE = (("管理员", "admin", ""), ("市督查", "supervisor", "330100"), ("县查看", "viewer", "330102"),
               ("清单甲", "list_admin", ""), ("清单乙", "list_admin", ""))


async def sign_ins(db: asyncpg.Connection, console: Console) -> None:
    """People to sign in to the console as, one per role, each with a new password (printed once, here)."""
    import secrets

    from argon2 import PasswordHasher

    from core.access import token_digest

    tab = Table(title="控制台登录（密码只显示这一次）")
    for col in ("用户名", "角色", "可见范围", "密码"):
        tab.add_column(col)
    roles = {"admin": "管理员", "supervisor": "监督", "viewer": "查看", "list_admin": "清单管理"}
    for name, role, region in DEMO_PEOPLE:
        password = secrets.token_urlsafe(9)
        await db.execute(
            "INSERT INTO app_user (name, role, region_scope, password_hash, token_digest) VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (name) DO UPDATE SET role = $2, region_scope = $3, password_hash = $4, token_digest = $5,"
            " disabled = false", name, role, region, PasswordHasher().hash(password),
            token_digest(secrets.token_urlsafe(32)))
        tab.add_row(name, roles[role], region_name(region) or "全市" if region else "全部", password)
    console.print(tab)
