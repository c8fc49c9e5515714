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

from services.common.devstack import Backoff, DevStack, StackPorts, describe_exit, free_port

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


def test_up_binds_the_ports_its_settings_name() -> None:
    from services.common.cli import ports_from_settings
    from services.common.settings import Settings

    settings = Settings(
        temporal_address="127.0.0.1:17233",
        temporal_ui_url="http://127.0.0.1:18233",
        intake_url="http://127.0.0.1:18001,http://127.0.0.1:28001",  # replicas: `up` starts the first
        talent_url="http://127.0.0.1:18002",
        evaluation_url="http://127.0.0.1:18003/",
    )
    assert ports_from_settings(settings) == StackPorts(17233, 18233, 18001, 18002, 18003)
    with pytest.raises(ValueError, match="names no port"):
        ports_from_settings(Settings(talent_url="http://talent.internal"))


# A stand-in for `temporal server start-dev`: its first start dies the way the dev server
# does when a port it picked for itself is taken (status 2, the cause once, then a Go
# stack); a later start listens on the --port and --ui-port it was given.
FLAKY_DEV_SERVER = """
import socket, sys, time
from pathlib import Path
marker = Path(sys.argv[1])
args = sys.argv[2:]
if not marker.exists():
    marker.write_text("failed once")
    sys.stderr.write("Unable to start server. Error: listen tcp 127.0.0.1:45001: bind: address already in use\\n")
    sys.stderr.write("goroutine 1 [running]:\\n" + "go.uber.org/fx.(*App).Start\\n" * 40)
    sys.exit(2)
listeners = []
for flag in ("--port", "--ui-port"):
    s = socket.socket()
    s.bind(("127.0.0.1", int(args[args.index(flag) + 1])))
    s.listen()
    listeners.append(s)
time.sleep(120)
"""


def flaky_dev_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Installs FLAKY_DEV_SERVER as the stack's `temporal`; answers its marker: while the
    marker is absent, the next start dies."""
    script = tmp_path / "fake_temporal.py"
    script.write_text(FLAKY_DEV_SERVER)
    launcher = tmp_path / "temporal"
    launcher.write_text(f"#!/bin/sh\nexec {sys.executable} {script} {tmp_path / 'marker'} \"$@\"\n")
    launcher.chmod(0o755)
    monkeypatch.setattr("services.common.devstack.venv_binary", lambda name: str(launcher))
    return tmp_path / "marker"


def test_a_dev_server_that_dies_while_starting_is_started_again_with_its_cause_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flaky_dev_server(tmp_path, monkeypatch)
    lines: list[str] = []
    stack = DevStack(data_dir=tmp_path, ports=StackPorts(free_port(), free_port(), 3, 4, 5), say=lines.append)
    try:
        process = stack.start_temporal()
        assert process.alive()
        assert len(lines) == 1, lines
        assert lines[0].startswith("temporal exited with status 2 while starting (attempt 1 of 3); starting it again")
        # The cause, not the last lines of the stack that follows it.
        assert "bind: address already in use" in lines[0]
        assert "goroutine" not in lines[0]
    finally:
        stack.stop(timeout=5)


def test_a_dev_server_restarted_by_hand_is_started_again_if_it_dies_while_starting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`restart("temporal")` (the crash tests' way back) has the same retry as the first start."""
    marker = flaky_dev_server(tmp_path, monkeypatch)
    marker.write_text("the first start succeeds")
    lines: list[str] = []
    stack = DevStack(data_dir=tmp_path, ports=StackPorts(free_port(), free_port(), 3, 4, 5), say=lines.append)
    try:
        first = stack.start_temporal().pid
        assert lines == []
        marker.unlink()  # the restart's first start dies
        stack.restart("temporal")
        process = stack.process("temporal")
        assert process.alive() and process.pid != first
        assert len(lines) == 1 and "while starting (attempt 1 of 3)" in lines[0], lines
        assert "bind: address already in use" in lines[0]
    finally:
        stack.stop(timeout=5)


def test_a_dev_server_that_never_starts_fails_after_the_last_attempt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.common.devstack import TEMPORAL_START_ATTEMPTS, ExitedEarly

    launcher = tmp_path / "temporal"
    launcher.write_text("#!/bin/sh\necho 'Error: no such table: namespaces' >&2\nexit 2\n")
    launcher.chmod(0o755)
    monkeypatch.setattr("services.common.devstack.venv_binary", lambda name: str(launcher))
    lines: list[str] = []
    stack = DevStack(data_dir=tmp_path, ports=StackPorts(1, 2, 3, 4, 5), say=lines.append)
    try:
        with pytest.raises(ExitedEarly, match="no such table: namespaces"):
            stack.start_temporal()
        assert len(lines) == TEMPORAL_START_ATTEMPTS - 1
    finally:
        stack.stop(timeout=5)
