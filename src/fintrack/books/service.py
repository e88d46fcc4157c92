"""Books and their members; every book-scoped request goes through `access`."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.auth import queries as users
from fintrack.books import queries
from fintrack.books.access import BookAccess
from fintrack.books.errors import LastOwner, UnknownUser
from fintrack.books.models import Book, BookMember, Role
from fintrack.errors import InvalidInput, mark
from fintrack.ledger import service as ledger
from fintrack.money import MoneyError, validate_currency


async def create_book(session: AsyncSession, owner_id: int, name: str, base_currency: str, locale: str) -> Book:
    try:
        validate_currency(base_currency)
    except MoneyError as exc:
        raise InvalidInput(exc.template, values=exc.values, field="base_currency") from None
    book = Book(name=name, base_currency=base_currency, locale=locale)
    session.add(book)
    await session.flush()
    session.add(BookMember(book_id=book.id, user_id=owner_id, role=Role.owner))
    await ledger.seed_default_categories(session, book.id, locale)
    await session.flush()
    return book


async def update_book(session: AsyncSession, access_: BookAccess, name: str | None, locale: str | None) -> Book:
    access_.require_owner()
    if name is not None:
        access_.book.name = name
    if locale is not None:
        access_.book.locale = locale
    await session.flush()
    return access_.book


async def books_of(session: AsyncSession, user_id: int) -> list[BookAccess]:
    return [BookAccess(book, role) for book, role in await queries.books_of(session, user_id)]


async def list_members(session: AsyncSession, access_: BookAccess) -> list[tuple[int, str, Role]]:
    return await queries.members(session, access_.id)


async def put_member(session: AsyncSession, access_: BookAccess, email: str, role: Role) -> tuple[int, str, Role]:
    """Add someone to the book or change their role (owners only)."""
    access_.require_owner()
    user = await users.user_by_email(session, email)
    if user is None:
        raise UnknownUser(field="email")
    existing = await queries.member(session, access_.id, user.id)
    if existing is None:
        session.add(BookMember(book_id=access_.id, user_id=user.id, role=role))
    else:
        if (
            existing.role is Role.owner
            and role is not Role.owner
            and await queries.owner_count(session, access_.id) <= 1
        ):
            raise LastOwner()
        existing.role = role
    await session.flush()
    return user.id, user.email, role


async def remove_member(session: AsyncSession, access_: BookAccess, user_id: int) -> None:
    access_.require_owner()
    existing = await queries.member(session, access_.id, user_id)
    if existing is None:
        raise UnknownUser(mark("no such member in this book"))
    if existing.role is Role.owner and await queries.owner_count(session, access_.id) <= 1:
        raise LastOwner()
    await session.delete(existing)
    await session.flush()
