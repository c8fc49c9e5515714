"""Controlled vocabularies of the talent pool (协商人才库).

Identifiers are the Chinese terms themselves: clerks type and read them in
spreadsheets, and a draw's quotas name them, so translating would only add a
mapping to get wrong.
"""

from __future__ import annotations

# Expertise fields (专业领域): their one home is services/common/vocabulary.py, where
# intake checks research reports against them too; talent's modules import them here.
# So are the words of a draw's shape (kinds, quota attributes and their closed values).
from services.common.vocabulary import (  # noqa: F401
    AGE_BANDS,
    EXPERTISE_FIELDS,
    AgeBand,
    Expertise,
    Gender,
    PersonKind,
    QuotaAttribute,
)

KIND_LABELS = {"talent": "协商人才", "member": "政协委员", "public_rep": "群众代表"}
GENDER_LABELS = {"female": "女", "male": "男"}

#: The value a person without a town, sector, ... has in a draw: such people
#: still count for the panel size, never for a quota on a real value.
UNKNOWN = "未填"
