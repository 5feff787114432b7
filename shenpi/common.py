"""What the commands share: the console, the settings (filled from the running stack), a database connection."""
from __future__ import annotations

import asyncio
import json
from typing import Any, Awaitable, Callable, Optional, TypeVar

import click
from rich.console import Console

from core.settings import Settings
from shenpi.runtime import require, resolved

T = TypeVar("T")
console = Console(stderr=True)


def settings(ctx: click.Context) -> Settings:
    """The settings, with what the environment left open taken from the stack `shenpi up` started."""
    return resolved(ctx.obj["settings"])


def with_db(ctx: click.Context, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run `work` on a connection to the stack's database (closed afterwards)."""
    import asyncpg

    s = settings(ctx)
    require(s, "database_url")

    async def go() -> T:
        conn = await asyncpg.connect(s.database_url)
        try:
            return await work(conn)
        finally:
            await conn.close()

    return asyncio.run(go())


OUTPUT = click.option("--output", default=None, type=click.Path(dir_okay=False),
                      help="With --format xlsx: the workbook to write.")


def write_workbook(ctx: click.Context, output: Optional[str], title: str, rows: list, **kw: Any) -> None:
    """--format xlsx: the rows as a workbook (names beside codes, core/workbook.py) written to --output."""
    from pathlib import Path

    from core.workbook import table_workbook

    if not output:
        raise click.UsageError("--format xlsx writes a workbook: give --output FILE")
    data = with_db(ctx, lambda conn: table_workbook(conn, title, rows, **kw))
    Path(output).write_bytes(data)
    console.print(f"{output}: {len(rows):,} rows")


def echo_json(obj: Any) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def progress(done: int, total: int) -> None:
    console.print(f"re-evaluated {done:,} of {total:,} cases", end="\r")


def run_maintenance(dsn: str) -> list[str]:
    """What migrations requested (e.g. every case re-evaluated after a change of rule), run now."""
    import asyncpg

    from streams.cases.rebuild import run_pending

    async def go() -> list[str]:
        conn = await asyncpg.connect(dsn)
        try:
            return await run_pending(conn, progress=progress)
        finally:
            await conn.close()

    return asyncio.run(go())
