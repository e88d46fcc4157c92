"""SQL of the books domain."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.auth.models import User
from fintrack.books.models import Book, BookMember, Role


async def membership(session: AsyncSession, user_id: int, book_id: int) -> tuple[Book, Role] | None:
    row = (
        await session.execute(
            select(Book, BookMember.role)
            .join(BookMember, BookMember.book_id == Book.id)
            .where(Book.id == book_id, BookMember.user_id == user_id)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def books_of(session: AsyncSession, user_id: int) -> list[tuple[Book, Role]]:
    result = await session.execute(
        select(Book, BookMember.role)
        .join(BookMember, BookMember.book_id == Book.id)
        .where(BookMember.user_id == user_id)
        .order_by(Book.id)
    )
    return [(row[0], row[1]) for row in result]


async def members(session: AsyncSession, book_id: int) -> list[tuple[int, str, Role]]:
    result = await session.execute(
        select(User.id, User.email, BookMember.role)
        .join(BookMember, BookMember.user_id == User.id)
        .where(BookMember.book_id == book_id)
        .order_by(User.id)
    )
    return [(row[0], row[1], row[2]) for row in result]


async def member(session: AsyncSession, book_id: int, user_id: int) -> BookMember | None:
    return await session.get(BookMember, (book_id, user_id))


async def owner_count(session: AsyncSession, book_id: int) -> int:
    return int(
        await session.scalar(select(func.count()).where(BookMember.book_id == book_id, BookMember.role == Role.owner))
        or 0
    )


async def all_memberships(session: AsyncSession) -> list[tuple[Book, list[tuple[int, str, Role]]]]:
    """Every book with its members (user id, email, role): the admin's overview, books in creation order."""
    result = await session.execute(
        select(Book, User.id, User.email, BookMember.role)
        .join(BookMember, BookMember.book_id == Book.id)
        .join(User, User.id == BookMember.user_id)
        .order_by(Book.id, User.email)
    )
    books: dict[int, tuple[Book, list[tuple[int, str, Role]]]] = {}
    for book, user_id, email, role in result:
        books.setdefault(book.id, (book, []))[1].append((user_id, email, role))
    return list(books.values())
