"""Workflow ids are namespaced per installation (services/common/workflow_ids.py), and un-namespaced
ids (running workflows of older installations, saved histories) stay as they were."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflows import ids


@pytest.fixture(autouse=True)
def _restore() -> None:
    before = ids.installation()
    yield
    ids.configure(before, "/nonexistent")


def test_without_an_installation_id_the_ids_are_as_before(tmp_path: Path) -> None:
    ids.configure("", tmp_path)
    assert ids.consultation_workflow_id(7) == "consultation-7"
    assert ids.followup_workflow_id(3) == "followup-3"
    assert ids.consultation_id_beside("followup-3", 7) == "consultation-7"


def test_the_setting_wins_then_the_data_dir_file(tmp_path: Path) -> None:
    (tmp_path / ids.INSTALLATION_FILE).write_text("fromfile\n")
    assert ids.configure("", tmp_path) == "fromfile"
    assert ids.consultation_workflow_id(7) == "consultation-fromfile-7"
    assert ids.configure("prod01", tmp_path) == "prod01"
    assert ids.followup_workflow_id(3) == "followup-prod01-3"
    with pytest.raises(ValueError):
        ids.configure("Bad-Id", tmp_path)


def test_a_followup_finds_its_consultation_in_its_own_namespace(tmp_path: Path) -> None:
    ids.configure("other", tmp_path)  # the replaying process's value does not matter
    assert ids.consultation_id_beside("followup-ab12cd34-3", 7) == "consultation-ab12cd34-7"
    assert ids.consultation_id_beside("followup-3", 7) == "consultation-7"
    # Tests name workflows freely: any other shape means no namespace.
    assert ids.namespace_of("followup-kg-test-1") == "" and ids.namespace_of("followup-1b7e-x") == ""


def test_only_a_fresh_data_dir_gets_a_new_installation_id(tmp_path: Path) -> None:
    assert ids.ensure_installation_file(tmp_path / "old", fresh=False) == ""
    assert not (tmp_path / "old" / ids.INSTALLATION_FILE).exists()
    made = ids.ensure_installation_file(tmp_path / "new", fresh=True)
    assert ids.INSTALLATION_PATTERN.match(made)
    assert ids.ensure_installation_file(tmp_path / "new", fresh=False) == made  # kept
