"""The learned side of categorization: one text vector per transaction, beside its category."""

from __future__ import annotations

from pgvector.sqlalchemy import Vector
from sqlalchemy import BigInteger, ForeignKey, Index, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from fintrack.categorize.embedding import DIM
from fintrack.db import Base


class TransactionEmbedding(Base):
    """A transaction's text as a unit vector. category_id mirrors the transaction's (kept by a trigger), so the
    nearest-neighbour query reads one table and a correction counts the moment it is saved."""

    __tablename__ = "transaction_embeddings"
    __table_args__ = (
        # Unit vectors: inner product is cosine similarity, and the cheapest distance to compute.
        Index(
            "transaction_embeddings_hnsw",
            "embedding",
            postgresql_using="hnsw",
            postgresql_ops={"embedding": "vector_ip_ops"},
        ),
        # Rows whose normalized text is identical vote without a vector search (most of a household's history);
        # category_id in the index lets the vote be an index-only scan instead of a heap visit per twin.
        Index(
            "transaction_embeddings_norm",
            "book_id",
            "norm",
            "category_id",
            postgresql_where=text("category_id IS NOT NULL"),
        ),
    )

    transaction_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("transactions.id", ondelete="CASCADE"), primary_key=True
    )
    book_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("books.id", ondelete="CASCADE"))
    category_id: Mapped[int | None] = mapped_column(BigInteger)
    norm: Mapped[str] = mapped_column(Text)
    embedding: Mapped[list[float]] = mapped_column(Vector(DIM))
