"""Tables for transactions, their tags and splits, and transfers between accounts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from fintrack.db import Base
from fintrack.ledger.models import AMOUNT

SEARCH_TEXT = "fintrack_fold(coalesce(description, '') || ' ' || coalesce(memo, ''))"


class Transfer(Base):
    __tablename__ = "transfers"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    book_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("books.id", ondelete="CASCADE"), index=True)
    # Units of the destination currency per unit of the source currency (1 when both are the same).
    rate: Mapped[Decimal] = mapped_column(Numeric(24, 12))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Transaction(Base):
    __tablename__ = "transactions"
    __table_args__ = (
        Index("transactions_book_date", "book_id", text("date DESC"), text("id DESC")),
        Index("transactions_account_date", "account_id", text("date DESC"), text("id DESC")),
        Index("transactions_book_category_date", "book_id", "category_id", text("date DESC"), text("id DESC")),
        Index("transactions_payee", "payee_id"),
        Index(
            "transactions_import_session", "import_session_id", postgresql_where=text("import_session_id IS NOT NULL")
        ),
        Index("transactions_transfer", "transfer_id", postgresql_where=text("transfer_id IS NOT NULL")),
        Index("transactions_external", "account_id", "external_id", postgresql_where=text("external_id IS NOT NULL")),
        Index(
            "transactions_search", "search_text", postgresql_using="gin", postgresql_ops={"search_text": "gin_trgm_ops"}
        ),
        # Reports read every non-transfer row of a date range: an index-only scan (migration 0012).
        Index(
            "transactions_report",
            "book_id",
            "date",
            postgresql_include=["id", "account_id", "category_id", "currency", "amount"],
            postgresql_where=text("transfer_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    book_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("books.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"))
    date: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(AMOUNT)
    currency: Mapped[str] = mapped_column(String(3))
    payee_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("payees.id", ondelete="SET NULL"))
    description: Mapped[str] = mapped_column(Text, server_default="")
    memo: Mapped[str | None] = mapped_column(Text)
    category_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("categories.id", ondelete="SET NULL"))
    notes: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(Text)
    import_session_id: Mapped[int | None] = mapped_column(BigInteger)
    source_line: Mapped[int | None] = mapped_column(Integer)
    transfer_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("transfers.id", ondelete="CASCADE"))
    search_text: Mapped[str] = mapped_column(Text, Computed(SEARCH_TEXT, persisted=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TransactionTag(Base):
    __tablename__ = "transaction_tags"
    __table_args__ = (Index("transaction_tags_tag", "tag_id", "transaction_id"),)

    transaction_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("transactions.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)


class TransactionSplit(Base):
    __tablename__ = "transaction_splits"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    transaction_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("transactions.id", ondelete="CASCADE"), index=True
    )
    category_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("categories.id", ondelete="SET NULL"), index=True
    )
    amount: Mapped[Decimal] = mapped_column(AMOUNT)
    memo: Mapped[str | None] = mapped_column(Text)


class Tombstone(Base):
    """A transaction the user deleted: an import must not bring it back unless asked."""

    __tablename__ = "transaction_tombstones"
    __table_args__ = (Index("transaction_tombstones_account_date", "account_id", "date"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    book_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("books.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"))
    date: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(AMOUNT)
    description: Mapped[str] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(Text)
    deleted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
