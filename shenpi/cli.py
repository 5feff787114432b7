"""The `shenpi` command: run the stack, feed it, and read the indicators."""
from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import click
from rich.console import Console

from shenpi.settings import Settings

console = Console(stderr=True)


def _settings(ctx: click.Context) -> Settings:
    from shenpi.runtime import resolved

    return resolved(ctx.obj["settings"])


@click.group()
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Real-time monitor of administrative approvals (行政審批) and the power list (權責清單)."""
    ctx.ensure_object(dict)
    ctx.obj["settings"] = Settings()


# --------------------------------------------------------------------------- database


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply the migrations not yet applied."""
    from db.migrate import upgrade
    from shenpi.runtime import require

    s = _settings(ctx)
    require(s, "database_url")
    applied = upgrade(s.database_url)
    console.print(f"applied: {', '.join(applied)}" if applied else "database is up to date")


# --------------------------------------------------------------------------- processes


@cli.command()
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Run the stream worker (faust) in the foreground."""
    import faust

    from shenpi.runtime import require
    from streams.app import create_app

    s = _settings(ctx)
    require(s, "kafka_bootstrap", "database_url")
    asyncio.run(_ensure_topics(s))
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry()
    app = create_app(s, registry)
    if s.worker_metrics_port:
        start_http_server(s.worker_metrics_port, addr=s.api_host, registry=registry)
    faust.Worker(app, loglevel="warning", quiet=True).execute_from_commandline()


async def _ensure_topics(s: Settings) -> None:
    from connectors.kafka import ensure_topics

    await ensure_topics(s)


@cli.command()
@click.pass_context
def api(ctx: click.Context) -> None:
    """Run the HTTP API (webhook, indicators, status) in the foreground."""
    from aiohttp import web

    from shenpi.api import init_app
    from shenpi.runtime import require

    s = _settings(ctx)
    require(s, "kafka_bootstrap", "database_url")
    web.run_app(init_app(s), host=s.api_host, port=s.api_port, print=None, access_log=None)


def _spawn(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    out = open(log, "ab")
    return subprocess.Popen([sys.executable, "-m", "shenpi", *args], env=env, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)


def _wait_ready(s: Settings, procs: dict[str, subprocess.Popen], timeout: float = 90.0) -> None:
    import urllib.request

    import psycopg

    deadline = time.monotonic() + timeout
    api_ok = worker_ok = False
    while time.monotonic() < deadline:
        for name, p in procs.items():
            if p.poll() is not None:
                raise click.ClickException(f"the {name} exited with {p.returncode}: see {s.state_dir / (name + '.log')}")
        if not api_ok:
            try:
                with urllib.request.urlopen(f"http://{s.api_host}:{s.api_port}/healthz", timeout=1) as r:
                    api_ok = r.status == 200
            except OSError:
                pass
        if not worker_ok:
            with psycopg.connect(s.database_url) as c:
                worker_ok = bool(c.execute(
                    "SELECT count(*) FROM worker WHERE seen_at > now() - interval '3 seconds' AND partitions > 0"
                    " AND pid = %s", (procs["worker"].pid,)).fetchone()[0])
        if api_ok and worker_ok:
            return
        time.sleep(0.2)
    raise click.ClickException(f"the stack was not ready after {timeout:.0f}s: see the logs in {s.state_dir}")


@dataclass
class Stack:
    """What `start_stack` started: run.json's record, and how to start each restartable process again."""

    settings: Settings
    info: dict
    env: dict
    procs: dict[str, subprocess.Popen]
    commands: dict[str, list[str]]


def start_stack(s: Settings) -> Stack:
    """Broker and database if not given, migrations, worker and API."""
    from db.migrate import upgrade
    from shenpi.broker import EmbeddedBroker, free_port
    from shenpi.runtime import write_run

    s.state_dir.mkdir(parents=True, exist_ok=True)
    info: dict = {"pids": {}}
    procs: dict[str, subprocess.Popen] = {}
    if not s.kafka_bootstrap:
        broker = EmbeddedBroker(log=s.state_dir / "broker.log").start()
        info["pids"]["broker"] = broker.proc.pid
        procs["broker"] = broker.proc
        s = s.model_copy(update={"kafka_bootstrap": broker.bootstrap})
        console.print(f"broker: embedded Tansu at {broker.bootstrap}")
    if not s.database_url:
        from shenpi.embedded_pg import start_embedded_postgres

        dsn, pgdata = start_embedded_postgres(s.state_dir / "pgdata")
        info["pgdata"] = str(pgdata)
        s = s.model_copy(update={"database_url": dsn})
        console.print(f"database: embedded PostgreSQL in {pgdata}")
    upgrade(s.database_url)
    env = dict(os.environ, SHENPI_KAFKA_BOOTSTRAP=s.kafka_bootstrap, SHENPI_DATABASE_URL=s.database_url)
    if not s.webhook_tokens.get_secret_value() and not s.webhook_hmac_keys.get_secret_value():
        token = secrets.token_urlsafe(24)
        env["SHENPI_WEBHOOK_TOKENS"] = token
        info["webhook_token"] = token
    if "SHENPI_API_PORT" not in os.environ:
        s = s.model_copy(update={"api_port": free_port() if _port_busy(s.api_port) else s.api_port})
    env["SHENPI_API_PORT"] = str(s.api_port)
    commands: dict[str, list[str]] = {}
    if s.propagation_enabled and "SHENPI_PLATFORM_URL" not in os.environ:
        # no platform configured: the list binds the simulator, so the whole loop runs on this machine
        from shenpi.broker import wait_port

        port = free_port()
        env["SHENPI_PLATFORM_URL"] = f"http://127.0.0.1:{port}"
        env.setdefault("SHENPI_PLATFORM_TOKEN", secrets.token_urlsafe(24))
        commands["platform"] = ["platform-sim", "--port", str(port)]
        procs["platform"] = _spawn(commands["platform"], env, s.state_dir / "platform.log")
        wait_port("127.0.0.1", port, 30)
        info["platform_url"] = env["SHENPI_PLATFORM_URL"]
        console.print(f"platform: simulator at {info['platform_url']}")
    # more workers, more consumers in the group: partitions are shared out among them
    workers = ["worker", *(f"worker{n}" for n in range(2, s.workers + 1))]
    commands.update({w: ["worker"] for w in workers}, api=["api"])
    for name in (*workers, "api"):
        procs[name] = _spawn(commands[name], env, s.state_dir / f"{name}.log")
    info["pids"].update({k: p.pid for k, p in procs.items()})
    info.update(kafka_bootstrap=s.kafka_bootstrap, database_url=s.database_url, api_port=s.api_port,
                api_url=f"http://{s.api_host}:{s.api_port}")
    write_run(s, info)
    os.chmod(s.state_dir / "run.json", 0o600)
    try:
        _wait_ready(s, {k: p for k, p in procs.items() if k != "broker"})
    except BaseException:
        stop_stack(s)
        raise
    return Stack(s, info, env, procs, commands)


def supervise(stack: Stack) -> None:
    """Keep the stack up: a worker, the API or the simulator that exits is started again, after a pause that
    doubles (to 30 s) while it keeps failing; one that fails 5 times in 5 minutes, or the loss of the embedded
    broker (its topics live in memory only), ends the stack."""
    from shenpi.runtime import write_run

    s, info = stack.settings, stack.info
    exits: dict[str, list[float]] = {}
    due: dict[str, float] = {}
    while True:
        broker = stack.procs.get("broker")
        if broker is not None and broker.poll() is not None:
            raise click.ClickException(f"the embedded broker exited: see {s.state_dir / 'broker.log'}")
        now = time.monotonic()
        for name, args in stack.commands.items():
            p = stack.procs[name]
            if p.poll() is None:
                continue
            log = s.state_dir / f"{name}.log"
            if name not in due:
                recent = exits[name] = [t for t in exits.get(name, []) if now - t < 300] + [now]
                if len(recent) >= 5:
                    raise click.ClickException(f"the {name} keeps exiting ({p.returncode} last): see {log}")
                due[name] = now + min(30.0, 2.0 ** (len(recent) - 1))
                console.print(f"[yellow]the {name} exited with {p.returncode}[/yellow]: starting it again"
                              f" in {due[name] - now:.0f}s (see {log})")
            elif now >= due[name]:
                del due[name]
                stack.procs[name] = _spawn(args, stack.env, log)
                info["pids"][name] = stack.procs[name].pid
                write_run(s, info)
        time.sleep(0.5)


def _port_busy(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def stop_stack(s: Settings) -> bool:
    from shenpi.runtime import alive, read_run, run_file, terminate

    info = read_run(s)
    if not info:
        return False
    pids = info.get("pids", {})
    order = [pids[k] for k in ("api", *sorted(k for k in pids if k.startswith("worker")), "platform", "broker")
             if k in pids]
    terminate(order)
    deadline = time.monotonic() + 15
    while any(alive(p) for p in order) and time.monotonic() < deadline:
        time.sleep(0.1)
    terminate([p for p in order if alive(p)], signal.SIGKILL)
    if info.get("pgdata"):
        from shenpi.embedded_pg import stop_embedded_postgres

        stop_embedded_postgres(Path(info["pgdata"]))
    run_file(s).unlink(missing_ok=True)
    return True


@cli.command()
@click.option("--detach", is_flag=True, help="Return once everything is ready; `shenpi down` stops it.")
@click.pass_context
def up(ctx: click.Context, detach: bool) -> None:
    """Start the broker, the database (both embedded unless configured), migrations, the workers and the API,
    and keep them up."""
    from shenpi.runtime import alive, read_run, write_run

    s = ctx.obj["settings"]
    info = read_run(s)
    if info and all(alive(p) for p in [*info.get("pids", {}).values(), info.get("supervisor", 0)] if p):
        console.print(f"already up: {info['api_url']}")
        return
    if info:
        stop_stack(s)
    if detach:
        _up_detached(s)
        return
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # `shenpi down`: stop the stack on the way out
    try:
        stack = start_stack(s)
        stack.info.update(supervisor=os.getpid(), ready=True)
        write_run(s, stack.info)
        console.print(f"[green]up[/green]: API {stack.info['api_url']} · broker {stack.info['kafka_bootstrap']}")
        console.print("press Ctrl-C to stop")
        supervise(stack)
    except KeyboardInterrupt:
        pass
    finally:
        stop_stack(s)


def _up_detached(s: Settings) -> None:
    """`shenpi up` in a session of its own, logging to up.log; returns once it reports the stack ready."""
    from shenpi.runtime import read_run

    s.state_dir.mkdir(parents=True, exist_ok=True)
    log = s.state_dir / "up.log"
    with open(log, "ab") as out:
        child = subprocess.Popen([sys.executable, "-m", "shenpi", "up"], stdout=out, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        info = read_run(s)
        if info.get("ready") and info.get("supervisor") == child.pid:
            console.print(f"[green]up[/green]: API {info['api_url']} · broker {info['kafka_bootstrap']}"
                          f" · kept up by pid {child.pid} (log {log})")
            return
        if child.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise click.ClickException(f"`shenpi up` exited with {child.returncode}:\n{tail}")
        time.sleep(0.2)
    raise click.ClickException(f"the stack was not ready after 180s: see {log}")


@cli.command()
@click.pass_context
def down(ctx: click.Context) -> None:
    """Stop what `shenpi up` started."""
    from shenpi.runtime import alive, read_run

    s = ctx.obj["settings"]
    sup = read_run(s).get("supervisor")
    stopped = False
    if sup and sup != os.getpid() and alive(sup):  # it stops the stack itself, and restarts nothing meanwhile
        os.kill(sup, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while alive(sup) and time.monotonic() < deadline:
            time.sleep(0.1)
        stopped = True
    stopped = stop_stack(s) or stopped
    console.print("stopped" if stopped else "nothing is running")


# --------------------------------------------------------------------------- feeding


async def _publish(s: Settings, connector, wait: bool, label: str) -> dict:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from connectors.kafka import Publisher, ensure_topics

    await ensure_topics(s)
    pub = Publisher(s)
    await pub.start()
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True) as progress:
            task = progress.add_task(label, total=getattr(connector, "expected", None))
            report = await connector.run(pub, on_progress=lambda n: progress.advance(task, n))
    finally:
        await pub.stop()
    result = {"received": report.received, "accepted": report.accepted, "refused": report.refused,
              "refusal_examples": report.reasons[:5]}
    if wait:
        result.update(await _wait_processed(s, report.batch_ids, report.dl_keys))
    return result


async def _wait_processed(s: Settings, batch_ids: list[str], dl_keys: list[str], timeout: float = 600) -> dict:
    import asyncpg

    from streams.indicators.status import processed

    conn = await asyncpg.connect(s.database_url)
    try:
        deadline = time.monotonic() + timeout
        while True:
            nb, nd = await processed(conn, batch_ids, dl_keys)
            if (nb, nd) == (len(set(batch_ids)), len(set(dl_keys))):
                break
            if time.monotonic() > deadline:
                raise click.ClickException(f"only {nb}/{len(batch_ids)} batches and {nd}/{len(dl_keys)} dead letters "
                                           f"recorded after {timeout:.0f}s")
            await asyncio.sleep(0.1)
        row = await conn.fetchrow(
            "SELECT coalesce(sum(n_new), 0) AS new, coalesce(sum(n_duplicate), 0) AS dup,"
            " coalesce(sum(n_invalid), 0) AS inv FROM processed_batch WHERE batch_id = ANY($1::text[])", batch_ids)
        return {"new": row["new"], "duplicates": row["dup"], "invalid_in_stream": row["inv"]}
    finally:
        await conn.close()


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(["case-events", "list-changes"]), default="case-events")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "json", "csv"]), default=None)
@click.option("--wait", is_flag=True, help="Return when every event is counted or dead-lettered.")
@click.pass_context
def ingest(ctx: click.Context, file: Path, kind: str, fmt: Optional[str], wait: bool) -> None:
    """Backfill case events or list changes from a JSONL, JSON or CSV file."""
    from connectors.files import FileConnector
    from shenpi.runtime import require

    s = _settings(ctx)
    require(s, "kafka_bootstrap", *(("database_url",) if wait else ()))
    try:
        conn = FileConnector(file, "case_event" if kind == "case-events" else "list_change", fmt)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    click.echo(json.dumps(asyncio.run(_publish(s, conn, wait, f"ingest {file.name}")), ensure_ascii=False, indent=2))


@cli.command("import-xes")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--mapping", "mapping_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A mapping YAML (see connectors/mappings); default: the shipped one for this log.")
@click.option("--limit", type=int, default=None, help="Only the first N traces.")
@click.option("--wait", is_flag=True, help="Return when every event is counted or dead-lettered.")
@click.pass_context
def import_xes(ctx: click.Context, file: Path, mapping_path: Optional[Path], limit: Optional[int], wait: bool) -> None:
    """Turn an XES event log into case events (and the list entries its items need) and stream them in."""
    from connectors.xes import XesConnector, load_mapping, mapping_for
    from shenpi.runtime import require

    s = _settings(ctx)
    require(s, "kafka_bootstrap", *(("database_url",) if wait else ()))
    mapping = load_mapping(mapping_path) if mapping_path else mapping_for(file)
    result = asyncio.run(_import_xes(s, XesConnector(file, mapping, limit), wait))
    click.echo(json.dumps(result, ensure_ascii=False, indent=2))


async def _import_xes(s: Settings, conn, wait: bool) -> dict:
    listed = await _publish(s, conn.list_connector(), False, "list entries")
    events = await _publish(s, conn, wait, f"import {conn.path.name}")
    return {"list_changes": listed, "case_events": events}


# --------------------------------------------------------------------------- reading


async def _query(s: Settings, frm: Optional[str], to: Optional[str], group_by: str) -> tuple:
    import asyncpg

    from streams.indicators.queries import indicators, parse_group_by, parse_window

    window, groups = parse_window(frm, to), parse_group_by(group_by)
    conn = await asyncpg.connect(s.database_url)
    try:
        return window, groups, await indicators(conn, window, groups)
    finally:
        await conn.close()


@cli.command("indicators")
@click.option("--from", "frm", help="Start: a local date (YYYY-MM-DD) or ISO time; default today 00:00.")
@click.option("--to", help="End (exclusive): a local date or ISO time; default now.")
@click.option("--group-by", default="", help="Any of region_code,department_code,item_code,level.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table")
@click.pass_context
def indicators_cmd(ctx: click.Context, frm: Optional[str], to: Optional[str], group_by: str, fmt: str) -> None:
    """The 14 indicators and the two guard figures, one row per group."""
    from shenpi.runtime import require
    from streams.indicators.queries import QueryError
    from streams.indicators.views import to_csv

    s = _settings(ctx)
    require(s, "database_url")
    try:
        window, groups, rows = asyncio.run(_query(s, frm, to, group_by))
    except QueryError as exc:
        raise click.BadParameter(str(exc)) from None
    for r in rows:
        r.pop("components")
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
    elif fmt == "csv":
        click.echo(to_csv(rows, groups), nl=False)
    else:
        from shenpi.tables import indicator_table

        Console().print(indicator_table(rows, groups, f"{window.t0:%Y-%m-%d %H:%M} → {window.t1:%Y-%m-%d %H:%M}"))


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Totals that reconcile: received = counted + pending + duplicates + dead-lettered."""
    import asyncpg

    from shenpi.runtime import require
    from streams.indicators.status import totals

    s = _settings(ctx)
    require(s, "database_url")

    async def run():
        conn = await asyncpg.connect(s.database_url)
        try:
            return await totals(conn)
        finally:
            await conn.close()

    t = asyncio.run(run())
    if as_json:
        click.echo(json.dumps(t, ensure_ascii=False, indent=2, default=str))
        return
    from shenpi.tables import status_table

    Console().print(status_table(t))
    if not t["reconciled"]:
        sys.exit(1)


@cli.command()
@click.option("--log", "log_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="An XES log; default: WABO_receipt from the shared event logs.")
@click.option("--limit", type=int, default=None, help="Only the first N traces.")
@click.option("--keep/--no-keep", default=False, help="Leave the stack running afterwards.")
@click.pass_context
def demo(ctx: click.Context, log_path: Optional[Path], limit: Optional[int], keep: bool) -> None:
    """Start the stack, replay a real permit log into it, and watch the indicators move."""
    from shenpi.demo import run_demo

    run_demo(ctx.obj["settings"], log_path, limit, keep, console)


async def _with_conn(s: Settings, fn):
    import asyncpg

    conn = await asyncpg.connect(s.database_url)
    try:
        return await fn(conn)
    finally:
        await conn.close()


@cli.group("list")
def list_group() -> None:
    """The power list (權責清單): items as of any time, histories, propagation."""


@list_group.command("items")
@click.option("--as-of", default=None, help="ISO time with offset; default now.")
@click.option("--active/--all", default=True)
@click.pass_context
def list_items(ctx: click.Context, as_of: Optional[str], active: bool) -> None:
    """The items in force at a time."""
    from datetime import datetime, timezone

    from shenpi.runtime import require
    from streams.powerlist.queries import items_as_of

    s = _settings(ctx)
    require(s, "database_url")
    at = datetime.fromisoformat(as_of) if as_of else datetime.now(timezone.utc)
    rows = asyncio.run(_with_conn(s, lambda c: items_as_of(c, at, None, True if active else None, 100000)))
    click.echo(json.dumps(rows, ensure_ascii=False, indent=2))


@list_group.command("show")
@click.argument("code")
@click.pass_context
def list_show(ctx: click.Context, code: str) -> None:
    """One item: every version with the change that made it, and its propagation."""
    from shenpi.runtime import require
    from streams.powerlist.queries import item_history

    s = _settings(ctx)
    require(s, "database_url")
    h = asyncio.run(_with_conn(s, lambda c: item_history(c, code)))
    if not h["versions"]:
        raise click.ClickException(f"no list item {code!r}")
    click.echo(json.dumps(h, ensure_ascii=False, indent=2))


@list_group.command("sync")
@click.option("--status", type=click.Choice(["pending", "failed", "parked", "applied"]), default=None)
@click.pass_context
def list_sync(ctx: click.Context, status: Optional[str]) -> None:
    """Propagation of list changes to the platform: counts, latency, recent changes."""
    from shenpi.runtime import require
    from streams.powerlist.queries import sync_state

    s = _settings(ctx)
    require(s, "database_url")
    click.echo(json.dumps(asyncio.run(_with_conn(s, lambda c: sync_state(c, status))), ensure_ascii=False, indent=2))


@cli.group("calendar")
def calendar_group() -> None:
    """Working days (工作日): statutory holidays and the weekend days worked in their place."""


@calendar_group.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def calendar_load(ctx: click.Context, file: Path) -> None:
    """Set the days a calendar file gives; cases whose deadline counted a changed day are re-evaluated."""
    from pydantic import ValidationError

    from schemas.calendar import load_calendar_file
    from shenpi.runtime import require
    from streams.cases.store import set_calendar

    s = _settings(ctx)
    require(s, "database_url")
    try:
        days = load_calendar_file(file).days()
    except ValidationError as exc:
        raise click.ClickException(f"{file}: {exc}")
    n = asyncio.run(_with_conn(s, lambda c: set_calendar(c, days)))
    click.echo(json.dumps({"days": len(days), "cases_reevaluated": n}))


@calendar_group.command("show")
@click.option("--year", type=int, default=None)
@click.pass_context
def calendar_show(ctx: click.Context, year: Optional[int]) -> None:
    """The days that differ from Monday to Friday."""
    from shenpi.runtime import require

    s = _settings(ctx)
    require(s, "database_url")
    rows = asyncio.run(_with_conn(s, lambda c: c.fetch(
        "SELECT day, workday, note FROM work_calendar WHERE $1::int IS NULL OR extract(year FROM day) = $1"
        " ORDER BY day", year)))
    click.echo(json.dumps([{"day": str(r["day"]), "workday": r["workday"], "note": r["note"]} for r in rows],
                          ensure_ascii=False, indent=2))


@cli.command()
@click.option("--dry-run", is_flag=True, help="Report drift without repairing it.")
@click.pass_context
def reconcile(ctx: click.Context, dry_run: bool) -> None:
    """Diff the platform's catalog against the list, item by item, and repair the drift."""
    from dataclasses import asdict

    from connectors.platform import PlatformClient
    from shenpi.runtime import require
    from streams.propagation.store import reconcile as run

    s = _settings(ctx)
    require(s, "database_url")

    async def go(conn):
        async with PlatformClient(s) as client:
            return await run(conn, client, repair=not dry_run)

    drifts = asyncio.run(_with_conn(s, go))
    click.echo(json.dumps([asdict(d) for d in drifts], ensure_ascii=False, indent=2))
    if any(d.error for d in drifts):
        sys.exit(1)


@cli.command()
@click.option("--check-rules", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Only validate a rules file and exit.")
@click.pass_context
def alerts(ctx: click.Context, check_rules: Optional[Path]) -> None:
    """Alert state, history and notification outbox (or validate a rules file)."""
    if check_rules:
        from streams.alerts.rules import RuleError, load_rules

        try:
            rules = load_rules(check_rules)
        except RuleError as exc:
            raise click.ClickException(str(exc)) from None
        console.print(f"{len(rules.rules)} rules, {len(rules.receivers)} receivers: valid")
        return
    from shenpi.runtime import require
    from streams.alerts.views import alerts_overview

    s = _settings(ctx)
    require(s, "database_url")
    click.echo(json.dumps(asyncio.run(_with_conn(s, alerts_overview)), ensure_ascii=False, indent=2, default=str))


@cli.group()
def dashboards() -> None:
    """Grafana boards as code."""


@dashboards.command("build")
def dashboards_build() -> None:
    """Regenerate dashboards/json from dashboards/boards.py."""
    from dashboards.boards import build_all

    for p in build_all():
        console.print(f"wrote {p}")


@dashboards.command("push")
@click.option("--url", required=True, help="Grafana's URL, e.g. http://grafana:3000")
@click.option("--token", envvar="SHENPI_GRAFANA_TOKEN", required=True, help="A service account token (or env).")
@click.option("--folder-uid", default=None)
def dashboards_push(url: str, token: str, folder_uid: Optional[str]) -> None:
    """Create or update every board in Grafana, by uid (idempotent)."""
    from grafana_client import GrafanaApi

    from dashboards.boards import BOARDS, render

    api = GrafanaApi.from_url(url, credential=token)
    for name in BOARDS:
        board = json.loads(render(name))
        payload = {"dashboard": board, "overwrite": True, "message": "shenpi dashboards push"}
        if folder_uid:
            payload["folderUid"] = folder_uid
        res = api.dashboard.update_dashboard(payload)
        console.print(f"{board['uid']}: {res.get('status', res)}")


@cli.command("platform-sim")
@click.option("--host", default="127.0.0.1")
@click.option("--port", type=int, default=8090)
@click.option("--cases-per-second", type=float, default=0.0, help="Also send case histories to the monitor.")
@click.pass_context
def platform_sim(ctx: click.Context, host: str, port: int, cases_per_second: float) -> None:
    """Run the service platform simulator (catalog API; optional case generator)."""
    from aiohttp import web

    from simulator.cases import generate
    from simulator.platform import PLATFORM, init_app

    s = _settings(ctx)
    token = s.platform_token.get_secret_value()
    if not token:
        raise click.ClickException("set SHENPI_PLATFORM_TOKEN: the simulator refuses unauthenticated changes")
    app = init_app(token)
    if cases_per_second > 0:
        tokens = s.secrets(s.webhook_tokens)
        if not tokens:
            raise click.ClickException("the case generator needs SHENPI_WEBHOOK_TOKENS to call the monitor")

        async def generator(app):
            url = f"http://{s.api_host}:{s.api_port}/api/v1/case-events"
            task = asyncio.create_task(generate(app[PLATFORM], url, tokens[0].decode(), cases_per_second, 1e9))
            yield
            task.cancel()

        app.cleanup_ctx.append(generator)
    web.run_app(app, host=host, port=port, print=None, access_log=None)


@cli.group()
def schemas() -> None:
    """The event contract as JSON Schema."""


@schemas.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=Path("schemas/jsonschema"))
def schemas_export(directory: Path) -> None:
    """Write the JSON Schema files generated from the pydantic models."""
    from schemas.jsonschema_export import write_all

    for p in write_all(directory):
        console.print(f"wrote {p}")


def main() -> None:
    cli(prog_name="shenpi")


if __name__ == "__main__":
    main()
