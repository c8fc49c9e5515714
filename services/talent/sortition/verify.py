"""Offline verification of an exported draw record.

    python -m services.talent.sortition.verify FILE [PREVIOUS_ROUND_FILE]

exits 0 when every check passes, 1 otherwise, printing one line per check.
A replacement round is checked against the record of the round it replaces
(the second file): its kept members are exactly that panel minus the declined,
and it draws exactly as many people as declined.

Everything is integer or exact-fraction arithmetic, except the optimality
certificate: one pricing problem over types is solved by HiGHS (gap 0), and
its answer re-checked in integers (certificate.py).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from .certificate import check_certificate, claim_matches
from .portfolio import (
    ALGORITHM_VERSION,
    Portfolio,
    canonical_json,
    fraction_str,
    sha256_hex,
)
from .seed import DrawSeed, commitment_for, public_value_problem, select_panel


@dataclass
class VerificationReport:
    passed: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def check(self, condition: bool, what: str, detail: str = "") -> bool:
        if condition:
            self.passed.append(what)
        else:
            self.failures.append(f"{what}: {detail}" if detail else what)
        return condition

    def text(self) -> str:
        lines = [f"ok    {p}" for p in self.passed] + [
            f"FAIL  {f}" for f in self.failures
        ]
        lines.append(
            "VERIFIED" if self.ok else f"NOT VERIFIED ({len(self.failures)} failure(s))"
        )
        return "\n".join(lines)


def _quota_failures(pf: Portfolio, counts: Counter, size: int) -> list[str]:
    bad = []
    if size != pf.panel_size:
        bad.append(f"size {size} != {pf.panel_size}")
    for attr, value, lo, hi in pf.quotas:
        n = counts[(attr, value)]
        if not lo <= n <= hi:
            bad.append(f"{attr}={value} has {n}, quota [{lo}, {hi}]")
    return bad


def verify_draw(exported: dict[str, Any], previous: dict[str, Any] | None = None) -> VerificationReport:
    """Check an exported draw record (and, for a replacement round, its link to
    ``previous``, the record of the round it replaces); never raises on a
    malformed record."""
    rep = VerificationReport()
    try:
        _verify(exported, rep)
        _verify_link(exported, previous, rep)
    except (
        KeyError,
        TypeError,
        ValueError,
        IndexError,
        AttributeError,
        ZeroDivisionError,
        ArithmeticError,
    ) as exc:
        rep.check(False, "record is well formed", f"{type(exc).__name__}: {exc}")
    return rep


def _verify(exported: dict[str, Any], rep: VerificationReport) -> None:
    if not isinstance(exported, dict):
        raise TypeError("the record must be a JSON object")
    if not rep.check(
        exported.get("algorithm_version") == ALGORITHM_VERSION
        and exported.get("portfolio", {}).get("algorithm_version") == ALGORITHM_VERSION,
        "algorithm version supported",
        f"got {exported.get('algorithm_version')!r}, this verifier knows {ALGORITHM_VERSION!r}",
    ):
        return
    published = exported["portfolio"]

    # 1. the hash covers exactly what was published
    rep.check(
        sha256_hex(canonical_json(published)) == exported.get("portfolio_hash"),
        "portfolio hash matches the published portfolio",
    )
    try:
        pf = Portfolio.from_dict(published)
    except (KeyError, TypeError, ValueError) as exc:
        rep.check(False, "portfolio is well formed", repr(exc))
        return

    # 2. structure: types partition the drawable people
    attrs = pf.attributes
    seen: set[str] = set()
    structure_ok = True
    excluded = set(pf.excluded_ids)
    fixed_ids = [pid for pid, _ in pf.fixed]
    vectors = [t.values for t in pf.types]
    structure_ok &= len(set(vectors)) == len(vectors)
    for t in pf.types:
        structure_ok &= (
            len(t.values) == len(attrs)
            and list(t.members) == sorted(set(t.members))
            and len(t.members) > 0
        )
        for pid in t.members:
            structure_ok &= (
                pid not in seen and pid not in excluded and pid not in fixed_ids
            )
            seen.add(pid)
    for pid, vals in pf.fixed:
        structure_ok &= len(vals) == len(attrs) and pid not in excluded
    structure_ok &= len(set(fixed_ids)) == len(fixed_ids)
    rep.check(
        bool(structure_ok),
        "types partition the pool; no excluded or kept person is drawable",
    )
    if not structure_ok:
        return

    # 3. every panel meets the quotas: a composition fixes how many seats each
    #    type gets, and the systematic rule picks that many distinct members,
    #    so checking compositions checks every concrete panel.
    fixed_counts: Counter = Counter()
    for _, vals in pf.fixed:
        for a, v in zip(attrs, vals):
            fixed_counts[(a, v)] += 1
    comp_failures = []
    for ci, c in enumerate(pf.compositions):
        counts = Counter(fixed_counts)
        size = len(pf.fixed)
        for ti, s in c.seats:
            if not (0 <= ti < len(pf.types) and 0 < s <= len(pf.types[ti].members)):
                comp_failures.append(f"composition {ci}: bad seats ({ti}, {s})")
                continue
            size += s
            for a, v in zip(attrs, pf.types[ti].values):
                counts[(a, v)] += s
        comp_failures += [
            f"composition {ci}: {b}" for b in _quota_failures(pf, counts, size)
        ]
    rep.check(
        not comp_failures,
        "every panel has the right size and meets the quotas",
        "; ".join(comp_failures[:5]),
    )

    weights = [c.weight for c in pf.compositions]
    rep.check(
        all(isinstance(w, int) and w > 0 for w in weights)
        and sum(weights) == pf.weight_denominator,
        "panel weights are positive integers summing to the denominator",
    )

    # 4. per-person probabilities follow from the portfolio
    probs = pf.probabilities
    published_probs = published.get("probabilities", {})
    rep.check(
        published_probs == {pid: fraction_str(p) for pid, p in sorted(probs.items())},
        "published per-person probabilities follow from the portfolio",
    )
    summary = exported["summary"]
    rep.check(
        summary["min_probability"] == fraction_str(pf.min_probability)
        and summary["min_probability_float"] == float(pf.min_probability),
        "published minimum probability matches",
        f"summary says {summary.get('min_probability')} / {summary.get('min_probability_float')!r}",
    )

    # 4b. optimality: the dual prices certify that no lottery does better for the
    #     least likely eligible person, and the claims about the optimum hold
    cert = check_certificate(pf)
    rep.check(
        not cert.failures,
        "optimality certificate: the dual prices bound every lottery, and this one reaches the bound",
        "; ".join(cert.failures),
    )
    rep.check(
        claim_matches(pf.lp_min_probability, pf.min_probability)
        and cert.bound is not None
        and claim_matches(pf.lp_upper_bound, pf.min_probability)
        and claim_matches(pf.lp_upper_bound, cert.bound),
        "published LP optimum and upper bound agree with the certified optimum",
        f"lp_min_probability {pf.lp_min_probability}, lp_upper_bound {pf.lp_upper_bound}, "
        f"certified {float(cert.bound) if cert.bound is not None else None!r}",
    )

    # 5. the seed: commitment, then the panel it selects
    seed_d = exported.get("seed", {})
    seed = DrawSeed(str(seed_d.get("secret", "")), seed_d.get("public_randomness"))
    rep.check(
        commitment_for(seed.secret) == exported.get("commitment"),
        "revealed secret matches the commitment",
    )
    announcement = exported.get("announcement")
    if announcement is not None and announcement.get("public_randomness_source") is not None:
        problem = (
            "no public value was mixed in"
            if seed.public_randomness is None
            else public_value_problem(seed.public_randomness, str(announcement.get("public_randomness_format")))
        )
        rep.check(problem is None, "the public value has the announced format", problem or "")
    sel_d = exported.get("selection", {})
    try:
        sel = select_panel(pf, seed)
    except (ValueError, IndexError) as exc:
        rep.check(False, "selection can be recomputed", repr(exc))
        return
    rep.check(
        sel.random_hex == sel_d.get("random_hex")
        and sel.composition_index == sel_d.get("composition_index"),
        "random value and panel index follow from the seed and the portfolio hash",
    )
    rep.check(
        list(sel.panel) == sel_d.get("panel")
        and list(sel.drawn_ids) == sel_d.get("drawn_ids"),
        "selected panel follows from the seed",
        f"expected {list(sel.panel)}, record says {sel_d.get('panel')}",
    )

    # 6. the recorded panel itself, checked person by person
    value_of: dict[str, tuple[str, ...]] = {pid: vals for pid, vals in pf.fixed}
    for t in pf.types:
        for pid in t.members:
            value_of[pid] = t.values
    panel = list(sel_d.get("panel") or [])
    counts = Counter()
    unknown = [pid for pid in panel if pid not in value_of]
    for pid in panel:
        for a, v in zip(attrs, value_of.get(pid, ())):
            counts[(a, v)] += 1
    problems = _quota_failures(pf, counts, len(set(panel)))
    problems += [f"unknown or excluded id {pid}" for pid in unknown]
    problems += [f"kept member {pid} missing" for pid in fixed_ids if pid not in panel]
    rep.check(
        not problems and len(set(panel)) == len(panel),
        "recorded panel meets size, quotas and exclusions",
        "; ".join(problems[:5]),
    )


def _verify_link(exported: dict[str, Any], previous: dict[str, Any] | None, rep: VerificationReport) -> None:
    """A replacement round against the round it replaces: the portfolio names the
    previous portfolio's hash and the declined; the kept members must be exactly
    the previous panel minus the declined, and as many drawn as declined."""
    link = exported["portfolio"].get("replaces")
    if link is None:
        return
    if not rep.check(previous is not None, "replacement round: the previous round's record is given",
                     "pass the record of the round it replaces"):
        return
    assert previous is not None
    prev_report = verify_draw(previous)
    rep.check(prev_report.ok, "the previous round's record verifies", "; ".join(prev_report.failures[:3]))
    prev_panel = set(previous["selection"]["panel"])
    declined = set(link["declined"])
    kept = {pid for pid, _ in exported["portfolio"]["fixed"]}
    drawn = exported["selection"]["drawn_ids"]
    problems = []
    if link["portfolio_hash"] != previous.get("portfolio_hash"):
        problems.append("the previous record is not the round this one names")
    if not declined or not declined <= prev_panel:
        problems.append(f"declined not on the previous panel: {sorted(declined - prev_panel)}")
    if kept != prev_panel - declined:
        problems.append("kept members are not the previous panel minus the declined")
    if not declined <= set(exported["portfolio"]["excluded_ids"]):
        problems.append("the declined are drawable again")
    if len(drawn) != len(declined):
        problems.append(f"{len(drawn)} drawn for {len(declined)} declined")
    rep.check(not problems, "kept members and replacements follow from the previous round", "; ".join(problems))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (1, 2):
        print("usage: python -m services.talent.sortition.verify FILE [PREVIOUS_ROUND_FILE]", file=sys.stderr)
        return 2
    records = []
    for name in args:
        try:
            with open(name, encoding="utf-8") as fh:
                records.append(json.load(fh))
        except (OSError, json.JSONDecodeError) as exc:
            print(f"FAIL  cannot read {name}: {exc}")
            return 1
    exported = records[0]
    rep = verify_draw(exported, records[1] if len(records) == 2 else None)
    print(rep.text())
    if rep.ok:
        sel = exported["selection"]
        print(f"panel ({len(sel['panel'])}): {' '.join(sel['panel'])}")
        if "summary" in exported:
            print(
                f"min selection probability: {float(Fraction(exported['summary']['min_probability'])):.6%}"
            )
    return 0 if rep.ok else 1


if __name__ == "__main__":
    sys.exit(main())
