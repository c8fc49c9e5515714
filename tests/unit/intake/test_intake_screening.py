"""Spam screening and flood detection (services.intake.screening)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.intake.screening import (
    MODERATION_THRESHOLD,
    FloodWindow,
    RateLimit,
    ScreeningResult,
    screen_submission,
)

DATA = Path(__file__).parent / "data"


def _load(name: str) -> list[dict]:
    with (DATA / name).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


SPAM = _load("spam_lines.jsonl")
GENUINE = _load("genuine_submissions.jsonl")


def test_corpora_are_big_enough() -> None:
    assert len(SPAM) >= 15
    assert len(GENUINE) >= 15


@pytest.mark.parametrize("case", SPAM, ids=[c["text"][:20] for c in SPAM])
def test_spam_goes_to_moderation_with_right_codes(case: dict) -> None:
    result = screen_submission(case["text"], title=case.get("title"))
    assert result.verdict == "moderate", result
    assert result.spam_score >= MODERATION_THRESHOLD
    missing = set(case["codes"]) - set(result.codes)
    assert not missing, (missing, result)


def test_no_false_positives_on_genuine_submissions() -> None:
    flagged = [
        (case["text"][:30], screen_submission(case["text"], title=case.get("title")))
        for case in GENUINE
    ]
    flagged = [(t, r) for t, r in flagged if r.verdict != "accept"]
    assert flagged == [], "false-positive rate must be 0 on the genuine corpus"


def test_single_government_link_lowers_but_does_not_flag() -> None:
    plain = screen_submission("异地就医医保报销手续太复杂，建议简化流程。")
    linked = screen_submission("异地就医医保报销手续太复杂，建议简化流程。详见 http://www.nhsa.gov.cn/art/2024/1.html")
    assert plain.verdict == linked.verdict == "accept"
    assert linked.spam_score > plain.spam_score
    assert "link_density" in linked.codes


def test_complaint_about_gambling_is_not_gambling_spam() -> None:
    result = screen_submission("建议公安部门加强对农村网络赌博和六合彩的打击整治。")
    assert result.verdict == "accept", result


def test_emotion_inside_a_long_complaint_is_not_a_flood() -> None:
    text = "工地夜间施工噪音太大了，我们反映了好多次都没人管，哈哈哈哈哈哈，真是没办法睡觉，希望有关部门管一管。"
    assert screen_submission(text).verdict == "accept"


def test_title_is_screened_too() -> None:
    result = screen_submission("请看标题", title="澳门葡京|百家乐|真人荷官|开户送彩金")
    assert result.verdict == "moderate" and "keyword_list" in result.codes


def test_empty_submission_is_moderated_not_dropped() -> None:
    result = screen_submission("   ！！！  ")
    assert result.verdict == "moderate" and "empty" in result.codes


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.one_of(st.text(max_size=200), st.binary(max_size=50), st.none(), st.integers()))
def test_screening_never_raises(value: object) -> None:
    result = screen_submission(value, title=value)
    assert isinstance(result, ScreeningResult)
    assert 0.0 <= result.spam_score <= 1.0
    assert result.verdict in ("accept", "moderate")


# --------------------------------------------------------------------------- #
# Flood window
# --------------------------------------------------------------------------- #

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


def test_flood_window_allows_normal_pace() -> None:
    window = FloodWindow()
    recent = [T0 - timedelta(minutes=20), T0 - timedelta(minutes=5)]
    decision = window.check(recent, T0)
    assert not decision.exceeded and decision.count_in_window == 3


def test_flood_window_burst_limit_and_retry_after() -> None:
    window = FloodWindow((RateLimit(3, timedelta(minutes=1)),))
    recent = [T0 - timedelta(seconds=s) for s in (50, 30, 10)]
    decision = window.check(recent, T0)
    assert decision.exceeded and decision.count_in_window == 4
    assert decision.limit == RateLimit(3, timedelta(minutes=1))
    # The oldest (50 s ago) ages out after 10 s more.
    assert decision.retry_after == timedelta(seconds=10)
    assert not window.exceeds(recent, T0 + timedelta(seconds=10))


def test_flood_window_uses_the_strictest_retry() -> None:
    window = FloodWindow((RateLimit(3, timedelta(minutes=1)), RateLimit(5, timedelta(hours=1))))
    recent = [T0 - timedelta(minutes=m) for m in (50, 40, 30, 20, 10)]
    decision = window.check(recent, T0)
    assert decision.exceeded and decision.limit == RateLimit(5, timedelta(hours=1))
    assert decision.retry_after == timedelta(minutes=10)


def test_flood_window_ignores_future_and_old_timestamps() -> None:
    window = FloodWindow((RateLimit(2, timedelta(minutes=10)),))
    recent = [T0 - timedelta(days=1), T0 + timedelta(minutes=1), T0 - timedelta(minutes=1)]
    assert not window.exceeds(recent, T0)
    assert window.exceeds(recent + [T0 - timedelta(minutes=2)], T0)


def test_garbled_submission_is_moderated_with_repair_offered() -> None:
    original = "县城公办幼儿园学位严重不足，希望增加"
    garbled = original.encode("utf-8").decode("gbk", errors="replace")
    result = screen_submission(garbled, title="幼儿园".encode("utf-8").decode("latin-1"))
    assert result.verdict == "moderate" and "garbled" in result.codes
    assert result.repaired_title == "幼儿园"
    assert result.repaired_text is None  # lossy: cannot be recovered with certainty
    clean = screen_submission(original)
    assert clean.verdict == "accept" and clean.repaired_text is None


def test_large_submission_is_screened_quickly() -> None:
    import time

    text = ("县城公办幼儿园学位严重不足，a.b.c.d.e.f " * 3000) + ("！" * 5000) + ("x" * 20000)
    start = time.perf_counter()
    result = screen_submission(text)
    assert time.perf_counter() - start < 2.0
    assert isinstance(result, ScreeningResult)


def test_screening_reasons_carry_no_personal_data_and_a_phone_is_no_repetition() -> None:
    advert = screen_submission("加微信 13812345678 了解详情，日结兼职")
    contact = next(r for r in advert.reasons if r.code == "contact_advert")
    assert "13812345678" not in contact.detail and "[电话]" in contact.detail
    # A resident's number with repeated digits is personal data, not a flood of digits.
    genuine = screen_submission("我是王小明，电话13888888888，人民路路灯坏了好几个月，请尽快修理。")
    assert genuine.verdict == "accept" and "repeated_characters" not in genuine.codes
