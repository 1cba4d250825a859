"""Settings, read once at start-up from the environment and `.env`, then passed down.

Nothing here runs at import: call `load_settings()` from an entry point.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from bot.errors import ConfigError

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


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
    max_archive_bytes: int = Field(512 * 1024 * 1024, gt=0)
    max_uncompressed_bytes: int = Field(2 * 1024 * 1024 * 1024, gt=0)
    max_members: int = Field(50_000, gt=0)
    max_file_bytes: int = Field(64 * 1024 * 1024, gt=0)
    ingest_workers: int = Field(0, ge=0, description="Processes that read a large archive's files "
                                "(from 1,000 files): 0 = automatic (one per idle CPU in the CLI; 1 in the bot, "
                                "whose analyses already run side by side), 1 = no pool.")
    # Rows bound a job, not bytes (README "Limits"): a file over these is skipped unparsed, and a
    # file that would take the job over its measurement budget is skipped (bot.core.limits, whose defaults these are).
    max_file_rows: int = Field(100_000, gt=0, description="Lines (JSON: objects) one file may hold.")
    max_file_cells: int = Field(1_000_000, gt=0, description="Values (separators) one file may hold.")
    max_job_measurements: int = Field(300_000, gt=0, description="Measurements one analysis "
                                      "reads and stores, across its files.")
    max_report_models: int = Field(100, gt=0, description="Models one report covers (those with the most "
                                   "measurements); the rest are counted and named in the report.")
    max_report_configurations: int = Field(1000, gt=0, description="Configurations (across its models) one "
                                           "report covers; the rest are counted.")

    # --- Ollama -------------------------------------------------------------------------------
    ollama_host: str = "http://127.0.0.1:11434"
    ollama_model: str = "gemma3:latest"
    ollama_num_gpu: int | None = Field(None, ge=0)
    ollama_num_ctx: int = Field(8192, gt=0)
    ollama_temperature: float = Field(0.3, ge=0)
    ollama_top_p: float = Field(0.9, ge=0, le=1)
    ollama_top_k: int = Field(40, ge=0)
    ollama_repeat_penalty: float = Field(1.1, ge=0)
    ollama_keep_alive: str = "10m"
    ollama_timeout_s: float = Field(120.0, gt=0)

    # --- Slack --------------------------------------------------------------------------------
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_mode: str = Field("socket", description="'socket' (needs SLACK_APP_TOKEN) or 'http'.")
    http_host: str = "0.0.0.0"
    http_port: int = Field(3000, ge=0, le=65535)
    health_port: int | None = Field(None, ge=0, le=65535, description="Socket Mode: serve /health and "
                                    "/health/ready on this port (HTTP mode serves them on HTTP_PORT).")
    # Slack sends at most a few hundred KB; a body above this is refused before it is read.
    max_request_bytes: int = Field(1024 * 1024, ge=64 * 1024)
    workers: int = Field(2, ge=1)
    max_queue: int = Field(20, ge=0)

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
    database_write_retry_s: float = Field(60.0, ge=0, description="Off the listener threads, a write the "
                                          "database refuses (another process holds its write lock, or it is "
                                          "briefly down) is retried this long: digest commands, a run's record.")

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

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        value = value.strip().upper()
        if value not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return value

    @field_validator("ollama_host", "slack_api_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        value = value.strip()
        if not value or any(c.isspace() for c in value):
            raise ValueError("must be a URL such as http://127.0.0.1:11434")
        if "://" in value:
            try:
                parts = urlsplit(value)
                parts.port  # noqa: B018 - raises ValueError for a port that is not a number
            except ValueError as err:
                raise ValueError(f"is not a usable URL ({err})") from None
            if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
                raise ValueError("must be an http:// or https:// URL with a host")
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
            raise ValueError("must be 'socket' or 'http'")
        return value


def load_settings(**overrides: object) -> Settings:
    """Build the settings once (environment, then `.env`, then explicit overrides).

    Raises `ConfigError` whose message is one line naming the bad setting(s), never a value (a
    bad value may be a secret).
    """
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as err:
        raise ConfigError(describe_invalid(err)) from None
    except SettingsError as err:  # a value the source could not even parse (e.g. a list as JSON)
        raise ConfigError(" ".join(str(err).split())[:300]) from None


def describe_invalid(err: ValidationError) -> str:
    """One line: the first bad setting by its environment name and why, then how many more."""
    problems = err.errors(include_url=False, include_input=False)
    # A rule over several settings (HEARTBEAT_S vs LEASE_S) has no location: its reason names them.
    names = [str(p["loc"][0]).upper() if p.get("loc") else "" for p in problems]
    first = problems[0] if problems else {"msg": "invalid value"}
    reason = " ".join(str(first.get("msg", "invalid value")).removeprefix("Value error, ").split())
    line = f"{names[0]}: {reason}" if names and names[0] else reason
    others = sorted(set(names[1:]) - {names[0], ""}) if names else []
    if others:
        line += f" (also invalid: {', '.join(others)})"
    return line
