"""Text normalisation and garbled-text detection shared by the services.

Public submissions (网上征集) arrive dirty: Traditional and Simplified characters
mixed, full-width and doubled punctuation, invisible characters pasted from
chat apps, and mojibake (乱码) from bad encoding conversions.  This module keeps
two strictly separate notions:

* :func:`clean_for_storage` — what we store.  It only removes control characters
  (keeping newline and tab) and trims; the submitter's wording, script and
  punctuation are preserved verbatim.
* :func:`normalise_for_matching` — a lossy *matching key* used for screening and
  near-duplicate detection.  Callers always keep the original text next to it.

Canonical form chosen for matching (documented in docs/intake.md):

1. Unicode NFKC (full-width ASCII -> ASCII, compatibility ideographs -> unified).
2. Control (Cc), format (Cf: zero-width space/joiner, BOM, bidi marks) and
   variation-selector characters removed; tab/newline become spaces.
3. Traditional -> Simplified with OpenCC ``t2s``.
4. CJK punctuation mapped to its ASCII counterpart (``。``->``.``, ``、``->``,``,
   ``“”``->``"``, ``《》【】「」``->``<>[][]``...), so full-width and half-width
   spellings of the same mark compare equal.
5. A run of punctuation collapses to its first mark: ``！！！`` -> ``!``,
   ``，，`` -> ``,``, ``?!?!`` -> ``?``, ``……`` -> ``.``.
6. Lower case (casefold) for Latin letters.
7. Whitespace runs collapse to a single space; spaces between two CJK
   characters are dropped (Chinese does not use them, so ``幼 儿 园`` is noise).

Garbled-text detection (:func:`detect_garbled`) looks for the classic symptoms:
U+FFFD replacement characters, ``锟斤拷``/``烫烫烫``, UTF-8 read as Latin-1/cp1252
(``ä½ å¥½``), and UTF-8 read as GBK (``浣犲ソ``).  :func:`repair_mojibake` only
repairs when a strict byte round-trip succeeds, i.e. when the repair is certain.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field

import opencc

__all__ = [
    "ControlCharacter",
    "GarbledReport",
    "clean_for_storage",
    "control_characters_message",
    "detect_garbled",
    "ensure_no_control_characters",
    "find_control_characters",
    "garbled_score",
    "is_cjk",
    "looks_garbled",
    "normalise_for_matching",
    "repair_mojibake",
    "to_simplified",
]


# --------------------------------------------------------------------------- #
# Character classes
# --------------------------------------------------------------------------- #

def is_cjk(ch: str) -> bool:
    """True for a CJK unified ideograph (汉字), including extensions A-G."""
    cp = ord(ch)
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x3134F
        or 0xF900 <= cp <= 0xFAFF
    )


# Variation selectors are category Mn, not Cf, but are just as invisible and
# make otherwise identical strings compare unequal.
_VARIATION_SELECTORS = set(range(0xFE00, 0xFE10)) | set(range(0xE0100, 0xE01F0))


def _is_invisible(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat in ("Cc", "Cf") or ord(ch) in _VARIATION_SELECTORS


# CJK / full-width punctuation that NFKC leaves alone, mapped to the ASCII
# form that NFKC already produces for the full-width ASCII block.
_CJK_PUNCT_TO_ASCII = {
    "。": ".", "｡": ".", "、": ",", "､": ",", "·": ".", "・": ".",
    "“": '"', "”": '"', "„": '"', "‟": '"', "‘": "'", "’": "'", "‚": "'",
    "「": "[", "」": "]", "『": "[", "』": "]", "【": "[", "】": "]",
    "〖": "[", "〗": "]", "〔": "(", "〕": ")", "《": "<", "》": ">",
    "〈": "<", "〉": ">", "—": "-", "–": "-", "―": "-", "－": "-", "～": "~",
    "〜": "~", "…": ".", "‥": ".", "丨": "|", "｜": "|", "¦": "|",
}
_PUNCT_TRANSLATION = str.maketrans(_CJK_PUNCT_TO_ASCII)


def _is_punctuation(ch: str) -> bool:
    return unicodedata.category(ch)[0] in ("P", "S") and not ch.isalnum()


# Doubled punctuation: the same mark repeated (spaces between allowed) folds
# to one; "/" is left alone so "http://" survives.  A mixed run of sentence
# marks ("?!?!", ",.", "!!!...") folds to its first mark.  Applied after
# mapping CJK punctuation to ASCII, so "！！！" and "!!!" both give "!".
_SAME_MARK_RUN = re.compile(r"([!-.:-@\[-`{-~])(?:\s*\1)+")
_SENTENCE_MARK_RUN = re.compile(r"([!?.,;~])(?:\s*[!?.,;~])+")
_LINE_LIKE = frozenset("\t\n\r\x0b\x0c\x85\u2028\u2029")
_WHITESPACE_RUN = re.compile(r"\s+")
_SPACE_BETWEEN_CJK = re.compile(r"(?<=[\u3400-\u9fff\uf900-\ufaff]) (?=[\u3400-\u9fff\uf900-\ufaff])")


@functools.lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    # Construction loads dictionaries (~tens of ms); do it once per process.
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional -> Simplified Chinese (OpenCC ``t2s``); other text unchanged."""
    return _t2s().convert(text)


def _as_text(text: object) -> str:
    """Coerce odd input (None, bytes, numbers) to str without raising."""
    if text is None:
        return ""
    if isinstance(text, str):
        return text
    if isinstance(text, (bytes, bytearray)):
        return bytes(text).decode("utf-8", errors="replace")
    return str(text)


# --------------------------------------------------------------------------- #
# Normalisation
# --------------------------------------------------------------------------- #

def normalise_for_matching(text: object) -> str:
    """Return the canonical matching key of ``text`` (see module docstring).

    Idempotent: ``normalise_for_matching(normalise_for_matching(t)) ==
    normalise_for_matching(t)``.  Never raises on odd input.
    """
    s = unicodedata.normalize("NFKC", _as_text(text))
    # Line breaks and tabs are whitespace, every other invisible char is dropped.
    s = "".join(" " if ch in _LINE_LIKE else ch for ch in s if ch in _LINE_LIKE or not _is_invisible(ch))
    s = to_simplified(s)
    s = s.translate(_PUNCT_TRANSLATION)
    s = _SAME_MARK_RUN.sub(r"\1", s)
    s = _SENTENCE_MARK_RUN.sub(r"\1", s)
    s = s.casefold()
    s = _WHITESPACE_RUN.sub(" ", s).strip()
    s = _SPACE_BETWEEN_CJK.sub("", s)
    # NFKC once more: casefold can produce non-NFKC sequences (e.g. "ß" -> "ss"
    # is fine, but some letters expand), and we promise idempotence.
    return unicodedata.normalize("NFKC", s)


# --------------------------------------------------------------------------- #
# Storage cleaning and control-character validation
# --------------------------------------------------------------------------- #

_ALLOWED_IN_STORAGE = {"\n", "\t"}


def clean_for_storage(text: object) -> str:
    """Remove control characters (except newline and tab) and trim.

    Line endings ``\\r\\n`` and a lone ``\\r`` become ``\\n`` first, so removing
    the control character ``\\r`` never glues two lines together.  Nothing else
    is changed: script, punctuation and invisible format characters are kept
    because this is the text shown back to people.
    """
    s = _as_text(text).replace("\r\n", "\n").replace("\r", "\n")
    s = "".join(ch for ch in s if ch in _ALLOWED_IN_STORAGE or unicodedata.category(ch) != "Cc")
    return s.strip()


@dataclass(frozen=True, slots=True)
class ControlCharacter:
    """One offending character found by :func:`find_control_characters`."""

    index: int
    codepoint: str  # "U+0007"
    name: str       # "BELL" or "<control>"

    def __str__(self) -> str:
        return f"{self.codepoint} ({self.name}) at position {self.index}"


# Names for the C0/C1 controls, which unicodedata.name() does not know.
_CONTROL_NAMES = {
    0x00: "NULL", 0x07: "BELL", 0x08: "BACKSPACE", 0x09: "CHARACTER TABULATION",
    0x0A: "LINE FEED", 0x0B: "LINE TABULATION", 0x0C: "FORM FEED",
    0x0D: "CARRIAGE RETURN", 0x1B: "ESCAPE", 0x7F: "DELETE",
    0x85: "NEXT LINE",
}


def find_control_characters(
    text: object, *, allow_newlines: bool = True, include_invisible: bool = False
) -> list[ControlCharacter]:
    """List control characters in ``text`` for API validation.

    ``allow_newlines`` permits ``\\n``, ``\\r`` and ``\\t`` (multi-line fields such
    as a topic description).  ``include_invisible`` also reports format
    characters (zero-width space, bidi overrides, BOM), which single-line fields
    such as a submitter name or a title should not contain either.
    """
    s = _as_text(text)
    allowed = {"\n", "\r", "\t"} if allow_newlines else set()
    found: list[ControlCharacter] = []
    for i, ch in enumerate(s):
        if ch in allowed:
            continue
        cat = unicodedata.category(ch)
        if cat == "Cc" or (include_invisible and (cat == "Cf" or ord(ch) in _VARIATION_SELECTORS)):
            cp = ord(ch)
            name = _CONTROL_NAMES.get(cp) or unicodedata.name(ch, "<control>")
            found.append(ControlCharacter(index=i, codepoint=f"U+{cp:04X}", name=name))
    return found


def control_characters_message(found: list[ControlCharacter], *, field_name: str = "text", limit: int = 5) -> str:
    """Human-readable validation message (English + Chinese) for ``found``."""
    shown = ", ".join(str(c) for c in found[:limit])
    more = f" and {len(found) - limit} more" if len(found) > limit else ""
    return (
        f"{field_name} contains {len(found)} control character(s) that are not allowed: "
        f"{shown}{more}. 请删除不可见的控制字符后重新提交。"
    )


def ensure_no_control_characters(
    text: str, *, field_name: str = "text", allow_newlines: bool = True, include_invisible: bool = False
) -> str:
    """Return ``text`` unchanged or raise ``ValueError`` with a clear message.

    Meant to be called from a Pydantic ``field_validator`` (a ValueError there
    becomes a 422 response listing the offending code points).
    """
    found = find_control_characters(text, allow_newlines=allow_newlines, include_invisible=include_invisible)
    if found:
        raise ValueError(control_characters_message(found, field_name=field_name))
    return text


# --------------------------------------------------------------------------- #
# Garbled text (乱码)
# --------------------------------------------------------------------------- #

GARBLED_THRESHOLD = 0.5


@dataclass(frozen=True, slots=True)
class GarbledReport:
    """Outcome of :func:`detect_garbled`.

    ``reasons`` holds machine codes:
    ``replacement_character`` (U+FFFD), ``kunjinkao`` (锟斤拷/烫烫烫/屯屯屯),
    ``utf8_as_latin1`` (ä½ å¥½), ``utf8_as_gbk`` (浣犲ソ),
    ``rare_characters`` (a high share of rarely used Han characters or
    stray kana/Greek/box-drawing characters among Han text),
    ``question_marks`` (text mostly "?" — characters lost in a conversion).
    """

    score: float
    reasons: tuple[str, ...] = field(default_factory=tuple)
    repaired: str | None = None  # set when repair_mojibake would succeed

    @property
    def is_garbled(self) -> bool:
        return self.score >= GARBLED_THRESHOLD


_KUNJINKAO = re.compile(r"锟斤拷|烫烫烫|屯屯屯")

# Bytes 0x80-0xBF (UTF-8 continuation bytes) as Latin-1 or cp1252 would show them.
_CP1252_SPECIALS = {}
for _b in range(0x80, 0xA0):
    try:
        _CP1252_SPECIALS[bytes([_b]).decode("cp1252")] = _b
    except UnicodeDecodeError:
        pass
_CONT_CHARS = "".join(chr(b) for b in range(0x80, 0xC0)) + "".join(_CP1252_SPECIALS)
# A UTF-8 lead byte of a 2/3/4-byte sequence (0xC2-0xF4) shown as Latin-1,
# followed by at least one continuation byte.
_LATIN1_MOJIBAKE = re.compile("[\u00c2-\u00f4][" + re.escape(_CONT_CHARS) + "]{1,3}")


def _latin1_bytes(s: str) -> bytes | None:
    """Bytes that a Latin-1/cp1252 decoder would have turned into ``s``."""
    out = bytearray()
    for ch in s:
        cp = ord(ch)
        if cp < 0x100:
            out.append(cp)
        elif ch in _CP1252_SPECIALS:
            out.append(_CP1252_SPECIALS[ch])
        else:
            return None
    return bytes(out)


def _mostly_cjk(s: str) -> bool:
    letters = [ch for ch in s if not ch.isspace() and not _is_punctuation(ch)]
    return bool(letters) and sum(is_cjk(ch) for ch in letters) / len(letters) >= 0.5


def repair_mojibake(text: object) -> str | None:
    """Recover text that was UTF-8 but decoded as GBK or Latin-1/cp1252.

    Conservative: returns the repaired text only if the *whole* string
    round-trips strictly (no replacement, no ignored bytes), the result differs
    from the input, and the result is mostly Han characters.  Otherwise
    returns ``None`` and the caller keeps the original (and a moderator looks).
    Genuine GBK-encodable Chinese essentially never decodes as strict UTF-8,
    which is what makes the round-trip a reliable test.
    """
    s = _as_text(text)
    if not s or s.isascii():
        return None
    candidates: list[bytes] = []
    raw = _latin1_bytes(s)
    if raw is not None:
        candidates.append(raw)
    for codec in ("gbk", "gb18030"):
        try:
            candidates.append(s.encode(codec))
        except UnicodeEncodeError:
            continue
    for raw in candidates:
        try:
            fixed = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if fixed != s and _mostly_cjk(fixed) and "\ufffd" not in fixed:
            return fixed
    return None


def _gb2312_level(ch: str) -> int:
    """1 = GB2312 level-1 (3755 common 汉字), 2 = level-2, 3 = other/symbol."""
    try:
        b = ch.encode("gb2312")
    except UnicodeEncodeError:
        return 3
    if len(b) == 2 and 0xB0 <= b[0] <= 0xD7:
        return 1
    if len(b) == 2 and 0xD8 <= b[0] <= 0xF7:
        return 2
    return 3


def _is_stray_symbol(ch: str) -> bool:
    """Kana, Greek, Cyrillic, box drawing, pinyin letters or private use:
    what UTF-8 bytes turn into when decoded as GBK (rows A4-A9, AA-AF)."""
    cp = ord(ch)
    return (
        0x3040 <= cp <= 0x30FF      # kana
        or 0x0370 <= cp <= 0x04FF   # Greek, Cyrillic
        or 0x2500 <= cp <= 0x257F   # box drawing
        or 0x3100 <= cp <= 0x312F   # bopomofo
        or 0xE000 <= cp <= 0xF8FF   # private use (GBK user-defined rows)
        or 0x2460 <= cp <= 0x24FF   # circled numbers
        or 0x2160 <= cp <= 0x217F   # Roman numerals
    )


def detect_garbled(text: object) -> GarbledReport:
    """Score how likely ``text`` is mojibake (0 = clean, 1 = certainly garbled).

    Works on the raw text (before normalisation: NFKC would turn the U+00A0
    inside "ä½ å¥½" into a space and destroy the evidence).  Never raises.
    """
    s = _as_text(text)
    visible = [ch for ch in s if not ch.isspace()]
    if not visible:
        return GarbledReport(score=0.0)
    n = len(visible)
    signals: dict[str, float] = {}

    fffd = s.count("\ufffd")
    if fffd:
        # One stray U+FFFD in a long text is suspicious, several are conclusive.
        signals["replacement_character"] = min(1.0, 0.45 + 0.15 * fffd + fffd / n)

    kjk = len(_KUNJINKAO.findall(s))
    if kjk:
        signals["kunjinkao"] = min(1.0, 0.6 + 0.2 * kjk)

    latin_hits = _LATIN1_MOJIBAKE.findall(s)
    if latin_hits:
        covered = sum(len(h) for h in latin_hits)
        signals["utf8_as_latin1"] = min(1.0, 0.3 + 0.25 * len(latin_hits) + covered / n)

    repaired = repair_mojibake(s)
    if repaired is not None:
        code = "utf8_as_latin1" if _latin1_bytes(s) is not None else "utf8_as_gbk"
        signals[code] = 1.0

    han = [ch for ch in visible if is_cjk(ch)]
    if len(han) >= 4:
        # Traditional characters are not in GB2312 but are not garbage either:
        # measure rarity after converting to Simplified.
        simplified = [c for c in to_simplified("".join(han)) if is_cjk(c)]
        levels = [_gb2312_level(c) for c in simplified]
        strays = [ch for ch in visible if _is_stray_symbol(ch)]
        # Level-2 characters are real, just less common (泸, 濑, 鹦): half
        # weight.  Characters outside GB2312 even after t2s, and stray kana
        # or box drawing, are what UTF-8 read as GBK produces: full weight.
        rare = sum(0.5 if lv == 2 else 1.0 for lv in levels if lv != 1) + len(strays)
        distinct = len({c for c, lv in zip(simplified, levels, strict=True) if lv != 1} | set(strays))
        rare_share = rare / (len(simplified) + len(strays))
        # Real county text: ~0-10 % by this measure; UTF-8 read as GBK: 50 %
        # or more.  Three distinct characters at least, so that a short
        # "泸州泸县" is not garbage.
        if distinct >= 3 and (rare_share >= 0.3 or (len(strays) >= 2 and rare_share >= 0.2)):
            signals["rare_characters"] = min(1.0, (rare_share - 0.15) * 2.5 + 0.1 * min(len(strays), 3))

    qmarks = s.count("?")
    if n >= 4 and qmarks / n >= 0.5:
        signals["question_marks"] = min(1.0, qmarks / n)

    # Noisy-OR: independent pieces of evidence reinforce each other.
    keep = 1.0
    for value in signals.values():
        keep *= 1.0 - max(0.0, min(1.0, value))
    score = round(1.0 - keep, 4)
    reasons = tuple(sorted(signals, key=lambda k: (-signals[k], k)))
    return GarbledReport(score=score, reasons=reasons, repaired=repaired)


def garbled_score(text: object) -> float:
    """Probability-like score in [0, 1] that ``text`` is mojibake."""
    return detect_garbled(text).score


def looks_garbled(text: object) -> tuple[bool, tuple[str, ...]]:
    """``(is_garbled, reason_codes)`` — see :class:`GarbledReport`."""
    report = detect_garbled(text)
    return report.is_garbled, report.reasons
