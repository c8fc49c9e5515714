"""Controlled vocabularies of the practice (see shared/domain.md), shared by services
and workflows: each vocabulary has its one home here, and every schema, validator and
workflow spells it from here. Identifiers are English (the Chinese term is each
member's label), except talent's expertise fields, which clerks type in Chinese.

A service that accepts a value another service (or a workflow) will pass on checks it
against this module *at the edge*, before anything is stored (issue 9): e.g. intake
refuses a research report whose expertise talent does not know.
"""

from __future__ import annotations

import enum
from typing import Literal, get_args


class Channel(str, enum.Enum):
    """Where a topic (议题) came from."""

    PARTY_COMMITTEE_ASSIGNED = "party_committee_assigned"  # 县委交题
    GOVERNMENT_REQUESTED = "government_requested"  # 政府点题
    MEMBER_RECOMMENDED = "member_recommended"  # 委员荐题
    SECTOR_PROPOSAL = "sector_proposal"  # 界别提案
    TOWN_LIAISON_PROPOSAL = "town_liaison_proposal"  # 镇（街道）联络组提案
    MEMBER_PROPOSAL = "member_proposal"  # 委员提案
    PUBLIC_ONLINE = "public_online"  # 网上征集


CHANNEL_LABELS = {
    Channel.PARTY_COMMITTEE_ASSIGNED: "县委交题",
    Channel.GOVERNMENT_REQUESTED: "政府点题",
    Channel.MEMBER_RECOMMENDED: "委员荐题",
    Channel.SECTOR_PROPOSAL: "界别提案",
    Channel.TOWN_LIAISON_PROPOSAL: "镇（街道）联络组提案",
    Channel.MEMBER_PROPOSAL: "委员提案",
    Channel.PUBLIC_ONLINE: "网上征集",
}


class ConsultationFormat(str, enum.Enum):
    """The "1+2+4+X" platform."""

    PLENARY = "plenary"  # 全委会议
    STANDING_COMMITTEE = "standing_committee"  # 常委会协商会议
    SPECIAL_TOPIC = "special_topic"  # 专题协商会议
    SECTOR_MICRO = "sector_micro"  # 界别或小微协商


#: The formats as plain values (workflow inputs carry values, not enums).
FORMATS: tuple[str, ...] = tuple(f.value for f in ConsultationFormat)

#: A consultation's stages (ConsultationWorkflow), in order of the lifecycle.
Stage = Literal["submitted", "accepted", "rejected", "merged", "research", "drawing", "inviting", "meeting",
                "follow_up", "evaluation", "closed"]
STAGES: tuple[str, ...] = get_args(Stage)
#: The stages the workflow reports to intake as the consultation moves on (stage mirror).
LifecycleStage = Literal["research", "drawing", "inviting", "meeting", "follow_up", "evaluation", "closed"]
LIFECYCLE_STAGES: tuple[str, ...] = get_args(LifecycleStage)

#: Satisfaction ratings (满意 / 基本满意 / 不满意), of commitments and consultations.
Rating = Literal["satisfied", "basically_satisfied", "unsatisfied"]
RATINGS: tuple[str, ...] = get_args(Rating)

#: Expertise fields (专业领域) of talent's pool: what a topic needs and what a talent
#: offers. Talent owns the pool; the vocabulary lives here so intake can check a
#: research report against it before the draw is ever asked for.
Expertise = Literal[
    "学前教育",
    "基础教育",
    "职业教育",
    "医疗卫生",
    "养老服务",
    "交通运输",
    "城乡规划",
    "农业农村",
    "生态环境",
    "法律",
    "财政金融",
    "社会治理",
    "文化旅游",
    "工业经济",
    "水利",
    "食品安全",
]
EXPERTISE_FIELDS: tuple[str, ...] = get_args(Expertise)

#: The words of a draw's shape (talent's pool; intake checks a research report's draw
#: shape against them before anything is stored): kinds of people, the attributes a
#: quota may constrain, and the closed value sets among them.
PersonKind = Literal["talent", "member", "public_rep"]
PERSON_KINDS: tuple[str, ...] = get_args(PersonKind)
Gender = Literal["female", "male"]
GENDERS: tuple[str, ...] = get_args(Gender)
AgeBand = Literal["18-29", "30-39", "40-49", "50-59", "60+"]
AGE_BANDS: tuple[str, ...] = get_args(AgeBand)
QuotaAttribute = Literal["gender", "town", "sector", "expertise", "age_band"]
#: values of the closed attributes; town and sector are free names
QUOTA_VALUES: dict[str, tuple[str, ...]] = {"gender": GENDERS, "age_band": AGE_BANDS, "expertise": EXPERTISE_FIELDS}
