"""Session fixtures: a fresh database on the real PostgreSQL, migrated once; the real broker when asked."""
from __future__ import annotations

import os
import uuid

import asyncpg
import psycopg
import pytest

from db.migrate import upgrade

ADMIN_DSN = os.environ.get("SHENPI_TEST_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def _dsn_for(name: str) -> str:
    base, _, _ = ADMIN_DSN.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def database_url():
    name = f"shenpi_test_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = _dsn_for(name)
    upgrade(dsn)
    yield dsn
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def private_conn():
    """A database of the test's own on the real PostgreSQL: no running worker touches it."""
    name = f"shenpi_private_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    upgrade(_dsn_for(name))
    conn = await asyncpg.connect(_dsn_for(name))
    yield conn
    await conn.close()
    with psycopg.connect(ADMIN_DSN, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def truncate_all(dsn: str) -> None:
    """Every table (audit, drafts, published departments included) but the migrations' record and the people a
    module's fixture made for its tests (users and their sessions, by names of that module's own)."""
    import time as _time

    with psycopg.connect(dsn, autocommit=True) as conn:
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                                             " AND tablename NOT IN ('schema_migrations', 'app_user', 'app_session')"
                                             " ORDER BY tablename")]
        # only those holding rows (and, by CASCADE, those referring to them; none of the two kept refers to any):
        # truncating all 90 costs 0.2 s a test, most of them empty
        tables = [r[0] for r in conn.execute(" UNION ALL ".join(
            f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM \"{t}\")" for t in tables))] if tables else []
        if not tables:
            return
        for attempt in range(10):  # the stack's worker reads some of them on its timers: a deadlock is retried
            try:
                conn.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
                return
            except psycopg.errors.DeadlockDetected:
                _time.sleep(0.1 * (attempt + 1))
        conn.execute(f"TRUNCATE {', '.join(tables)} CASCADE")


@pytest.fixture
async def conn(database_url):
    truncate_all(database_url)
    c = await asyncpg.connect(database_url)
    yield c
    await c.close()


# ----------------------------------------------------------------------------- the real broker and stack

import asyncio  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

from shenpi.broker import EmbeddedBroker, free_port  # noqa: E402
from core.settings import Settings  # noqa: E402

TOKEN = "test-token-not-a-secret"
PLATFORM_TOKEN = "test-platform-token"
HMAC_KEY = "test-hmac-key"


@pytest.fixture(scope="session")
def broker(tmp_path_factory):
    b = EmbeddedBroker(log=tmp_path_factory.mktemp("broker") / "tansu.log").start()
    yield b
    b.stop()


@dataclass
class Stack:
    settings: Settings
    env: dict
    logs: Path
    worker: subprocess.Popen | None = None
    api: subprocess.Popen | None = None
    sim: subprocess.Popen | None = None
    platform_url: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.api_port}"

    def spawn(self, what: str, *args: str) -> subprocess.Popen:
        log = open(self.logs / f"{what}.log", "ab")
        return subprocess.Popen([sys.executable, "-m", "shenpi", what, *args], env=self.env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)

    def start_sim(self) -> None:
        port = self.platform_url.rsplit(":", 1)[1]
        self.sim = self.spawn("platform-sim", "--port", port)
        from shenpi.broker import wait_port
        wait_port("127.0.0.1", int(port), 20)

    def start_worker(self, timeout: float = 60) -> None:
        self.worker = self.spawn("worker")
        deadline = time.monotonic() + timeout
        with psycopg.connect(self.settings.database_url, autocommit=True) as c:
            while time.monotonic() < deadline:
                assert self.worker.poll() is None, (self.logs / "worker.log").read_text()[-3000:]
                n = c.execute("SELECT count(*) FROM worker WHERE pid = %s AND partitions > 0"
                              " AND seen_at > now() - interval '2 seconds'", (self.worker.pid,)).fetchone()[0]
                if n:
                    return
                time.sleep(0.2)
        raise TimeoutError("worker not ready: " + (self.logs / "worker.log").read_text()[-3000:])

    def start_api(self, timeout: float = 30) -> None:
        import urllib.request

        self.api = self.spawn("api")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.api.poll() is None, (self.logs / "api.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise TimeoutError("api not ready")

    def stop(self, which: str, sig: int = 15) -> None:
        p = getattr(self, which)
        if p and p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        setattr(self, which, None)


@pytest.fixture(scope="session")
def stack(broker, database_url, tmp_path_factory):
    port, sim_port = free_port(), free_port()
    prefix = f"t{uuid.uuid4().hex[:6]}"
    env = dict(os.environ, SHENPI_KAFKA_BOOTSTRAP=broker.bootstrap, SHENPI_DATABASE_URL=database_url,
               SHENPI_TOPIC_PREFIX=prefix, SHENPI_API_PORT=str(port), SHENPI_WEBHOOK_TOKENS=TOKEN,
               SHENPI_WEBHOOK_HMAC_KEYS=HMAC_KEY, SHENPI_SESSION_TIMEOUT_SECONDS="2",
               SHENPI_HEARTBEAT_SECONDS="0.5", SHENPI_MAX_BODY_BYTES="1048576", SHENPI_SWEEP_INTERVAL_SECONDS="1", SHENPI_BODY_TIMEOUT_SECONDS="2",
               SHENPI_LIST_ADMIN_TOKENS="alice:token-a,bob:token-b,carol:token-c", SHENPI_READ_ACCESS="open",
               SHENPI_STATE_DIR=str(tmp_path_factory.mktemp("state")),
               SHENPI_PLATFORM_URL=f"http://127.0.0.1:{sim_port}", SHENPI_PLATFORM_TOKEN=PLATFORM_TOKEN,
               SHENPI_PLATFORM_TIMEOUT_SECONDS="2", SHENPI_PROPAGATION_MAX_BACKOFF_SECONDS="3",
               SHENPI_RECONCILE_INTERVAL_SECONDS="3600", SHENPI_PROPAGATION_PARKED_RETRY_SECONDS="5",
               SHENPI_PUBLIC_REFRESH_SECONDS="1", SHENPI_DUTY_CHECK_INTERVAL_SECONDS="1",
               SHENPI_ALERTS_ENABLED="false")  # the alert tests drive evaluation themselves
    settings = Settings(kafka_bootstrap=broker.bootstrap, database_url=database_url, topic_prefix=prefix,
                        api_port=port, max_body_bytes=1048576)
    asyncio.run(_topics(settings))
    s = Stack(settings, env, tmp_path_factory.mktemp("logs"), platform_url=f"http://127.0.0.1:{sim_port}")
    s.start_sim()
    s.start_worker()
    s.start_api()
    yield s
    s.stop("api")
    s.stop("worker")
    s.stop("sim")


def guarded_api(stack: Stack, logs: Path, **extra: str) -> tuple[subprocess.Popen, str, dict]:
    """A second API on the stack's database and broker with the default (reads need credentials); its env."""
    import urllib.request

    port = free_port()
    env = {**stack.env, "SHENPI_API_PORT": str(port)}
    env.pop("SHENPI_READ_ACCESS")
    env.update(extra)
    proc = subprocess.Popen([sys.executable, "-m", "shenpi", "api"], env=env, stdout=open(logs / "api.log", "ab"),
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    return proc, url, env


async def _topics(settings: Settings) -> None:
    from connectors.kafka import ensure_topics

    await ensure_topics(settings)


def wait_processed(dsn: str, batch_ids: list[str], dl_keys: list[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    with psycopg.connect(dsn, autocommit=True) as c:
        while time.monotonic() < deadline:
            nb = c.execute("SELECT count(*) FROM processed_batch WHERE batch_id = ANY(%s)", (batch_ids,)).fetchone()[0]
            nd = c.execute("SELECT count(*) FROM dead_letter WHERE dl_key = ANY(%s)", (dl_keys,)).fetchone()[0]
            if nb == len(set(batch_ids)) and nd == len(set(dl_keys)):
                return
            time.sleep(0.05)
    raise TimeoutError(f"only {nb}/{len(batch_ids)} batches, {nd}/{len(dl_keys)} dead letters processed")


# ----------------------------------------------------------------------------- TimescaleDB (PGlite)

PGLITE = Path(__file__).resolve().parents[1] / "infra" / "pglite"


@pytest.fixture(scope="session")
def timescale_url():
    """TimescaleDB 2.23 in PGlite over the wire protocol (infra/pglite): one connection at a time."""
    import shutil as _shutil

    if _shutil.which("node") is None:
        pytest.fail("Node.js is missing: the TimescaleDB tests need it (infra/local/setup.sh installs it)")
    if not (PGLITE / "node_modules" / "@electric-sql" / "pglite").exists():
        pytest.fail("run `npm ci` in infra/pglite first (.ci/run does)")
    proc = subprocess.Popen(["node", "server.mjs", "0"], cwd=PGLITE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    line = proc.stdout.readline()
    if not line.startswith("listening"):
        proc.kill()
        pytest.fail(f"pglite did not start: {line}")
    port = int(line.split()[1])
    dsn = f"postgresql://postgres:pglite@127.0.0.1:{port}/postgres?sslmode=disable"
    upgrade(dsn)
    yield dsn
    proc.terminate()
    proc.wait(10)


async def staffing_totals_settled(session, url: str) -> dict:
    """The staffing totals of `GET /api/v1/status` once they reconcile (after 30 s: as they stand)."""
    for _ in range(300):
        async with session.get(url + "/api/v1/status") as r:
            st = (await r.json())["staffing"]
        if st["reconciled"]:
            break
        await asyncio.sleep(0.1)
    return st
