"""Tables for import sessions and the source rows they explain."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from fintrack.db import Base
from fintrack.ledger.models import AMOUNT


class ImportSession(Base):
    __tablename__ = "import_sessions"
    __table_args__ = (Index("import_sessions_book_created", "book_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    book_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("books.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"))
    filename: Mapped[str | None] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(16))
    encoding: Mapped[str | None] = mapped_column(String(32))
    file_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # previewed | committed | reverted
    declared_count: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[dict[str, Any]] = mapped_column(JSONB)
    notices: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)  # file-level problems and questions
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    committed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    reverted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class ImportRow(Base):
    """One source row and what the preview decided for it; commit writes exactly the rows marked new."""

    __tablename__ = "import_rows"
    __table_args__ = (Index("import_rows_session_line", "session_id", "line", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    session_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("import_sessions.id", ondelete="CASCADE"))
    line: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(24))  # new | duplicate | error
    date: Mapped[dt.date | None] = mapped_column(Date)
    amount: Mapped[Decimal | None] = mapped_column(AMOUNT)
    description: Mapped[str | None] = mapped_column(Text)
    payee: Mapped[str | None] = mapped_column(Text)
    memo: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(Text)
    duplicate_of: Mapped[int | None] = mapped_column(BigInteger)
    reason: Mapped[str | None] = mapped_column(Text)
    score: Mapped[Decimal | None] = mapped_column(Numeric(4, 3))
    field: Mapped[str | None] = mapped_column(Text)
    transaction_id: Mapped[int | None] = mapped_column(BigInteger)
    # The user's word on this row: "import" (also a duplicate or a deleted one) or "skip" (also a new one).
    decision: Mapped[str | None] = mapped_column(String(8))
    row_key: Mapped[str | None] = mapped_column(String(40))  # fingerprint:occurrence, to remember decisions


class NotDuplicate(Base):
    """The user said a source row is not the transaction it looked like: never flag that pair again."""

    __tablename__ = "import_not_duplicates"

    book_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("books.id", ondelete="CASCADE"), primary_key=True)
    row_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    transaction_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
