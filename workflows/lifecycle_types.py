"""Inputs of the consultation lifecycle after the chair's decision (ids and vocabulary
values only; texts stay in intake's database)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ConsultationTiming:
    """How long each waiting stage lasts, as data. Production counts days; demos and
    wall-clock tests run the same lifecycle with one day = ``seconds_per_day`` seconds.
    Follow-ups of the meeting's commitments use the matching escalation policy."""

    seconds_per_day: float = 86400.0
    research_days: float = 60  # 调研 before the meeting
    research_reminder_days: float = 7  # reminder to the organiser before the deadline
    invitation_reply_days: float = 5  # silence past this brings a replacement round
    evaluation_window_days: float = 30  # two-way evaluation (双向评价) after the last follow-up
    follow_up_policy: str = "production"  # production | seconds
    follow_up_seconds_scale: float = 1.0
    # Each draw is announced before its seed exists: the public random value named
    # here becomes known this long after the announcement, and staff enter it then.
    public_value_days: float = 2
    public_value_source: str = "中国福利彩票双色球开奖号码"
    public_value_format: str = "lottery"  # lottery | beacon

    def seconds(self, days: float) -> float:
        return days * self.seconds_per_day


# Who is drawn for each format (1+2+4+X); the plenary (全委会议) is all members: no draw.
COMPOSITION_BY_FORMAT: dict[str, dict[str, int]] = {
    "special_topic": {"talent": 8, "member": 6, "public_rep": 5},
    "standing_committee": {"talent": 4, "member": 8, "public_rep": 3},
    "sector_micro": {"talent": 3, "member": 3, "public_rep": 4},
}


@dataclass
class DrawQuota:
    """A quota of the consultation's own draw shape: min/max seats for attribute ==
    value, counted among one kind of person when ``kind`` is set."""

    attribute: str
    value: str
    min: int = 0
    max: int | None = None
    kind: str | None = None


@dataclass
class ResearchCompleted:
    """调研 done: what the draw needs to know."""

    report_id: int
    expertise: list[str] = field(default_factory=list)  # talents drawn must have one of these
    exclude_departments: list[str] = field(default_factory=list)  # conflicts of interest
    # the consultation's own draw shape; None / empty: the format's defaults
    composition: dict[str, int] | None = None
    quotas: list[DrawQuota] = field(default_factory=list)


@dataclass
class ResumeConsultation:
    """Staff fixed what stopped the consultation (待处理) and resume it; with an amended
    research report when the draw failed on it. A role, never a name."""

    resumed_by: str = "staff"
    research: ResearchCompleted | None = None


@dataclass
class InvitationAnswer:
    person_id: int
    accepted: bool


@dataclass
class MeetingHeld:
    meeting_id: int


@dataclass
class Invitation:
    person_id: int
    round: int
    reply_by: str  # ISO 8601
    answer: str = "pending"  # pending | accepted | declined | silent


@dataclass
class DrawAnnouncement:
    """A draw announced and waiting for its public value (public via talent's
    GET /public/draws/{draw_id}): no person ids."""

    draw_id: int
    round: int
    portfolio_hash: str
    commitment: str
    public_randomness_source: str
    public_randomness_at: str  # ISO 8601
    public_randomness_format: str


@dataclass
class PublicValue:
    """Staff enter the announced public value once it is public (intake route)."""

    draw_id: int
    public_randomness: str
