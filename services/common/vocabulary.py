"""Controlled vocabularies of the practice (see shared/domain.md), shared by services
and workflows. Identifiers are English; the Chinese term is each member's label."""

from __future__ import annotations

import enum


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
