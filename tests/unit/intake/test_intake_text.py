"""Normalisation, storage cleaning, control characters and mojibake (services.common.text)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.text import (
    clean_for_storage,
    control_characters_message,
    detect_garbled,
    ensure_no_control_characters,
    find_control_characters,
    garbled_score,
    looks_garbled,
    normalise_for_matching,
    repair_mojibake,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("幼兒園學位不足", "幼儿园学位不足"),
        ("縣城幼儿园學位不足", "县城幼儿园学位不足"),  # mixed scripts in one line
        ("路灯坏了！！！", "路灯坏了!"),
        ("路灯坏了!!!", "路灯坏了!"),
        ("请问，，什么时候修？？", "请问,什么时候修?"),
        ("真的吗？！？！", "真的吗?"),
        ("谢谢。。。", "谢谢."),
        ("等了很久……", "等了很久."),
        ("“幼儿园”《通知》【急】", '"幼儿园"<通知>[急]'),
        ("ＱＱ１２３　全角", "qq123 全角"),
        ("幼\u200b儿\u200c园\u200d学\ufeff位\u2060", "幼儿园学位"),
        ("路灯\x07坏了\x00", "路灯坏了"),
        ("路灯\n坏了\t很久", "路灯坏了很久"),  # line break between 汉字 is not a word gap
        ("  street   light\n\nbroken  ", "street light broken"),
        ("幼 儿 园  学 位", "幼儿园学位"),
        ("见 http://www.luxian.gov.cn/a/b.html", "见 http://www.luxian.gov.cn/a/b.html"),
        ("", ""),
    ],
)
def test_normalise_for_matching(raw: str, expected: str) -> None:
    assert normalise_for_matching(raw) == expected


def test_normalise_odd_input_does_not_raise() -> None:
    assert normalise_for_matching(None) == ""
    assert normalise_for_matching(12) == "12"
    assert normalise_for_matching("幼兒園".encode()) == "幼儿园"


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.text(max_size=60))
def test_normalise_is_idempotent_and_has_no_invisibles(text: str) -> None:
    once = normalise_for_matching(text)
    assert normalise_for_matching(once) == once
    assert not find_control_characters(once, allow_newlines=False, include_invisible=True)
    assert once == once.strip()
    assert "  " not in once


def test_clean_for_storage_keeps_wording() -> None:
    raw = "  幼兒園學位不足！！！\r\n第二行\t缩进\x07\x1b[31m\x00  "
    assert clean_for_storage(raw) == "幼兒園學位不足！！！\n第二行\t缩进[31m"
    assert clean_for_storage("a\rb") == "a\nb"  # a lone CR is a line break, not glue
    assert clean_for_storage(None) == ""


def test_find_control_characters_and_message() -> None:
    found = find_control_characters("标题\x07内容\x00")
    assert [(c.index, c.codepoint, c.name) for c in found] == [(2, "U+0007", "BELL"), (5, "U+0000", "NULL")]
    msg = control_characters_message(found, field_name="title")
    assert "title" in msg and "U+0007 (BELL) at position 2" in msg and "控制字符" in msg
    assert find_control_characters("第一行\n第二行\t") == []
    assert [c.codepoint for c in find_control_characters("a\nb", allow_newlines=False)] == ["U+000A"]
    # Format characters only when asked (single-line fields).
    assert find_control_characters("a\u200bb\u202e") == []
    assert [c.codepoint for c in find_control_characters("a\u200bb\u202e", include_invisible=True)] == ["U+200B", "U+202E"]


def test_ensure_no_control_characters() -> None:
    assert ensure_no_control_characters("正常的文字\n第二行") == "正常的文字\n第二行"
    with pytest.raises(ValueError, match="U\\+001B"):
        ensure_no_control_characters("abc\x1b", field_name="text")


# --------------------------------------------------------------------------- #
# Garbled text, produced the way it happens in practice
# --------------------------------------------------------------------------- #

GENUINE = [
    "幼儿园",
    "县城公办幼儿园学位严重不足，希望增加",
    "泸县玄滩镇到兆雅镇的道路坑洼不平",
    "建議縣城增加公辦幼兒園學位",  # Traditional is not garbage
    "濑溪河沿岸养殖场排污，河水发黑发臭",
    "请问公租房申请条件在哪里查？www.luxian.gov.cn",
    "Street lights on Renmin Road are broken.",
    "café, naïve, Ölmühle",
    "哈哈，谢谢！！！",
    "泸州泸县",  # short, one rare character repeated
    "泸县濑溪河畔鳜鱼养殖场",
]

SOURCES = ["幼儿园", "你好", "县城公办幼儿园学位严重不足，希望增加", "泸县玄滩镇道路坑洼", "建議縣城增加公辦幼兒園學位"]


def _mojibake_variants(text: str) -> list[str]:
    data = text.encode("utf-8")
    return [
        data.decode("gbk", errors="replace"),
        data.decode("gbk", errors="ignore"),
        data.decode("latin-1"),
        data.decode("cp1252", errors="replace"),
        clean_for_storage(data.decode("latin-1")),  # C1 controls stripped on the way in
    ]


@pytest.mark.parametrize("text", GENUINE)
def test_genuine_text_is_not_garbled(text: str) -> None:
    report = detect_garbled(text)
    assert not report.is_garbled, report
    assert report.repaired is None


@pytest.mark.parametrize("source", SOURCES)
def test_real_mojibake_is_detected(source: str) -> None:
    for garbled in _mojibake_variants(source):
        is_garbled, reasons = looks_garbled(garbled)
        assert is_garbled, (garbled, reasons)
        assert garbled_score(garbled) >= 0.5


@pytest.mark.parametrize(
    ("garbled", "code"),
    [
        ("浣犲ソ", "utf8_as_gbk"),
        ("ä½ å¥½", "utf8_as_latin1"),
        ("提交的内容：锟斤拷锟斤拷", "kunjinkao"),
        ("幼儿园\ufffd\ufffd位不足", "replacement_character"),
        ("????????", "question_marks"),
    ],
)
def test_classic_symptoms_have_reason_codes(garbled: str, code: str) -> None:
    report = detect_garbled(garbled)
    assert report.is_garbled and code in report.reasons


def test_repair_mojibake_only_on_strict_round_trip() -> None:
    for source in SOURCES:
        data = source.encode("utf-8")
        assert repair_mojibake(data.decode("latin-1")) == source
        if len(data) % 2 == 0:
            try:
                as_gbk = data.decode("gbk")
            except UnicodeDecodeError:
                as_gbk = None
            if as_gbk is not None:
                assert repair_mojibake(as_gbk) == source
        # Lossy conversions cannot be repaired with certainty: keep the original.
        lossy = data.decode("gbk", errors="replace")
        if "\ufffd" in lossy:
            assert repair_mojibake(lossy) is None
    assert repair_mojibake("浣犲ソ") == "你好"
    for text in GENUINE:
        assert repair_mojibake(text) is None
