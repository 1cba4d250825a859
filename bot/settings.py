"""Settings, read once at start-up from the environment and `.env`, then passed down.

Nothing here runs at import: call `load_settings()` from an entry point.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    # --- storage / archives -------------------------------------------------------------------
    storage_roots: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["./archives"],
        description="Comma-separated roots (local folders or fsspec URLs like s3://bucket/prefix) "
        "inside which archive names are resolved.",
    )
    work_dir: Path = Field(Path("./.chimera-work"), description="Scratch space for extraction.")
    max_archive_bytes: int = 512 * 1024 * 1024
    max_uncompressed_bytes: int = 2 * 1024 * 1024 * 1024
    max_members: int = 50_000
    max_file_bytes: int = 64 * 1024 * 1024

    # --- Ollama -------------------------------------------------------------------------------
    ollama_host: str = "http://127.0.0.1:11434"
    ollama_model: str = "gemma3:latest"
    ollama_num_gpu: int | None = None
    ollama_num_ctx: int = 8192
    ollama_temperature: float = 0.3
    ollama_top_p: float = 0.9
    ollama_top_k: int = 40
    ollama_repeat_penalty: float = 1.1
    ollama_keep_alive: str = "10m"
    ollama_timeout_s: float = 120.0

    # --- Slack --------------------------------------------------------------------------------
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_mode: str = Field("socket", description="'socket' (needs SLACK_APP_TOKEN) or 'http'.")
    http_host: str = "0.0.0.0"
    http_port: int = 3000
    health_port: int | None = Field(None, description="Socket Mode: serve /health and /health/ready on this "
                                    "port (HTTP mode serves them on HTTP_PORT).")
    workers: int = 2
    max_queue: int = 20

    # --- persistence / scheduling -------------------------------------------------------------
    database_url: str = "sqlite:///./chimera.sqlite3"
    digest_use_llm: bool = Field(True, description="Scheduled digests ask Ollama for a narrative "
                                 "(a failed narrative never blocks the digest).")
    database_connect_timeout_s: float = Field(5.0, gt=0, description="Giving up on one connection attempt.")
    database_busy_timeout_s: float = Field(10.0, ge=0, description="SQLite: how long a write waits for "
                                           "another process's write lock before giving up.")
    database_startup_wait_s: float = Field(600.0, ge=0, description="At start-up, how long to wait (retrying "
                                           "with backoff) for an unreachable database before exiting.")
    intake_retry_s: float = Field(2.0, ge=0, description="A request arriving while the database is down is "
                                  "retried this long before Slack is asked to redeliver it (or the user told).")

    # --- replicas and the durable work queue --------------------------------------------------
    lease_s: float = Field(30.0, gt=0, description="A replica's claim on a task; when it stops "
                           "heartbeating (it died), another replica takes the task over after this.")
    heartbeat_s: float = Field(10.0, gt=0, description="How often a replica renews its leases.")
    task_poll_s: float = Field(1.0, gt=0, description="How often an idle replica looks for work "
                               "(work queued on this replica starts at once).")
    task_max_attempts: int = Field(2, ge=1, description="Claims of one task before it is given up "
                                   "(its message then says it was interrupted and how to rerun it).")
    events_keep_h: float = Field(24.0, gt=0, description="How long answered Slack event ids are kept.")
    maintenance_interval_s: float = Field(3600.0, gt=0, description="How often old records are pruned.")
    replica_host: str | None = Field(None, description="This replica's host name (default: the "
                                     "machine's); must differ between replicas.")

    log_level: str = "INFO"

    @field_validator("storage_roots", mode="before")
    @classmethod
    def _split_roots(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _check_lease(self) -> Settings:
        if self.heartbeat_s * 2 > self.lease_s:
            raise ValueError("HEARTBEAT_S must be at most half of LEASE_S (a lease must survive a missed beat)")
        return self

    @field_validator("slack_mode")
    @classmethod
    def _check_mode(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in {"socket", "http"}:
            raise ValueError("SLACK_MODE must be 'socket' or 'http'")
        return value


def load_settings(**overrides: object) -> Settings:
    """Build the settings once (environment, then `.env`, then explicit overrides)."""
    return Settings(**overrides)  # type: ignore[arg-type]
