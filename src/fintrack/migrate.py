"""Alembic migrations, applied programmatically by `fintrack db upgrade` and on start."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).parent / "migrations"


def sync_url(url: str) -> str:
    return url.replace("postgresql+psycopg_async://", "postgresql+psycopg://")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["url"] = sync_url(url)
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def head_revision() -> str:
    heads = ScriptDirectory(str(MIGRATIONS)).get_heads()
    assert len(heads) == 1, f"migrations have several heads: {heads}"
    return heads[0]


def load_models() -> None:
    """Import every domain's models so Base.metadata knows all tables."""
    from fintrack.auth import models as _auth  # noqa: F401
    from fintrack.books import models as _books  # noqa: F401
    from fintrack.budgets import models as _budgets  # noqa: F401
    from fintrack.categorize import models as _categorize  # noqa: F401
    from fintrack.hub import models as _hub  # noqa: F401
    from fintrack.imports import models as _imports  # noqa: F401
    from fintrack.jobs import models as _jobs  # noqa: F401
    from fintrack.ledger import models as _ledger  # noqa: F401
    from fintrack.recurring import models as _recurring  # noqa: F401
    from fintrack.reports import models as _reports  # noqa: F401
    from fintrack.rules import models as _rules  # noqa: F401
    from fintrack.transactions import models as _transactions  # noqa: F401
