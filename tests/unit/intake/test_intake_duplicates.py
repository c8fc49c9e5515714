"""Near-duplicate detection (services.intake.duplicates)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.intake.duplicates import (
    DEFAULT_THRESHOLD,
    NUM_PERM,
    DuplicateIndex,
    TopicSignature,
    evaluate_pairs,
    load_pairs,
    matching_key,
    places,
    places_conflict,
    score_pairs,
    shingles,
    signature,
    signature_similarity,
    similarity,
)

DATA = Path(__file__).parent / "data"
PAIRS_PATH = DATA / "duplicate_pairs.jsonl"
REPO_ROOT = Path(__file__).resolve().parents[3]

# Measured at DEFAULT_THRESHOLD (0.20) on duplicate_pairs.jsonl, see docs/intake.md:
# exact similarity P 0.968 / R 0.884; MinHash estimate P 0.972 / R 0.876.
# The floors sit about 0.03 below, so a change that costs more fails here.
P_MIN = 0.94
R_MIN = 0.85
P_MIN_SIGNATURES = 0.94
R_MIN_SIGNATURES = 0.84
# Held-out set (written after the design and threshold were fixed):
# measured P 1.000 / R 0.778.
HOLDOUT_PATH = DATA / "duplicate_pairs_holdout.jsonl"
P_MIN_HOLDOUT = 0.95
R_MIN_HOLDOUT = 0.74


@pytest.fixture(scope="module")
def pairs() -> list[dict]:
    return load_pairs(PAIRS_PATH)


def test_labelled_set_is_large_and_balanced_enough(pairs: list[dict]) -> None:
    assert len(pairs) >= 200
    positives = sum(p["label"] for p in pairs)
    hard = sum(p["kind"] == "hard_negative" for p in pairs)
    assert positives >= 100 and len(pairs) - positives >= 100 and hard >= 50
    assert all(set(p) >= {"a", "b", "label", "kind"} for p in pairs)


def test_labelled_set_is_reproducible() -> None:
    """The committed jsonl files are exactly what the builder script writes."""
    before = PAIRS_PATH.read_bytes()
    before_holdout = HOLDOUT_PATH.read_bytes()
    script = DATA / "build_duplicate_pairs.py"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, cwd=REPO_ROOT, check=True)
    assert "pairs" in out.stdout
    assert PAIRS_PATH.read_bytes() == before
    assert HOLDOUT_PATH.read_bytes() == before_holdout


def test_precision_and_recall_on_held_out_concerns() -> None:
    holdout = load_pairs(HOLDOUT_PATH)
    assert len(holdout) >= 100
    result = evaluate_pairs(holdout, DEFAULT_THRESHOLD)
    assert result.precision >= P_MIN_HOLDOUT, result
    assert result.recall >= R_MIN_HOLDOUT, result


def test_precision_and_recall_at_default_threshold(pairs: list[dict]) -> None:
    result = evaluate_pairs(pairs, DEFAULT_THRESHOLD)
    assert result.precision >= P_MIN, result
    assert result.recall >= R_MIN, result


def test_precision_and_recall_from_signatures_only(pairs: list[dict]) -> None:
    scores = score_pairs(pairs, use_signatures=True)
    result = evaluate_pairs(pairs, DEFAULT_THRESHOLD, scores)
    assert result.precision >= P_MIN_SIGNATURES, result
    assert result.recall >= R_MIN_SIGNATURES, result


def test_forwarded_copies_are_always_found_and_unrelated_topics_never(pairs: list[dict]) -> None:
    scores = score_pairs(pairs)
    copies = [s for p, s in zip(pairs, scores, strict=True) if p["kind"].startswith("copy_")]
    easy = [s for p, s in zip(pairs, scores, strict=True) if p["kind"] == "easy_negative"]
    assert copies and min(copies) >= DEFAULT_THRESHOLD
    assert easy and max(easy) < DEFAULT_THRESHOLD


# --------------------------------------------------------------------------- #
# Matching key, shingles, places
# --------------------------------------------------------------------------- #

def test_matching_key_drops_boilerplate_script_and_punctuation() -> None:
    plain = matching_key("县城公办幼儿园学位不足")
    noisy = matching_key("尊敬的领导您好！！縣城公辦幼兒園學位\u200b不足，，謝謝！！！")
    assert plain == noisy
    assert matching_key("") == "" and matching_key(None) == ""


def test_shingles_are_unigrams_and_bigrams() -> None:
    assert shingles("幼儿园") == frozenset({"幼", "儿", "园", "幼儿", "儿园"})


def test_places_from_gazetteer_and_suffixes() -> None:
    assert places("玄滩至兆雅的道路坑洼") == {"玄滩镇", "兆雅镇"}
    assert places("人民路和解放路交叉口没有红绿灯") == {"人民路", "解放路"}
    assert places("我们村的路灯坏了，晚上走路很危险") == frozenset()
    assert places("增加乡镇班次") == frozenset()
    assert places("某某镇的路灯", gazetteer=()) == {"某某镇"}


def test_place_conflict_only_for_same_kind() -> None:
    assert places_conflict({"玄滩镇"}, {"云锦镇"})
    assert not places_conflict({"嘉明镇"}, {"明老街"})  # town vs street: may be the same place
    assert not places_conflict({"玄滩镇", "兆雅镇"}, {"兆雅镇"})
    assert not places_conflict(set(), {"云锦镇"})


def test_road_in_town_a_is_not_road_in_town_b() -> None:
    a = "玄滩镇到兆雅镇的公路坑坑洼洼，下雨天积水很深，希望尽快维修。"
    b = "云锦镇到立石镇的公路坑坑洼洼，下雨天积水很深，希望尽快维修。"
    assert similarity(a, b) < DEFAULT_THRESHOLD
    assert similarity(a, "玄滩鎮到兆雅鎮的公路坑坑窪窪！！希望盡快維修") >= DEFAULT_THRESHOLD


def test_kindergarten_places_vs_fees() -> None:
    places_text = "县城公办幼儿园学位严重不足，每年几千个孩子抢一千个学位，建议新建公办幼儿园。"
    fees_text = "私立幼儿园收费太高，一学期要七八千元，普通家庭负担不起，希望规范收费。"
    paraphrase = "建议县城增加公办幼儿园学位，现在只有一所公办园，孩子报不上名。"
    assert similarity(places_text, paraphrase) >= DEFAULT_THRESHOLD
    assert similarity(places_text, fees_text) < DEFAULT_THRESHOLD


texts = st.text(alphabet=st.sampled_from(list("幼儿园学位不足县城公办路灯坏了玄滩镇兆雅！，。 abc12")), max_size=40)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(texts, texts)
def test_similarity_is_symmetric_and_bounded(a: str, b: str) -> None:
    s = similarity(a, b)
    assert s == similarity(b, a)
    assert 0.0 <= s <= 1.0
    if shingles(a):
        assert similarity(a, a) == 1.0


# --------------------------------------------------------------------------- #
# Signatures
# --------------------------------------------------------------------------- #

SAMPLE = "县城公办幼儿园学位严重不足，建议新建公办幼儿园。玄滩镇"


def test_signature_round_trips_bytes_and_json() -> None:
    sig = signature(SAMPLE)
    assert len(sig.hashvalues) == NUM_PERM and sig.size == len(shingles(SAMPLE))
    assert TopicSignature.from_bytes(sig.to_bytes()) == sig
    assert TopicSignature.from_json(json.loads(json.dumps(sig.to_json()))) == sig
    with pytest.raises(ValueError):
        TopicSignature.from_bytes(b"nope" + sig.to_bytes()[4:])


# Golden value: if datasketch or the shingling changes, stored signatures no
# longer compare with new ones.  Then bump SIGNATURE_VERSION, rebuild stored
# signatures from the texts, and update this digest.
GOLDEN_SHA256 = "8bf99236d54ddf100cf65269029dfa3e110c3505a6c2a1179bce76bc2783ca33"  # SIGNATURE_VERSION 2 (personal data masked, no digits)


def test_signature_is_deterministic_across_processes() -> None:
    here = signature(SAMPLE).to_bytes()
    code = (
        "import sys; from services.intake.duplicates import signature; "
        f"sys.stdout.write(signature({SAMPLE!r}).to_bytes().hex())"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONHASHSEED": "12345"}
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert bytes.fromhex(other) == here
    assert hashlib.sha256(here).hexdigest() == GOLDEN_SHA256


def test_signature_estimate_is_close_to_exact(pairs: list[dict]) -> None:
    diffs = [abs(signature_similarity(signature(p["a"]), signature(p["b"])) - similarity(p["a"], p["b"])) for p in pairs[:150]]
    assert sum(diffs) / len(diffs) < 0.03
    assert max(diffs) < 0.15


# --------------------------------------------------------------------------- #
# Index
# --------------------------------------------------------------------------- #

TOPICS = {
    "kg-places": "县城公办幼儿园学位严重不足，建议新建公办幼儿园。",
    "kg-fees": "私立幼儿园收费太高，一学期要七八千元，希望规范收费。",
    "lights-fuji": "福集镇新街的路灯坏了大半年了，晚上出门不安全。",
    "lights-jiaming": "嘉明镇老街的路灯坏了大半年了，晚上出门不安全。",
    "canteen": "建议在农村建设老年助餐点，让留守老人能吃上热乎饭。",
}


def _index() -> DuplicateIndex:
    index = DuplicateIndex()
    for topic_id, text in TOPICS.items():
        index.add(topic_id, text)
    return index


def test_index_query_sorted_and_thresholded() -> None:
    index = _index()
    result = index.query("縣城公辦幼兒園學位不足！！孩子報不上名")
    assert [t for t, _ in result] == ["kg-places"]
    assert result[0][1] >= DEFAULT_THRESHOLD
    result = index.query("福集镇新街路灯坏了，晚上出门不安全", threshold=0.0)
    sims = [s for _, s in result]
    assert result[0][0] == "lights-fuji" and sims == sorted(sims, reverse=True)
    assert "lights-jiaming" not in [t for t, _ in index.query("福集镇新街路灯坏了，晚上出门不安全")]
    assert index.query("与此无关的内容：县医院停车难") == []
    assert index.query("") == [] and DuplicateIndex().query("幼儿园") == []


def test_index_limit_remove_and_replace() -> None:
    index = _index()
    assert len(index.query("路灯坏了大半年了晚上出门不安全", limit=1)) == 1
    index.remove("kg-places")
    index.remove("unknown")  # ignored
    assert "kg-places" not in index and len(index) == 4
    assert index.query("县城公办幼儿园学位严重不足") == []
    index.add("canteen", "县城公办幼儿园学位严重不足")  # replaces the old text
    assert len(index) == 4 and index.query("县城公办幼儿园学位不足")[0][0] == "canteen"
    assert index.query("建议在农村建设老年助餐点，让留守老人能吃上热乎饭。") == []


def test_index_rebuilt_from_stored_signatures_gives_same_answers() -> None:
    original = _index()
    stored = {t: original.signature_of(t).to_bytes() for t in TOPICS}
    rebuilt = DuplicateIndex()
    for topic_id, blob in stored.items():
        rebuilt.add_signature(topic_id, TopicSignature.from_bytes(blob))
    for query in ("县城公办幼儿园学位不足，孩子报不上名", "嘉明镇老街的路灯坏了", "农村老年助餐点"):
        a = [t for t, _ in original.query(query)]
        b = [t for t, _ in rebuilt.query(query)]
        assert a == b, query


def test_index_grows_and_compacts() -> None:
    index = DuplicateIndex()
    def tag(i: int) -> str:  # digits do not count in matching (matching_key): characters do
        return chr(0x4E00 + i) + chr(0x5E00 + i) + chr(0x6E00 + i)

    for i in range(600):
        index.add(i, f"第{i}号议题：{'路灯' if i % 2 else '幼儿园'}{tag(i)}")
    for i in range(0, 600, 3):
        index.remove(i)
    assert len(index) == 400
    assert all(t % 3 for t in index.topic_ids())
    hits = index.query(f"第5号议题：路灯{tag(5)}", threshold=0.9)
    assert hits and hits[0][0] == 5


def test_signature_rejects_garbage() -> None:
    for blob in (b"", b"XSMH", b"\x00" * 40):
        with pytest.raises(ValueError):
            TopicSignature.from_bytes(blob)
    with pytest.raises(ValueError, match="version"):
        TopicSignature.from_json({"version": 999, "size": 1, "minhash": ""})


def test_common_word_stems_need_their_suffix() -> None:
    assert places("村里的石桥垮了") == frozenset()
    assert places("石桥镇的石桥垮了") == {"石桥镇"}


# --------------------------------------------------------------------------- #
# Personal data is masked before matching (issue 10, part 5)
# --------------------------------------------------------------------------- #

PERSONAL_PATH = DATA / "duplicate_pairs_personal.jsonl"


def test_personal_set_is_reproducible() -> None:
    before = PERSONAL_PATH.read_bytes()
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    subprocess.run([sys.executable, str(DATA / "build_personal_pairs.py")], capture_output=True, env=env, check=True)
    assert PERSONAL_PATH.read_bytes() == before


def test_shared_personal_data_or_digits_alone_never_merge() -> None:
    pairs = load_pairs(PERSONAL_PATH)
    for p in pairs:
        if p["kind"] in ("shared_personal", "shared_digits"):
            assert similarity(p["a"], p["b"]) < DEFAULT_THRESHOLD, p
        if p["kind"] in ("personal_copy", "personal_paraphrase"):
            assert similarity(p["a"], p["b"]) >= DEFAULT_THRESHOLD, p
    assert similarity("电话13812345678", "13812345678") == 0.0
    assert similarity("110101199003074578", "身份证110101199003074578 138 1234 5678") == 0.0


def test_matching_key_holds_no_personal_data() -> None:
    key = matching_key("我是王小明，电话13812345678，身份证号110101199003074578，邮箱 a@b.cn，人民路路灯坏了")
    assert key == matching_key("人民路路灯坏了")
    for secret in ("王小明", "138", "1101", "a@b"):
        assert secret not in key


def test_precision_on_the_personal_set() -> None:
    pairs = load_pairs(PERSONAL_PATH)
    result = evaluate_pairs(pairs, DEFAULT_THRESHOLD)
    # Measured 0.632 / 1.000 (docs/benchmarks.md); unmasked the same pairs gave 0.358.
    assert result.recall == 1.0 and result.precision >= 0.6, result
