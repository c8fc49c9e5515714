"""Start, supervise and stop the whole stack as local processes.

Used by `xieshang up` (the embedded default behind `make up`, supervised), by the test
suite's session fixture (unsupervised: a crash test kills and restarts by hand) and by
bench/chaos.py (supervised, with replicas), so all run the same processes the same way.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from services.common.search_attributes import cli_arguments

from .settings import SERVICE_NAMES, ServiceName

# Starts of the dev server before `start_temporal` gives up (see there why it retries).
TEMPORAL_START_ATTEMPTS = 3


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
    def free(cls) -> StackPorts:
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
    """One child process and, under supervision, its crash history.

    stdout goes to ``logs/<name>.log`` and stderr to ``logs/<name>.stderr.log``, both
    appended across restarts; ``stderr_offset`` marks where the current run's stderr starts,
    so a crash report quotes this run only.
    """

    name: str
    argv: list[str]
    log_path: Path
    stderr_path: Path
    # Settings of this process only, over the stack's (e.g. a replica's own identity).
    extra_env: dict[str, str] = field(default_factory=dict)
    popen: subprocess.Popen[bytes] = field(init=False)
    started_at: float = field(default_factory=time.monotonic)
    stderr_offset: int = 0
    restarts: int = 0
    # Crashes in a row without a stable run in between: the exponent of the backoff.
    crashes_in_row: int = 0
    # Set while a crashed process waits out its backoff (monotonic time of the restart).
    restart_at: float | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        parts = []
        for path in (self.log_path, self.stderr_path):
            try:
                text = "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            except OSError:
                continue
            if text:
                parts.append(f"--- {path.name}\n{text}")
        return "\n".join(parts)

    def stderr_of_this_run(self, lines: int = 3, width: int = 200, errors_first: bool = False) -> list[str]:
        """The last non-empty stderr lines written since this run started.

        ``errors_first``: the lines that name an error come first, wherever they stand; a
        Go program that dies in start-up states its cause once, then prints pages of stack.
        """
        try:
            with open(self.stderr_path, "rb") as f:
                f.seek(self.stderr_offset)
                text = f.read().decode(errors="replace")
        except OSError:
            return []
        found = [line.strip() for line in text.splitlines() if line.strip()]
        if errors_first:
            named = [line for line in found if re.search(r"error|fatal|panic|in use", line, re.IGNORECASE)]
            found = named[:lines] or found
            return [line[:width] for line in found[:lines]]
        return [line[:width] for line in found[-lines:]]


def describe_exit(returncode: int) -> str:
    """`killed by SIGKILL` or `exited with status 3`."""
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with status {returncode}"


@dataclass(frozen=True)
class Backoff:
    """Restart delays: ``first``, doubling per crash in a row, at most ``longest``; a run
    that lasted ``stable_after`` seconds resets the count."""

    first: float = 1.0
    longest: float = 30.0
    stable_after: float = 30.0

    def delay(self, crashes_in_row: int) -> float:
        return min(self.longest, self.first * 2 ** max(0, crashes_in_row - 1))


@dataclass
class DevStack:
    """The processes of one stack; `env` holds the XIESHANG_* settings they share.

    Unsupervised (tests' default), a process that dies stays dead and `check_alive`
    reports it. Supervised (`supervise()` in a thread, or `supervise_once()` from a loop,
    as `xieshang up` does), a process that dies is reported in one line (name, pid, how
    it ended, the tail of this run's stderr) and started again after a backoff, while
    the others keep running.
    """

    data_dir: Path
    ports: StackPorts = field(default_factory=StackPorts)
    env: dict[str, str] = field(default_factory=dict)
    temporal_db: Path | None = None
    processes: list[Process] = field(default_factory=list)
    backoff: Backoff = field(default_factory=Backoff)
    # Where supervision reports crashes and restarts (one line each).
    say: Callable[[str], None] = field(default=lambda line: print(line, flush=True))

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
        # Guards the process list against the supervising thread (kill/restart/stop).
        self._lock = threading.RLock()
        self._supervisor: threading.Thread | None = None
        self._stop_supervising = threading.Event()

    def service_url(self, name: ServiceName) -> str:
        return f"http://127.0.0.1:{self.ports.service(name)}"

    @property
    def temporal_ui_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.temporal_ui}"

    def spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Process:
        """Start a named child process (its own session, logs under ``logs/``)."""
        with self._lock:
            process = Process(
                name, argv, self.log_dir / f"{name}.log", self.log_dir / f"{name}.stderr.log", dict(env or {})
            )
            self._start(process)
            self.processes.append(process)
            return process

    _spawn = spawn

    def _start(self, process: Process) -> None:
        """(Re)start `process` in place: same name, argv, logs; new pid."""
        process.stderr_offset = process.stderr_path.stat().st_size if process.stderr_path.exists() else 0
        with open(process.log_path, "ab") as out, open(process.stderr_path, "ab") as err:
            process.popen = subprocess.Popen(
                process.argv,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **self.env, **process.extra_env, "PYTHONUNBUFFERED": "1"},
                # Own process group: Ctrl-C reaches only `up`, which stops the children in order.
                start_new_session=True,
            )
        process.started_at = time.monotonic()
        process.restart_at = None

    def process(self, name: str) -> Process:
        return next(p for p in self.processes if p.name == name)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Stop one process abruptly (crash tests); `restart` (or supervision) brings it back."""
        process = self.process(name)
        process.popen.send_signal(sig)
        process.popen.wait(timeout=30)

    def restart(self, name: str) -> None:
        with self._lock:
            process = self.process(name)
            if process.alive():
                self.kill(name, signal.SIGTERM)
            self._start(process)
        if name == "temporal":
            self._await_temporal(process)

    # --- supervision -------------------------------------------------------------------

    def supervise_once(self, now: float | None = None) -> None:
        """One pass: report newly dead processes and schedule them; start those due.

        Order per process: a dead one not yet scheduled is reported in one line and given
        a restart time (backoff by crashes in a row); one whose time has come is started
        again, in place, so `stop()` still stops in start order reversed.
        """
        with self._lock:
            now = time.monotonic() if now is None else now
            for process in self.processes:
                if process.restart_at is not None:
                    if now >= process.restart_at:
                        self._start(process)
                        process.restarts += 1
                        self.say(f"restarted {process.name}: pid {process.pid} (restart {process.restarts})")
                    continue
                returncode = process.popen.poll()
                if returncode is None:
                    continue
                ran = now - process.started_at
                process.crashes_in_row = 1 if ran >= self.backoff.stable_after else process.crashes_in_row + 1
                delay = self.backoff.delay(process.crashes_in_row)
                process.restart_at = now + delay
                tail = process.stderr_of_this_run()
                self.say(
                    f"{process.name} (pid {process.pid}) {describe_exit(returncode)} after {ran:.1f}s; "
                    f"restarting in {delay:.1f}s; stderr: "
                    + (" | ".join(tail) if tail else "(nothing this run)")
                )

    def supervise(self, interval: float = 0.2) -> None:
        """Supervise from a background thread until `stop()` (or `stop_supervising()`)."""
        if self._supervisor is not None:
            return
        self._stop_supervising.clear()

        def loop() -> None:
            while not self._stop_supervising.wait(interval):
                self.supervise_once()

        self._supervisor = threading.Thread(target=loop, name="devstack-supervisor", daemon=True)
        self._supervisor.start()

    def stop_supervising(self) -> None:
        self._stop_supervising.set()
        if self._supervisor is not None:
            self._supervisor.join()
            self._supervisor = None

    # --- the processes of the stack ------------------------------------------------------

    def start_temporal(self) -> Process:
        argv = [
            venv_binary("temporal"), "server", "start-dev",
            "--ip", "127.0.0.1",
            "--port", str(self.ports.temporal),
            "--ui-port", str(self.ports.temporal_ui),
            "--db-filename", str(self.temporal_db),
            "--ui-disable-news-fetch",  # the UI must not call out of loopback
            # Payloads are encrypted (codec.py); the UI decodes them through intake's codec
            # endpoint for operators and clerks (docs/operators.md).
            "--ui-codec-endpoint", f"{self.service_url('intake')}/codec",
            # WAL roughly doubles the dev server's write rate on SQLite (measured 52 -> 118 starts/s).
            "--sqlite-pragma", "journal_mode=wal",
            "--sqlite-pragma", "synchronous=normal",
            "--log-level", "warn",
            *cli_arguments(),
        ]
        return self._await_temporal(self.spawn("temporal", argv))

    def _await_temporal(self, process: Process) -> Process:
        """Wait until the dev server (started, or started again by `restart`) answers on
        its ports.

        It picks free ports for its internal services (history, matching, worker) itself
        and, rarely, one is taken between its pick and its bind: it then exits with
        status 2 before opening its port (seen once in CI). A fresh start picks again, so
        an exit during start-up is retried, saying why."""
        for attempt in range(1, TEMPORAL_START_ATTEMPTS + 1):
            try:
                wait_for_port(self.ports.temporal, process, timeout=60)
                wait_for_port(self.ports.temporal_ui, process, timeout=60)
                return process
            except ExitedEarly:
                if attempt == TEMPORAL_START_ATTEMPTS:
                    raise
                self.say(
                    f"temporal {describe_exit(process.popen.returncode)} while starting (attempt {attempt} of "
                    f"{TEMPORAL_START_ATTEMPTS}); starting it again; stderr: "
                    + (" | ".join(process.stderr_of_this_run(errors_first=True)) or "(nothing)")
                )
                with self._lock:
                    self._start(process)
        raise AssertionError("unreachable")

    def start_service(self, name: ServiceName, *, port: int | None = None, process_name: str | None = None) -> Process:
        """One uvicorn process of a service; `port`/`process_name` start a further replica."""
        argv = [
            sys.executable, "-m", "uvicorn", f"services.{name}.main:app",
            "--host", "127.0.0.1", "--port", str(port or self.ports.service(name)),
            "--no-access-log", "--timeout-graceful-shutdown", "10",
            # request.client is the real peer; X-Forwarded-For is read only from the
            # trusted proxies in settings (services/common/client_identity.py).
            "--no-proxy-headers",
        ]
        return self.spawn(process_name or name, argv)

    def start_worker(self, process_name: str = "worker", env: dict[str, str] | None = None) -> Process:
        return self.spawn(process_name, [sys.executable, "-m", "workflows.worker"], env)

    def wait_ready(self, timeout: float = 90, urls: dict[str, str] | None = None) -> None:
        """Every service answers /readyz (its database and Temporal reachable).

        `urls` (name → base URL) checks other replicas; by default the stack's services.
        """
        deadline = time.monotonic() + timeout
        if urls is None:
            urls = {
                n: self.service_url(n) for n in SERVICE_NAMES if any(p.name == n for p in self.processes)
            }
        pending = list(urls)
        while pending:
            if self._supervisor is None:
                self.check_alive()
            name = pending[0]
            try:
                if httpx.get(urls[name] + "/readyz", timeout=2).status_code == 200:
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
                    f"{process.name} {describe_exit(process.popen.returncode)}; log:\n{process.log_tail()}"
                )

    def _log_of(self, name: str) -> str:
        return next((p.log_tail() for p in self.processes if p.name == name), "")

    def stop(self, timeout: float = 15, report: Callable[[str], None] | None = None) -> None:
        """Stop in reverse start order: worker first, then the services, Temporal last.

        Supervision stops first, so nothing is restarted while the stack goes down; each
        process gets SIGTERM and `timeout` seconds before SIGKILL.
        """
        self.stop_supervising()
        with self._lock:
            for process in reversed(self.processes):
                if process.alive():
                    process.popen.send_signal(signal.SIGTERM)
                    try:
                        process.popen.wait(timeout=timeout)
                    except subprocess.TimeoutExpired:
                        process.popen.kill()
                        process.popen.wait()
                    if report:
                        report(f"stopped {process.name} (pid {process.pid})")
            self.processes.clear()


class ExitedEarly(RuntimeError):
    """A process ended before it opened its port."""


def wait_for_port(port: int, process: Process, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if not process.alive():
            raise ExitedEarly(f"{process.name} {describe_exit(process.popen.returncode)}:\n{process.log_tail()}")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{process.name} did not open port {port} within {timeout:.0f}s")
        time.sleep(0.1)
