"""`xieshang up` survives SIGKILL of its processes, and Ctrl-C still stops it in order.

The real command in a process of its own, on free ports and a temporary data directory
(SQLite): once it says it is running, the worker and a service are SIGKILLed; each is
reported in one line and comes back with a new pid (the service answers /readyz again,
the new worker polls the task queue) while the others keep their pids; then SIGINT stops
the worker first and Temporal last, and no child is left behind.
"""

from __future__ import annotations

import asyncio
import os
import queue
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from services.common.devstack import free_port

pytestmark = pytest.mark.e2e

ORDER = ["temporal", "intake", "talent", "evaluation", "worker"]


class Up:
    """`xieshang up` as a child process, its stdout read line by line in a thread."""

    def __init__(self, env: dict[str, str]) -> None:
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "services.common.cli", "up"],
            env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self._queue.put(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        """The first line (already seen or coming) matching `pattern`."""
        regex = re.compile(pattern)
        for line in self.lines:
            if match := regex.search(line):
                return match
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.5)
            except queue.Empty:
                if self.popen.poll() is not None and self._queue.empty():
                    break
                continue
            self.lines.append(line)
            if match := regex.search(line):
                return match
        raise AssertionError(f"no line matching {pattern!r} within {timeout}s; output:\n" + "\n".join(self.lines))

    def pid_of(self, name: str) -> int:
        return int(self.wait_for(rf"\[up\] (?:started|restarted) {name}: pid (\d+)", 1).group(1))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_ready(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url}/readyz did not answer 200 within {timeout}s")


def task_queue_pollers(address: str, task_queue: str) -> set[str]:
    """Identities polling the workflow task queue (a worker's default: pid@host)."""
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
    from temporalio.client import Client

    async def describe() -> set[str]:
        client = await Client.connect(address)
        response = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace="default",
                task_queue=TaskQueue(name=task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            )
        )
        return {poller.identity for poller in response.pollers}

    return asyncio.run(describe())


def test_up_restarts_a_killed_worker_and_service_and_stops_in_order_on_ctrl_c(tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("temporal", "temporal_ui", "intake", "talent", "evaluation")}
    task_queue = f"xieshang-up-{secrets.token_hex(4)}"
    env = {
        "XIESHANG_DATA_DIR": str(tmp_path),
        "XIESHANG_JWT_SECRET": secrets.token_urlsafe(32),
        "XIESHANG_TEMPORAL_ADDRESS": f"127.0.0.1:{ports['temporal']}",
        "XIESHANG_TEMPORAL_UI_URL": f"http://127.0.0.1:{ports['temporal_ui']}",
        "XIESHANG_TEMPORAL_TASK_QUEUE": task_queue,
    }
    for name in ("intake", "talent", "evaluation"):
        env[f"XIESHANG_{name.upper()}_URL"] = f"http://127.0.0.1:{ports[name]}"
        env[f"XIESHANG_{name.upper()}_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path}/{name}.db"
    up = Up(env)
    try:
        up.wait_for(r"Ctrl-C stops everything", timeout=180)
        pids = {name: up.pid_of(name) for name in ORDER}
        assert all(alive(pid) for pid in pids.values())
        address = env["XIESHANG_TEMPORAL_ADDRESS"]
        deadline = time.monotonic() + 30
        while not any(i.startswith(f"{pids['worker']}@") for i in task_queue_pollers(address, task_queue)):
            assert time.monotonic() < deadline, "the worker never polled its task queue"
            time.sleep(0.5)

        os.kill(pids["worker"], signal.SIGKILL)
        os.kill(pids["talent"], signal.SIGKILL)

        # One line each: name, pid, how it ended, the stderr tail; then a new pid.
        up.wait_for(rf"\[up\] worker \(pid {pids['worker']}\) killed by SIGKILL after [\d.]+s; restarting in", 20)
        up.wait_for(rf"\[up\] talent \(pid {pids['talent']}\) killed by SIGKILL after [\d.]+s; restarting in", 20)
        new_worker = int(up.wait_for(r"\[up\] restarted worker: pid (\d+)", 30).group(1))
        new_talent = int(up.wait_for(r"\[up\] restarted talent: pid (\d+)", 30).group(1))
        assert new_worker != pids["worker"] and new_talent != pids["talent"]
        wait_ready(env["XIESHANG_TALENT_URL"], timeout=60)
        deadline = time.monotonic() + 60
        while not any(i.startswith(f"{new_worker}@") for i in task_queue_pollers(address, task_queue)):
            assert time.monotonic() < deadline, "the restarted worker never polled its task queue"
            time.sleep(0.5)
        # The stack stayed up: the others kept their pids and answer.
        assert up.popen.poll() is None
        for name in ("temporal", "intake", "evaluation"):
            assert alive(pids[name]), name
        for name in ("intake", "evaluation"):
            wait_ready(env[f"XIESHANG_{name.upper()}_URL"], timeout=10)
        assert not [line for line in up.lines if re.search(r"\[up\] (temporal|intake|evaluation) \(pid", line)]

        up.popen.send_signal(signal.SIGINT)
        assert up.popen.wait(timeout=90) == 0
        up.wait_for(r"\[up\] stopped$", 5)
        stopped = [m.group(1) for line in up.lines if (m := re.match(r"\[up\] stopped (\w+) \(pid", line))]
        assert stopped == list(reversed(ORDER)), "\n".join(up.lines)
        for pid in [*pids.values(), new_worker, new_talent]:
            assert not alive(pid)
    finally:
        if up.popen.poll() is None:
            up.popen.send_signal(signal.SIGINT)
            try:
                up.popen.wait(timeout=60)
            except subprocess.TimeoutExpired:
                up.popen.kill()
