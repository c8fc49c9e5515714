"""Personal data never reaches a workflow summary or a matching key."""

from __future__ import annotations

import pytest

from services.common.redact import (
    consultation_summary,
    follow_up_summary,
    mask_for_matching,
    scrub_personal_data,
)

SEEDED = "我是王小明，电话13812345678，身份证号110101199003074578，邮箱 wxm@example.com，见 https://t.cn/abc"


@pytest.mark.parametrize("secret", ["王小明", "13812345678", "110101199003074578", "wxm@example.com", "t.cn/abc"])
def test_scrub_removes_each_kind(secret: str) -> None:
    assert secret not in scrub_personal_data(SEEDED)
    assert secret not in mask_for_matching(SEEDED)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("我叫李梅住在人民路，手机138-1234-5678", "我叫[姓名]住在人民路，手机[电话]"),
        ("姓名：赵四，今年65岁", "姓名：[姓名]，今年65岁"),
        ("联系电话0830 5212345，王先生", "联系电话[电话]，[姓名]"),
        ("+86 138 1234 5678", "[电话]"),
        ("身份证11010119900307457X", "身份证[身份证号]"),
    ],
)
def test_scrub_forms(text: str, expected: str) -> None:
    assert scrub_personal_data(text) == expected


@pytest.mark.parametrize("text", ["我是居民，希望增加公交", "我是本村村民", "人民路2号幼儿园门口路灯不亮", "2025年预算300万元"])
def test_scrub_keeps_ordinary_words(text: str) -> None:
    assert scrub_personal_data(text) == text


def test_summaries_are_ids_and_scrubbed_labels() -> None:
    assert consultation_summary(7, "public_online") == "议题 #7 · 网上征集"
    assert consultation_summary(8, "unknown_channel") == "议题 #8 · unknown_channel"
    assert follow_up_summary(3, "县教育局") == "承诺 #3 · 县教育局"
