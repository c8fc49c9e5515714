"""Field types shared by the services' API schemas."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(timezone.utc)


# Accepts any offset (clients in Asia/Shanghai send +08:00) and keeps UTC, so what is
# answered now equals what is read back later.
UTCTimestamp = Annotated[AwareDatetime, AfterValidator(_to_utc)]
