"""A realistic demo pool: talents, CPPCC members and public representatives.

Names are made locally from surname and given-name characters (no network, no real
people), deterministically from a seed. No contact details: a demo needs none.

    python -m services.talent.seed --count 100 --url http://127.0.0.1:8002 --token T
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
from typing import Any

from .vocabulary import AGE_BANDS, EXPERTISE_FIELDS

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国文斌志宏海波宇浩凯健俊帆帅旭晨阳琳雪梅婷倩颖佳欣怡嘉诗雨思涵子轩浩然梓睿一诺雅晴晓东春燕小龙德福永强玉珍成林荣光家兴正清"
TOWNS = ("玉蟾街道", "福集镇", "嘉明镇", "喻寺镇", "得胜镇", "牛滩镇", "兆雅镇", "玄滩镇", "太伏镇", "云龙镇",
         "石桥镇", "毗卢镇", "奇峰镇", "潮河镇", "云锦镇", "立石镇", "百和镇", "天兴镇", "方洞镇")
SECTORS = ("中共", "民革", "民盟", "民建", "民进", "农工党", "九三学社", "无党派人士", "共青团", "工会", "妇联",
           "工商联", "科技界", "经济界", "农业界", "教育界", "文化艺术界", "医药卫生界", "社会福利和社会保障界")
DEPARTMENTS = ("教育体育局", "卫生健康局", "民政局", "交通运输局", "自然资源和规划局", "农业农村局",
               "生态环境局", "司法局", "财政局", "住房和城乡建设局", "文化广播电视和旅游局", "经济和信息化局",
               "水务局", "市场监督管理局")
TAGS = ("幼儿教师", "儿科", "律师", "注册会计师", "乡村医生", "退休干部", "企业家", "高级工程师", "社区工作者",
        "非遗传承人", "种植大户", "教师", "护士", "规划师")
# the county town is bigger: it gets more people
_TOWN_WEIGHTS = [6, 4, 3] + [1] * (len(TOWNS) - 3)


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


def generate_pool(count: int = 100, members: int = 30, public_reps: int = 40, seed: int = 2020) -> list[dict[str, Any]]:
    """People as POST /people bodies; the same seed gives the same pool."""
    rng = random.Random(seed)
    people = []
    for kind, n in (("talent", count), ("member", members), ("public_rep", public_reps)):
        for _ in range(n):
            expertise = rng.sample(EXPERTISE_FIELDS, rng.choice((1, 1, 2, 3))) if kind != "public_rep" else (
                rng.sample(EXPERTISE_FIELDS, 1) if rng.random() < 0.3 else [])
            person: dict[str, Any] = {
                "kind": kind,
                "display_name": _name(rng),
                "expertise": expertise,
                "tags": rng.sample(TAGS, rng.choice((0, 1, 1, 2))),
                "sector": rng.choice(SECTORS) if kind != "public_rep" else None,
                "town": rng.choices(TOWNS, _TOWN_WEIGHTS)[0],
                "gender": rng.choices(("female", "male"), (45, 55))[0],
                "age_band": rng.choices(AGE_BANDS, (1, 3, 4, 3, 2))[0],
                "conflict_departments": rng.sample(DEPARTMENTS, 1) if rng.random() < 0.1 else [],
            }
            people.append(person)
    return people


CSV_COLUMNS = ("kind", "display_name", "expertise", "tags", "sector", "town", "gender", "age_band", "conflict_departments")


def to_csv(people: list[dict[str, Any]]) -> bytes:
    """A CSV the import endpoint reads (lists joined with '、', as clerks type them)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for p in people:
        writer.writerow(["、".join(p[c]) if isinstance(p[c], list) else (p[c] or "") for c in CSV_COLUMNS])
    return out.getvalue().encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.talent.seed", description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100, help="consultation talents (协商人才)")
    parser.add_argument("--members", type=int, default=30, help="CPPCC members (政协委员)")
    parser.add_argument("--public-reps", type=int, default=40, help="public representatives (群众代表)")
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--url", default="http://127.0.0.1:8002", help="the talent service")
    parser.add_argument("--token", required=True, help="a clerk token (xieshang token --role clerk --subject ...)")
    parser.add_argument("--one-by-one", action="store_true", help="POST /people per person instead of one import")
    args = parser.parse_args(argv)

    import httpx

    people = generate_pool(args.count, args.members, args.public_reps, args.seed)
    headers = {"Authorization": f"Bearer {args.token}"}
    with httpx.Client(base_url=args.url, headers=headers, timeout=60) as client:
        if not args.one_by_one:
            print(f"importing {len(people)} people as one CSV file ...", flush=True)
            response = client.post(
                "/people/import", files={"file": ("seed.csv", to_csv(people), "text/csv")},
                headers={"Idempotency-Key": f"seed-{args.seed}-{args.count}-{args.members}-{args.public_reps}"},
            )
            if response.status_code not in (200, 201):
                print(f"failed: {response.status_code} {response.text}", file=sys.stderr)
                return 1
            print(f"stored {response.json()['rows']} people (import {response.json()['import_id']})")
            return 0
        for n, person in enumerate(people, start=1):
            response = client.post("/people", json=person,
                                   headers={"Idempotency-Key": f"seed-{args.seed}-{n}"})
            if response.status_code not in (200, 201):
                print(f"failed at person {n}: {response.status_code} {response.text}", file=sys.stderr)
                return 1
            if n % 10 == 0 or n == len(people):
                print(f"{n}/{len(people)} people stored", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
