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
        await _chains(s, pub, db, console)
        from shenpi.demo_org import show_city, show_evaluation

        await show_city(s, pub, db, console)
        await show_evaluation(db, console, s.state_dir)
    finally:
        await db.close()
        await pub.stop()


async def _chains(s: Settings, pub: Publisher, db: asyncpg.Connection, console: Console) -> None:
    """The shipped logs have no applicants: simulated ones who go through real service chains show decision
    support at work."""
    from datetime import datetime, timedelta

    from rich.table import Table

    from core.tz import TZ
    from simulator.chains import CHAINS, NOISE, applicant_histories, list_changes
    from streams.analysis.service import chains, recommendations
    from streams.indicators.queries import Window

    now = datetime.now(TZ)
    start = now - timedelta(days=300)
    await RecordsConnector(list_changes(start - timedelta(days=30)), "list_change", "demo").run(pub, receipts=db)
    events = RecordsConnector(applicant_histories(2000, start, 295, seed=7), "case_event", "demo-applicants")
    console.print(f"decision support: {len(events.records):,} events of 2,000 simulated applicants (the shipped"
                  " logs have no applicant_key, so no chains can come from them)")
    report = await events.run(pub, receipts=db)
    for _ in range(2400):
        t = await totals(db)
        if t["reconciled"] and t["pending"] == 0 and await db.fetchval(
                "SELECT count(*) FROM processed_batch WHERE batch_id = ANY($1::text[])", report.batch_ids) == len(
                set(report.batch_ids)):
            break
        _check_alive(s)
        await asyncio.sleep(0.25)
    window = Window(start, now)
    name = {code: f"{n}" for code, n, _ in [i for items in CHAINS.values() for i in items] + NOISE}.get
    found = await chains(db, window)
    tab = Table(title=f"辦事鏈條 service chains found ({len(found['chains'])})")
    for col in ("chain", "support", "median days", "bottleneck"):
        tab.add_column(col)
    for c in found["chains"]:
        tab.add_row(" → ".join(name(i, i) for i in c["items"]), str(c["support"]), f"{c['median_days'] or 0:.1f}",
                    name(c["bottleneck"], str(c["bottleneck"])))
    console.print(tab)
    recs = (await recommendations(db, window))["recommendations"]
    tab = Table(title="改革建議 recommendations (first 15)")
    for col in ("kind", "items", "region", "why"):
        tab.add_column(col)
    for r in recs[:15]:
        ev = r["evidence"]
        why = ", ".join(f"{k}={v}" for k, v in ev.items() if isinstance(v, (int, str)) and k != "department_code")
        tab.add_row(r["kind"], " + ".join(name(i, i) for i in r["item_codes"]), str(r["region_code"] or ""), why[:80])
    console.print(tab)


def _check_alive(s: Settings) -> None:
    dead = [name for name, pid in read_run(s).get("pids", {}).items() if not alive(pid)]
    if dead:
        raise SystemExit(f"the {', '.join(dead)} stopped: see {s.state_dir}/{dead[0]}.log")


async def _show(live: Live, db: asyncpg.Connection, window: Window, log: Path) -> None:
    rows = await indicators(db, window, ("item_code",))
    total = await indicators(db, window, ())
    t = await totals(db)
    sync = dict(await db.fetch("SELECT status, count(*) FROM list_sync GROUP BY 1"))
    head = Text(f"{log.name}: received {t['received']:,} · counted {t['counted']:,} · pending {t['pending']:,} · "
                f"duplicates {t['duplicates']:,} · dead-lettered {t['dead_lettered']:,} · "
                f"{'reconciled' if t['reconciled'] else 'in flight'} · 清單外 violations {t['violations']:,} · "
                f"list changes on the platform {sync.get('applied', 0)}/{sum(sync.values())}")
    live.update(Group(head, indicator_table(total, (), "all items, all time"),
                      indicator_table(rows[:12], ("item_code",), "by item")))


def run_demo(settings: Settings, log: Optional[Path], limit: Optional[int], keep: bool, console: Console) -> None:
    info = read_run(settings)
    started = not (info and all(alive(p) for p in info.get("pids", {}).values()))
    if started:
        start_stack(settings)
    s = resolved(settings)
    try:
        asyncio.run(_replay(s, log or default_log(), limit, console))
        console.print(f"API: http://{s.api_host}:{s.api_port}/api/v1/indicators?from=2000-01-01&to=2100-01-01"
                      f" (reads need a token: the webhook_token in {s.state_dir}/run.json, or a user's from"
                      f" `shenpi users add`); console: http://{s.api_host}:{s.api_port}/")
    finally:
        if started and not keep:
            stop_stack(settings)
