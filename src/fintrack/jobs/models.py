"""Why a job's runs failed: procrastinate keeps a job's status, not its errors, so FinTrack keeps them here."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, DateTime, Index, Integer, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from fintrack.db import Base

PROCRASTINATE_PREFIX = "procrastinate_"


class JobError(Base):
    __tablename__ = "job_errors"
    # job_id references procrastinate_jobs ON DELETE CASCADE in the migration; that table is procrastinate's, not
    # in our metadata, so the key is declared there only.
    __table_args__ = (Index("job_errors_job", "job_id", "attempt"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(BigInteger)
    attempt: Mapped[int] = mapped_column(Integer)  # 1 for the first run
    error: Mapped[str] = mapped_column(Text)  # "ValueError: the message"
    traceback: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic's filter: procrastinate's tables (and keys into them) come from its own schema SQL, not from models,
    so autogenerate and the models-versus-migrations test leave them alone."""
    if type_ == "table":
        return not (name or "").startswith(PROCRASTINATE_PREFIX)
    if type_ == "foreign_key_constraint":
        return not obj.referred_table.name.startswith(PROCRASTINATE_PREFIX)
    return True
