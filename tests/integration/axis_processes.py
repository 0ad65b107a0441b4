"""Real ``docflow serve`` processes for the axis tests: started on a free 127.0.0.1 port, always stopped."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from docflow.axis.client import AxisClient

H58 = "000.00.00.H58"  # Tiền Giang's people's committee
G22 = "000.00.00.G22"  # the Government Office
COMMUNE = "000.20.50.H58"
BASE = "/XrdAdapter/adapter"

CREDENTIALS = f"""
[[system]]
id = "tg-ubnd"
secret = "secret-h58"
agencies = ["{H58}"]

[[system]]
id = "vpcp"
secret = "secret-g22"
agencies = ["{G22}"]

[[system]]
id = "tg-commune"
secret = "secret-commune"
agencies = ["{COMMUNE}"]

[[system]]
id = "engine"
secret = "secret-engine"
agencies = ["*"]
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    """A running ``docflow serve`` process."""

    url: str
    db: Path
    process: subprocess.Popen[bytes]

    def client(self, system: str, secret: str) -> AxisClient:
        return AxisClient(self.url, system, secret, timeout=20.0, retries=0)

    def rows(self, query: str) -> list[tuple]:
        with sqlite3.connect(self.db) as conn:
            return conn.execute(query).fetchall()


def start_server(tmp_path: Path, *extra: str, name: str = "axis", port: int | None = None) -> Served:
    """Start ``docflow serve`` and wait until it answers; the caller stops it with ``stop``."""
    port = port or free_port()
    credentials = tmp_path / f"{name}-credentials.toml"
    if not credentials.exists():
        credentials.write_text(CREDENTIALS, encoding="utf-8")
    db = tmp_path / f"{name}.db"
    command = [sys.executable, "-m", "docflow", "serve", "--db", f"sqlite:///{db}", "--credentials", str(credentials)]
    command += ["--port", str(port), "--base-path", BASE, *extra]
    log = open(tmp_path / f"{name}.log", "ab")  # noqa: SIM115 - the process writes to it until stopped
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"docflow serve exited {process.returncode}: {(tmp_path / f'{name}.log').read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return Served(f"http://127.0.0.1:{port}{BASE}", db, process)
        except OSError:
            time.sleep(0.1)
    stop(process)
    raise AssertionError(f"docflow serve did not listen within 60 s: {(tmp_path / f'{name}.log').read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
