"""DevStack's supervision on small real processes: what `xieshang up` does when a child dies.

The stack's own processes (Temporal, services, worker) under `xieshang up` are covered by
tests/e2e/test_up_supervision.py; here the rules themselves, fast: one line per crash with
name, pid, how it ended and this run's stderr; backoff doubling per crash in a row; the
others untouched; stop in reverse start order.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from services.common.devstack import Backoff, DevStack, StackPorts, describe_exit

SLEEPER = [
    sys.executable,
    "-c",
    "import os, sys, time; sys.stderr.write(f'started {os.getpid()}\\n'); time.sleep(120)",
]
CRASHER = [
    sys.executable,
    "-c",
    "import sys; print('an ordinary stdout line'); sys.stderr.write('boom: no such table\\n'); sys.exit(3)",
]


@pytest.fixture
def stack(tmp_path: Path):
    lines: list[str] = []
    devstack = DevStack(
        data_dir=tmp_path,
        ports=StackPorts(1, 2, 3, 4, 5),  # nothing binds them here
        backoff=Backoff(first=0.2, longest=0.8, stable_after=60),
        say=lines.append,
    )
    devstack.lines = lines  # type: ignore[attr-defined]
    yield devstack
    devstack.stop(timeout=5)


def run_supervision(stack: DevStack, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        stack.supervise_once()
        time.sleep(0.02)


def test_exit_statuses_are_named() -> None:
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(3) == "exited with status 3"
    assert describe_exit(0) == "exited with status 0"


def test_backoff_doubles_up_to_its_ceiling() -> None:
    backoff = Backoff(first=1, longest=30)
    assert [backoff.delay(n) for n in (1, 2, 3, 4, 5, 6, 7)] == [1, 2, 4, 8, 16, 30, 30]


def test_a_crashing_process_is_reported_and_restarted_with_backoff_the_others_untouched(stack: DevStack) -> None:
    sleeper = stack.spawn("sleeper", SLEEPER)
    crasher = stack.spawn("crasher", CRASHER)
    first_pid = crasher.pid
    run_supervision(stack, 2.2)

    crashes = [line for line in stack.lines if line.startswith("crasher (pid")]
    restarts = [line for line in stack.lines if line.startswith("restarted crasher")]
    # 0.2 + 0.4 + 0.8 + 0.8 s of backoff fit in 2.2 s with room for process starts.
    assert len(crashes) >= 3, stack.lines
    assert len(restarts) >= 2, stack.lines
    assert f"crasher (pid {first_pid}) exited with status 3" in crashes[0]
    # The tail of this run's stderr, not the stdout line that happened to come last.
    assert crashes[0].endswith("stderr: boom: no such table"), crashes[0]
    assert "ordinary stdout line" not in crashes[0]
    delays = [float(line.split("restarting in ")[1].split("s;")[0]) for line in crashes]
    assert delays[:4] == [0.2, 0.4, 0.8, 0.8][: len(delays[:4])]
    assert crasher.pid != first_pid
    # Each run's report quotes only its own stderr line.
    assert all(line.count("boom") == 1 for line in crashes)
    # The other process never noticed.
    assert sleeper.alive()
    assert not any("sleeper" in line for line in stack.lines)


def test_a_killed_process_comes_back_with_a_new_pid_and_its_stderr_is_of_this_run(stack: DevStack) -> None:
    sleeper = stack.spawn("sleeper", SLEEPER)
    other = stack.spawn("other", SLEEPER)
    time.sleep(0.5)  # let it write 'started' to stderr
    old_pid = sleeper.pid
    os.kill(old_pid, signal.SIGKILL)
    run_supervision(stack, 0.6)
    assert any(
        line.startswith(f"sleeper (pid {old_pid}) killed by SIGKILL after")
        and line.endswith(f"stderr: started {old_pid}")
        for line in stack.lines
    ), stack.lines
    assert sleeper.alive() and sleeper.pid != old_pid
    assert sleeper.restarts == 1
    assert other.alive() and other.restarts == 0
    # Killed again: the report quotes this run's stderr, never the earlier run's.
    second_pid = sleeper.pid
    os.kill(second_pid, signal.SIGKILL)
    run_supervision(stack, 0.1)
    report = next(line for line in stack.lines if f"(pid {second_pid})" in line)
    assert "killed by SIGKILL" in report
    assert report.endswith((f"stderr: started {second_pid}", "stderr: (nothing this run)")), report
    assert str(old_pid) not in report.split("stderr:")[1]
    # Two crashes in a row without a stable run: the second waits twice as long.
    assert "restarting in 0.4s" in report


def test_stop_goes_in_reverse_start_order_and_restarts_nothing(stack: DevStack) -> None:
    for name in ("temporal", "intake", "worker"):
        stack.spawn(name, SLEEPER)
    stack.supervise()  # a background supervisor must not bring anything back during stop
    pids = [p.pid for p in stack.processes]
    stopped: list[str] = []
    stack.stop(timeout=5, report=stopped.append)
    assert [line.split()[1] for line in stopped] == ["worker", "intake", "temporal"]
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert not any("restarted" in line for line in stack.lines)
