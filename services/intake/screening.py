"""Spam screening of public submissions (网上征集) before they become topics (议题).

The rule from the domain: spam goes to a moderation queue, it is *never*
silently dropped.  So this module only scores; it never raises on odd input
and never decides to delete.  The caller routes ``verdict == "moderate"`` to the
moderation queue and ``"accept"`` onwards to normalisation and duplicate merging.

Signals (each a :class:`ScreeningReason` with a machine ``code``):

==================== ========================================================
code                 what it catches
==================== ========================================================
keyword_list         pasted search-engine lines: many short ``|``-separated
                     keywords ("澳门赌场|百家乐|真人荷官|...")
gambling_terms       gambling advertising (百家乐, 真人荷官, 开户送彩金, casino...)
adult_terms          adult advertising (约炮, 裸聊, 援交, porn...)
link_density         several links / domains, or a single non-government link
                     together with other signals
contact_advert       QQ / WeChat ids offered for contact (加微信 xxx, QQ:123...)
repeated_characters  "顶顶顶顶顶顶", "啊啊啊啊啊啊啊", a phrase repeated many times
garbled              mojibake (乱码); see services.common.text.detect_garbled
empty                nothing readable to consider
==================== ========================================================

Scores combine by noisy-OR (``1 - prod(1 - w_i)``), so two weak signals add up
while one weak signal alone (a single link, the word 赌博 in a complaint about
gambling) does not reach the moderation threshold.

Also here: :class:`FloodWindow`, the pure rate logic for "the same submitter or
client address sent too many submissions too fast".  Storage of timestamps is
the caller's.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from services.common.redact import mask_for_matching, scrub_personal_data
from services.common.text import detect_garbled, is_cjk, normalise_for_matching, repair_mojibake

__all__ = [
    "ADULT_TERMS",
    "DEFAULT_LIMITS",
    "GAMBLING_TERMS",
    "MODERATION_THRESHOLD",
    "FloodDecision",
    "FloodWindow",
    "RateLimit",
    "ScreeningReason",
    "ScreeningResult",
    "screen_submission",
]

Verdict = Literal["accept", "moderate"]

# At or above this score a submission goes to the moderation queue.
MODERATION_THRESHOLD = 0.5


@dataclass(frozen=True, slots=True)
class ScreeningReason:
    """One piece of evidence.  ``weight`` is its contribution in [0, 1]."""

    code: str
    weight: float
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ScreeningResult:
    verdict: Verdict
    spam_score: float
    reasons: tuple[ScreeningReason, ...] = field(default_factory=tuple)
    # When text/title is mojibake that a strict byte round-trip recovers, the
    # recovered version, for the moderator to confirm (never applied silently).
    repaired_text: str | None = None
    repaired_title: str | None = None

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.reasons)


# --------------------------------------------------------------------------- #
# Curated term lists.  Matched against the normalised (Simplified, lower-case)
# text.  Weights: advertising vocabulary that a resident raising a concern
# would not use scores high; words that a genuine complaint *about* gambling
# or pornography would use (赌博, 色情) score low, so they only count together
# with other signals (links, contact ids, keyword lists).
# --------------------------------------------------------------------------- #

GAMBLING_TERMS: dict[str, float] = {
    # strong: advertising vocabulary
    "百家乐": 0.6, "真人荷官": 0.6, "彩金": 0.5, "开户送": 0.6, "注册送": 0.5,
    "首存": 0.5, "返水": 0.5, "娱乐城": 0.6, "澳门葡京": 0.6, "葡京": 0.4,
    "威尼斯人": 0.35, "太阳城": 0.4, "皇冠体育": 0.6, "时时彩": 0.6, "六合彩": 0.4,
    "北京赛车": 0.5, "pk10": 0.5, "老虎机": 0.45, "电子游艺": 0.45, "牛牛": 0.35,
    "炸金花": 0.45, "棋牌游戏": 0.3, "在线赌场": 0.6, "网上赌场": 0.6, "澳门赌场": 0.5,
    "赌场": 0.3, "网投": 0.4, "博彩": 0.3, "彩票平台": 0.4, "稳赚": 0.4, "包赢": 0.5,
    "日赚": 0.35, "下注": 0.3, "投注": 0.3, "casino": 0.6, "baccarat": 0.6,
    "bet365": 0.6, "betting": 0.4, "slots": 0.4, "jackpot": 0.4,
    # weak: also used by residents complaining about gambling
    "赌博": 0.15, "赌钱": 0.15, "彩票": 0.1,
}

ADULT_TERMS: dict[str, float] = {
    "约炮": 0.6, "裸聊": 0.6, "援交": 0.6, "一夜情": 0.5, "楼凤": 0.6,
    "成人视频": 0.6, "成人电影": 0.5, "黄色网站": 0.35, "激情视频": 0.6, "无码": 0.5,
    "av女优": 0.6, "同城交友": 0.4, "同城约": 0.5, "小姐服务": 0.5, "特殊服务": 0.3,
    "上门按摩": 0.4, "丝袜美女": 0.5, "美女主播": 0.3, "福利视频": 0.5,
    "porn": 0.6, "escort": 0.5, "sex": 0.35, "viagra": 0.5, "伟哥": 0.45,
    "春药": 0.5, "催情": 0.5,
    # weak: a complaint about illegal venues uses these words too
    "色情": 0.15, "卖淫": 0.15, "嫖娼": 0.15,
}

# Generic advertising that often accompanies the above (代开发票, 刷单...).
_ADVERT_TERMS: dict[str, float] = {
    "代开发票": 0.5, "刷单": 0.4, "兼职日结": 0.4, "贷款秒批": 0.5, "无抵押贷款": 0.4,
    "私家侦探": 0.4, "代孕": 0.5, "seo优化": 0.4, "快速排名": 0.4,
    "蜘蛛池": 0.6, "外链": 0.3,
    # call-to-action phrases; weak alone ("请派人了解详情" is genuine)
    "详询": 0.3, "私聊": 0.3, "了解详情": 0.2, "日结": 0.3, "兼职": 0.15, "咨询热线": 0.15,
}


def _term_hits(key: str, terms: dict[str, float]) -> list[tuple[str, float]]:
    # Chinese terms match across the spaces and marks spammers insert to dodge
    # filters ("百 家 乐", "百-家-乐"); Latin terms need word boundaries, or
    # "this example" would contain "sex".
    spaceless = "".join(ch for ch in key if ch.isalnum())
    hits = []
    for term, weight in terms.items():
        if term.isascii():
            if re.search(r"(?<![a-z])" + re.escape(term) + r"(?![a-z])", key):
                hits.append((term, weight))
        elif term in spaceless:
            hits.append((term, weight))
    return hits


def _combine(weights: Iterable[float]) -> float:
    keep = 1.0
    for w in weights:
        keep *= 1.0 - max(0.0, min(1.0, w))
    return 1.0 - keep


# --------------------------------------------------------------------------- #
# Links and contact ids
# --------------------------------------------------------------------------- #

_TLDS = (
    "com|cn|net|org|vip|cc|xyz|top|info|biz|me|tv|io|co|club|site|online|shop|app|"
    "live|fun|win|bet|pw|ws|la|hk|tw|asia|ink|red|ltd|work|icu|link|click|mobi"
)
_URL = re.compile(
    r"(?:https?://|www\.)[^\s\"'<>|，。]+"
    r"|(?<![a-z0-9@._-])[a-z0-9][a-z0-9-]{0,62}(?:\.[a-z0-9-]{1,63})*\.(?:" + _TLDS + r")\b(?:/[^\s\"'<>|，。]*)?",
    re.IGNORECASE,
)
_GOV_DOMAIN = re.compile(r"\.gov\.cn\b|\.gov\b|(?:^|[/.])(?:gov|people|xinhuanet|news)\.cn\b", re.IGNORECASE)

# "QQ:12345678", "扣扣 12345678", "加q 1234567", "q群", "vx: abc123", "微信号 abc_123"
_QQ = re.compile(r"(?:qq|扣扣|企鹅|加q|q群|君羊)\s*(?:号|群)?\s*[:：]?\s*\d{5,11}", re.IGNORECASE)
_WECHAT = re.compile(
    r"(?:微信|薇信|威信|徽信|v信|vx|wx|weixin|wechat|加v|加微|＋v|\+v)\s*(?:号)?\s*[:：]?\s*[a-z][a-z0-9_-]{4,19}"
    r"|(?:微信|薇信|威信|vx|wx|加v|加微)\s*(?:号)?\s*[:：]?\s*1[3-9]\d{9}",
    re.IGNORECASE,
)


def _links(raw: str) -> list[str]:
    return [m.group(0) for m in _URL.finditer(raw)]


# --------------------------------------------------------------------------- #
# Keyword lists and repetition
# --------------------------------------------------------------------------- #

_ENFORCEMENT = re.compile(r"打击|整治|举报|查处|取缔|治理|严查|严厉|监管|禁止|净化|扫黄|公安|派出所|执法")

_LIST_SEPARATORS = re.compile(r"[|｜丨¦]")
_REPEATED_PHRASE = re.compile(r"(.{2,8}?)\1{3,}")


def _keyword_list_reason(key: str) -> ScreeningReason | None:
    seps = len(_LIST_SEPARATORS.findall(key))
    if seps < 3:
        return None
    parts = [p.strip() for p in _LIST_SEPARATORS.split(key) if p.strip()]
    if not parts:
        return None
    avg = sum(len(p) for p in parts) / len(parts)
    # Search-engine spam: many short keyword items.  A genuine submission may
    # use "|" once or twice as a divider, with sentence-length pieces.
    if avg > 16:
        return None
    weight = min(0.95, 0.35 + 0.08 * seps)
    return ScreeningReason("keyword_list", round(weight, 3), f"{seps} separators, {len(parts)} items")


def _repetition_reason(key: str) -> ScreeningReason | None:
    best_run, best_char = 0, ""
    run, prev = 0, ""
    for ch in key:
        run = run + 1 if ch == prev else 1
        prev = ch
        # Punctuation runs are noise (folded by normalisation anyway); digits
        # repeat legitimately in amounts ("1000000元"), so need a longer run.
        if ch.isspace() or unicodedata.category(ch)[0] in ("P", "S"):
            continue
        needed = 10 if ch.isdigit() else 5
        if run >= needed and run > best_run:
            best_run, best_char = run, ch
    if best_run:
        # "哈哈哈哈哈" inside a long complaint is emotion; a text that is mostly
        # one character is a flood.  Weight grows with run length and share.
        share = best_run / max(1, len(key))
        weight = min(0.9, 0.1 + 0.04 * best_run + 0.5 * share)
        return ScreeningReason("repeated_characters", round(weight, 3), f"{best_char!r} x{best_run}")
    m = _REPEATED_PHRASE.search(key.replace(" ", ""))
    if m and not m.group(1).isdigit():
        times = len(m.group(0)) // len(m.group(1))
        return ScreeningReason("repeated_characters", min(0.9, 0.45 + 0.05 * times), f"{m.group(1)!r} x{times}")
    letters = [ch for ch in key if ch.isalnum()]
    if len(letters) >= 20 and len(set(letters)) / len(letters) < 0.15:
        return ScreeningReason("repeated_characters", 0.6, f"{len(set(letters))} distinct of {len(letters)}")
    return None


# --------------------------------------------------------------------------- #
# The screen
# --------------------------------------------------------------------------- #

def screen_submission(text: object, *, title: object = None) -> ScreeningResult:
    """Score a public submission for spam; never raises.

    ``text`` is the body as submitted (raw, not normalised), ``title`` the
    optional subject line.  Both are considered together.
    """
    try:
        return _screen(text, title)
    except Exception as exc:  # pragma: no cover - defensive: odd input must not lose a submission
        reason = ScreeningReason("screening_error", 1.0, type(exc).__name__)
        return ScreeningResult("moderate", 1.0, (reason,))


def _as_str(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    return value if isinstance(value, str) else str(value)


def _screen(text: object, title: object) -> ScreeningResult:
    raw = "\n".join(p for p in (_as_str(title), _as_str(text)) if p)
    # Keywords, keyword lists and repetition are judged on the text with personal data
    # masked (a phone number is neither a repeated digit run nor part of a term); links
    # and contact ids are looked for in the text as sent, and reported without it.
    key = mask_for_matching(normalise_for_matching(raw))
    reasons: list[ScreeningReason] = []

    if not any(ch.isalnum() for ch in key):
        reasons.append(ScreeningReason("empty", 0.6, "no letters, digits or 汉字"))

    kl = _keyword_list_reason(key)
    if kl:
        reasons.append(kl)

    # Links and contact ids: on the NFKC'd raw text (full-width ｗｗｗ becomes
    # www) rather than the matching key, which folds punctuation.
    link_text = unicodedata.normalize("NFKC", raw)
    links = _links(link_text)
    contacts = [m for rx in (_QQ, _WECHAT) for m in rx.finditer(link_text)]

    # A resident reporting illegal gambling or prostitution uses the same nouns
    # as an advert, but asks for enforcement and offers no way to "join".
    reporting = bool(_ENFORCEMENT.search(key)) and not contacts and not links and kl is None
    for code, terms in (("gambling_terms", GAMBLING_TERMS), ("adult_terms", ADULT_TERMS), ("advert_terms", _ADVERT_TERMS)):
        hits = _term_hits(key, terms)
        if hits:
            # Don't double count nested terms ("澳门赌场" and "赌场").
            hits = [h for h in hits if not any(h[0] != o[0] and h[0] in o[0] for o in hits)]
            factor = 0.5 if reporting else 1.0
            weight = _combine(w * factor for _, w in hits)
            detail = ", ".join(t for t, _ in hits[:6]) + (" (in a report asking for enforcement)" if reporting else "")
            reasons.append(ScreeningReason(code, round(weight, 3), detail))

    if links:
        gov = [u for u in links if _GOV_DOMAIN.search(u)]
        other = len(links) - len(gov)
        # A single link to a government page is normal ("as announced on
        # the county site ..."); one other link is mildly suspicious; several
        # links, or links making up much of the text, are a link farm.
        link_chars = sum(len(u) for u in links)
        density = link_chars / max(1, len(link_text.strip()))
        weight = _combine([0.1 * len(gov), 0.3 if other == 1 else 0.0, 0.3 * max(0, other - 1) + 0.2 * (other >= 2),
                           0.5 if density > 0.5 and other else 0.0])
        reasons.append(ScreeningReason("link_density", round(weight, 3), f"{len(links)} link(s), {len(gov)} government"))

    if contacts:
        # "加微信 xxx" / "加QQ" is an invitation (advert); "我的微信号 xxx，请联系我"
        # is a resident leaving a way to be reached, which alone must not flag.
        def invites(m: re.Match[str]) -> bool:
            before = link_text[max(0, m.start() - 2): m.start()]
            return m.group(0).startswith(("加", "+", "＋")) or "加" in before
        weight = _combine(0.45 if invites(m) else 0.25 for m in contacts)
        reasons.append(ScreeningReason("contact_advert", round(min(0.8, weight), 3),
                                       scrub_personal_data(", ".join(m.group(0).strip() for m in contacts[:3]))))

    rep = _repetition_reason(key)
    if rep:
        reasons.append(rep)

    garbled = detect_garbled(raw)
    repaired_text = repaired_title = None
    if garbled.is_garbled:
        repaired_text = repair_mojibake(_as_str(text))
        repaired_title = repair_mojibake(_as_str(title))
        reasons.append(ScreeningReason("garbled", round(max(0.55, garbled.score * 0.9), 3), ",".join(garbled.reasons)))

    # Advertising with no Chinese at all in a Chinese county's column is odd;
    # only counts together with other evidence.
    if reasons and key and not any(is_cjk(ch) for ch in key):
        reasons.append(ScreeningReason("no_chinese", 0.2, "no 汉字 in submission"))

    score = round(_combine(r.weight for r in reasons), 4)
    verdict: Verdict = "moderate" if score >= MODERATION_THRESHOLD else "accept"
    reasons.sort(key=lambda r: (-r.weight, r.code))
    return ScreeningResult(verdict=verdict, spam_score=score, reasons=tuple(reasons),
                            repaired_text=repaired_text, repaired_title=repaired_title)


# --------------------------------------------------------------------------- #
# Flood detection (刷屏): pure logic over timestamps the caller stored.
# --------------------------------------------------------------------------- #

@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``max_count`` submissions within any ``per`` window."""

    max_count: int
    per: timedelta


# Defaults for one submitter or one client address on the public column: a
# resident may send a few related submissions in a row, but not dozens.
DEFAULT_LIMITS: tuple[RateLimit, ...] = (
    RateLimit(3, timedelta(minutes=1)),
    RateLimit(10, timedelta(hours=1)),
    RateLimit(30, timedelta(days=1)),
)


@dataclass(frozen=True, slots=True)
class FloodDecision:
    exceeded: bool
    limit: RateLimit | None = None       # the first limit exceeded
    count_in_window: int = 0             # including the new submission
    retry_after: timedelta | None = None  # when a submission would be within all limits again


@dataclass(frozen=True, slots=True)
class FloodWindow:
    """Checks whether a new submission exceeds the configured rates.

    ``check(recent, now)``: ``recent`` are timestamps of earlier submissions
    from the same submitter or client address (any order; timestamps after
    ``now`` are ignored).  Like spam, a flood goes to moderation, not to the bin.
    """

    limits: Sequence[RateLimit] = DEFAULT_LIMITS

    def check(self, recent: Iterable[datetime], now: datetime) -> FloodDecision:
        times = sorted(t for t in recent if t <= now)
        worst: FloodDecision | None = None
        for limit in self.limits:
            start = now - limit.per
            # Count submissions strictly inside (start, now], plus the new one.
            first = bisect_right(times, start)
            in_window = times[first:]
            count = len(in_window) + 1
            if count > limit.max_count:
                # The window frees up when enough old ones age out.
                oldest_needed = in_window[count - limit.max_count - 1]
                retry = oldest_needed + limit.per - now
                if worst is None or (worst.retry_after is not None and retry > worst.retry_after):
                    worst = FloodDecision(True, limit, count, retry)
        if worst is not None:
            return worst
        longest = max((lim.per for lim in self.limits), default=timedelta(0))
        return FloodDecision(False, None, len(times) - bisect_right(times, now - longest) + 1)

    def exceeds(self, recent: Iterable[datetime], now: datetime) -> bool:
        return self.check(recent, now).exceeded
