"""The running stack's whereabouts: `shenpi up` writes them, every other command reads them."""
from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

from core.settings import Settings


def run_file(settings: Settings) -> Path:
    return settings.state_dir / "run.json"


def read_run(settings: Settings) -> dict[str, Any]:
    try:
        return json.loads(run_file(settings).read_text())
    except FileNotFoundError:
        return {}


def write_run(settings: Settings, info: dict[str, Any]) -> None:
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    tmp = run_file(settings).with_suffix(".tmp")
    tmp.write_text(json.dumps(info, indent=2))
    tmp.replace(run_file(settings))


def resolved(settings: Settings) -> Settings:
    """Fill what the environment left open from the stack `shenpi up` started."""
    run = read_run(settings)
    updates = {k: run[k] for k in ("kafka_bootstrap", "database_url") if getattr(settings, k) is None and run.get(k)}
    if "api_port" in run and "SHENPI_API_PORT" not in os.environ:
        updates["api_port"] = run["api_port"]
    return settings.model_copy(update=updates)


def require(settings: Settings, *names: str) -> None:
    missing = [n for n in names if not getattr(settings, n)]
    if missing:
        env = ", ".join(f"SHENPI_{n.upper()}" for n in missing)
        raise SystemExit(f"no {', '.join(missing)}: start the stack with `shenpi up`, or set {env}")


def alive(pid: int) -> bool:
    """Running (an exited process nobody has reaped yet is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:  # no /proc: trust the signal
        return True


def terminate(pids: list[int], sig: int = signal.SIGTERM) -> None:
    for pid in pids:
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
