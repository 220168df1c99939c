"""The one typed settings object, read once from the environment (README: Configuration)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "DEVELOPMENT_SECRET", "PASSWORD_FLOOR"]

# Sessions hashed with this in development only; production refuses to start without its own.
DEVELOPMENT_SECRET = "exquisite-development-secret-not-for-production"
# RFC 9106's second recommended argon2id option (argon2-cffi's default): 64 MiB, 3 passes, 4 lanes.
PASSWORD_FLOOR = {"time_cost": 3, "memory_kib": 65536, "parallelism": 4}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    database_url: str | None = None
    redis_url: str | None = None
    blob_url: str | None = None
    generator: Literal["mock", "openai"] = "mock"
    openai_api_key: str | None = None
    # gpt-image-1 was shut down on 2026-10-23 (the openai SDK's types/image_model.py).
    openai_model: str = "gpt-image-2.5-flare"
    openai_base_url: str | None = None
    # The images API's request (engine/generators/openai_images.py): quality and planning effort
    # (None: the model's default); the largest edge asked for (a T=1024 window is 2048; 1536 costs
    # a quarter of the resolution for a faster, cheaper image); partial images streamed as previews.
    openai_quality: Literal["low", "medium", "high", "xhigh", "max", "auto"] | None = None
    openai_complexity: Literal["low", "medium", "high"] | None = None
    openai_max_side: int = Field(2048, ge=1024, le=2048, multiple_of=16)
    openai_partial_images: int = Field(2, ge=0, le=3)
    # Prompts checked by OpenAI's moderation endpoint before any debit (server/play/moderation.py).
    moderation: Literal["openai", "off"] = "off"
    public_url: str | None = None
    session_secret: str | None = None
    exquisite_env: Literal["development", "production"] = "development"
    signup_credits: int = Field(20, ge=0)
    step_cost: int = Field(1, ge=1)
    step_lease_seconds: float = Field(30, gt=0)
    generator_timeout_seconds: float = Field(120, gt=0)
    mock_delay_ms: int = Field(1500, ge=0)
    mock_fail_rate: float = Field(0.0, ge=0, le=1)
    # How a new tile is joined to its neighbours (engine/seam.py): the exact gradient-domain blend,
    # or the cheaper per-edge offset for small machines.
    seam_method: Literal["poisson", "offset"] = "poisson"

    reaper_interval_seconds: float = Field(2.0, gt=0)
    # Free players below this are topped up to it once per UTC day (0: no allowance).
    daily_credits: int = Field(10, ge=0)
    # A room with no step for this long finishes (`idle`).
    room_idle_days: float = Field(14, gt=0)
    # At shutdown, running steps get this long to commit; then they are aborted and refunded.
    shutdown_grace_seconds: float = Field(10.0, ge=0)
    # Frames a socket may have waiting before it counts as too slow and is closed with 4008.
    ws_send_queue: int = Field(512, ge=1)
    # A reconnect further behind than this many events gets a snapshot instead of the events.
    ws_resume_window: int = Field(1000, ge=1)
    # How often the hub compares its rooms' seq with Postgres, to recover lost bus messages.
    bus_resync_seconds: float = Field(2.0, gt=0)
    # Retention and canvases (issue 12, findings 2, 4 and 7; server/play/retention.py, canvas.py).
    # Every RETENTION_INTERVAL_SECONDS the job deletes blobs no tile or canvas names once older
    # than BLOB_GRACE_SECONDS (more than STEP_LEASE_SECONDS: a step writes its blob before TX2,
    # which its lease bounds), and events older than EVENT_RETENTION_DAYS that are more than
    # WS_RESUME_WINDOW behind their room's head (a resume that far back gets a snapshot anyway).
    retention_interval_seconds: float = Field(3600.0, gt=0)
    blob_grace_seconds: float = Field(3600.0, gt=0)
    event_retention_days: float = Field(30, gt=0)
    # Canvas renders at once in this process: each holds a strip of the canvas and its PNG.
    canvas_renders: int = Field(1, ge=1, le=8)
    # Test suite only: the step boundary at which the process kills itself (server/play/crash_points.py).
    crash_at: str | None = Field(None, validation_alias=AliasChoices("crash_at", "exquisite_crash_at"))

    data_dir: Path = Field(Path(".exquisite"), validation_alias=AliasChoices("data_dir", "exquisite_data_dir"))
    db_pool_min: int = Field(1, ge=0)
    db_pool_max: int = Field(10, ge=1)
    session_days: int = Field(30, ge=1)
    # Per minute: sign-up and sign-in attempts per client address, and per email and address the
    # attempts that could be guessing a password (sign-ups and failed sign-ins).
    auth_attempts_per_address: int = Field(300, ge=1)
    auth_attempts_per_email: int = Field(10, ge=1)
    # Per user per minute: step submissions, and admin requests.
    steps_per_minute: int = Field(120, ge=1)
    # Overload: new steps are refused `503 busy` while the event loop lags (smoothed), a pooled
    # connection was waited for, or a call waits for a pixel worker longer than these
    # (server/load.py); 0 turns a bound off.
    busy_loop_lag_ms: float = Field(150.0, ge=0)
    busy_pool_wait_ms: float = Field(250.0, ge=0)
    busy_pixel_wait_ms: float = Field(1000.0, ge=0)
    admin_requests_per_minute: int = Field(240, ge=1)

    # Quotas and accounts (issue 12, findings 5-7 and 12; server/http/ratelimit.py).
    # How many proxies in front append to X-Forwarded-For: the client address is the entry that
    # many hops from the right (Render: 1); 0 trusts no header and takes the peer's address.
    trusted_proxy_hops: int = Field(0, ge=0, le=10)
    # argon2 hashes at once (64 MiB each in production), and how many more may wait for one
    # before sign-ins are refused `503 busy`: a burst of sign-ins cannot exhaust memory.
    password_concurrency: int = Field(2, ge=1)
    password_queue: int = Field(32, ge=0)
    # Per hour, failed sign-ins per email from all addresses together: a slow global ceiling.
    auth_failures_per_email_per_hour: int = Field(100, ge=1)
    # Rooms a user may create per hour, and hold in the lobby at once (`429 too_many_rooms`).
    rooms_per_hour: int = Field(30, ge=1)
    lobby_rooms_per_user: int = Field(5, ge=1)
    # Live sockets (room and admin) per user and per client address (`429 too_many_connections`).
    sockets_per_user: int = Field(32, ge=1)
    sockets_per_address: int = Field(128, ge=1)
    # A session unused this long ends, whatever its absolute expiry (SESSION_DAYS).
    session_idle_days: float = Field(7, gt=0)

    # argon2id costs; production refuses less than RFC 9106's low-memory profile (PASSWORD_FLOOR).
    password_time_cost: int = Field(PASSWORD_FLOOR["time_cost"], ge=1)
    password_memory_kib: int = Field(PASSWORD_FLOOR["memory_kib"], ge=8)
    password_parallelism: int = Field(PASSWORD_FLOOR["parallelism"], ge=1)

    # Buying credits (server/billing/): off without a secret key.
    stripe_secret_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_api_base: str | None = None
    stripe_allow_test_keys: bool = False
    # Packs on sale, "credits:price" in the currency's smallest unit, comma-separated.
    credit_packs: str = "50:500,120:1000"
    credit_currency: str = "usd"
    checkouts_per_minute: int = Field(10, ge=1)
    # The host's `present` frames per minute: a spammed reveal would fill every viewer's send queue.
    present_frames_per_minute: int = Field(240, ge=1)

    log_format: Literal["text", "json"] | None = None

    @property
    def json_logs(self) -> bool:
        """JSON lines in production unless LOG_FORMAT says otherwise."""
        return self.log_format == "json" or (self.log_format is None and self.production)

    @property
    def outage_threshold_seconds(self) -> float:
        """A heartbeat gap this long means no instance was serving: a few missed reaper passes."""
        return 3 * self.reaper_interval_seconds + 1

    @field_validator("blob_grace_seconds")
    @classmethod
    def _check_blob_grace(cls, value: float, info: ValidationInfo) -> float:
        # A shorter grace could delete the blob of a step that may still commit.
        lease = info.data.get("step_lease_seconds")
        if lease is not None and value <= lease:
            raise ValueError(f"must be more than STEP_LEASE_SECONDS ({lease})")
        return value

    @field_validator("credit_packs")
    @classmethod
    def _check_packs(cls, value: str) -> str:
        packs = [pack.strip() for pack in value.split(",") if pack.strip()]
        if not packs or not all(re.fullmatch(r"[1-9][0-9]{0,5}:[1-9][0-9]{0,7}", pack) for pack in packs):
            raise ValueError('must be "credits:price" pairs, comma-separated, e.g. "50:500,120:1000"')
        return ",".join(packs)

    @property
    def packs(self) -> dict[int, int]:
        """Credits on sale -> their price in the currency's smallest unit."""
        return {int(c): int(a) for c, a in (pack.split(":") for pack in self.credit_packs.split(","))}

    @property
    def billing(self) -> bool:
        """Whether credits are on sale: a Stripe secret key is set."""
        return bool(self.stripe_secret_key)

    @property
    def production(self) -> bool:
        return self.exquisite_env == "production"

    @property
    def secret(self) -> str:
        return self.session_secret or DEVELOPMENT_SECRET

    @property
    def embedded_database(self) -> bool:
        return not self.database_url

    @property
    def blob_dir(self) -> Path:
        """Where local blobs live: `BLOB_URL=file:///path`, else under the data directory."""
        if self.blob_url and self.blob_url.startswith("file://"):
            return Path(self.blob_url.removeprefix("file://"))
        return self.data_dir / "blobs"

    def production_problems(self) -> list[str]:
        """Why this configuration must not serve production traffic (empty when it may)."""
        if not self.production:
            return []
        problems = []
        if not self.session_secret:
            problems.append("SESSION_SECRET is not set")
        if self.embedded_database:
            problems.append("DATABASE_URL is not set (the embedded database is for development)")
        if not self.redis_url:
            problems.append("REDIS_URL is not set (the in-process bus serves one instance only)")
        if not self.blob_url:
            problems.append("BLOB_URL is not set (blobs would live in the local data directory)")
        if self.crash_at:
            problems.append("EXQUISITE_CRASH_AT is set (crash points are for the test suite)")
        if self.stripe_secret_key and not self.stripe_webhook_secret:
            problems.append("STRIPE_SECRET_KEY is set without STRIPE_WEBHOOK_SECRET (payments would never land)")
        if self.generator == "openai" and not self.openai_api_key:
            problems.append("GENERATOR=openai without OPENAI_API_KEY (every step would fail)")
        if self.moderation == "openai" and not self.openai_api_key:
            problems.append("MODERATION=openai without OPENAI_API_KEY (prompts cannot be checked)")
        if (self.stripe_secret_key or "").startswith("sk_test_") and not self.stripe_allow_test_keys:
            problems.append("STRIPE_SECRET_KEY is a test key (set STRIPE_ALLOW_TEST_KEYS=1 to mean it)")
        costs = {
            "time_cost": self.password_time_cost,
            "memory_kib": self.password_memory_kib,
            "parallelism": self.password_parallelism,
        }
        weaker = [name for name, floor in PASSWORD_FLOOR.items() if costs[name] < floor]
        if weaker:
            names = ", ".join(f"PASSWORD_{name.upper()}" for name in weaker)
            problems.append(f"{names} below the production floor (RFC 9106 low-memory argon2id)")
        return problems
