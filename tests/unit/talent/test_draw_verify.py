"""Two-phase draw, export, offline verification, tampering, replacement round."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from services.talent.sortition import (
    CommitmentMismatch,
    Portfolio,
    build_portfolio,
    commitment_for,
    draw_panel,
    draw_replacements,
    format_rfc3797,
    verify_draw,
)
from tests.sortition_fixtures.synthetic import synthetic_pool, synthetic_quotas

ROOT = Path(__file__).resolve().parents[3]
SECRET = "9f2c4e" * 8
PUBLIC = format_rfc3797([[17, 3, 29, 8, 41, 12], [5]])


@pytest.fixture(scope="module")
def request_data():
    composition, quotas = synthetic_quotas(8, n_towns=5)
    return synthetic_pool(60, seed=4, n_towns=5), quotas, composition


@pytest.fixture(scope="module")
def exported(request_data):
    people, quotas, composition = request_data
    portfolio = build_portfolio(
        people, quotas, composition=composition, excluded_ids=["p05", "p17"]
    )
    return draw_panel(portfolio, SECRET, PUBLIC, commitment_for(SECRET)).to_dict()


def test_rfc3797_format():
    assert PUBLIC == "3.8.12.17.29.41./5./"


def test_untouched_record_verifies(exported):
    report = verify_draw(exported)
    assert report.ok, report.text()
    assert "p05" not in exported["selection"]["panel"]
    assert set(exported["portfolio"]["excluded_ids"]) == {"p05", "p17"}


def test_wrong_secret_is_refused_before_drawing(request_data):
    people, quotas, composition = request_data
    portfolio = build_portfolio(people, quotas, composition=composition)
    with pytest.raises(CommitmentMismatch):
        draw_panel(portfolio, "other secret", PUBLIC, commitment_for(SECRET))


def _tampered(exported, change):
    d = copy.deepcopy(exported)
    change(d)
    return verify_draw(d)


def _swap_one_member(d):
    panel = d["selection"]["panel"]
    outsider = next(pid for pid in d["portfolio"]["probabilities"] if pid not in panel)
    panel[0] = outsider
    panel.sort()


def _bump_probability(d):
    pid = min(d["portfolio"]["probabilities"])
    num, den = d["portfolio"]["probabilities"][pid].split("/")
    d["portfolio"]["probabilities"][pid] = f"{int(num) + 1}/{den}"


def _move_weight(d):
    comps = d["portfolio"]["compositions"]
    comps[0]["weight"] += 1
    comps[1]["weight"] -= 1


@pytest.mark.parametrize(
    ("name", "change", "expected_failure"),
    [
        ("changed panel", _swap_one_member, "selected panel follows from the seed"),
        (
            "changed probability",
            _bump_probability,
            "published per-person probabilities",
        ),
        ("changed weight", _move_weight, "portfolio hash matches"),
        (
            "wrong secret",
            lambda d: d["seed"].update(secret="guess"),
            "revealed secret matches the commitment",
        ),
        (
            "other public randomness",
            lambda d: d["seed"].update(public_randomness="1./"),
            "follow from the seed",
        ),
        (
            "excluded person on panel",
            lambda d: d["portfolio"]["types"][0]["members"].append("p05"),
            "portfolio hash",
        ),
    ],
)
def test_tampering_is_detected(exported, name, change, expected_failure):
    report = _tampered(exported, change)
    assert not report.ok, name
    assert any(expected_failure in f for f in report.failures), report.text()


def test_replacement_round_keeps_quotas_and_verifies(request_data, exported):
    people, quotas, composition = request_data
    panel = exported["selection"]["panel"]
    declined = panel[:3]
    portfolio = draw_replacements(
        people,
        panel,
        declined,
        quotas,
        composition=composition,
        excluded_ids=["p05", "p17"],
    )
    record = draw_panel(portfolio, SECRET + "-r1", None).to_dict()
    assert verify_draw(record).ok
    final = record["selection"]["panel"]
    new = record["selection"]["drawn_ids"]
    assert len(final) == len(panel) and len(new) == 3
    assert set(panel) - set(declined) <= set(final)
    assert not set(new) & set(panel)
    # the final panel meets the original quotas and composition
    by_id = {p.id: p for p in people}
    counts = Counter(
        (a, by_id[pid].attributes[a])
        for pid in final
        for a in ("kind", "gender", "town", "expertise")
    )
    for kind, n in composition.items():
        assert counts[("kind", kind)] == n
    for q in quotas:
        assert q.min <= counts[(q.attribute, q.value)] <= q.max


def test_cli_exit_codes(exported, tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(exported, ensure_ascii=False), encoding="utf-8")
    bad = tmp_path / "bad.json"
    d = copy.deepcopy(exported)
    _swap_one_member(d)
    bad.write_text(json.dumps(d), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "services.talent.sortition.verify"]
    ok = subprocess.run(
        [*cmd, str(good)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "VERIFIED" in ok.stdout
    ko = subprocess.run(
        [*cmd, str(bad)], check=False, capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert ko.returncode == 1
    assert "NOT VERIFIED" in ko.stdout and "FAIL" in ko.stdout


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["portfolio"]["compositions"][0]["seats"].append([10**6, 1]),
        lambda d: d.pop("selection"),
        lambda d: d["portfolio"].update(types="nonsense"),
    ],
)
def test_malformed_records_fail_without_raising(exported, change):
    report = _tampered(exported, change)
    assert not report.ok


def test_cli_rejects_unreadable_file(tmp_path):
    junk = tmp_path / "junk.json"
    junk.write_text("{not json", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-m", "services.talent.sortition.verify", str(junk)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert out.returncode == 1 and "cannot read" in out.stdout


def test_stored_portfolio_reloads_with_the_same_hash(request_data):
    # phase 1 and phase 2 may run in different processes: the service stores
    # the published JSON and rebuilds the portfolio from it for the draw
    people, quotas, composition = request_data
    portfolio = build_portfolio(people, quotas, composition=composition)
    reloaded = Portfolio.from_dict(json.loads(portfolio.canonical_json))
    assert reloaded.hash == portfolio.hash
    a = draw_panel(portfolio, SECRET, PUBLIC).selection
    b = draw_panel(reloaded, SECRET, PUBLIC).selection
    assert a == b
