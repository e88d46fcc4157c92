"""The recurring_series table: one row per merchant and account that charges (or pays) on a regular period."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from fintrack.db import Base
from fintrack.ledger.models import AMOUNT

STATUSES = ("detected", "confirmed", "dismissed")
PERIOD_NAMES = ("weekly", "biweekly", "monthly", "quarterly", "semiannual", "yearly")


class RecurringSeries(Base):
    __tablename__ = "recurring_series"
    __table_args__ = (
        # Detection upserts on this: re-running it finds the same row, whatever the user did to it.
        UniqueConstraint("book_id", "key", "account_id", name="recurring_series_book_key_account"),
        Index("recurring_series_book_next", "book_id", "next_date"),
        Index("recurring_series_account_id_idx", "account_id"),
        Index("recurring_series_category_id_idx", "category_id"),
        CheckConstraint("status IN ('detected', 'confirmed', 'dismissed')", name="recurring_series_status"),
        CheckConstraint(
            "period IN ('weekly', 'biweekly', 'monthly', 'quarterly', 'semiannual', 'yearly')",
            name="recurring_series_period",
        ),
        CheckConstraint("direction IN ('debit', 'credit')", name="recurring_series_direction"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    book_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("books.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"))
    # The description folded and without numbers (detection.merchant_key): what groups the charges.
    key: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    category_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("categories.id", ondelete="SET NULL"))
    direction: Mapped[str] = mapped_column(Text)
    period: Mapped[str] = mapped_column(Text)
    interval_days: Mapped[int] = mapped_column(Integer)
    # Signed like transactions (debits negative). typical_amount is detection's median; expected_amount, when
    # set, is the user's own figure and wins.
    typical_amount: Mapped[Decimal] = mapped_column(AMOUNT)
    expected_amount: Mapped[Decimal | None] = mapped_column(AMOUNT)
    amount_min: Mapped[Decimal] = mapped_column(AMOUNT)
    amount_max: Mapped[Decimal] = mapped_column(AMOUNT)
    currency: Mapped[str] = mapped_column(String(3))
    first_date: Mapped[dt.date] = mapped_column(Date)
    last_date: Mapped[dt.date] = mapped_column(Date)
    next_date: Mapped[dt.date] = mapped_column(Date)
    occurrences: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(Text, server_default="detected")
    detected_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    @property
    def amount(self) -> Decimal:
        """What the next charge is expected to be: the user's figure, else the detected median."""
        return self.expected_amount if self.expected_amount is not None else self.typical_amount


class RecurringScan(Base):
    """The book's last detection: transactions up to `seen_id` dated up to `day` were read then. Ids only grow,
    so what is due next needs to read only rows above `seen_id`, and rows dated after `day`."""

    __tablename__ = "recurring_scans"

    book_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("books.id", ondelete="CASCADE"), primary_key=True)
    seen_id: Mapped[int] = mapped_column(BigInteger)
    day: Mapped[dt.date] = mapped_column(Date)
    scanned_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
