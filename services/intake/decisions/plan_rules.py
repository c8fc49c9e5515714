"""1+2+4+X: what a year's plan must hold. Pure, so a decision can be checked before it
is stored and a plan read shows the same findings."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from services.common.vocabulary import ConsultationFormat as F

from .schemas import PlanIssue

# format: (at least, at most) per year; None = no bound.
RULES: dict[F, tuple[int, int | None]] = {
    F.PLENARY: (1, 1),  # 全委会议: one, the highest level
    F.STANDING_COMMITTEE: (2, None),  # 常委会协商会议: two or more
    F.SPECIAL_TOPIC: (4, 4),  # 专题协商会议: four
    F.SECTOR_MICRO: (0, None),  # 界别或小微协商: X, routine
}
LABELS = {
    F.PLENARY: "全委会议 (plenary)",
    F.STANDING_COMMITTEE: "常委会协商会议 (standing_committee)",
    F.SPECIAL_TOPIC: "专题协商会议 (special_topic)",
    F.SECTOR_MICRO: "界别或小微协商 (sector_micro)",
}


def counts(formats: Iterable[str]) -> dict[str, int]:
    c = Counter(formats)
    return {f.value: c.get(f.value, 0) for f in F}


def check(formats: Iterable[str]) -> tuple[list[PlanIssue], list[PlanIssue]]:
    """(warnings, errors): warnings say what is still missing, errors what is impossible."""
    n = counts(formats)
    warnings: list[PlanIssue] = []
    errors: list[PlanIssue] = []
    for fmt, (least, most) in RULES.items():
        have = n[fmt.value]
        if most is not None and have > most:
            errors.append(
                PlanIssue(rule=f"too_many_{fmt.value}", message=f"{have} × {LABELS[fmt]}; a year has at most {most}")
            )
        elif have < least:
            warnings.append(
                PlanIssue(rule=f"missing_{fmt.value}", message=f"{have} of {least} × {LABELS[fmt]} planned so far")
            )
    return warnings, errors
