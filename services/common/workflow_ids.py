"""Workflow ids, in one place for the services and the worker (workflows/ids.py re-exports it).

A workflow id names one topic's or one commitment's workflow: ``consultation-<topic id>``,
``followup-<commitment id>``. Topic and commitment ids are database sequences, so two
installations (or a fresh database next to a Temporal server that still runs the old
one's workflows) hand out the same ids, and starting ``consultation-1`` again silently
attaches to the old workflow. An *installation id* namespaces them:
``consultation-<installation>-<topic id>``.

Where it comes from, in this order (:func:`configure`, called once per process by
the services and the worker before any id is made):

1. ``XIESHANG_INSTALLATION_ID`` (production sets it; the same value for every process
   of one installation);
2. the file ``<data_dir>/installation-id``, which ``xieshang up`` writes on a fresh data
   directory (no Temporal database there yet);
3. none: the ids of installations from before namespacing, unchanged, so their running
   workflows, saved histories and replays keep their ids.

Workflow code never reads the process's value: a follow-up derives its consultation's
id from its own id (:func:`consultation_id_beside`), so a replay computes the same id
whatever the replaying process is configured with.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

INSTALLATION_FILE = "installation-id"
# Lower-case letters and digits only: no '-', so an id splits back unambiguously.
INSTALLATION_PATTERN = re.compile(r"^[a-z0-9]{1,16}$")

_installation = ""


def configure(installation_id: str, data_dir: str | Path) -> str:
    """Fix this process's installation id (setting, else the data dir's file, else none)."""
    global _installation
    value = installation_id
    if not value:
        try:
            value = (Path(data_dir) / INSTALLATION_FILE).read_text().strip()
        except OSError:
            value = ""
    if value and not INSTALLATION_PATTERN.match(value):
        raise ValueError(f"installation id {value!r}: 1 to 16 lower-case letters or digits")
    _installation = value
    return value


def installation() -> str:
    return _installation


def ensure_installation_file(data_dir: str | Path, *, fresh: bool) -> str:
    """The data dir's installation id; a new one is written only for a fresh data dir
    (an existing one may hold running workflows under the un-namespaced ids)."""
    path = Path(data_dir) / INSTALLATION_FILE
    if path.exists():
        return path.read_text().strip()
    if not fresh:
        return ""
    value = secrets.token_hex(4)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(value + "\n")
    return value


def _name(kind: str, number: int, namespace: str | None) -> str:
    ns = _installation if namespace is None else namespace
    return f"{kind}-{ns}-{number}" if ns else f"{kind}-{number}"


def consultation_workflow_id(topic_id: int, namespace: str | None = None) -> str:
    return _name("consultation", topic_id, namespace)


def followup_workflow_id(commitment_id: int, namespace: str | None = None) -> str:
    return _name("followup", commitment_id, namespace)


def cohandling_workflow_id(co_handler_id: int, namespace: str | None = None) -> str:
    """A co-handler's (会办单位) own follow-up; co-handler ids are unique across commitments."""
    return _name("cohandling", co_handler_id, namespace)


_NAMESPACED = re.compile(r"^[a-z]+-([a-z0-9]{1,16})-\d+$")


def namespace_of(workflow_id: str) -> str:
    """``followup-ab12cd34-7`` → ``ab12cd34``; ``followup-7`` (or any other shape, as
    tests name workflows freely) → ``""``."""
    match = _NAMESPACED.match(workflow_id)
    return match.group(1) if match else ""


def consultation_id_beside(followup_id: str, topic_id: int) -> str:
    """The consultation's workflow id in the same namespace as a follow-up's own id."""
    return consultation_workflow_id(topic_id, namespace_of(followup_id))
