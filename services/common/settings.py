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

    # Base URL of each service; several replicas as a comma-separated list, which the
    # worker's ServiceClient uses round-robin with failover (service_urls).
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

    # Temporal payload encryption (services/common/codec.py): key id -> base64 of 32
    # random bytes, and the id of the key new payloads use (default: the last listed).
    # Empty means "read or create <data_dir>/payload-keys.json" (embedded mode).
    payload_keys: dict[str, str] = Field(default_factory=dict)
    payload_key_id: str = ""
    # The codec endpoint the Temporal Web UI calls to show decoded payloads
    # (intake's /codec, docs/operators.md); browsers may call it from these origins
    # (default: the origin of temporal_ui_url).
    codec_cors_origins: list[str] = Field(default_factory=list)

    # Reverse proxies whose X-Forwarded-For is believed (addresses or networks, e.g.
    # ["10.0.0.0/8"]); from anyone else the header is ignored (client_identity.py).
    trusted_proxies: list[str] = Field(default_factory=list)

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

    # The residents' sign-in for the public page (services/intake/residents/identity.py,
    # docs/public.md): "dev" binds a resident to a device id the page generates;
    # "wechat" is the official account's web authorisation (网页授权, snsapi_base), with
    # the account's AppID and AppSecret. Public session tokens last public_session_ttl_seconds.
    public_identity_provider: Literal["dev", "wechat"] = "dev"
    wechat_app_id: str = ""
    wechat_app_secret: str = ""
    public_session_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)

    # Proposal handling (办理, issue 13), in working days of the official calendar (or of a
    # commitment's seconds scale): a department may object to an assignment (交办异议)
    # within objection_window_working_days; co-handlers (会办) owe the lead their opinion
    # within co_handling_opinion_working_days unless the office sets a date; the office
    # reviews a reply for disclosure (答复公开) within disclosure_review_working_days;
    # extensions move a due date at most reply_limit_months past the original one, all
    # together (six months in all; a month counts 21 working days on a seconds scale).
    objection_window_working_days: int = Field(default=5, ge=1, le=60)
    co_handling_opinion_working_days: int = Field(default=20, ge=1, le=120)
    disclosure_review_working_days: int = Field(default=20, ge=1, le=120)
    reply_limit_months: int = Field(default=6, ge=1, le=24)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        import ipaddress

        for entry in value:
            ipaddress.ip_network(entry, strict=False)  # ValueError names the bad entry
        return value
    # Namespaces workflow ids (services/common/workflow_ids.py): consultation-<installation>-<topic id>.
    # Empty: read <data_dir>/installation-id (`xieshang up` writes one on a fresh data
    # dir), else un-namespaced ids as before. Production sets one value for all processes.
    installation_id: str = Field(default="", pattern=r"^[a-z0-9]{0,16}$")

    # Observability (docs/operators.md, deploy/): the worker's Prometheus endpoint
    # (Temporal SDK metrics and the worker's own; port 0 turns it off) and where traces go
    # (OpenTelemetry; "none" by default, "console" prints spans, "otlp" sends them over
    # OTLP/HTTP to tracing_otlp_endpoint).
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = Field(default=9464, ge=0, le=65535)
    tracing_exporter: Literal["none", "console", "otlp"] = "none"
    tracing_otlp_endpoint: str = "http://127.0.0.1:4318/v1/traces"

    # Worker tuning (docs/scaling.md). The sticky cache keeps running workflows in memory
    # so a timer firing does not rebuild (replay) its workflow; size it to the number of
    # workflows that can be due at once. Slots: None keeps the SDK's defaults.
    worker_max_cached_workflows: int = Field(default=5000, ge=0)
    worker_max_concurrent_workflow_tasks: int | None = Field(default=None, ge=1)
    worker_max_concurrent_activities: int | None = Field(default=None, ge=1)
    worker_max_concurrent_local_activities: int | None = Field(default=None, ge=1)
    # Full garbage collections walk every cached workflow and stop every workflow task
    # (workflows/telemetry.py, GarbageCollectionWatch): survivors of one are frozen, and
    # the whole heap is walked again once per this many hours. 0: Python's default.
    worker_gc_full_scan_hours: float = Field(default=6.0, ge=0)

    @field_validator("jwt_secret", "notification_signing_secret")
    @classmethod
    def _long_enough(cls, value: str) -> str:
        # RFC 7518 §3.2: an HMAC-SHA256 key shorter than the hash output is guessable.
        if value and len(value) < 32:
            raise ValueError("a signing key must be at least 32 characters")
        return value

    def codec_origins(self) -> list[str]:
        return self.codec_cors_origins or [self.temporal_ui_url.rstrip("/")]

    def database_url(self, service: ServiceName) -> str:
        return getattr(self, f"{service}_database_url")

    def service_urls(self, service: ServiceName) -> list[str]:
        """Every replica's base URL, in the order configured."""
        urls = [u.strip().rstrip("/") for u in getattr(self, f"{service}_url").split(",") if u.strip()]
        if not urls:
            raise ValueError(f"XIESHANG_{service.upper()}_URL is empty")
        return urls

    def service_url(self, service: ServiceName) -> str:
        """The first (or only) replica's base URL."""
        return self.service_urls(service)[0]


@lru_cache
def get_settings() -> Settings:
    return Settings()
