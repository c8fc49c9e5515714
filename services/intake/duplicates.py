"""Near-duplicate detection of topics (议题) submitted by the public.

The same concern arrives many times from many people ("县城公办幼儿园学位不足"
from dozens of parents).  The office merges them into one topic, keeping every
submitter; this module finds the candidates.

Method
------
1. Matching key (:func:`matching_key`): :func:`services.common.text.normalise_for_matching`
   (NFKC, Traditional->Simplified, punctuation folded), then boilerplate that
   carries no concern is removed (greetings, thanks, "建议", "希望",
   "有关部门"...), then everything but 汉字, letters and digits, then function
   characters (的, 了, 是, 不, 很... :data:`STOP_CHARACTERS`).
2. Shingles: character unigrams and bigrams of the key (:data:`SHINGLE_SIZES`).
   Chinese has no word boundaries; bigrams carry word evidence, unigrams let
   paraphrases that reorder or split words ("学位不够" / "增加学位") still
   overlap.  Measured against (2,), (2, 3), (1,) and (1, 2, 3): (1, 2) had the
   best all-pairs F1 (docs/intake.md).
3. Similarity (:func:`similarity`): the mean of Jaccard and overlap
   (intersection / smaller set).  Jaccard alone punishes a short submission
   matched against a long one ("路灯坏了" vs a paragraph about the same lights);
   overlap alone lets a short generic text match everything.  The mean
   balances the two; the choice and the threshold were made by measurement
   on tests/unit/intake/data/duplicate_pairs.jsonl (see docs/intake.md).
4. Place conflict: if both texts name places of the same kind (towns from a
   gazetteer, with or without their suffix; X镇, X街道, X社区, X路, X街 by a
   suffix heuristic) and share none, the similarity is multiplied by
   :data:`PLACE_CONFLICT_FACTOR`.  The road between towns A and B is a
   different topic from the road between C and D even when residents
   describe both in the same words.
5. MinHash signatures (datasketch, fixed seed and permutations, SHA-1 based
   hashing, so identical across processes and machines) are what the service
   stores per topic.  From two signatures the Jaccard is estimated, and with
   the stored shingle counts the intersection and the overlap follow, so the
   same similarity can be estimated without the texts.  When the texts are at
   hand (``DuplicateIndex.add``) the exact value is used to confirm.

Command line::

    python -m services.intake.duplicates --evaluate tests/unit/intake/data/duplicate_pairs.jsonl
"""

from __future__ import annotations

import argparse
import base64
import functools
import json
import re
import struct
import sys
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from datasketch import MinHash

from services.common.redact import mask_for_matching
from services.common.text import normalise_for_matching

__all__ = [
    "DEFAULT_THRESHOLD",
    "NUM_PERM",
    "PLACE_CONFLICT_FACTOR",
    "SEED",
    "SHINGLE_SIZES",
    "SIGNATURE_VERSION",
    "STOP_CHARACTERS",
    "LUXIAN_TOWNS",
    "DuplicateIndex",
    "DuplicateMatch",
    "Evaluation",
    "TopicSignature",
    "all_pairs",
    "evaluate_all_pairs",
    "evaluate_pairs",
    "load_pairs",
    "matching_key",
    "places",
    "places_conflict",
    "score_pairs",
    "shingles",
    "signature",
    "signature_similarity",
    "similarity",
]

# --------------------------------------------------------------------------- #
# Parameters (changing any of them changes stored signatures: bump
# SIGNATURE_VERSION and rebuild).
# --------------------------------------------------------------------------- #

SHINGLE_SIZES: tuple[int, ...] = (1, 2)
NUM_PERM = 128
SEED = 20260301
SCHEME = "affine32"
SIGNATURE_VERSION = 2  # 2: personal data masked and digits left out of the matching key
# Chosen by measurement on the labelled pairs; see docs/intake.md.
DEFAULT_THRESHOLD = 0.20
PLACE_CONFLICT_FACTOR = 0.25

# Boilerplate: said by many people about many different concerns, so it
# makes unrelated submissions look alike and pads paraphrases apart.  Longest
# first so that "尊敬的领导" goes before "领导".
_BOILERPLATE = sorted(
    {
        "尊敬的领导", "各位领导", "领导您好", "领导好", "各位政协委员", "政协委员", "您好", "你好",
        "请问一下", "请问", "谢谢领导", "谢谢", "麻烦了", "辛苦了", "盼复", "希望得到回复",
        "我想反映一个问题", "反映一下", "反映", "关于", "的建议", "建议", "希望", "请求", "恳请",
        "有关部门", "相关部门", "尽快", "管一管", "管管", "一下", "问题", "我们", "能不能",
    },
    key=len,
    reverse=True,
)
_BOILERPLATE_RE = re.compile("|".join(map(re.escape, _BOILERPLATE)))
# The words that introduce personal data ("电话 138...", "身份证号 ...", "我叫 ..."), where
# it follows (masked): shared by every resident who leaves a number, so no concern.
_PERSONAL_INTRO_RE = re.compile(
    r"(?:联系电话|电话号码|电话|手机号码|手机号|手机|身份证号码|身份证号|身份证|请回电|回电|联系方式|联系人|姓名|邮箱"
    r"|本人|我叫|我是|名叫)?[:：\s,(（]*[\ue000-\ue004][)）]?"
)
_UNMASKED_NOT_WORD = re.compile(r"[^0-9a-z\u3400-\u9fff\uf900-\ufaff]+")
# `--evaluate --compare-unmasked` measures the key without masking (SIGNATURE_VERSION 1).
_MASKING = {"on": True}
_NOT_WORD = re.compile(r"[^a-z\u3400-\u9fff\uf900-\ufaff]+")
# Function characters (虚词, pronouns, degree words): frequent in every
# submission, so as unigrams and inside bigrams they only add noise.
STOP_CHARACTERS = frozenset(
    "的了是在有不很太都也就要和与及或而被把给对向从到去来这那个些一每我们你他她它吗呢吧啊呀哦嘛么还又再才只已经没能会可以让使得着过地"
)

# Place names: the two characters before a place suffix (玄滩镇, 人民路,
# 福集街道).  Villages (村) and rivers (河) are left out: in running text
# "我们村", "往河里" are far more common than names.  Lookahead so that a
# rejected match does not swallow the characters of a real name after it.
_PLACE_RE = re.compile(r"(?=([\u4e00-\u9fff]{2})(街道|镇|乡|社区|路|街))")
# Characters that occur in running text around a suffix but (almost) never
# inside a county's town or road names: function words, verbs, pronouns.
_NOT_IN_NAMES = set(
    "的了在到去往从和与至及是个这那有没不很都也就还要能会让把被给对向于我们你他她它村里上下走修装坏"
    "议希望请增加方便开展加强恢复只进冲需前后左右边外内条段这该本全各每两农邻线清镇"
)
# "路" followed by these is a compound (路灯, 路口, 路面), not a road name.
_NOT_ROAD_NAME_AFTER = set("灯口段面线况费边上基")
_GENERIC_PLACES = {"十字路", "乡镇", "城镇", "村镇", "街道", "马路", "道路", "公路",
                   "铁路", "山路", "小路", "大路", "线路", "小街", "大街"}

# The county's towns and streets (here 泸县, the pilot county of the domain
# description).  Residents often drop the suffix ("玄滩至兆雅的道路"), which
# the suffix heuristic cannot see; a gazetteer can.  Another county passes
# its own list to similarity()/DuplicateIndex.
LUXIAN_TOWNS: tuple[str, ...] = (
    "玉蟾街道", "福集镇", "嘉明镇", "喻寺镇", "得胜镇", "牛滩镇", "兆雅镇", "玄滩镇", "太伏镇", "云龙镇",
    "石桥镇", "毗卢镇", "奇峰镇", "潮河镇", "云锦镇", "立石镇", "百和镇", "天兴镇", "方洞镇", "海潮镇",
)
DEFAULT_GAZETTEER: tuple[str, ...] = LUXIAN_TOWNS


# Stems that are also ordinary words ("村里的石桥垮了"): only matched with
# their suffix.
_COMMON_WORD_STEMS = frozenset({"石桥", "得胜", "海潮"})


def _gazetteer_patterns(gazetteer: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """(surface form, canonical name) for each name with and without suffix."""
    out = []
    for name in gazetteer:
        out.append((name, name))
        for suffix in ("街道", "镇", "乡"):
            stem = name[: -len(suffix)]
            if name.endswith(suffix) and len(stem) >= 2 and stem not in _COMMON_WORD_STEMS:
                out.append((stem, name))
    return tuple(sorted(out, key=lambda p: -len(p[0])))


_GAZETTEER_CACHE: dict[tuple[str, ...], tuple[tuple[str, str], ...]] = {}
_PLACE_KIND = {"镇": "town", "乡": "town", "街道": "town", "社区": "community", "路": "street", "街": "street"}


def matching_key(text: object) -> str:
    """Normalised text without personal data, digits, boilerplate, punctuation or spaces.

    Personal data (phones, ID numbers, e-mails, URLs, introduced names) is masked
    (services/common/redact.py) and, like every digit, left out: two reports by one
    resident share their name and numbers, not their concern, and shared digits alone
    (a house number, a bus line) must never make two texts alike."""
    if not _MASKING["on"]:  # the key before masking, kept only to measure the difference
        key = _BOILERPLATE_RE.sub(" ", normalise_for_matching(text))
        return "".join(ch for ch in _UNMASKED_NOT_WORD.sub("", key) if ch not in STOP_CHARACTERS)
    key = mask_for_matching(normalise_for_matching(text))
    key = _PERSONAL_INTRO_RE.sub(" ", key)
    key = _BOILERPLATE_RE.sub(" ", key)
    key = _NOT_WORD.sub("", key)
    return "".join(ch for ch in key if ch not in STOP_CHARACTERS)


def shingles(text: object, sizes: Sequence[int] = SHINGLE_SIZES) -> frozenset[str]:
    """Character n-grams of the matching key.  A key shorter than the smallest
    size contributes itself, so very short texts still compare."""
    key = matching_key(text)
    out: set[str] = set()
    for n in sizes:
        out.update(key[i:i + n] for i in range(len(key) - n + 1))
    if not out and key:
        out.add(key)
    return frozenset(out)


def places(text: object, gazetteer: Sequence[str] = DEFAULT_GAZETTEER) -> frozenset[str]:
    """Place names mentioned (玄滩镇, 人民路...), from the normalised text:
    names of the gazetteer (with or without their suffix) plus names found by
    the suffix heuristic.

    The heuristic is tuned to precision: a missed name only loses the place
    check, a wrong name could split true duplicates.
    """
    key = normalise_for_matching(text)
    key = mask_for_matching(key) if _MASKING["on"] else key
    found = set()
    gaz_key = tuple(gazetteer)
    if gaz_key not in _GAZETTEER_CACHE:
        _GAZETTEER_CACHE[gaz_key] = _gazetteer_patterns(gaz_key)
    for surface, canonical in _GAZETTEER_CACHE[gaz_key]:
        if surface in key:
            found.add(canonical)
    for m in _PLACE_RE.finditer(key):
        prefix, suffix = m.group(1), m.group(2)
        name = prefix + suffix
        if name in _GENERIC_PLACES or prefix[-1] + suffix in _GENERIC_PLACES or any(ch in _NOT_IN_NAMES for ch in prefix):
            continue
        after = key[m.start() + len(name): m.start() + len(name) + 1]
        if suffix in ("路", "街") and after in _NOT_ROAD_NAME_AFTER:
            continue
        found.add(name)
    return frozenset(found)


def _combine(inter: float, size_a: int, size_b: int) -> float:
    if size_a == 0 or size_b == 0:
        return 0.0
    union = size_a + size_b - inter
    jaccard = inter / union if union > 0 else 0.0
    overlap = inter / min(size_a, size_b)
    return max(0.0, min(1.0, 0.5 * (jaccard + overlap)))


def _place_kind(name: str) -> str:
    return _PLACE_KIND["街道"] if name.endswith("街道") else _PLACE_KIND.get(name[-1], "other")


def places_conflict(places_a: Iterable[str], places_b: Iterable[str]) -> bool:
    """True when both name a place of the same kind (town, community,
    street) and share no place at all: "玄滩镇…" vs "云锦镇…".  Different
    kinds do not conflict ("嘉明镇老街" is also "嘉明老街")."""
    pa, pb = set(places_a), set(places_b)
    if not pa or not pb or pa & pb:
        return False
    kinds_a = {_place_kind(p) for p in pa}
    kinds_b = {_place_kind(p) for p in pb}
    return bool(kinds_a & kinds_b)


def _place_factor(places_a: Iterable[str], places_b: Iterable[str]) -> float:
    return PLACE_CONFLICT_FACTOR if places_conflict(places_a, places_b) else 1.0


def similarity(a: object, b: object, *, gazetteer: Sequence[str] = DEFAULT_GAZETTEER) -> float:
    """Exact similarity in [0, 1] of two submissions (see module docstring)."""
    sa, sb = shingles(a), shingles(b)
    inter = len(sa & sb)
    factor = _place_factor(places(a, gazetteer), places(b, gazetteer))
    return round(_combine(inter, len(sa), len(sb)) * factor, 6)


# --------------------------------------------------------------------------- #
# Signatures
# --------------------------------------------------------------------------- #

@functools.lru_cache(maxsize=1)
def _permutations() -> np.ndarray:
    # datasketch draws the permutations from RandomState(seed) on every
    # MinHash() call; computing them once makes signing ~10x cheaper.
    return MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME).permutations


def _minhash(shingle_set: Iterable[str]) -> MinHash:
    mh = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME, permutations=_permutations())
    # Sorted for reproducibility of the (order-independent) result's
    # computation; MinHash is a min over the set anyway.
    mh.update_batch([s.encode("utf-8") for s in sorted(shingle_set)])
    return mh


_MAGIC = b"XSMH"


@dataclass(frozen=True, slots=True)
class TopicSignature:
    """What the service stores per topic: MinHash values, shingle count, places.

    ``to_bytes``/``from_bytes`` give a compact binary form (~530 bytes) for a
    BYTEA/BLOB column; ``to_json``/``from_json`` a JSON-safe dict.
    """

    hashvalues: tuple[int, ...]
    size: int
    places: tuple[str, ...] = ()
    version: int = SIGNATURE_VERSION

    def to_bytes(self) -> bytes:
        place_blob = "\x1f".join(self.places).encode("utf-8")
        header = struct.pack("<4sHHII", _MAGIC, self.version, len(self.hashvalues), self.size, len(place_blob))
        values = np.asarray(self.hashvalues, dtype="<u4").tobytes()
        return header + values + place_blob

    @classmethod
    def from_bytes(cls, data: bytes) -> TopicSignature:
        try:
            magic, version, n, size, plen = struct.unpack_from("<4sHHII", data)
        except struct.error as exc:
            raise ValueError("not a topic signature: too short") from exc
        if magic != _MAGIC:
            raise ValueError("not a topic signature")
        if version != SIGNATURE_VERSION:
            raise ValueError(f"signature version {version}, expected {SIGNATURE_VERSION}: rebuild from texts")
        offset = struct.calcsize("<4sHHII")
        values = np.frombuffer(data, dtype="<u4", count=n, offset=offset)
        blob = data[offset + 4 * n: offset + 4 * n + plen].decode("utf-8")
        return cls(tuple(int(v) for v in values), size, tuple(blob.split("\x1f")) if blob else (), version)

    def to_json(self) -> dict:
        return {
            "version": self.version,
            "size": self.size,
            "places": list(self.places),
            "minhash": base64.b64encode(np.asarray(self.hashvalues, dtype="<u4").tobytes()).decode("ascii"),
        }

    @classmethod
    def from_json(cls, obj: dict) -> TopicSignature:
        if obj.get("version") != SIGNATURE_VERSION:
            raise ValueError(f"signature version {obj.get('version')}, expected {SIGNATURE_VERSION}: rebuild from texts")
        values = np.frombuffer(base64.b64decode(obj["minhash"]), dtype="<u4")
        return cls(tuple(int(v) for v in values), int(obj["size"]), tuple(obj.get("places", ())), SIGNATURE_VERSION)


def _signature_from_shingles(shingle_set: frozenset[str], place_set: Iterable[str]) -> TopicSignature:
    values = _minhash(shingle_set).hashvalues if shingle_set else np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint32)
    return TopicSignature(tuple(int(v) for v in values), len(shingle_set), tuple(sorted(place_set)))


def signature(text: object, *, gazetteer: Sequence[str] = DEFAULT_GAZETTEER) -> TopicSignature:
    """The MinHash signature of a submission's matching key."""
    return _signature_from_shingles(shingles(text), places(text, gazetteer))


def _estimate(jaccard: float, size_a: int, size_b: int) -> float:
    # |A∩B| = J·|A∪B| and |A∪B| = |A| + |B| - |A∩B|  =>  |A∩B| = J(|A|+|B|)/(1+J)
    inter = jaccard * (size_a + size_b) / (1.0 + jaccard)
    return _combine(min(inter, size_a, size_b), size_a, size_b)


def signature_similarity(a: TopicSignature, b: TopicSignature) -> float:
    """Similarity estimated from two stored signatures (no texts needed)."""
    if a.size == 0 or b.size == 0:
        return 0.0
    jac = float(np.mean(np.asarray(a.hashvalues) == np.asarray(b.hashvalues)))
    return round(_estimate(jac, a.size, b.size) * _place_factor(a.places, b.places), 6)


# --------------------------------------------------------------------------- #
# Index
# --------------------------------------------------------------------------- #

@dataclass(frozen=True, slots=True, order=True)
class DuplicateMatch:
    similarity: float
    topic_id: Hashable = field(compare=False)

    def as_tuple(self) -> tuple[Hashable, float]:
        return (self.topic_id, self.similarity)


class DuplicateIndex:
    """In-memory index of topics for near-duplicate queries.

    The county has thousands of topics, not millions: a query compares the
    new signature with all stored ones in one numpy operation (about a
    millisecond per 10,000 topics, see bench/duplicates_benchmark.py).  Unlike
    LSH banding this cannot miss a candidate, which matters at the low
    similarity threshold paraphrases need.  Candidates are then confirmed with
    the exact similarity where the texts' shingles are known.

    ``add(topic_id, text)`` keeps the shingles for exact confirmation;
    ``add_signature(topic_id, sig)`` rebuilds from stored signatures only
    (the MinHash estimate is used for those).  Not thread-safe: the service
    owns one index per process and serialises writes.
    """

    _INITIAL_CAPACITY = 256

    def __init__(self, threshold: float = DEFAULT_THRESHOLD, *, gazetteer: Sequence[str] = DEFAULT_GAZETTEER) -> None:
        self.threshold = threshold
        self.gazetteer = tuple(gazetteer)
        self._pos: dict[Hashable, int] = {}
        self._rows: list[tuple[Hashable, TopicSignature, frozenset[str] | None] | None] = []
        # Row-aligned arrays, grown by doubling so that an add does not copy
        # the whole index.  A removed row keeps its slot with size 0.
        self._hashes = np.zeros((self._INITIAL_CAPACITY, NUM_PERM), dtype=np.uint32)
        self._sizes = np.zeros(self._INITIAL_CAPACITY, dtype=np.float64)

    def __len__(self) -> int:
        return len(self._pos)

    def __contains__(self, topic_id: Hashable) -> bool:
        return topic_id in self._pos

    def topic_ids(self) -> list[Hashable]:
        """Indexed topic ids in insertion order."""
        return [row[0] for row in self._rows if row is not None]

    def signature_of(self, topic_id: Hashable) -> TopicSignature:
        row = self._rows[self._pos[topic_id]]
        assert row is not None
        return row[1]

    def add(self, topic_id: Hashable, text: object) -> TopicSignature:
        """Index ``text`` under ``topic_id`` (replacing an earlier entry) and
        return its signature for the caller to store with the topic."""
        sh = shingles(text)
        sig = _signature_from_shingles(sh, places(text, self.gazetteer))
        self._put(topic_id, sig, sh)
        return sig

    def add_signature(self, topic_id: Hashable, sig: TopicSignature) -> None:
        """Index a stored signature (rebuilding the index at service start)."""
        self._put(topic_id, sig, None)

    def remove(self, topic_id: Hashable) -> None:
        """Forget a topic (e.g. merged into another).  Unknown ids are ignored."""
        idx = self._pos.pop(topic_id, None)
        if idx is None:
            return
        self._rows[idx] = None
        self._sizes[idx] = 0.0
        if len(self._rows) >= 64 and len(self._pos) < len(self._rows) // 2:
            self._compact()

    def _put(self, topic_id: Hashable, sig: TopicSignature, sh: frozenset[str] | None) -> None:
        if len(sig.hashvalues) != NUM_PERM:
            raise ValueError(f"signature has {len(sig.hashvalues)} values, expected {NUM_PERM}")
        if topic_id in self._pos:
            self.remove(topic_id)
        n = len(self._rows)
        if n == len(self._sizes):
            self._hashes = np.concatenate([self._hashes, np.zeros_like(self._hashes)])
            self._sizes = np.concatenate([self._sizes, np.zeros_like(self._sizes)])
        self._hashes[n] = np.asarray(sig.hashvalues, dtype=np.uint32)
        self._sizes[n] = float(sig.size)
        self._rows.append((topic_id, sig, sh))
        self._pos[topic_id] = n

    def _compact(self) -> None:
        live = [i for i, row in enumerate(self._rows) if row is not None]
        capacity = max(self._INITIAL_CAPACITY, 2 * len(live))
        hashes = np.zeros((capacity, NUM_PERM), dtype=np.uint32)
        sizes = np.zeros(capacity, dtype=np.float64)
        hashes[: len(live)] = self._hashes[live]
        sizes[: len(live)] = self._sizes[live]
        self._hashes, self._sizes = hashes, sizes
        self._rows = [self._rows[i] for i in live]
        self._pos = {row[0]: i for i, row in enumerate(self._rows) if row is not None}

    def query(self, text: object, *, threshold: float | None = None, limit: int | None = None) -> list[tuple[Hashable, float]]:
        """Topics similar to ``text`` at or above the threshold, most similar
        first (ties in insertion order), as ``(topic_id, similarity)``."""
        return [m.as_tuple() for m in self.matches(text, threshold=threshold, limit=limit)]

    def matches(self, text: object, *, threshold: float | None = None, limit: int | None = None) -> list[DuplicateMatch]:
        """Like :meth:`query`, as :class:`DuplicateMatch` objects."""
        thr = self.threshold if threshold is None else threshold
        sh = shingles(text)
        n = len(self._rows)
        if not sh or not self._pos:
            return []
        pl = places(text, self.gazetteer)
        sig = _signature_from_shingles(sh, pl)
        size = float(len(sh))
        est_j = (self._hashes[:n] == np.asarray(sig.hashvalues, dtype=np.uint32)).mean(axis=1)
        sizes = self._sizes[:n]
        smaller = np.maximum(1.0, np.minimum(sizes, size))
        inter = np.minimum(est_j * (sizes + size) / (1.0 + est_j), smaller)
        estimate = np.where(sizes > 0, 0.5 * (est_j + inter / smaller), 0.0)
        # Margin for MinHash error (std ~0.03 around these values at 128
        # permutations, so 0.08 is over 2.5 std); survivors are confirmed
        # exactly where the shingles are known.
        candidates = np.nonzero(estimate >= thr - 0.08)[0]
        found: list[tuple[float, int, Hashable]] = []
        for i in candidates:
            row = self._rows[int(i)]
            if row is None:
                continue
            topic_id, stored, other = row
            base = _combine(len(sh & other), len(sh), len(other)) if other is not None else float(estimate[i])
            if base < thr:  # the place factor only lowers a score
                continue
            score = round(base * _place_factor(pl, stored.places), 6)
            if score >= thr:
                found.append((-score, int(i), topic_id))
        found.sort(key=lambda f: (f[0], f[1]))
        if limit is not None:
            found = found[:limit]
        return [DuplicateMatch(-neg, tid) for neg, _i, tid in found]


# --------------------------------------------------------------------------- #
# Evaluation on labelled pairs
# --------------------------------------------------------------------------- #

@dataclass(frozen=True, slots=True)
class Evaluation:
    threshold: float
    true_positives: int
    false_positives: int
    false_negatives: int
    true_negatives: int

    @property
    def precision(self) -> float:
        d = self.true_positives + self.false_positives
        return self.true_positives / d if d else 1.0

    @property
    def recall(self) -> float:
        d = self.true_positives + self.false_negatives
        return self.true_positives / d if d else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def load_pairs(path: str | Path) -> list[dict]:
    with Path(path).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def score_pairs(pairs: Sequence[dict], *, use_signatures: bool = False) -> list[float]:
    if use_signatures:
        return [signature_similarity(signature(p["a"]), signature(p["b"])) for p in pairs]
    return [similarity(p["a"], p["b"]) for p in pairs]


def evaluate_pairs(pairs: Sequence[dict], threshold: float, scores: Sequence[float] | None = None) -> Evaluation:
    scores = score_pairs(pairs) if scores is None else scores
    tp = fp = fn = tn = 0
    for p, s in zip(pairs, scores, strict=True):
        predicted = s >= threshold
        if p["label"] and predicted:
            tp += 1
        elif p["label"]:
            fn += 1
        elif predicted:
            fp += 1
        else:
            tn += 1
    return Evaluation(threshold, tp, fp, fn, tn)


def all_pairs(pairs: Sequence[dict]) -> tuple[list[str], list[str]]:
    """Every distinct text of a labelled set with its concern id, for the
    all-pairs evaluation: each text against every other text, as an index
    query sees it (mostly unrelated topics, unlike the balanced pair set)."""
    concern_of: dict[str, str] = {}
    for p in pairs:
        if "concern_a" in p:
            concern_of.setdefault(p["a"], p["concern_a"])
            concern_of.setdefault(p["b"], p["concern_b"])
    texts = list(concern_of)
    return texts, [concern_of[t] for t in texts]


def evaluate_all_pairs(texts: Sequence[str], concerns: Sequence[str], thresholds: Sequence[float]) -> list[Evaluation]:
    sh = [shingles(t) for t in texts]
    pl = [places(t) for t in texts]
    scores: list[tuple[float, bool]] = []
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            base = _combine(len(sh[i] & sh[j]), len(sh[i]), len(sh[j]))
            scores.append((base * _place_factor(pl[i], pl[j]), concerns[i] == concerns[j]))
    out = []
    for t in thresholds:
        tp = sum(1 for s, same in scores if same and s >= t)
        fp = sum(1 for s, same in scores if not same and s >= t)
        fn = sum(1 for s, same in scores if same and s < t)
        out.append(Evaluation(t, tp, fp, fn, len(scores) - tp - fp - fn))
    return out


def _main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Near-duplicate detection of topics (议题)")
    parser.add_argument("--evaluate", metavar="PAIRS_JSONL", help="precision/recall on labelled pairs")
    parser.add_argument("--signatures", action="store_true", help="evaluate the MinHash estimate instead of exact similarity")
    parser.add_argument("--errors", action="store_true", help="list misclassified pairs at the default threshold")
    parser.add_argument("--compare-unmasked", action="store_true",
                        help="first the figures without masking personal data (the matching key before), then with")
    parser.add_argument("a", nargs="?", help="text A (prints similarity(A, B))")
    parser.add_argument("b", nargs="?", help="text B")
    args = parser.parse_args(argv)
    if args.evaluate and args.compare_unmasked:
        pairs = load_pairs(args.evaluate)
        print(f"{len(pairs)} pairs ({sum(1 for p in pairs if p['label'])} duplicates); threshold {DEFAULT_THRESHOLD}")
        print("| matching key | precision | recall | F1 | TP | FP | FN | TN | wrong per kind |")
        print("|---|---|---|---|---|---|---|---|---|")
        for masked in (False, True):
            _MASKING["on"] = masked
            scores = score_pairs(pairs)
            e = evaluate_pairs(pairs, DEFAULT_THRESHOLD, scores)
            wrong: dict[str, int] = {}
            for p, s in zip(pairs, scores, strict=True):
                if (s >= DEFAULT_THRESHOLD) != bool(p["label"]):
                    wrong[p.get("kind", "?")] = wrong.get(p.get("kind", "?"), 0) + 1
            name = "personal data masked, no digits" if masked else "before (unmasked)"
            print(f"| {name} | {e.precision:.3f} | {e.recall:.3f} | {e.f1:.3f} | {e.true_positives} | {e.false_positives} "
                  f"| {e.false_negatives} | {e.true_negatives} | {', '.join(f'{k} {v}' for k, v in sorted(wrong.items())) or '-'} |")
        _MASKING["on"] = True
        return 0
    if args.evaluate:
        pairs = load_pairs(args.evaluate)
        scores = score_pairs(pairs, use_signatures=args.signatures)
        n_pos = sum(1 for p in pairs if p["label"])
        print(f"{len(pairs)} pairs ({n_pos} duplicates, {len(pairs) - n_pos} not); "
              f"{'MinHash estimate' if args.signatures else 'exact similarity'}")
        thresholds = [x / 100 for x in range(10, 45, 2)]
        texts, concerns = all_pairs(pairs)
        wide = evaluate_all_pairs(texts, concerns, thresholds) if texts and not args.signatures else []
        if wide:
            print(f"all-pairs: {len(texts)} distinct texts, {wide[0].true_positives + wide[0].false_negatives} "
                  f"same-concern pairs among {len(texts) * (len(texts) - 1) // 2}")
        print("| threshold | precision | recall | F1 |" + (" all-pairs P | all-pairs R | all-pairs F1 |" if wide else ""))
        print("|---|---|---|---|" + ("---|---|---|" if wide else ""))
        for k, t in enumerate(thresholds):
            e = evaluate_pairs(pairs, t, scores)
            mark = " **(default)**" if abs(t - DEFAULT_THRESHOLD) < 1e-9 else ""
            row = f"| {t:.2f}{mark} | {e.precision:.3f} | {e.recall:.3f} | {e.f1:.3f} |"
            if wide:
                w = wide[k]
                row += f" {w.precision:.3f} | {w.recall:.3f} | {w.f1:.3f} |"
            print(row)
        e = evaluate_pairs(pairs, DEFAULT_THRESHOLD, scores)
        print(f"\nthreshold {DEFAULT_THRESHOLD}: precision {e.precision:.3f}, recall {e.recall:.3f}, F1 {e.f1:.3f} "
              f"(TP {e.true_positives}, FP {e.false_positives}, FN {e.false_negatives}, TN {e.true_negatives})")
        kinds: dict[str, list[int]] = {}
        for p, s in zip(pairs, scores, strict=True):
            ok = (s >= DEFAULT_THRESHOLD) == bool(p["label"])
            kinds.setdefault(p.get("kind", "?"), [0, 0])[0 if ok else 1] += 1
        print("per kind (correct / wrong): " + ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in sorted(kinds.items())))
        if args.errors:
            for p, s in zip(pairs, scores, strict=True):
                if (s >= DEFAULT_THRESHOLD) != bool(p["label"]):
                    print(f"{s:.3f} label={p['label']} {p.get('kind')}: {p['a']} || {p['b']}")
        return 0
    if args.a is not None and args.b is not None:
        print(similarity(args.a, args.b))
        return 0
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(_main())
