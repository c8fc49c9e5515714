"""schemathesis against the OpenAPI of all three services of a real stack, on SQLite and
on PostgreSQL: every operation, called with a role that may call it, with a fixed seed
and example budget; no server error, responses conforming to the document (status
codes, content types, schemas, headers), authentication enforced.

The run is schemathesis's own CLI (coverage and fuzzing phases; the documents hold no
examples) in one process per service, the three side by side, with
tests/schemathesis_auth.py as its hooks: the same command reproduces a failure by hand
(printed on failure). The coverage phase (boundaries, wrong types, NUL, unexpected
methods: ~1,300-1,800 cases per service) does not depend on EXAMPLES; fuzzing does.

Two checks are left out, on purpose (docs/errors.md):

* ``positive_data_acceptance`` — data the schema allows may still break a business
  rule (a control character in a name, garbled text, a topic that does not exist, a
  deadline past the calendar): those are refused with 422/404/409 by design.
* ``negative_data_rejection`` — Pydantic's lax mode reads ``0`` as ``false`` and
  ``1.0`` as ``1``; such input is stored as what it means, never as something else.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.stack import Stack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SEED = 20261130
EXAMPLES = 3
EXCLUDED_CHECKS = ("positive_data_acceptance", "negative_data_rejection")
SERVICES = ("intake", "talent", "evaluation")


def command(url: str) -> list[str]:
    cli = Path(sys.executable).with_name("schemathesis")
    return [
        str(cli), "run", f"{url}/openapi.json",
        "--checks", "all", "--exclude-checks", ",".join(EXCLUDED_CHECKS),
        "--phases", "coverage,fuzzing",
        "--max-examples", str(EXAMPLES), "--seed", str(SEED),
        "--generation-database", "none",
        "--workers", "1", "--no-color", "--request-timeout", "30",
    ]


def test_every_operation_conforms(stack: Stack) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SCHEMATHESIS_HOOKS": "tests.schemathesis_auth",
        "XIESHANG_JWT_SECRET": stack.settings.jwt_secret,
    }
    started = time.monotonic()
    runs = {
        service: subprocess.Popen(
            command(stack.url(service)), cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for service in SERVICES
    }
    outputs = {service: run.communicate(timeout=600)[0] for service, run in runs.items()}
    elapsed = time.monotonic() - started
    print(f"\n[schemathesis] {stack.backend}: three services in {elapsed:.0f} s")
    failed = {service: out for service, out in outputs.items() if runs[service].returncode != 0}
    for service, out in outputs.items():
        tail = out.strip().splitlines()[-3:]
        print(f"[schemathesis] {stack.backend} {service}: exit {runs[service].returncode}; {' | '.join(tail)}")
    assert not failed, "\n\n".join(
        f"===== {service} on {stack.backend}: {' '.join(command(stack.url(service)))}\n{out[-12000:]}"
        for service, out in failed.items()
    )
