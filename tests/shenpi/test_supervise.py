"""`shenpi up` kills and restarts an API that stops answering and does not stop on SIGTERM (issue 29)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request

import psutil
import pytest

from tests.api.robust import until

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def test_a_hung_api_that_ignores_sigterm_is_killed_and_started_again(tmp_path, database_url):
    state = tmp_path / "state"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHENPI_")}
    env.update(SHENPI_DATABASE_URL=database_url, SHENPI_STATE_DIR=str(state), SHENPI_WORKERS="1",
               SHENPI_PROPAGATION_ENABLED="false", SHENPI_ALERTS_ENABLED="false", SHENPI_TOPIC_PREFIX="sup",
               SHENPI_SUPERVISE_HANG_SECONDS="3", SHENPI_SUPERVISE_STOP_SECONDS="2",
               SHENPI_SESSION_TIMEOUT_SECONDS="2", SHENPI_HEARTBEAT_SECONDS="0.5")

    def shenpi(*args):
        out = subprocess.run([sys.executable, "-m", "shenpi", *args], env=env, capture_output=True, text=True,
                             timeout=180)
        assert out.returncode == 0, out.stderr[-2000:]
        return out

    shenpi("up", "--detach")
    try:
        run = json.loads((state / "run.json").read_text())
        hung = psutil.Process(run["pids"]["api"])
        os.kill(hung.pid, signal.SIGSTOP)  # stuck: answers nothing, and a SIGTERM stays pending for ever

        def restarted():
            now = json.loads((state / "run.json").read_text())["pids"]["api"]
            if now == hung.pid:
                return False
            try:
                with urllib.request.urlopen(run["api_url"] + "/healthz", timeout=1) as r:
                    return r.status == 200
            except OSError:
                return False

        until(restarted, 60, "a new API answering")
        assert not hung.is_running() or hung.status() == psutil.STATUS_ZOMBIE
        log = (state / "up.log").read_text()
        assert "has not answered" in log and "did not stop on SIGTERM" in log, log[-2000:]
    finally:
        shenpi("down")
