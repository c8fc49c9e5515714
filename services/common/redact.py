"""Personal data out of text that leaves a record: summaries, matching keys.

Two uses, one set of patterns:

* :func:`scrub_personal_data` replaces phone numbers, ID-card numbers, e-mail addresses,
  URLs and the names a resident introduces (我是X, 我叫X, 本人X, 姓名：X...) with a
  placeholder in brackets (``[电话]``, ``[身份证号]``, ``[邮箱]``, ``[网址]``, ``[姓名]``),
  for text that must leave a record. Workflow summaries (:func:`consultation_summary`,
  :func:`follow_up_summary`) carry only ids and labels, so Temporal's storage and Web UI
  hold no resident text even without the payload codec (docs/operators.md).
* :func:`mask_for_matching` is the same replacement for screening and duplicate matching
  (services/intake/screening.py, duplicates.py): two texts that share only a resident's
  phone number or name must not look alike, so personal data becomes one neutral mark.

Order of operations: URLs and e-mail addresses first (they contain digits and names that
later patterns would cut in half), then ID-card numbers (18 characters, longer than any
phone number), then phone numbers, then names. Digits separated by spaces or hyphens
(138-1234-5678, 138 1234 5678) count as one number.

Names are detected only where the text introduces them; a name elsewhere in free text
cannot be told from a word, which is why summaries of free text are also cut short.
"""

from __future__ import annotations

import re

from services.common.vocabulary import CHANNEL_LABELS, Channel

__all__ = [
    "consultation_summary",
    "follow_up_summary",
    "mask_for_matching",
    "scrub_personal_data",
]

URL_MARK = "[网址]"
EMAIL_MARK = "[邮箱]"
ID_MARK = "[身份证号]"
PHONE_MARK = "[电话]"
NAME_MARK = "[姓名]"

_SEP = r"[\s\-－—]?"

_URL = re.compile(r"(?:https?://|www\.)[^\s，。、；！？）)\]】》\"'“”]+", re.IGNORECASE)
# The lookbehind starts a match only at the start of a run: linear on long Latin runs.
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
# Mainland resident ID: 6-digit area, 8-digit birth date, 3 digits, check digit (or X);
# also the old 15-digit form. Not inside a longer run of digits.
_ID_CARD = re.compile(
    r"(?<![0-9０-９])(?:[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[0-9Xx]"
    r"|[1-9]\d{7}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3})(?![0-9０-９])"
)
# Mobile numbers (1[3-9]x, 11 digits, optional +86) and landlines (0xxx-xxxxxxx).
_MOBILE = re.compile(
    rf"(?<![0-9])(?:\+?86{_SEP})?1[3-9]\d{_SEP}\d{{4}}{_SEP}\d{{4}}(?![0-9])"
)
_LANDLINE = re.compile(rf"(?<![0-9])0\d{{2,3}}{_SEP}\d{{7,8}}(?![0-9])")
# Any other run of 7 or more digits (account numbers, plate-less contact numbers...).
_LONG_DIGITS = re.compile(r"(?<![0-9])\d{7,}(?![0-9])")

# A name the writer introduces: 我是王小明 / 我叫李梅 / 本人张三 / 姓名：赵四 / 联系人 刘五.
# Chinese given names are 1-2 characters after a 1-2 character surname; three characters
# after the introduction are taken (two when a particle or punctuation follows).
_NAME_INTRO = re.compile(
    r"(?P<intro>我是|我叫|本人(?:是|叫)?|姓名(?:是|为)?[:：]?\s*|联系人(?:是|为)?[:：]?\s*|叫做|名叫)"
    r"(?P<name>[\u4e00-\u9fff·]{2,4}?)"
    r"(?=[，,。.;；、！!？?\s:：（(]|电话|手机|联系|身份证|住|家住|是|今年|男|女|，|$)"
)
# Words that follow 我是 without being a name (我是居民, 我是本村村民...).
_NOT_NAMES = (
    "居民", "村民", "市民", "群众", "业主", "家长", "老师", "学生", "患者", "退休", "党员",
    "本村", "本镇", "本地", "这里", "一名", "一位", "一个", "外地", "当地", "小区", "社区",
)
# Honorific forms: 王先生, 李女士, 张阿姨...
_HONORIFIC = re.compile(r"(?<![\u4e00-\u9fff])[\u4e00-\u9fff](?:先生|女士|阿姨|大爷|大妈|师傅)")


def _names(text: str, mark: str) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group("name")
        if any(name.startswith(word) for word in _NOT_NAMES):
            return match.group(0)
        return match.group("intro") + mark

    return _NAME_INTRO.sub(replace, text)


def _replace_all(text: str, *, url: str, email: str, id_card: str, phone: str, name: str) -> str:
    text = _URL.sub(url, text)
    text = _EMAIL.sub(email, text)
    text = _ID_CARD.sub(id_card, text)
    text = _MOBILE.sub(phone, text)
    text = _LANDLINE.sub(phone, text)
    text = _LONG_DIGITS.sub(phone, text)
    text = _names(text, name)
    text = _HONORIFIC.sub(name, text)
    return text


def scrub_personal_data(text: str) -> str:
    """The text with phones, ID numbers, e-mails, URLs and introduced names replaced by
    bracketed labels; everything else kept as written."""
    return _replace_all(
        text, url=URL_MARK, email=EMAIL_MARK, id_card=ID_MARK, phone=PHONE_MARK, name=NAME_MARK
    )


def mask_for_matching(text: str) -> str:
    """Personal data removed for screening and duplicate matching.

    Each kind becomes one private-use character, so shingles spanning it carry no
    digits or name characters, and two texts sharing a phone number share nothing more
    than two texts that both mention *a* phone number.
    """
    return _replace_all(text, url="\ue000", email="\ue001", id_card="\ue002", phone="\ue003", name="\ue004")


def consultation_summary(topic_id: int, channel: str) -> str:
    """The start summary of a ConsultationWorkflow: the topic id and its channel's label.
    Never the title: a resident's title can name a person in a way no pattern detects."""
    try:
        label = CHANNEL_LABELS[Channel(channel)]
    except ValueError:
        label = channel
    return f"议题 #{topic_id} · {label}"


def follow_up_summary(commitment_id: int, department: str) -> str:
    """The start summary of a FollowUpWorkflow: ids and the department's name only
    (a commitment's content may quote residents)."""
    return f"承诺 #{commitment_id} · {department}"
