"""Tables for budgets and for the alert thresholds already announced per budget and month."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from fintrack.db import Base
from fintrack.ledger.models import AMOUNT


class Budget(Base):
    """A monthly limit on a category and its children, in the book's base currency, from a month on."""

    __tablename__ = "budgets"
    __table_args__ = (
        UniqueConstraint("book_id", "category_id", name="budgets_book_category_key"),
        Index("budgets_category_id_idx", "category_id"),
        CheckConstraint("amount > 0", name="budgets_amount_positive"),
        CheckConstraint("extract(day from starts_month) = 1", name="budgets_starts_first_of_month"),
        CheckConstraint(
            "ends_month IS NULL OR (extract(day from ends_month) = 1 AND ends_month >= starts_month)",
            name="budgets_ends_after_start",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    book_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("books.id", ondelete="CASCADE"))
    category_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("categories.id", ondelete="CASCADE"))
    amount: Mapped[Decimal] = mapped_column(AMOUNT)
    currency: Mapped[str] = mapped_column(String(3))
    rollover: Mapped[bool] = mapped_column(Boolean, server_default="false")
    starts_month: Mapped[dt.date] = mapped_column(Date)
    ends_month: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class BudgetAlert(Base):
    """A threshold (80 or 100 %) of a budget's month that was announced: the next crossing that month is not."""

    __tablename__ = "budget_alerts"

    budget_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("budgets.id", ondelete="CASCADE"), primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    threshold: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    announced_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
