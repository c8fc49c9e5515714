"""Controlled vocabularies of the talent pool (协商人才库).

Identifiers are the Chinese terms themselves: clerks type and read them in
spreadsheets, and a draw's quotas name them, so translating would only add a
mapping to get wrong.
"""

from __future__ import annotations

from typing import Literal, get_args

# Expertise fields (专业领域): their one home is services/common/vocabulary.py, where
# intake checks research reports against them too; talent's modules import them here.
from services.common.vocabulary import EXPERTISE_FIELDS, Expertise  # noqa: F401

PersonKind = Literal["talent", "member", "public_rep"]
KIND_LABELS = {"talent": "协商人才", "member": "政协委员", "public_rep": "群众代表"}

Gender = Literal["female", "male"]
GENDER_LABELS = {"female": "女", "male": "男"}

AgeBand = Literal["18-29", "30-39", "40-49", "50-59", "60+"]
AGE_BANDS: tuple[str, ...] = get_args(AgeBand)

#: Attributes a draw's quotas may constrain.
QuotaAttribute = Literal["gender", "town", "sector", "expertise", "age_band"]

#: The value a person without a town, sector, ... has in a draw: such people
#: still count for the panel size, never for a quota on a real value.
UNKNOWN = "未填"
