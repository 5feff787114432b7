"""Versioned, idempotent migrations: `shenpi db upgrade` applies each file of db/migrations once, in order."""
from __future__ import annotations

import re
from pathlib import Path

import psycopg

from core import locks

MIGRATIONS = Path(__file__).with_name("migrations")


def available() -> list[tuple[int, str, Path]]:
    out = []
    for p in sorted(MIGRATIONS.glob("*.sql")):
        m = re.match(r"(\d+)_(.+)\.sql$", p.name)
        if m:
            out.append((int(m.group(1)), m.group(2), p))
    return out


def upgrade(dsn: str, target: int | None = None) -> list[str]:
    """Apply the migrations not yet applied (up to `target`, if given); returns their names."""
    applied_now = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (locks.MIGRATIONS,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
            for version, name, path in available():
                if version in done or (target is not None and version > target):
                    continue
                with conn.transaction():
                    conn.execute(path.read_text())
                    conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, name))
                applied_now.append(f"{version:04d}_{name}")
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (locks.MIGRATIONS,))
    return applied_now
