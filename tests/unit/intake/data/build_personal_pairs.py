"""Builds duplicate_pairs_personal.jsonl: labelled pairs for duplicate matching on text
that carries personal data (issue 10, part 5). Deterministic: the committed file is
exactly what this writes.

Kinds:
- shared_personal (0): one resident, same name, phone and ID number, two unrelated concerns;
- personal_paraphrase (1): one concern in other words by two residents with their own data;
- personal_copy (1): one concern in the same words by two residents with their own data;
- shared_digits (0): unrelated short texts sharing only a number (a phone, a house number);
- one_noun (0): short proposals that differ in the one noun that matters;
- one_noun_same (1): a short proposal and a paraphrase of it.

    python tests/unit/intake/data/build_personal_pairs.py
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

OUT = Path(__file__).with_name("duplicate_pairs_personal.jsonl")

RESIDENTS = [
    ("王小明", "13812345678", "110101199003074578"),
    ("李秀英", "13987654321", "510521198507120023"),
    ("张建国", "15183456789", "51052119700101003X"),
    ("刘春梅", "0830-5212345", "510521199212310046"),
]
INTROS = [
    "我是{name}，电话{phone}，身份证号{id}。",
    "本人{name}（身份证{id}），联系电话{phone}，",
    "我叫{name}，手机{phone}，身份证{id}，",
]
CONCERNS = {
    "streetlight": ("玉蟾街道人民路路灯坏了好几个月，晚上出行很不安全。", "人民路的路灯一直不亮，晚上走路看不见，请尽快修好。"),
    "kindergarten": ("县城公办幼儿园学位不足，孩子报不上名。", "孩子上公办幼儿园太难了，县城学位太少，希望多建几所。"),
    "bus": ("希望开通县城到福集镇的公交线路。", "福集镇到县城没有公交车，出行只能打车，建议开通公交。"),
    "garbage": ("小区垃圾清运不及时，夏天臭味很大。", "我们小区的垃圾好几天才拉走一次，天热了臭得很。"),
    "water": ("家里自来水经常停水，水压也不够。", "自来水老是停，来水了水压又低，楼上根本用不了。"),
    "pension": ("养老保险转移手续太复杂，跑了好几趟都没办好。", "办养老保险关系转移要跑很多次，手续繁琐，希望简化。"),
    "noise": ("夜市噪音太大，影响居民休息。", "晚上夜市吵到半夜，附近居民睡不好觉。"),
    "parking": ("县医院门口停车难，经常堵车。", "去县医院看病找不到停车位，门口车堵成一片。"),
}
SHARED_DIGITS = [
    ("3号楼电梯坏了，联系人13812345678。", "13812345678反映：垃圾没人收。"),
    ("101路公交车班次太少。", "101室楼上漏水，物业不管。"),
    ("请回电15183456789，路灯不亮。", "下水道堵了，请回电15183456789。"),
    ("人民路28号门口井盖缺失。", "28号楼没有通天然气。"),
    ("身份证510521198507120023办社保卡一直办不下来。", "510521198507120023：小区噪音扰民。"),
    ("2025年的医保报销还没到账。", "2025年幼儿园学费又涨了。"),
]
ONE_NOUN = [
    ("建议在人民路增设公交站台。", "建议在人民路增设公共厕所。"),
    ("修复人民路的路灯。", "修复人民路的井盖。"),
    ("学校门口增设红绿灯。", "学校门口取缔小摊贩。"),
    ("福集镇菜市场需要改造。", "福集镇卫生院需要改造。"),
    ("建议玉蟾街道建一个篮球场。", "建议玉蟾街道建一个停车场。"),
    ("小区电梯经常坏。", "小区路灯经常坏。"),
    ("农村饮用水不安全。", "农村用电不安全。"),
    ("公园里缺少垃圾桶。", "公园里缺少厕所。"),
    ("规范幼儿园收费。", "规范停车场收费。"),
    ("县医院挂号难。", "县医院停车难。"),
    ("老旧小区加装电梯。", "老旧小区加装充电桩。"),
    ("增加公交车班次。", "增加校车班次。"),
    ("嘉明镇的桥需要维修。", "嘉明镇的学校需要维修。"),
    ("希望延长图书馆开放时间。", "希望延长菜市场开放时间。"),
]
ONE_NOUN_SAME = [
    ("建议在人民路增设公交站台。", "人民路需要多设几个公交站。"),
    ("修复人民路的路灯。", "人民路路灯坏了，请修一修。"),
    ("县医院挂号难。", "在县医院挂个号太难了。"),
    ("老旧小区加装电梯。", "建议给老旧小区装上电梯。"),
    ("公园里缺少垃圾桶。", "公园的垃圾桶太少了。"),
    ("小区电梯经常坏。", "小区电梯老是出故障。"),
    ("规范幼儿园收费。", "幼儿园乱收费，请规范一下。"),
    ("增加公交车班次。", "公交车班次太少，希望增加。"),
]


def intro(resident: tuple[str, str, str], template: int) -> str:
    name, phone, id_number = resident
    return INTROS[template].format(name=name, phone=phone, id=id_number)


def build() -> list[dict]:
    rows: list[dict] = []
    concerns = list(CONCERNS)
    for r, resident in enumerate(RESIDENTS):
        # shared_personal: the same resident, six pairs of unrelated concerns each.
        for k, (a, b) in enumerate(itertools.islice(itertools.combinations(concerns, 2), r * 6, r * 6 + 6)):
            rows.append({"a": intro(resident, k % 3) + CONCERNS[a][k % 2], "b": intro(resident, (k + 1) % 3) + CONCERNS[b][0],
                         "label": 0, "kind": "shared_personal", "concern_a": a, "concern_b": b})
    for k, concern in enumerate(concerns):
        one, other = RESIDENTS[k % 4], RESIDENTS[(k + 1) % 4]
        first, second = CONCERNS[concern]
        rows.append({"a": intro(one, k % 3) + first, "b": intro(other, (k + 2) % 3) + second,
                     "label": 1, "kind": "personal_paraphrase", "concern_a": concern, "concern_b": concern})
        rows.append({"a": intro(one, k % 3) + first, "b": intro(other, (k + 1) % 3) + first,
                     "label": 1, "kind": "personal_copy", "concern_a": concern, "concern_b": concern})
    for k, (a, b) in enumerate(SHARED_DIGITS):
        rows.append({"a": a, "b": b, "label": 0, "kind": "shared_digits", "concern_a": f"digits_{k}_a", "concern_b": f"digits_{k}_b"})
    for k, (a, b) in enumerate(ONE_NOUN):
        rows.append({"a": a, "b": b, "label": 0, "kind": "one_noun", "concern_a": f"noun_{k}_a", "concern_b": f"noun_{k}_b"})
    for k, (a, b) in enumerate(ONE_NOUN_SAME):
        concern = next((f"noun_{j}_a" for j, (x, _) in enumerate(ONE_NOUN) if x == a), f"noun_same_{k}")
        rows.append({"a": a, "b": b, "label": 1, "kind": "one_noun_same", "concern_a": concern, "concern_b": concern})
    return rows


def main() -> None:
    rows = build()
    OUT.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    print(f"{len(rows)} pairs ({sum(r['label'] for r in rows)} duplicates) -> {OUT.name}")


if __name__ == "__main__":
    main()
