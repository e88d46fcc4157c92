"""report_month_totals: what a book's lines add up to per account, month, category and currency (kept by the
triggers of migration 0014), read by cash flow and category reports for whole months."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from fintrack.db import Base
from fintrack.ledger.models import AMOUNT


class ReportMonthTotal(Base):
    __tablename__ = "report_month_totals"
    __table_args__ = (
        Index(
            "report_month_totals_key",
            "account_id",
            "month",
            func.coalesce(text("category_id"), 0),
            "currency",
            unique=True,
        ),
        Index("report_month_totals_book_month", "book_id", "month"),
    )
    # No surrogate key: the triggers upsert on the unique index; the mapper's key is its four columns.
    book_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("books.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    category_id: Mapped[int | None] = mapped_column(BigInteger, primary_key=True, nullable=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    total: Mapped[Decimal] = mapped_column(AMOUNT)
    inflow: Mapped[Decimal] = mapped_column(AMOUNT)
    n: Mapped[int] = mapped_column(Integer)
