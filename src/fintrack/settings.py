"""One Settings object read from the environment; secrets may come from NAME_FILE."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values people paste from tutorials; a server signing sessions with one of these is not secret.
PLACEHOLDER_SECRETS = frozenset(
    {
        "changeme",
        "change-me",
        "change_me",
        "secret",
        "secret-key",
        "secret_key",
        "dev",
        "development",
        "password",
        "please-change",
        "your-secret-key",
        "xxx",
        "test",
        "insecure",
        "default",
        "fintrack",
        "replace-me",
        "todo",
    }
)
MIN_SECRET_LENGTH = 32
FILE_SETTINGS = (
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "BACKUP_AGE_RECIPIENTS",
    "BACKUP_S3_ACCESS_KEY_ID",
    "BACKUP_S3_SECRET_ACCESS_KEY",
)


class SettingsError(RuntimeError):
    """A setting is missing or invalid; the message names it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=True, extra="ignore")

    FINTRACK_ENV: Literal["development", "production", "test"] = "development"
    FINTRACK_DATA_DIR: Path = Path("./data")
    DATABASE_URL: str | None = None
    REDIS_URL: str | None = None
    SECRET_KEY: str | None = None
    BASE_URL: str = "http://127.0.0.1:8000"
    HOST: str = "127.0.0.1"
    PORT: int = Field(default=8000, ge=1, le=65535)
    # The reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (addresses or networks,
    # comma-separated, or "*"): behind Traefik or nginx, their address, or every client looks like the proxy.
    FORWARDED_ALLOW_IPS: str = "127.0.0.1"
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    LOG_FORMAT: Literal["json", "console", "auto"] = "auto"
    MAX_BODY_BYTES: int = Field(default=1_048_576, ge=1024)
    IMPORT_MAX_BYTES: int = Field(default=64 * 1_048_576, ge=1024)
    # Uploads larger than this are explained by a worker (about 15,000 CSV rows); smaller ones in the request.
    IMPORT_BACKGROUND_BYTES: int = Field(default=1_048_576, ge=0)
    # Previews with more rows than this are committed by a worker.
    IMPORT_BACKGROUND_ROWS: int = Field(default=10_000, ge=0)
    DB_POOL_SIZE: int = Field(default=10, ge=1, le=200)
    SESSION_TTL_HOURS: int = Field(default=24 * 14, ge=1)
    LOGIN_MAX_FAILURES: int = Field(default=5, ge=1)
    LOGIN_WINDOW_SECONDS: int = Field(default=900, ge=1)
    WORKER_IN_PROCESS: bool = True
    WORKER_CONCURRENCY: int = Field(default=1, ge=1, le=100)
    # Backups (fintrack.backup): kept in BACKUP_DIR (default: FINTRACK_DATA_DIR/backups) and, when a bucket is set,
    # uploaded to S3-compatible object storage. Always encrypted with age to the public keys in BACKUP_AGE_RECIPIENTS.
    BACKUP_DIR: Path | None = None
    BACKUP_AGE_RECIPIENTS: str = ""
    BACKUP_AGE_IDENTITY_FILE: Path | None = None
    BACKUP_RETENTION_DAYS: int = Field(default=7, ge=1)
    BACKUP_COMPRESSION: int = Field(default=6, ge=0, le=9)
    BACKUP_S3_ENDPOINT: str | None = None
    BACKUP_S3_REGION: str = "us-east-1"
    BACKUP_S3_BUCKET: str | None = None
    BACKUP_S3_PREFIX: str = "fintrack/"
    BACKUP_S3_ACCESS_KEY_ID: str | None = None
    BACKUP_S3_SECRET_ACCESS_KEY: str | None = None
    BACKUP_S3_ADDRESSING_STYLE: Literal["path", "virtual", "auto"] = "path"
    # Also write the backup_* metrics here after each run or verify (node-exporter's textfile collector, *.prom).
    BACKUP_METRICS_TEXTFILE: Path | None = None

    @field_validator("DATABASE_URL")
    @classmethod
    def _postgres_only(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
            raise ValueError("DATABASE_URL must be a postgresql:// URL (PostgreSQL is the only database)")
        return value

    @field_validator("FORWARDED_ALLOW_IPS")
    @classmethod
    def _addresses(cls, value: str) -> str:
        from fintrack.ops.proxies import parse

        parse(value)  # the error names the entry that is not an address
        return value

    @model_validator(mode="after")
    def _secret_key_policy(self) -> Settings:
        key = self.SECRET_KEY
        if key is not None and (key.strip().lower() in PLACEHOLDER_SECRETS or len(key) < MIN_SECRET_LENGTH):
            raise ValueError(
                f"SECRET_KEY is a placeholder or shorter than {MIN_SECRET_LENGTH} characters; "
                "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        if key is None and self.FINTRACK_ENV == "production":
            raise ValueError("SECRET_KEY (or SECRET_KEY_FILE) is required when FINTRACK_ENV=production")
        return self

    @property
    def is_production(self) -> bool:
        return self.FINTRACK_ENV == "production"

    @property
    def json_logs(self) -> bool:
        if self.LOG_FORMAT == "auto":
            return self.is_production
        return self.LOG_FORMAT == "json"

    @property
    def secure_cookies(self) -> bool:
        return self.BASE_URL.startswith("https://")

    @property
    def backup_dir(self) -> Path:
        return self.BACKUP_DIR or self.FINTRACK_DATA_DIR / "backups"

    def secret_key(self) -> str:
        """The configured key, or in development a random one kept in the data dir so sessions survive restarts."""
        if self.SECRET_KEY:
            return self.SECRET_KEY
        path = self.FINTRACK_DATA_DIR / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.FINTRACK_DATA_DIR.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.touch(mode=0o600)
        path.write_text(key)
        return key


def _file_overrides(env: dict[str, str]) -> dict[str, Any]:
    """NAME_FILE points at a file holding NAME (Docker and systemd secrets)."""
    values: dict[str, Any] = {}
    for name in FILE_SETTINGS:
        file_name = env.get(f"{name}_FILE")
        if not file_name:
            continue
        if env.get(name):
            raise SettingsError(f"set {name} or {name}_FILE, not both")
        try:
            values[name] = Path(file_name).read_text().strip()
        except OSError as exc:
            raise SettingsError(f"{name}_FILE={file_name} cannot be read: {exc.strerror}") from exc
    return values


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    overrides = _file_overrides(env)
    try:
        return Settings(**{**_from_env(env), **overrides})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise SettingsError(f"invalid settings: {problems}") from None


def _from_env(env: dict[str, str]) -> dict[str, Any]:
    return {name: env[name] for name in Settings.model_fields if name in env}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
