"""Start and stop the whole stack as local processes.

Used by `xieshang up` (the embedded default behind `make up`) and by the test suite's
session fixture, so both run exactly the same processes the same way.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from workflows.search_attributes import cli_arguments

from .settings import SERVICE_NAMES, ServiceName


@dataclass(frozen=True)
class StackPorts:
    temporal: int = 7233
    temporal_ui: int = 8233
    intake: int = 8001
    talent: int = 8002
    evaluation: int = 8003
    worker_metrics: int = 9464  # the worker's Prometheus endpoint

    def service(self, name: ServiceName) -> int:
        return getattr(self, name)

    @classmethod
    def free(cls) -> "StackPorts":
        return cls(*(free_port() for _ in range(6)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def venv_binary(name: str) -> str:
    """A console script installed beside this interpreter (temporal, uvicorn...)."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(f"'{name}' is not installed; run `make up` or `pip install -e .`")
    return found


@dataclass
class Process:
    name: str
    argv: list[str]
    popen: subprocess.Popen[bytes]
    log_path: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class DevStack:
    """The processes of one stack; `env` holds the XIESHANG_* settings they share."""

    data_dir: Path
    ports: StackPorts = field(default_factory=StackPorts)
    env: dict[str, str] = field(default_factory=dict)
    temporal_db: Path | None = None
    processes: list[Process] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)
        self.log_dir = self.data_dir / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.temporal_db = self.temporal_db or self.data_dir / "temporal.db"
        base = {
            "XIESHANG_DATA_DIR": str(self.data_dir),
            "XIESHANG_TEMPORAL_ADDRESS": f"127.0.0.1:{self.ports.temporal}",
            "XIESHANG_TEMPORAL_UI_URL": f"http://127.0.0.1:{self.ports.temporal_ui}",
            "XIESHANG_WORKER_METRICS_PORT": str(self.ports.worker_metrics),
        }
        for name in SERVICE_NAMES:
            base[f"XIESHANG_{name.upper()}_URL"] = self.service_url(name)
        self.env = {**base, **self.env}

    def service_url(self, name: ServiceName) -> str:
        return f"http://127.0.0.1:{self.ports.service(name)}"

    @property
    def temporal_ui_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.temporal_ui}"

    def _spawn(self, name: str, argv: list[str]) -> Process:
        process = Process(name, argv, self._popen(name, argv), self.log_dir / f"{name}.log")
        self.processes.append(process)
        return process

    def _popen(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.log_dir / f"{name}.log", "ab")
        popen = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **self.env, "PYTHONUNBUFFERED": "1"},
            # Own process group: Ctrl-C reaches only `up`, which stops the children in order.
            start_new_session=True,
        )
        log.close()
        return popen

    def process(self, name: str) -> Process:
        return next(p for p in self.processes if p.name == name)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Stop one process abruptly (crash tests); `restart` brings it back."""
        process = self.process(name)
        process.popen.send_signal(sig)
        process.popen.wait(timeout=30)

    def restart(self, name: str) -> None:
        process = self.process(name)
        if process.alive():
            self.kill(name, signal.SIGTERM)
        process.popen = self._popen(name, process.argv)
        if name == "temporal":
            wait_for_port(self.ports.temporal, process, timeout=60)

    def start_temporal(self) -> Process:
        argv = [
            venv_binary("temporal"), "server", "start-dev",
            "--ip", "127.0.0.1",
            "--port", str(self.ports.temporal),
            "--ui-port", str(self.ports.temporal_ui),
            "--db-filename", str(self.temporal_db),
            "--ui-disable-news-fetch",  # the UI must not call out of loopback
            # WAL roughly doubles the dev server's write rate on SQLite (measured 52 -> 118 starts/s).
            "--sqlite-pragma", "journal_mode=wal",
            "--sqlite-pragma", "synchronous=normal",
            "--log-level", "warn",
            *cli_arguments(),
        ]
        process = self._spawn("temporal", argv)
        wait_for_port(self.ports.temporal, process, timeout=60)
        wait_for_port(self.ports.temporal_ui, process, timeout=60)
        return process

    def start_service(self, name: ServiceName) -> Process:
        argv = [
            sys.executable, "-m", "uvicorn", f"services.{name}.main:app",
            "--host", "127.0.0.1", "--port", str(self.ports.service(name)),
            "--no-access-log", "--timeout-graceful-shutdown", "10",
        ]
        return self._spawn(name, argv)

    def start_worker(self) -> Process:
        return self._spawn("worker", [sys.executable, "-m", "workflows.worker"])

    def wait_ready(self, timeout: float = 90) -> None:
        """Every service answers /readyz (its database and Temporal reachable)."""
        deadline = time.monotonic() + timeout
        pending = [n for n in SERVICE_NAMES if any(p.name == n for p in self.processes)]
        while pending:
            self.check_alive()
            name = pending[0]
            try:
                if httpx.get(self.service_url(name) + "/readyz", timeout=2).status_code == 200:
                    pending.pop(0)
                    continue
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} not ready after {timeout:.0f}s; log:\n{self._log_of(name)}")
            time.sleep(0.2)

    def check_alive(self) -> None:
        for process in self.processes:
            if not process.alive():
                raise RuntimeError(
                    f"{process.name} exited with status {process.popen.returncode}; log:\n{process.log_tail()}"
                )

    def _log_of(self, name: str) -> str:
        return next((p.log_tail() for p in self.processes if p.name == name), "")

    def stop(self, timeout: float = 15) -> None:
        """Stop in reverse start order: worker and services first, Temporal last."""
        for process in reversed(self.processes):
            if process.alive():
                process.popen.send_signal(signal.SIGTERM)
                try:
                    process.popen.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    process.popen.kill()
                    process.popen.wait()
        self.processes.clear()


def wait_for_port(port: int, process: Process, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited with status {process.popen.returncode}:\n{process.log_tail()}")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{process.name} did not open port {port} within {timeout:.0f}s")
        time.sleep(0.1)
