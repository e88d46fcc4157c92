"""HTTP routes for books and their members."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from fintrack.books import service as books
from fintrack.books.access import BookAccess
from fintrack.books.access import access as book_access
from fintrack.books.schemas import BookCreate, BookOut, BookUpdate, MemberOut, MemberPut
from fintrack.deps import CurrentPrincipal, SessionDep
from fintrack.idempotency import IdempotencyDep

router = APIRouter(prefix="/api/v1/books", tags=["books"])
BookId = Annotated[int, Path(ge=1, le=2**63 - 1)]
UserId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def book_out(access: BookAccess) -> BookOut:
    b = access.book
    return BookOut(
        id=b.id, name=b.name, base_currency=b.base_currency, locale=b.locale, role=access.role, created_at=b.created_at
    )


async def _access(session: SessionDep, principal: CurrentPrincipal, book_id: int) -> BookAccess:
    return await book_access(session, principal.user.id, book_id, None)


@router.get("", summary="The books you belong to")
async def list_books(principal: CurrentPrincipal, session: SessionDep) -> list[BookOut]:
    return [book_out(a) for a in await books.books_of(session, principal.user.id)]


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a book you own")
async def create_book(
    body: BookCreate, principal: CurrentPrincipal, session: SessionDep, idem: IdempotencyDep
) -> BookOut:
    if replay := await idem.replay():
        return replay  # type: ignore[return-value]
    book = await books.create_book(session, principal.user.id, body.name, body.base_currency, body.locale)
    return await idem.save(201, book_out(await _access(session, principal, book.id)))


@router.get("/{book_id}", summary="One of your books")
async def get_book(book_id: BookId, principal: CurrentPrincipal, session: SessionDep) -> BookOut:
    return book_out(await _access(session, principal, book_id))


@router.patch("/{book_id}", summary="Rename a book or change its locale (owners)")
async def update_book(book_id: BookId, body: BookUpdate, principal: CurrentPrincipal, session: SessionDep) -> BookOut:
    access = await _access(session, principal, book_id)
    await books.update_book(session, access, body.name, body.locale)
    return book_out(access)


@router.get("/{book_id}/members", summary="Who shares this book, and their roles")
async def list_members(book_id: BookId, principal: CurrentPrincipal, session: SessionDep) -> list[MemberOut]:
    access = await _access(session, principal, book_id)
    return [MemberOut(user_id=u, email=e, role=r) for u, e, r in await books.list_members(session, access)]


@router.put("/{book_id}/members", summary="Share the book with a user, or change their role (owners)")
async def put_member(book_id: BookId, body: MemberPut, principal: CurrentPrincipal, session: SessionDep) -> MemberOut:
    access = await _access(session, principal, book_id)
    user_id, email, role = await books.put_member(session, access, body.email, body.role)
    return MemberOut(user_id=user_id, email=email, role=role)


@router.delete(
    "/{book_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a member (owners); the last owner stays",
)
async def remove_member(book_id: BookId, user_id: UserId, principal: CurrentPrincipal, session: SessionDep) -> None:
    await books.remove_member(session, await _access(session, principal, book_id), user_id)
