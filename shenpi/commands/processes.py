"""Running things: the whole stack (up, down, demo), or one process in the foreground (worker, api, platform-sim)."""
from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path
from typing import Optional

import click

from shenpi.common import console, settings
from shenpi.runtime import alive, read_run, require, write_run
from shenpi.stack import differences, start_stack, stop_stack, supervise, up_detached


@click.command()
@click.option("--detach", is_flag=True, help="Return once everything is ready; `shenpi down` stops it.")
@click.option("--restart", is_flag=True, help="Stop a running stack whose configuration differs, and start anew.")
@click.option("--cases-per-second", type=float, default=None,
              help="The platform simulator also sends live cases at this rate, dated now (SHENPI_SIM_CASES_PER_SECOND).")
@click.pass_context
def up(ctx: click.Context, detach: bool, restart: bool, cases_per_second: Optional[float]) -> None:
    """Start the broker, the database (both embedded unless configured), migrations, the workers and the API,
    and keep them up."""
    s = ctx.obj["settings"]
    if cases_per_second is not None:
        s = ctx.obj["settings"] = s.model_copy(update={"sim_cases_per_second": cases_per_second})
        os.environ["SHENPI_SIM_CASES_PER_SECOND"] = str(cases_per_second)  # the detached supervisor's too
    info = read_run(s)
    if info and all(alive(p) for p in [*info.get("pids", {}).values(), info.get("supervisor", 0)] if p):
        diff = differences(s, info)
        if not diff:
            console.print(f"已在运行：{info['api_url']}")
            return
        if not restart:
            raise click.ClickException("a stack with another configuration is up in "
                                       f"{s.state_dir}: {'; '.join(diff)}. Stop it (`shenpi down`) or pass --restart")
        ctx.invoke(down)
        info = {}
    if info:
        stop_stack(s)
    if detach:
        up_detached(s)
        return
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # `shenpi down`: stop the stack on the way out
    try:
        stack = start_stack(s)
        stack.info.update(supervisor=os.getpid(), ready=True)
        write_run(s, stack.info)
        console.print(f"[green]已启动[/green]：API {stack.info['api_url']} · 消息代理 {stack.info['kafka_bootstrap']}")
        console.print("按 Ctrl-C 停止")
        supervise(stack)
    except KeyboardInterrupt:
        pass
    finally:
        stop_stack(s)


@click.command()
@click.pass_context
def down(ctx: click.Context) -> None:
    """Stop what `shenpi up` started."""
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
    console.print("已停止" if stopped else "没有正在运行的系统")


@click.command()
@click.option("--log", "log_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="An XES log; default: WABO_receipt from the shared event logs.")
@click.option("--limit", type=int, default=None, help="Only the first N traces.")
@click.option("--keep/--no-keep", default=None,
              help="Keep the stack and the console up until Ctrl-C (default: at a terminal), or stop at the end.")
@click.option("--city", is_flag=True, help="Instead of the permit log: a city to look at (units, quotas, staff, the"
              " power list, cases and service chains, an evaluation, a rectification task, people to sign in as).")
@click.pass_context
def demo(ctx: click.Context, log_path: Optional[Path], limit: Optional[int], keep: Optional[bool], city: bool) -> None:
    """Start the stack, replay a real permit log into it (or load a city), and watch the indicators move."""
    from shenpi.demo import run_demo

    run_demo(ctx.obj["settings"], log_path, limit, keep, console, city)


@click.command()
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Run the stream worker (faust) in the foreground."""
    import faust
    from prometheus_client import CollectorRegistry, start_http_server

    from connectors.kafka import ensure_topics
    from core import memory
    from streams.app import create_app

    s = settings(ctx)
    require(s, "kafka_bootstrap", "database_url")
    asyncio.run(ensure_topics(s))
    registry = CollectorRegistry()
    app = create_app(s, registry)
    if s.worker_metrics_port:
        start_http_server(s.worker_metrics_port, addr=s.api_host, registry=registry)
    memory.for_throughput()
    faust.Worker(app, loglevel="warning", quiet=True).execute_from_commandline()


@click.command()
@click.pass_context
def api(ctx: click.Context) -> None:
    """Run the HTTP API (webhook, indicators, status) in the foreground."""
    from aiohttp import web

    from web.app import init_app

    s = settings(ctx)
    require(s, "kafka_bootstrap", "database_url")
    app = init_app(s)
    app.on_shutdown.insert(0, lambda _: _exit_after(2 * s.api_stop_seconds + 2))
    # on SIGTERM: requests cut after api_stop_seconds; an unread body (a refused caller's) not drained for long
    web.run_app(app, host=s.api_host, port=s.api_port, print=None, access_log=None,
                shutdown_timeout=s.api_stop_seconds, lingering_time=1.0)
    # run_app returns only when a signal stopped it: say so in the exit status, so that `shenpi up` starts it
    # again as a process stopped from outside, not as one that failed
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


async def _exit_after(seconds: float) -> None:
    """Stopping that takes longer than it can (a thread or a connection that will not end) ends the process."""
    import threading

    timer = threading.Timer(seconds, os._exit, (3,))
    timer.daemon = True  # a stop that completes is not held up by it
    timer.start()


@click.command("platform-sim")
@click.option("--host", default="127.0.0.1")
@click.option("--port", type=int, default=8090)
@click.option("--cases-per-second", type=float, default=0.0, help="Also send case histories to the monitor.")
@click.pass_context
def platform_sim(ctx: click.Context, host: str, port: int, cases_per_second: float) -> None:
    """Run the service platform simulator (catalog API; optional case generator)."""
    from aiohttp import web

    from simulator.cases import generate
    from simulator.platform import PLATFORM, init_app

    s = settings(ctx)
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


COMMANDS = (up, down, demo, worker, api, platform_sim)
