"""A command on a database not yet migrated (before `shenpi up`) migrates it and says so, instead of a traceback."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid

import psycopg

from tests.conftest import ADMIN_DSN, _dsn_for


def test_users_add_on_a_fresh_database():
    name = f"shenpi_fresh_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    try:
        env = dict(os.environ, SHENPI_DATABASE_URL=_dsn_for(name))
        out = subprocess.run([sys.executable, "-m", "shenpi", "users", "add", "新人", "--role", "viewer"],
                             env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
        assert "迁移" in out.stderr and len(out.stdout.strip()) > 20
        with psycopg.connect(_dsn_for(name)) as c:
            assert c.execute("SELECT role FROM app_user WHERE name = '新人'").fetchone() == ("viewer",)
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
