"""Tables for accounts, categories, payees, tags, FX rates and per-month account totals."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
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

AMOUNT = Numeric(20, 6)


class AccountType(enum.StrEnum):
    checking = "checking"
    savings = "savings"
    credit_card = "credit_card"
    cash = "cash"
    investment = "investment"
    loan = "loan"
    other = "other"


class CategoryKind(enum.StrEnum):
    income = "income"
    expense = "expense"


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (Index("accounts_book_name_key", "book_id", func.lower(text("name")), unique=True),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    book_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("books.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(Text)
    type: Mapped[AccountType] = mapped_column(Enum(AccountType, name="account_type"))
    currency: Mapped[str] = mapped_column(String(3))
    opening_balance: Mapped[Decimal] = mapped_column(AMOUNT, server_default="0")
    archived: Mapped[bool] = mapped_column(Boolean, server_default="false")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Category(Base):
    __tablename__ = "categories"
    __table_args__ = (
        Index(
            "categories_book_parent_name_key",
            "book_id",
            func.coalesce(text("parent_id"), 0),
            func.lower(text("name")),
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    book_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("books.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("categories.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[CategoryKind] = mapped_column(Enum(CategoryKind, name="category_kind"))


class Payee(Base):
    __tablename__ = "payees"
    __table_args__ = (Index("payees_book_name_key", "book_id", func.lower(text("name")), unique=True),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    book_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("books.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(Text)


class Tag(Base):
    __tablename__ = "tags"
    __table_args__ = (Index("tags_book_name_key", "book_id", func.lower(text("name")), unique=True),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    book_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("books.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(Text)


class FxRate(Base):
    """One unit of `currency` is worth `rate` units of the book's base currency on `day`."""

    __tablename__ = "fx_rates"

    book_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("books.id", ondelete="CASCADE"), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    rate: Mapped[Decimal] = mapped_column(Numeric(24, 12))


class AccountMonthTotal(Base):
    """Maintained by statement-level triggers on transactions, so balances never scan history."""

    __tablename__ = "account_month_totals"

    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    total: Mapped[Decimal] = mapped_column(AMOUNT)
    n: Mapped[int] = mapped_column(Integer)
