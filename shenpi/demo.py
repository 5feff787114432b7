"""`shenpi demo`: the stack up, a real permit log replayed into it, the indicators live in the terminal."""
from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Optional

import asyncpg
from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from connectors.kafka import Publisher, ensure_topics
from connectors.records import RecordsConnector
from connectors.xes import XesConnector, mapping_for
from core.settings import Settings
from shenpi.runtime import alive, read_run, resolved
from shenpi.stack import start_stack, stop_stack
from shenpi.tables import indicator_table
from streams.indicators.queries import Window, indicators, parse_window
from streams.indicators.status import totals

# the real logs beside the project (../shared/data/eventlogs), or where SHENPI_EVENTLOGS says
SHARED_LOGS = Path(os.environ.get("SHENPI_EVENTLOGS")
                   or Path(__file__).resolve().parents[1].parent / "shared" / "data" / "eventlogs")


def default_log() -> Path:
    for base in (SHARED_LOGS, Path.cwd().parent / "shared" / "data" / "eventlogs", Path.cwd() / "data"):
        p = base / "WABO_receipt.xes.gz"
        if p.exists():
            return p
    raise SystemExit("no event log found: pass --log PATH (e.g. ../shared/data/eventlogs/WABO_receipt.xes.gz)")


async def _replay(s: Settings, log: Path, limit: Optional[int], console: Console) -> None:
    conn = XesConnector(log, mapping_for(log), limit)
    await ensure_topics(s)
    pub = Publisher(s)
    await pub.start()
    db = await asyncpg.connect(s.database_url)
    window = parse_window("2000-01-01", "2100-01-01")
    try:
        receipts = await asyncpg.connect(s.database_url)  # its own: the display reads `db` meanwhile
        await conn.list_connector().run(pub, receipts=receipts)
        task = asyncio.create_task(conn.run(pub, receipts=receipts))
        with Live(console=console, refresh_per_second=4) as live:
            while True:
                done = task.done()
                await _show(live, db, window, log)
                if done:
                    break
                await asyncio.sleep(0.5)
            report = task.result()
            for _ in range(2400):  # until the worker has caught up with what was sent
                t = await totals(db)
                if t["received"] >= report.received and t["reconciled"]:
                    break
                _check_alive(s)
                await asyncio.sleep(0.25)
            await _show(live, db, window, log)
        await receipts.close()
        await _the_city(s, pub, db, console)
    finally:
        await db.close()
        await pub.stop()


async def _the_city(s: Settings, pub: Publisher, db: asyncpg.Connection, console: Console) -> None:
    """A city to look at: applicants going through service chains, a city's units, quotas, staff and power list,
    an evaluation with its report and a rectification task, and people to sign in as."""
    from schemas.calendar import load_calendar_file
    from shenpi.demo_org import show_city, show_evaluation, sign_ins
    from streams.cases.reach import set_calendar

    shipped = sorted((Path(__file__).resolve().parents[1] / "infra" / "calendars").glob("*.yaml"))
    days: dict = {}
    for f in shipped:  # the holiday arrangements that ship, so the deadlines count them
        days.update(load_calendar_file(f).days())
    await set_calendar(db, days)
    console.print(f"节假日安排：{'、'.join(f.stem for f in shipped)}")
    await _chains(s, pub, db, console)
    await show_city(s, pub, db, console)
    await show_evaluation(db, console, s.state_dir)
    await sign_ins(db, console)


async def _city_only(s: Settings, console: Console) -> None:
    await ensure_topics(s)
    pub = Publisher(s)
    await pub.start()
    db = await asyncpg.connect(s.database_url)
    try:
        await _the_city(s, pub, db, console)
    finally:
        await db.close()
        await pub.stop()


async def _chains(s: Settings, pub: Publisher, db: asyncpg.Connection, console: Console) -> None:
    """The shipped logs have no applicants: simulated ones who go through real service chains show decision
    support at work."""
    from datetime import datetime, timedelta

    from rich.table import Table

    from core.names import region_name
    from core.tz import TZ
    from simulator.chains import CHAINS, NOISE, applicant_histories, list_changes
    from streams.analysis.service import chains, recommendations
    from streams.indicators.queries import Window

    now = datetime.now(TZ)
    start = now - timedelta(days=300)
    await RecordsConnector(list_changes(start - timedelta(days=30)), "list_change", "demo").run(pub, receipts=db)
    events = RecordsConnector(applicant_histories(2000, start, 295, seed=7), "case_event", "demo-applicants")
    console.print(f"决策支持：2,000 名模拟申请人的 {len(events.records):,} 个事件（随附的真实日志没有申请人标识，"
                  "无法从中发现办事链条）")
    from shenpi.demo_demands import planted_figures, send_demands, show_simplify, wait_demands

    said = await send_demands(s, pub, db, console, start, 295)
    report = await events.run(pub, receipts=db)
    for _ in range(2400):
        t = await totals(db)
        if t["reconciled"] and t["pending"] == 0 and await db.fetchval(
                "SELECT count(*) FROM processed_batch WHERE batch_id = ANY($1::text[])", report.batch_ids) == len(
                set(report.batch_ids)):
            break
        _check_alive(s)
        await asyncio.sleep(0.25)
    await wait_demands(db, said)
    window = Window(start, now)
    name = {code: f"{n}" for code, n, _ in [i for items in CHAINS.values() for i in items] + NOISE}.get
    found = await chains(db, window)
    tab = Table(title=f"办事链条（{len(found['chains'])}）")
    for col in ("链条", "申请人数", "全程中位天数", "瓶颈"):
        tab.add_column(col)
    for c in found["chains"]:
        tab.add_row(" → ".join(name(i, i) for i in c["items"]), str(c["support"]), f"{c['median_days'] or 0:.1f}",
                    name(c["bottleneck"], str(c["bottleneck"])))
    console.print(tab)
    recs = (await recommendations(db, window))["recommendations"]
    tab = Table(title="改革建议（前15条）")
    for col in ("类型", "事项", "区划"):
        tab.add_column(col)
    kinds = {"cancel": "建议取消", "devolve": "建议下放", "merge": "建议整合", "high_volume": "高频事项",
             "simplify": "精简材料、减少跑动"}
    for r in recs[:15]:
        tab.add_row(kinds.get(r["kind"], r["kind"]), " + ".join(name(i, i) for i in r["item_codes"]),
                    region_name(r["region_code"]) or str(r["region_code"] or "全部"))
    console.print(tab)
    show_simplify([r for r in recs if r["kind"] == "simplify"], await planted_figures(db, start, now), console)


def _check_alive(s: Settings) -> None:
    dead = [name for name, pid in read_run(s).get("pids", {}).items() if not alive(pid)]
    if dead:
        raise SystemExit(f"the {', '.join(dead)} stopped: see {s.state_dir}/{dead[0]}.log")


async def _show(live: Live, db: asyncpg.Connection, window: Window, log: Path) -> None:
    rows = await indicators(db, window, ("item_code",))
    total = await indicators(db, window, ())
    t = await totals(db)
    sync = dict(await db.fetch("SELECT status, count(*) FROM list_sync GROUP BY 1"))
    head = Text(f"{log.name}：收到 {t['received']:,} · 已计入 {t['counted']:,} · 待处理 {t['pending']:,} · "
                f"重复 {t['duplicates']:,} · 死信 {t['dead_lettered']:,} · "
                f"{'对账一致' if t['reconciled'] else '在途'} · 清单外办件 {t['violations']:,} · "
                f"平台已生效清单变更 {sync.get('applied', 0)}/{sum(sync.values())}")
    live.update(Group(head, indicator_table(total, (), "全部事项，全部时间"),
                      indicator_table(rows[:12], ("item_code",), "按事项")))


def run_demo(settings: Settings, log: Optional[Path], limit: Optional[int], keep: Optional[bool],
             console: Console, city: bool = False) -> None:
    """The replay, then the stack left up until Ctrl-C (by default at a terminal), or stopped with a plain word on
    how to keep it."""
    import sys

    info = read_run(settings)
    started = not (info and all(alive(p) for p in info.get("pids", {}).values()))
    if started:
        start_stack(settings)
    s = resolved(settings)
    keep = sys.stdin.isatty() if keep is None else keep
    try:
        asyncio.run(_city_only(s, console) if city else _replay(s, log or default_log(), limit, console))
        url = f"http://{s.api_host}:{s.api_port}/"
        console.print(f"API：{url}api/v1/indicators?from=2000-01-01&to=2100-01-01（需令牌：{s.state_dir}/run.json 中的"
                      f" webhook_token，或 `shenpi users add 姓名 --role admin` 给出的用户令牌）")
        if not started:
            console.print(f"控制台：{url}（系统由 `shenpi up` 运行，继续运行）")
        elif keep:
            console.print(f"控制台：{url}（登录用户：`shenpi users add 姓名 --role admin --password-env 变量名`）")
            console.print("[green]系统保持运行[/green]，按 Ctrl-C 停止")
            _wait(s)
        else:
            console.print("演示结束，系统已停止。要保持运行：`shenpi demo --keep`，或先 `shenpi up --detach` 再演示")
    except KeyboardInterrupt:
        console.print("已停止")
    finally:
        if started:
            stop_stack(settings)


def _wait(s: Settings) -> None:
    """Until Ctrl-C, or until a process of the stack ends (said plainly: the console is then gone)."""
    import time

    while True:
        dead = [name for name, pid in read_run(s).get("pids", {}).items() if not alive(pid)]
        if dead:
            console_msg = f"{'、'.join(dead)} 已退出（日志：{s.state_dir}/{dead[0]}.log），系统已停止"
            raise SystemExit(console_msg)
        time.sleep(1)
