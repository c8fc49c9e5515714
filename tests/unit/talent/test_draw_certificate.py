"""The optimality certificate and the replacement link, against a tampering office.

Each case changes a record the way an office wanting another outcome could,
then re-derives everything the verifier recomputes from the portfolio (hash,
per-person probabilities, summary, selection) so that only the check under test
can catch it.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from services.talent.sortition import (
    Portfolio,
    build_portfolio,
    draw_panel,
    draw_replacements,
    verify_draw,
)
from services.talent.sortition.portfolio import fraction_str
from tests.sortition_fixtures.synthetic import synthetic_pool, synthetic_quotas

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def request_data():
    composition, quotas = synthetic_quotas(8, n_towns=5)
    return synthetic_pool(60, seed=4, n_towns=5), quotas, composition


@pytest.fixture(scope="module")
def portfolio(request_data):
    people, quotas, composition = request_data
    return build_portfolio(people, quotas, composition=composition)


@pytest.fixture(scope="module")
def exported(portfolio):
    return draw_panel(portfolio, "cert-secret", "1.2./").to_dict()


def _republish(published: dict, *, keep_claims: bool = False) -> dict:
    """A consistent record for a changed portfolio: hash, probabilities, summary and
    selection recomputed, as a careful forger would. Claims follow the new minimum
    unless ``keep_claims``."""
    published = copy.deepcopy(published)
    published.pop("probabilities", None)
    published["probabilities"] = {}
    pf = Portfolio.from_dict(published)
    published["probabilities"] = {pid: fraction_str(p) for pid, p in sorted(pf.probabilities.items())}
    if not keep_claims:
        published["lp_min_probability"] = repr(float(pf.min_probability))
        published["lp_upper_bound"] = repr(float(pf.min_probability))
    pf = Portfolio.from_dict(published)
    return draw_panel(pf, "cert-secret", "1.2./").to_dict()


def test_untampered_record_carries_a_certificate_that_verifies(exported):
    cert = exported["portfolio"]["certificate"]
    assert cert["denominator"] == 2**48
    assert sum(w for _, w in cert["dual_prices"]) == 2**48
    report = verify_draw(exported)
    assert report.ok, report.text()
    assert any("optimality certificate" in p for p in report.passed)


def test_a_valid_but_not_maximin_lottery_is_rejected(exported):
    # every composition stays valid and in use, but almost all weight goes to the
    # first one: a lawful lottery whose least likely person has a tiny chance
    published = copy.deepcopy(exported["portfolio"])
    comps = published["compositions"]
    for c in comps[1:]:
        c["weight"] = 1
    comps[0]["weight"] = 2**48 - (len(comps) - 1)
    forged = _republish(published)
    assert Fraction(forged["summary"]["min_probability"]) < Fraction(1, 10**12)
    report = verify_draw(forged)
    assert not report.ok
    assert any("not maximin" in f for f in report.failures), report.text()
    # everything else about it is consistent: only the certificate (and the claim
    # about the bound it certifies) catches it
    assert all("certif" in f for f in report.failures), report.text()


def test_a_lottery_that_leaves_reachable_people_at_zero_is_rejected(exported):
    published = copy.deepcopy(exported["portfolio"])
    published["compositions"] = [dict(published["compositions"][0], weight=2**48)]
    forged = _republish(published)
    report = verify_draw(forged)
    assert not report.ok
    assert any("probability 0 could be on a valid panel" in f or "types that some panel includes" in f
               for f in report.failures), report.text()


@pytest.mark.parametrize("field", ["lp_min_probability", "lp_upper_bound"])
def test_a_false_claim_about_the_optimum_is_rejected(exported, field):
    published = copy.deepcopy(exported["portfolio"])
    published[field] = "0.9"
    forged = _republish(published, keep_claims=True)
    report = verify_draw(forged)
    assert not report.ok
    assert any("agree with the certified optimum" in f for f in report.failures), report.text()


def test_a_false_summary_float_is_rejected(exported):
    forged = copy.deepcopy(exported)
    forged["summary"]["min_probability_float"] = 0.5
    report = verify_draw(forged)
    assert not report.ok
    assert any("published minimum probability matches" in f for f in report.failures), report.text()


def test_forged_dual_prices_are_rejected(exported):
    # all the price on one type: a bound, but far above the published minimum
    published = copy.deepcopy(exported["portfolio"])
    first = published["certificate"]["dual_prices"][0][0]
    published["certificate"]["dual_prices"] = [[first, 2**48]]
    report = verify_draw(_republish(published, keep_claims=True))
    assert not report.ok
    assert any("certificate" in f for f in report.failures), report.text()
    # prices that do not sum to the denominator are no certificate at all
    published["certificate"]["dual_prices"] = [[first, 5]]
    report = verify_draw(_republish(published, keep_claims=True))
    assert any("summing to the denominator" in f for f in report.failures), report.text()


# ------------------------------------------------------------------ replacement link
@pytest.fixture(scope="module")
def rounds(request_data, portfolio, exported):
    people, quotas, composition = request_data
    panel = exported["selection"]["panel"]
    declined = panel[:2]
    replacement = draw_replacements(people, panel, declined, quotas, composition=composition,
                                    previous_portfolio_hash=portfolio.hash)
    return exported, draw_panel(replacement, "round-1", None).to_dict(), declined


def test_replacement_round_verifies_against_the_previous_round(rounds):
    first, second, declined = rounds
    report = verify_draw(second, first)
    assert report.ok, report.text()
    assert second["portfolio"]["replaces"] == {"portfolio_hash": first["portfolio_hash"],
                                               "declined": sorted(declined)}
    assert len(second["selection"]["drawn_ids"]) == len(declined)


def test_replacement_round_without_the_previous_record_is_not_verified(rounds):
    _, second, _ = rounds
    report = verify_draw(second)
    assert not report.ok
    assert any("previous round's record is given" in f for f in report.failures)


def test_replacement_round_against_another_round_is_rejected(request_data, rounds):
    people, quotas, composition = request_data
    _, second, _ = rounds
    other = draw_panel(build_portfolio(people, quotas, composition=composition, excluded_ids=["p01"]),
                       "other", None).to_dict()
    report = verify_draw(second, other)
    assert any("follow from the previous round" in f for f in report.failures), report.text()


def test_kept_members_not_from_the_previous_panel_are_rejected(request_data, rounds):
    people, quotas, composition = request_data
    first, _, _ = rounds
    panel = first["selection"]["panel"]
    # a "replacement" whose kept members are not the previous panel minus the declined:
    # the office swaps a kept member for someone it prefers
    by_id = {p.id: p for p in people}
    swapped, outsider = next(
        (member, p.id) for member in panel[1:] for p in people
        if p.id not in panel and p.attributes == by_id[member].attributes
    )
    fake_panel = [outsider if pid == swapped else pid for pid in panel]
    forged = draw_replacements(people, fake_panel, panel[:1], quotas, composition=composition,
                               previous_portfolio_hash=first["portfolio_hash"])
    report = verify_draw(draw_panel(forged, "x", None).to_dict(), first)
    assert any("kept members are not the previous panel" in f for f in report.failures), report.text()


def test_cli_takes_the_previous_round(rounds, tmp_path):
    first, second, _ = rounds
    a, b = tmp_path / "r0.json", tmp_path / "r1.json"
    a.write_text(json.dumps(first), encoding="utf-8")
    b.write_text(json.dumps(second), encoding="utf-8")
    cmd = [sys.executable, "-m", "services.talent.sortition.verify"]
    assert subprocess.run([*cmd, str(b), str(a)], check=False, cwd=ROOT, capture_output=True).returncode == 0
    assert subprocess.run([*cmd, str(b)], check=False, cwd=ROOT, capture_output=True).returncode == 1
