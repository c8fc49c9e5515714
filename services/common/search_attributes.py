"""Custom search attributes: what operators filter on in the Temporal Web UI.

The SQL visibility store allows a namespace at most 10 Keyword, 3 Int, 3 Datetime,
3 Bool, 3 Double, 3 Text and 3 KeywordList attributes, stored unencrypted. This is the
whole budget the project uses (6 Keyword, 2 Int, 1 Datetime, 2 Bool); none of them may
carry personal data.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

CONSULTATION_STAGE = SearchAttributeKey.for_keyword("ConsultationStage")
TOPIC_CHANNEL = SearchAttributeKey.for_keyword("TopicChannel")
CONSULTATION_FORMAT = SearchAttributeKey.for_keyword("ConsultationFormat")
ORGANISER = SearchAttributeKey.for_keyword("Organiser")
DEPARTMENT = SearchAttributeKey.for_keyword("Department")
ESCALATION_LEVEL = SearchAttributeKey.for_int("EscalationLevel")
PLAN_YEAR = SearchAttributeKey.for_int("PlanYear")
DUE_TIME = SearchAttributeKey.for_datetime("DueTime")
OVERDUE = SearchAttributeKey.for_bool("Overdue")
# True while a deadline rests on a Monday–Friday guess (the official schedule of its
# year is not known yet); loading the schedule recomputes these.
DEADLINE_PROVISIONAL = SearchAttributeKey.for_bool("DeadlineProvisional")
# The step a consultation or follow-up stopped at, waiting for staff (待处理; see
# workflows/attention.py); unset otherwise. Find them: `NeedsAttention IS NOT NULL`.
NEEDS_ATTENTION = SearchAttributeKey.for_keyword("NeedsAttention")

ALL_KEYS = (
    CONSULTATION_STAGE,
    TOPIC_CHANNEL,
    CONSULTATION_FORMAT,
    ORGANISER,
    DEPARTMENT,
    ESCALATION_LEVEL,
    PLAN_YEAR,
    DUE_TIME,
    OVERDUE,
    DEADLINE_PROVISIONAL,
    NEEDS_ATTENTION,
)

# Names the `temporal` CLI and the server use for each indexed value type.
_CLI_TYPE = {
    "KEYWORD": "Keyword",
    "INT": "Int",
    "DATETIME": "Datetime",
    "BOOL": "Bool",
    "DOUBLE": "Double",
    "TEXT": "Text",
    "KEYWORD_LIST": "KeywordList",
}


def cli_arguments() -> list[str]:
    """`--search-attribute Name=Type` pairs for `temporal server start-dev`."""
    args: list[str] = []
    for key in ALL_KEYS:
        args += ["--search-attribute", f"{key.name}={_CLI_TYPE[key.indexed_value_type.name]}"]
    return args
