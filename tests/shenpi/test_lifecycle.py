"""`shenpi up --detach`, then `status`, `indicators`, `alerts` and `down`: the CLI a person uses."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

pytestmark = pytest.mark.broker


def test_up_detach_then_down(tmp_path, database_url):
    from tests.conftest import truncate_all
    truncate_all(database_url)
    env = dict(os.environ, SHENPI_DATABASE_URL=database_url, SHENPI_STATE_DIR=str(tmp_path / "state"),
               SHENPI_API_PORT="0", SHENPI_SESSION_TIMEOUT_SECONDS="2", SHENPI_HEARTBEAT_SECONDS="0.5",
               SHENPI_ALERTS_ENABLED="false", SHENPI_TOPIC_PREFIX="life")
    env.pop("SHENPI_PLATFORM_URL", None)
    env.pop("SHENPI_KAFKA_BOOTSTRAP", None)
    env.pop("SHENPI_API_PORT")

    def shenpi(*args, check=True, extra=None):
        out = subprocess.run([sys.executable, "-m", "shenpi", *args], env={**env, **(extra or {})},
                             capture_output=True, text=True, timeout=180)
        assert not check or out.returncode == 0, out.stderr[-2000:]
        return out

    up = shenpi("up", "--detach")
    assert "已启动：API" in up.stderr
    run = json.loads((tmp_path / "state" / "run.json").read_text())
    assert set(run["pids"]) == {"broker", "platform", "worker", "worker2", "api"}
    assert all(psutil.pid_exists(p) for p in run["pids"].values())
    assert "已在运行" in shenpi("up", "--detach").stderr
    assert oct((tmp_path / "state" / "run.json").stat().st_mode & 0o777) == "0o600", "it holds tokens"
    assert all((tmp_path / "state" / f"{n}.log").stat().st_mode & 0o077 == 0 for n in ("worker", "api", "platform"))
    other = shenpi("up", "--detach", check=False, extra={"SHENPI_DATABASE_URL": database_url + "_other"})
    assert other.returncode == 1 and "another configuration" in other.stderr and "database_url" in other.stderr
    drift = shenpi("reconcile", "--dry-run", check=False)  # finds the simulator `up` bound, and its token
    assert drift.returncode == 0, drift.stderr[-1000:]
    assert json.loads(drift.stdout) == []
    status = json.loads(shenpi("status", "--json").stdout)
    assert status["reconciled"] and status["workers"] and status["workers"][0]["alive"]
    assert json.loads(shenpi("indicators", "--format", "json").stdout)[0]["received"] == 0

    os.kill(run["pids"]["worker"], signal.SIGKILL)  # a crashed worker is started again
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = json.loads((tmp_path / "state" / "run.json").read_text())
        if now["pids"]["worker"] != run["pids"]["worker"] and psutil.pid_exists(now["pids"]["worker"]):
            break
        time.sleep(0.2)
    else:
        raise AssertionError("the killed worker was not started again")
    assert "the worker exited" in (tmp_path / "state" / "up.log").read_text()

    assert "已停止" in shenpi("down").stderr
    assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
                   for p in [*run["pids"].values(), *now["pids"].values(), now["supervisor"]])
    assert "没有正在运行的系统" in shenpi("down").stderr
