"""Tables for import sessions and the source rows they explain."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
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
    # queued -> parsing -> previewed -> committing -> committed -> reverted; failed when a background step broke
    status: Mapped[str] = mapped_column(String(16))
    declared_count: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[dict[str, Any]] = mapped_column(JSONB)
    notices: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)  # file-level problems and questions
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    committed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    reverted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # What the upload asked for (format, statement account, date order...), so a worker can redo the parse.
    options: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # {"stage", "done", "total"} while a job runs
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # the error body when status is failed
    profile_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("import_profiles.id", ondelete="SET NULL"))


class ImportFile(Base):
    """The uploaded bytes, kept until the session is committed: a worker parses them, a new mapping re-reads them."""

    __tablename__ = "import_files"

    session_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("import_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ImportProfile(Base):
    """A CSV column mapping the user confirmed, reused when a file with the same header arrives."""

    __tablename__ = "import_profiles"
    __table_args__ = (UniqueConstraint("book_id", "header_key", name="import_profiles_book_header"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    book_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("books.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(Text)
    header_key: Mapped[str] = mapped_column(String(64))  # sha256 of the normalized header row
    mapping: Mapped[dict[str, Any]] = mapped_column(JSONB)
    uses: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class ImportRow(Base):
    """One source row and what the preview decided for it; commit writes exactly the rows marked new."""

    __tablename__ = "import_rows"
    __table_args__ = (Index("import_rows_session_line", "session_id", "line", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    session_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("import_sessions.id", ondelete="CASCADE"))
    line: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(24))  # new | transfer | duplicate | possible_duplicate | deleted | error
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
    # The category the preview proposes, why (rule, similar, file, user), how sure, and whether commit sets it:
    # a learned suggestion below the threshold is shown, not applied.
    category_id: Mapped[int | None] = mapped_column(BigInteger)
    confidence: Mapped[Decimal | None] = mapped_column(Numeric(4, 3))
    category_source: Mapped[str | None] = mapped_column(String(8))
    rule_id: Mapped[int | None] = mapped_column(BigInteger)
    apply_category: Mapped[bool] = mapped_column(Boolean, server_default="false")
    tag_ids: Mapped[list[int] | None] = mapped_column(ARRAY(BigInteger))  # tags a rule adds
    splits: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)  # a rule's split: [{category_id, amount}]
    # The other leg when the row is one side of a transfer between two of the book's accounts.
    transfer_with: Mapped[int | None] = mapped_column(BigInteger)


class NotDuplicate(Base):
    """The user said a source row is not the transaction it looked like: never flag that pair again."""

    __tablename__ = "import_not_duplicates"

    book_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("books.id", ondelete="CASCADE"), primary_key=True)
    row_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    transaction_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
