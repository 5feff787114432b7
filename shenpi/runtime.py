"""The running stack's whereabouts: `shenpi up` writes them, every other command reads them."""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from core.settings import Settings


def run_file(settings: Settings) -> Path:
    return settings.state_dir / "run.json"


def read_run(settings: Settings) -> dict[str, Any]:
    try:
        return json.loads(run_file(settings).read_text())
    except FileNotFoundError:
        return {}


def write_run(settings: Settings, info: dict[str, Any]) -> None:
    """Atomically, readable by the owner only: it holds tokens and the database URL."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    tmp = run_file(settings).with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
        f.write(json.dumps(info, indent=2))
    tmp.replace(run_file(settings))


def open_log(path: Path, keep_bytes: int = 50 * 1024 * 1024):
    """A process's log, owner-only; one grown past keep_bytes is moved to NAME.1 first (one generation kept)."""
    try:
        if path.stat().st_size > keep_bytes:
            path.replace(path.with_name(path.name + ".1"))
    except FileNotFoundError:
        pass
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab")


def resolved(settings: Settings) -> Settings:
    """Fill what the environment left open from the stack `shenpi up` started."""
    run = read_run(settings)
    updates: dict[str, Any] = {k: run[k] for k in ("kafka_bootstrap", "database_url")
                               if getattr(settings, k) is None and run.get(k)}
    if "api_port" in run and "SHENPI_API_PORT" not in os.environ:
        updates["api_port"] = run["api_port"]
    # the platform simulator `shenpi up` bound, and its token, so that e.g. `shenpi reconcile` reaches it
    if run.get("platform_url") and "SHENPI_PLATFORM_URL" not in os.environ:
        updates["platform_url"] = run["platform_url"]
        if run.get("platform_token") and "SHENPI_PLATFORM_TOKEN" not in os.environ:
            updates["platform_token"] = SecretStr(run["platform_token"])
    if run.get("webhook_token") and not settings.webhook_tokens.get_secret_value():
        updates["webhook_tokens"] = SecretStr(run["webhook_token"])
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


def stop(pids: list[int], grace: float) -> None:
    """SIGTERM, and SIGKILL to whatever still runs `grace` seconds later."""
    terminate(pids)
    deadline = time.monotonic() + grace
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    terminate([p for p in pids if alive(p)], signal.SIGKILL)


def terminate(pids: list[int], sig: int = signal.SIGTERM) -> None:
    for pid in pids:
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
