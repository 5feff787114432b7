"""The local stack: broker and database (embedded unless configured), migrations, workers, API and the platform
simulator, started, kept up and stopped; run.json records where each part is."""
from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import click

from core.settings import Settings
from shenpi.common import console, run_maintenance
from shenpi.runtime import open_log, read_run, run_file, stop, write_run


def _spawn(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    out = open_log(log)
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
    envs: dict[str, dict]
    procs: dict[str, subprocess.Popen]
    commands: dict[str, list[str]]


CONFIG_KEYS = ("kafka_bootstrap", "database_url", "api_port", "platform_url")


def configured(s: Settings) -> dict[str, str]:
    """What the environment chose for the parts a stack is made of (the rest is the stack's own choice)."""
    return {k: str(getattr(s, k)) for k in CONFIG_KEYS if f"SHENPI_{k.upper()}" in os.environ}


def differences(s: Settings, info: dict) -> list[str]:
    """How the configuration asked for now differs from the running stack's: a stack serving one database
    while the next command writes to another must not happen unnoticed."""
    now, then = configured(s), info.get("config", {})
    out = []
    for k in CONFIG_KEYS:
        if k in now and now[k] != str(info.get(k, then.get(k))):
            out.append(f"{k}: running {info.get(k, then.get(k))}, asked for {now[k]}")
        elif k in then and k not in now:
            out.append(f"{k}: running {then[k]} (from SHENPI_{k.upper()}), now unset")
    return out


def start_stack(s: Settings) -> Stack:
    """Broker and database if not given, migrations, worker and API."""
    from db.migrate import upgrade
    from shenpi.broker import EmbeddedBroker, free_port, wait_port

    s.state_dir.mkdir(parents=True, exist_ok=True)
    info: dict = {"pids": {}}
    procs: dict[str, subprocess.Popen] = {}
    if not s.kafka_bootstrap:
        broker = EmbeddedBroker(log=s.state_dir / "broker.log").start()
        info["pids"]["broker"] = broker.proc.pid
        procs["broker"] = broker.proc
        s = s.model_copy(update={"kafka_bootstrap": broker.bootstrap})
        console.print(f"消息代理：内嵌 Tansu，{broker.bootstrap}")
    if not s.database_url:
        from shenpi.embedded_pg import start_embedded_postgres

        dsn, pgdata = start_embedded_postgres(s.state_dir / "pgdata")
        info["pgdata"] = str(pgdata)
        s = s.model_copy(update={"database_url": dsn})
        console.print(f"数据库：内嵌 PostgreSQL，{pgdata}")
    upgrade(s.database_url)
    for task in run_maintenance(s.database_url):
        console.print(f"数据库：已执行 {task}")
    env = dict(os.environ, SHENPI_KAFKA_BOOTSTRAP=s.kafka_bootstrap, SHENPI_DATABASE_URL=s.database_url)
    # every process of the stack hashes identity numbers with one key (the state folder's, unless one is given)
    env.setdefault("SHENPI_IDENTITY_KEY", s.identity_secret().decode())
    if not s.webhook_tokens.get_secret_value() and not s.webhook_hmac_keys.get_secret_value():
        token = secrets.token_urlsafe(24)
        env["SHENPI_WEBHOOK_TOKENS"] = token
        info["webhook_token"] = token
    if "SHENPI_API_PORT" not in os.environ:
        s = s.model_copy(update={"api_port": free_port() if port_busy(s.api_port) else s.api_port})
    env["SHENPI_API_PORT"] = str(s.api_port)
    commands: dict[str, list[str]] = {}
    if s.propagation_enabled and "SHENPI_PLATFORM_URL" not in os.environ:
        # no platform configured: the list binds the simulator, so the whole loop runs on this machine
        port = free_port()
        env["SHENPI_PLATFORM_URL"] = f"http://127.0.0.1:{port}"
        env.setdefault("SHENPI_PLATFORM_TOKEN", secrets.token_urlsafe(24))
        commands["platform"] = ["platform-sim", "--port", str(port),
                                *(["--cases-per-second", str(s.sim_cases_per_second)] if s.sim_cases_per_second else [])]
        procs["platform"] = _spawn(commands["platform"], env, s.state_dir / "platform.log")
        wait_port("127.0.0.1", port, 30)
        info["platform_url"] = env["SHENPI_PLATFORM_URL"]
        info["platform_token"] = env["SHENPI_PLATFORM_TOKEN"]
        console.print(f"政务服务平台：模拟器 {info['platform_url']}")
    # more workers, more consumers in the group: partitions are shared out among them
    workers = ["worker", *(f"worker{n}" for n in range(2, s.workers + 1))]
    commands.update({w: ["worker"] for w in workers}, api=["api"])
    envs = {name: env for name in commands}
    if s.worker_metrics_port:  # one port each, from the one configured
        envs.update({w: {**env, "SHENPI_WORKER_METRICS_PORT": str(s.worker_metrics_port + i)}
                     for i, w in enumerate(workers)})
    for name in (*workers, "api"):
        procs[name] = _spawn(commands[name], envs[name], s.state_dir / f"{name}.log")
    info["pids"].update({k: p.pid for k, p in procs.items()})
    info.update(kafka_bootstrap=s.kafka_bootstrap, database_url=s.database_url, api_port=s.api_port,
                api_url=f"http://{s.api_host}:{s.api_port}")
    info["config"] = configured(s)
    write_run(s, info)
    try:
        _wait_ready(s, {k: p for k, p in procs.items() if k != "broker"})
    except BaseException:
        stop_stack(s)
        raise
    return Stack(s, info, envs, procs, commands)


def restart_broker(stack: Stack) -> None:
    """The embedded broker again, on its port. It kept its records in memory, so they are gone: the edges' relay
    sends again what was acknowledged and not yet processed, and the workers, restarted, recreate the topics."""
    from shenpi.broker import EmbeddedBroker

    s, info = stack.settings, stack.info
    port = int(info["kafka_bootstrap"].rsplit(":", 1)[1])
    broker = EmbeddedBroker(port=port, log=s.state_dir / "broker.log").start()
    stack.procs["broker"] = broker.proc
    info["pids"]["broker"] = broker.proc.pid
    write_run(s, info)
    console.print(f"[yellow]the embedded broker exited[/yellow]: started again at {broker.bootstrap}")
    # a worker can hang in its graceful stop, committing to a broker that is gone (seen: minutes); its state of
    # record is in the database, so after a grace period it is killed, and started again like any other
    stop([p.pid for name, p in stack.procs.items() if name.startswith("worker") and p.poll() is None], 5)


class Liveness:
    """The API answers /healthz (it needs no database connection, so only a stuck process fails it): one silent for
    supervise_hang_seconds is sent SIGTERM, and SIGKILL supervise_stop_seconds later if it has not stopped then;
    the supervisor starts it again like any process killed by a signal."""

    def __init__(self, s: Settings):
        self.s, self.ok_at, self.term_at = s, time.monotonic(), 0.0
        self.checked_at, self.pid, self.answered = 0.0, 0, False

    def answers(self) -> bool:
        import urllib.request

        try:
            with urllib.request.urlopen(f"http://{self.s.api_host}:{self.s.api_port}/healthz", timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    def watch(self, p: subprocess.Popen) -> None:
        now = time.monotonic()
        if p.pid != self.pid:  # started (again)
            self.pid, self.ok_at, self.term_at, self.answered = p.pid, now, 0.0, False
        if not self.s.supervise_hang_seconds or p.poll() is not None or now - self.checked_at < 1.0:
            return
        self.checked_at = now
        hang = self.s.supervise_hang_seconds
        allowed = hang if self.answered else max(self.s.supervise_startup_seconds, hang)
        if not self.term_at and self.answers():
            self.ok_at, self.answered = now, True
        elif not self.term_at and now - self.ok_at > allowed:
            console.print(f"[yellow]the api has not answered for {now - self.ok_at:.0f}s[/yellow]: stopping it")
            self.term_at = now
            p.terminate()
        elif self.term_at and now - self.term_at > self.s.supervise_stop_seconds:
            console.print(f"[yellow]the api did not stop on SIGTERM within {self.s.supervise_stop_seconds:g}s"
                          "[/yellow]: killed")
            p.kill()


def supervise(stack: Stack) -> None:
    """Keep the stack up: the embedded broker, a worker, the API or the simulator that exits is started again,
    after a pause that doubles (to 30 s) while it keeps failing; one that fails 5 times in 5 minutes ends the
    stack. A process killed by a signal is started again after a second, however often; an API that stops
    answering is killed (Liveness)."""

    s, info = stack.settings, stack.info
    exits: dict[str, list[float]] = {}
    due: dict[str, float] = {}
    api = Liveness(s)
    while True:
        api.watch(stack.procs["api"])
        broker = stack.procs.get("broker")
        if broker is not None and broker.poll() is not None:
            recent = exits["broker"] = [t for t in exits.get("broker", []) if time.monotonic() - t < 300]
            if len(recent) >= 5:
                raise click.ClickException(f"the embedded broker keeps exiting: see {s.state_dir / 'broker.log'}")
            exits["broker"].append(time.monotonic())
            restart_broker(stack)
        now = time.monotonic()
        for name, args in stack.commands.items():
            p = stack.procs[name]
            if p.poll() is None:
                continue
            log = s.state_dir / f"{name}.log"
            if name not in due:
                if p.returncode < 0:  # killed from outside (an operator, the OOM killer): not a crash loop
                    due[name] = now + 1.0
                else:
                    recent = exits[name] = [t for t in exits.get(name, []) if now - t < 300] + [now]
                    if len(recent) >= 5:
                        raise click.ClickException(f"the {name} keeps exiting ({p.returncode} last): see {log}")
                    due[name] = now + min(30.0, 2.0 ** (len(recent) - 1))
                console.print(f"[yellow]the {name} exited with {p.returncode}[/yellow]: starting it again"
                              f" in {due[name] - now:.0f}s (see {log})")
            elif now >= due[name]:
                del due[name]
                stack.procs[name] = _spawn(args, stack.envs[name], log)
                info["pids"][name] = stack.procs[name].pid
                write_run(s, info)
        time.sleep(0.5)


def port_busy(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def stop_stack(s: Settings) -> bool:

    info = read_run(s)
    if not info:
        return False
    pids = info.get("pids", {})
    order = [pids[k] for k in ("api", *sorted(k for k in pids if k.startswith("worker")), "platform", "broker")
             if k in pids]
    stop(order, 15)
    if info.get("pgdata"):
        from shenpi.embedded_pg import stop_embedded_postgres

        stop_embedded_postgres(Path(info["pgdata"]))
    run_file(s).unlink(missing_ok=True)
    return True



def up_detached(s: Settings) -> None:
    """`shenpi up` in a session of its own, logging to up.log; returns once it reports the stack ready."""

    s.state_dir.mkdir(parents=True, exist_ok=True)
    log = s.state_dir / "up.log"
    with open_log(log) as out:
        child = subprocess.Popen([sys.executable, "-m", "shenpi", "up"], stdout=out, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        info = read_run(s)
        if info.get("ready") and info.get("supervisor") == child.pid:
            console.print(f"[green]已启动[/green]：API {info['api_url']} · 消息代理 {info['kafka_bootstrap']}"
                          f" · 守护进程 {child.pid}（日志 {log}）；停止：shenpi down")
            return
        if child.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise click.ClickException(f"`shenpi up` exited with {child.returncode}:\n{tail}")
        time.sleep(0.2)
    raise click.ClickException(f"the stack was not ready after 180s: see {log}")

