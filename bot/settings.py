"""Settings, read once at start-up from the environment and `.env`, then passed down.

Nothing here runs at import: call `load_settings()` from an entry point.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
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
    workers: int = 2
    max_queue: int = 20

    # --- persistence / scheduling -------------------------------------------------------------
    database_url: str = "sqlite:///./chimera.sqlite3"
    digest_use_llm: bool = Field(True, description="Scheduled digests ask Ollama for a narrative "
                                 "(a failed narrative never blocks the digest).")

    log_level: str = "INFO"

    @field_validator("storage_roots", mode="before")
    @classmethod
    def _split_roots(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

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
