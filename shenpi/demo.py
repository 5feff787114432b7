"""`shenpi demo`: the stack up, a real permit log replayed into it, the indicators live in the terminal."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Optional

import asyncpg
from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from connectors.kafka import Publisher, ensure_topics
from connectors.xes import XesConnector, mapping_for
from core.settings import Settings
from shenpi.runtime import alive, read_run, resolved
from shenpi.stack import start_stack, stop_stack
from shenpi.tables import indicator_table
from streams.indicators.queries import Window, indicators, parse_window
from streams.indicators.status import totals

SHARED_LOGS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "eventlogs"


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
        await conn.list_connector().run(pub)
        task = asyncio.create_task(conn.run(pub))
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
    finally:
        await db.close()
        await pub.stop()


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
        console.print(f"API: http://{s.api_host}:{s.api_port}/api/v1/indicators?from=2000-01-01&to=2100-01-01")
    finally:
        if started and not keep:
            stop_stack(settings)
