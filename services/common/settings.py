"""One typed settings object for every process (services, worker, CLI).

Every field is read from the environment with the prefix ``XIESHANG_`` (for example
``XIESHANG_INTAKE_DATABASE_URL``); README.md lists them all. Defaults are the embedded
mode: SQLite files under ``.data/`` and a Temporal dev server on loopback.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ServiceName = Literal["intake", "talent", "evaluation"]
SERVICE_NAMES: tuple[ServiceName, ...] = ("intake", "talent", "evaluation")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="XIESHANG_", extra="ignore")

    # Where embedded-mode state lives: SQLite files, the Temporal dev server's database,
    # the generated signing key and the process logs of `make up`.
    data_dir: str = ".data"

    intake_database_url: str = "sqlite+aiosqlite:///.data/intake.db"
    talent_database_url: str = "sqlite+aiosqlite:///.data/talent.db"
    evaluation_database_url: str = "sqlite+aiosqlite:///.data/evaluation.db"

    intake_url: str = "http://127.0.0.1:8001"
    talent_url: str = "http://127.0.0.1:8002"
    evaluation_url: str = "http://127.0.0.1:8003"

    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "xieshang"
    temporal_ui_url: str = "http://127.0.0.1:8233"

    # HS256 signing key for bearer tokens. Empty means "read or create
    # <data_dir>/signing.key" (embedded mode); production sets it explicitly.
    jwt_secret: str = ""
    jwt_issuer: str = "xieshang"
    # Lifetime of tokens minted for service-to-service calls.
    service_token_ttl_seconds: int = Field(default=3600, ge=60)

    # Seconds an outgoing service-to-service HTTP call may take.
    http_timeout_seconds: float = Field(default=10.0, gt=0)
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    # The consultation lifecycle's waiting times, in days; one "day" lasts
    # consultation_day_seconds (86400 in production; demos and tests shorten it, and the
    # meeting's commitments are then followed up on the same scale, one working day =
    # one such day).
    consultation_day_seconds: float = Field(default=86400.0, gt=0)
    consultation_research_days: float = Field(default=60, gt=0)
    consultation_invitation_reply_days: float = Field(default=5, gt=0)
    consultation_evaluation_window_days: float = Field(default=30, gt=0)
    # Each draw is announced first; its public random value (a named lottery's result,
    # format lottery = RFC 3797 numbers, or a beacon round, format beacon = 64 hex
    # digits) becomes known this many days later, and staff enter it then.
    consultation_public_value_days: float = Field(default=2, gt=0)
    consultation_public_value_source: str = Field(default="中国福利彩票双色球开奖号码", min_length=1, max_length=200)
    consultation_public_value_format: Literal["lottery", "beacon"] = "lottery"

    # Notifications (evaluation's outbox, docs/notifications.md): webhook name -> URL.
    # URLs of chat robots carry tokens, so only names appear in records and logs.
    notification_webhooks: dict[str, str] = Field(default_factory=dict)
    # HMAC-SHA256 key signing every delivery; empty: generated into data_dir.
    notification_signing_secret: str = ""
    notification_poll_seconds: float = Field(default=5.0, gt=0)
    notification_max_attempts: int = Field(default=30, ge=1)
    notification_backoff_seconds: float = Field(default=1.0, gt=0)
    notification_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    notification_timeout_seconds: float = Field(default=10.0, gt=0)
    notification_batch_size: int = Field(default=50, ge=1, le=1000)

    @field_validator("jwt_secret", "notification_signing_secret")
    @classmethod
    def _long_enough(cls, value: str) -> str:
        # RFC 7518 §3.2: an HMAC-SHA256 key shorter than the hash output is guessable.
        if value and len(value) < 32:
            raise ValueError("a signing key must be at least 32 characters")
        return value

    def database_url(self, service: ServiceName) -> str:
        return getattr(self, f"{service}_database_url")

    def service_url(self, service: ServiceName) -> str:
        return getattr(self, f"{service}_url")


@lru_cache
def get_settings() -> Settings:
    return Settings()
