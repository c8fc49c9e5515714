"""The public read API's shapes (答复公开): what a resident may see of a commitment.

No personal data: departments are institutions, the content was said in a public
meeting, replies appear only as the office's disclosure review published them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class PublicReply(BaseModel):
    reply_class: Literal["A", "B", "C", "D"] = Field(description="A 已解决 / B 正在解决 / C 列入计划 / D 留作参考")
    published_at: datetime
    text: str = Field(description="The reply in full (contact data removed) or the office's reviewed summary")
    disclosure: Literal["full", "summary"]


class SatisfactionCounts(BaseModel):
    ratings: int
    satisfied: int  # 满意
    basically_satisfied: int  # 基本满意
    unsatisfied: int  # 不满意


class SatisfactionSummary(BaseModel):
    handling: SatisfactionCounts = Field(description="对办理工作 (the handling work)")
    outcome: SatisfactionCounts = Field(description="对办理结果 (the outcome)")


class PublicCommitment(BaseModel):
    id: int
    topic_id: int
    lead_department: str = Field(description="主办单位")
    co_handlers: list[str] = Field(description="会办单位")
    content: str
    due_at: datetime
    due_in_working_days: int = Field(description="Working days from the assignment (交办) to the due date in force")
    status: Literal["open", "completed", "verified", "closed"]
    escalation_level: int
    reopened_count: int
    replies: list[PublicReply] = Field(description="Only what passed the disclosure review, oldest first")
    satisfaction: SatisfactionSummary


class PublicCommitmentPage(BaseModel):
    items: list[PublicCommitment]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")
