"""BookAccess: the book a request works on and the caller's role; the only way to reach a book's data."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.auth.models import User
from fintrack.books import queries
from fintrack.books.errors import BookNotFound, OwnerRequired, ReadOnlyRole
from fintrack.books.models import Book, Role
from fintrack.errors import Forbidden, mark


@dataclass(frozen=True)
class BookAccess:
    """The book a request works on and the caller's role in it."""

    book: Book
    role: Role

    @property
    def id(self) -> int:
        return self.book.id

    def require_write(self) -> None:
        if not self.role.can_write():
            raise ReadOnlyRole()

    def require_owner(self) -> None:
        if self.role is not Role.owner:
            raise OwnerRequired()


async def access(session: AsyncSession, user_id: int, book_id: int | None, default_book_id: int | None) -> BookAccess:
    """The named book if the user belongs to it, else their default book; never anyone else's."""
    wanted = book_id if book_id is not None else default_book_id
    if wanted is None:
        raise BookNotFound(mark("you have no default book; name one with ?book_id="))
    found = await queries.membership(session, user_id, wanted)
    if found is None:
        # Same answer whether the book exists or not: ids of other households reveal nothing.
        raise BookNotFound(book_id=wanted)
    return BookAccess(*found)


async def administered(session: AsyncSession, admin: User, book_id: int) -> BookAccess:
    """Any book, as its owner, for the instance's administrators only: they manage who belongs to which book
    (the /admin page), which a household that lost its last owner could not do for itself."""
    if not admin.is_admin:
        raise Forbidden(mark("administrators only"))
    book = await session.get(Book, book_id)
    if book is None:
        raise BookNotFound(book_id=book_id)
    return BookAccess(book, Role.owner)


async def on_behalf_of(session: AsyncSession, book_id: int) -> BookAccess | None:
    """The book as background work sees it, acting for the book itself (a job its own writes queued), with the
    owner's rights; None when the book is gone. Never for a request: those go through `access`."""
    book = await session.get(Book, book_id)
    return BookAccess(book, Role.owner) if book is not None else None
