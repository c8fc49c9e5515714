"""Load a living county into the running stack: `make demo` (after `make up`).

A pool of 100 consultation talents, 30 members and 40 public representatives (names made
up locally), topics from all seven channels (spam from the online column lands in the
moderation queue), a year's plan on the 1+2+4+X platform, and consultations at every
stage: waiting for the chair, in research, inviting participants (one declined and was
replaced), waiting for the meeting, following up commitments (some overdue, climbing the
ladder), and in the two-way evaluation window. Everything goes through the services'
HTTP APIs, as staff would do it; tokens are minted with the stack's signing key.

    python -m services.demo            # uses the XIESHANG_* settings of `make up`
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import httpx

from services.common.auth import Role, mint_token
from services.common.settings import Settings, get_settings
from services.talent.sortition import format_rfc3797

EDU = "教育体育局"

# (channel, title, content, extra fields for the channel)
TOPICS: list[tuple[str, str, str, dict[str, str]]] = [
    ("member_recommended", "县城公办幼儿园学位严重不足",
     "县城仅一所公办幼儿园，容量约1000人，每年约4000名适龄儿童需要入园，民办园远且贵。", {"member_name": "李明"}),
    ("party_committee_assigned", "推进城乡养老服务体系建设", "农村留守老人增多，乡镇敬老院床位空置与不足并存。",
     {"office": "县委办公室"}),
    ("government_requested", "县城老旧小区改造中的停车难题", "老旧小区改造后车位仍严重不足，占道停车普遍。",
     {"office": "县政府办公室"}),
    ("sector_proposal", "基层医疗卫生人才引不来留不住", "乡镇卫生院全科医生缺口大，待遇与晋升通道不足。",
     {"sector": "医药卫生界"}),
    ("town_liaison_proposal", "福集镇濑溪河沿岸生活污水直排", "沿河部分场镇生活污水未纳管，枯水期水质变差。",
     {"liaison_group": "福集镇联络组"}),
    ("member_proposal", "农村客运班线减少群众出行不便", "部分村通客车班次减少，学生和老人出行困难。",
     {"member_name": "张秀英"}),
    ("member_recommended", "中小学课后服务质量参差不齐", "课后服务内容单一，部分学校师资不足。", {"member_name": "王建国"}),
    ("sector_proposal", "特色农产品品牌建设与电商销售", "龙眼等特色农产品品牌小散弱，电商渠道不畅。",
     {"sector": "农业界"}),
    ("member_proposal", "县城背街小巷路灯长期不亮", "玉蟾街道多条背街小巷路灯损坏无人维修，夜间出行不安全。",
     {"member_name": "刘德明"}),
    ("government_requested", "农贸市场环境卫生整治", "部分乡镇农贸市场污水横流，活禽宰杀区管理混乱。",
     {"office": "县政府办公室"}),
    ("member_recommended", "城区学校周边交通安全隐患", "上下学高峰接送车辆乱停乱放，缺少安全通道。",
     {"member_name": "陈晓东"}),
]

PUBLIC = [
    ("建议增加县城到喻寺镇的公交班次", "每天只有三班车，早上赶不上上班，希望增加班次。"),
    ("幼兒園學位太少了！！！孩子明年上學怎麼辦？？", "城裡公辦幼兒園報不上名，私立的太貴太遠。"),
    ("澳门葡京|在线娱乐|百家乐|真人视讯|注册送彩金|www.example-bet.com", "加微信 abc123 领取彩金"),
]


class Demo:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.http = httpx.Client(timeout=30)
        self.tokens = {role: mint_token(settings, role=role, subject=f"demo-{role.value}", ttl_seconds=3600,
                                        department=EDU if role is Role.DEPARTMENT else None)
                       for role in Role}
        self.year = date.today().year + 1

    def call(self, service: str, method: str, path: str, role: Role = Role.CLERK, ok: tuple[int, ...] = (200, 201),
             **kwargs: Any) -> Any:
        url = self.settings.service_url(service) + path  # type: ignore[arg-type]
        response = self.http.request(method, url, headers={"Authorization": f"Bearer {self.tokens[role]}"}, **kwargs)
        if response.status_code not in ok:
            raise SystemExit(f"demo: {method} {service}{path} answered {response.status_code}: {response.text[:300]}")
        return response.json() if response.content else None

    def step(self, message: str) -> None:
        print(f"[demo] {message}", flush=True)

    def stage(self, topic_id: int, wanted: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            status = self.call("intake", "GET", f"/topics/{topic_id}/consultation", Role.OPERATOR)
            if status["stage"] == wanted:
                return status
            if time.monotonic() > deadline:
                raise SystemExit(f"demo: topic {topic_id} stayed at {status['stage']}, expected {wanted}")
            time.sleep(0.3)

    # ---------------------------------------------------------------- steps
    def pool(self) -> None:
        from services.talent.seed import generate_pool

        existing = self.call("talent", "GET", "/people", params={"limit": 1})["total"]
        if existing >= 100:
            self.step(f"talent pool: {existing} people already there")
            return
        people = generate_pool(100, 30, 40, seed=2020)
        for n, person in enumerate(people, 1):
            self.call("talent", "POST", "/people", json=person)
            if n % 50 == 0 or n == len(people):
                self.step(f"talent pool: {n}/{len(people)} people registered")

    def topics(self) -> list[int]:
        ids = []
        for channel, title, content, extra in TOPICS:
            body = {"channel": channel, "title": title, "content": content, **extra}
            created = self.call("intake", "POST", "/submissions", json=body)
            ids.append(created["topic_id"])
        self.step(f"topics: {len(ids)} from six channels")
        for n, (title, content) in enumerate(PUBLIC):
            headers = {"Authorization": f"Bearer {mint_token(self.settings, role=Role.PUBLIC, subject=f'wx-demo-{n}')}",
                       "X-Forwarded-For": f"10.0.0.{n + 1}"}
            self.http.post(self.settings.intake_url + "/public/submissions", json={"title": title, "content": content},
                           headers=headers)
        self.step("网上征集: 3 public submissions (one spam line held for moderation)")
        return ids

    def decide(self, topic_id: int, fmt: str, organiser: str, month: int) -> None:
        self.call("intake", "POST", f"/topics/{topic_id}/decision", Role.CHAIR, json={
            "outcome": "accepted", "format": fmt, "organiser": organiser, "plan_year": self.year,
            "venue": "cppcc-hall", "planned_month": month})

    def research(self, topic_id: int, expertise: list[str], department: str) -> None:
        self.stage(topic_id, "research")
        self.call("intake", "POST", f"/topics/{topic_id}/research-completion", json={
            "summary": "调研组走访相关部门和乡镇，形成调研报告。", "expertise": expertise,
            "exclude_departments": [department]})

    def reveal(self, topic_id: int, round_: int, timeout: float = 60) -> None:
        """Each draw is announced before its seed exists (talent's GET /public/draws shows
        it to anyone); once the announced time has come the clerk enters the public value
        (here a local one, the same flow as production) and the draw is revealed."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.call("intake", "GET", f"/topics/{topic_id}/consultation", Role.OPERATOR)
            announcement = status.get("announcement")
            if announcement and announcement["round"] == round_:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"demo: topic {topic_id} announced no draw for round {round_}")
            time.sleep(0.3)
        at = datetime.fromisoformat(announcement["public_randomness_at"])
        wait = (at - datetime.now(UTC)).total_seconds()
        if wait > 120:
            raise SystemExit(f"demo: draw {announcement['draw_id']} waits for its public value until {at}; for the "
                             "demo start `make up` with XIESHANG_CONSULTATION_PUBLIC_VALUE_DAYS=0.0002 (about 17 s)")
        time.sleep(max(0.0, wait) + 0.2)
        value = format_rfc3797([[3 + round_, 8, 12, 17, 29, 41], [5]])
        self.call("intake", "POST", f"/topics/{topic_id}/draws/{announcement['draw_id']}/public-value",
                  json={"public_randomness": value})
        self.step(f"topic {topic_id}: draw {announcement['draw_id']} announced, revealed with public value {value}")

    def invite_all(self, topic_id: int, decline_one: bool = False) -> dict:
        self.reveal(topic_id, 0)
        status = self.stage(topic_id, "inviting")
        if decline_one:
            first = sorted(status["panel"])[0]
            self.call("intake", "POST", f"/topics/{topic_id}/invitations/{first}/answer", json={"accepted": False})
            self.reveal(topic_id, 1)  # the replacement round, announced the same way
            self.stage(topic_id, "inviting")
            time.sleep(1)
        status = self.call("intake", "GET", f"/topics/{topic_id}/consultation", Role.OPERATOR)
        for invitation in status["invitations"]:
            if invitation["answer"] == "pending":
                self.call("intake", "POST", f"/topics/{topic_id}/invitations/{invitation['person_id']}/answer",
                          json={"accepted": True})
        return status

    def meeting(self, topic_id: int, department: str, content: str, due: date) -> list[int]:
        self.stage(topic_id, "meeting")
        self.call("intake", "POST", f"/topics/{topic_id}/meetings", json={
            "held_at": datetime.now(timezone.utc).isoformat(), "venue": "cppcc-hall",
            "minutes": "与会人员围绕议题充分协商，部门负责人介绍了工作情况。", "consensus": content,
            "attendance": [{"name": "李明", "category": "member"},
                           {"name": "周局长", "category": "department", "organisation": department},
                           {"name": "刘副县长", "category": "leader"}],
            "commitments": [{"owner_department": department, "content": content, "due_date": due.isoformat()}]})
        status = self.stage(topic_id, "follow_up")
        deadline = time.monotonic() + 30
        while not status["commitment_ids"] and time.monotonic() < deadline:
            time.sleep(0.3)
            status = self.call("intake", "GET", f"/topics/{topic_id}/consultation", Role.OPERATOR)
        return status["commitment_ids"]

    def run(self) -> None:
        self.step(f"loading into intake {self.settings.intake_url}, talent {self.settings.talent_url}, "
                  f"evaluation {self.settings.evaluation_url}; plan year {self.year}")
        self.pool()
        t = self.topics()
        kindergarten, elderly, parking, doctors, sewage, buses, after_school, farm, lights, market, school = t
        self.call("intake", "POST", f"/topics/{lights}/decision", Role.CHAIR,
                  json={"outcome": "rejected", "reason": "属日常工作事项，已转县城管局办理"})
        plan = [(kindergarten, "special_topic", "social-law-committee", 3),
                (doctors, "special_topic", "social-law-committee", 5),
                (buses, "special_topic", "economy-committee", 6),
                (farm, "special_topic", "agriculture-committee", 9),
                (elderly, "plenary", "proposals-committee", 1),
                (parking, "standing_committee", "economy-committee", 4),
                (sewage, "standing_committee", "agriculture-committee", 8),
                (after_school, "sector_micro", "education-sector-studio", 5)]
        for topic_id, fmt, organiser, month in plan:
            self.decide(topic_id, fmt, organiser, month)
        self.step(f"{self.year} plan: 1 plenary, 2 standing-committee, 4 special-topic, 1 sector consultation; "
                  "1 topic rejected, 2 await the chair")

        # Following up, overdue: the kindergarten commitment was due 25 working days ago.
        self.research(kindergarten, ["学前教育"], EDU)
        self.invite_all(kindergarten, decline_one=True)
        overdue = self.meeting(kindergarten, EDU, "两年内新建至少3所公办幼儿园", date.today() - timedelta(days=36))
        self.step(f"kindergarten: participants drawn (one declined, replaced), meeting held, "
                  f"commitment {overdue} overdue: the ladder climbs")
        # Following up, on track: the plenary on elderly care (all members, no draw).
        self.research(elderly, ["养老服务"], "民政局")
        on_track = self.meeting(elderly, "民政局", "年内每个乡镇建成1个农村互助养老点", date.today() + timedelta(days=200))
        self.step(f"elderly care (plenary): commitment {on_track} due in 200 days")
        # In the two-way evaluation window: parking, commitment done and rated.
        self.research(parking, ["城乡规划"], "住房和城乡建设局")
        self.invite_all(parking)
        done = self.meeting(parking, "住房和城乡建设局", "新增公共停车位500个", date.today() + timedelta(days=90))
        for cid in done:
            dept_token = mint_token(self.settings, role=Role.DEPARTMENT, subject="demo-zjj", department="住房和城乡建设局")
            self.http.post(f"{self.settings.evaluation_url}/commitments/{cid}/completion",
                           json={"summary": "已新增公共停车位520个"}, headers={"Authorization": f"Bearer {dept_token}"})
            self.call("evaluation", "POST", f"/commitments/{cid}/verification", Role.COMMITTEE,
                      json={"means": "inspection", "passed": True})
            self.call("evaluation", "POST", f"/commitments/{cid}/satisfaction", Role.COMMITTEE,
                      json={"rating": "basically_satisfied"})
        self.stage(parking, "evaluation")
        self.step("parking: commitment completed, verified, rated: two-way evaluation window open")
        # Waiting for the meeting; inviting; in research.
        self.research(doctors, ["医疗卫生"], "卫生健康局")
        self.invite_all(doctors)
        self.stage(doctors, "meeting")
        self.research(buses, ["交通运输"], "交通运输局")
        self.reveal(buses, 0)
        self.stage(buses, "inviting")
        self.step("doctors: waiting for the meeting; rural buses: inviting participants; "
                  "farm produce, sewage, after-school: in research")
        print()
        print(f"Done. Try the Temporal UI ({self.settings.temporal_ui_url}) with:")
        print(f"  WorkflowType = 'FollowUpWorkflow' AND Overdue = true AND Department = '{EDU}'")
        print(f"  WorkflowType = 'ConsultationWorkflow' AND PlanYear = {self.year}")
        print(f"and the moderation queue: GET {self.settings.intake_url}/moderation", flush=True)


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(prog="python -m services.demo", description=__doc__.splitlines()[0]).parse_args(argv)
    from services.common.cli import exit_hard

    try:
        Demo(get_settings()).run()
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        exit_hard(1)
    exit_hard(0)


if __name__ == "__main__":
    main()
