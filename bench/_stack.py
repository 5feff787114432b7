"""What the benchmarks share: a fresh database, simulated applicants written into it, the embedded broker, and
shenpi processes around it."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from db.migrate import upgrade  # noqa: E402
from shenpi.broker import EmbeddedBroker  # noqa: E402

LOGS = Path(".shenpi/bench")


async def load_applicants(conn, n: int, start, seed: int = 1) -> int:
    """n simulated applicants' cases over the year from `start`, through the write path; how many events."""
    from simulator.chains import applicant_histories
    from streams.cases.write import InBatch, process_case_batches

    batch, k, events = [], 0, 0
    for ev in applicant_histories(n, start, 360, seed=seed, follow=0.2, partial=0.1, others=(1, 1)):
        batch.append(ev)
        if len(batch) == 5000:
            await process_case_batches(conn, [InBatch(f"sim{seed}-{k}", "bench", batch)])
            events, k, batch = events + len(batch), k + 1, []
    if batch:
        await process_case_batches(conn, [InBatch(f"sim{seed}-{k}", "bench", batch)])
        events += len(batch)
    return events


def fresh_database(name: str) -> str:
    """SHENPI_DATABASE_URL if set, else a new database `name` on the local PostgreSQL; migrated."""
    dsn = os.environ.get("SHENPI_DATABASE_URL")
    if not dsn:
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
            c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            c.execute(f"CREATE DATABASE {name}")
        dsn = f"postgresql://postgres@127.0.0.1:5432/{name}"
    upgrade(dsn)
    return dsn


@contextmanager
def broker() -> Iterator[EmbeddedBroker]:
    LOGS.mkdir(parents=True, exist_ok=True)
    with EmbeddedBroker(log=LOGS / "broker.log") as b:
        yield b


def wait_healthy(url: str, seconds: float = 60) -> None:
    """Until the API at `url` answers its health check (the API process started and its pool up)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@contextmanager
def processes(env: dict, *commands: list[str]) -> Iterator[list[subprocess.Popen]]:
    procs = [subprocess.Popen([sys.executable, "-m", "shenpi", *cmd], env=dict(os.environ, **env),
                              stdout=open(LOGS / f"{cmd[0]}.log", "ab"), stderr=subprocess.STDOUT) for cmd in commands]
    try:
        yield procs
    finally:
        for p in procs:
            p.terminate()
            p.wait(20)
