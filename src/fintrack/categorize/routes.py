"""HTTP routes for learned categories (suggestions) and hybrid search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from fintrack.categorize import queries
from fintrack.categorize import service as categorize
from fintrack.categorize.schemas import SearchHit, SuggestFor, SuggestionOut
from fintrack.deps import CurrentBook, SessionDep
from fintrack.transactions import service as transactions
from fintrack.transactions.errors import TransactionNotFound

router = APIRouter(prefix="/api/v1", tags=["categorize"])


@router.get(
    "/transactions/{transaction_id}/suggestion",
    summary="The category similar transactions of the book suggest for this one, with its confidence",
)
async def transaction_suggestion(
    transaction_id: Annotated[int, Path(ge=1, le=2**63 - 1)], book: CurrentBook, session: SessionDep
) -> SuggestionOut:
    found = await queries.texts_of(session, book.id, [transaction_id])
    if not found:
        raise TransactionNotFound(transaction_id=transaction_id)
    _, payee, description, memo, _ = found[0]
    return SuggestionOut.of(await categorize.suggest(session, book, payee, description, memo))


@router.post("/categorize/suggest", summary="The category the book's history suggests for a text not yet recorded")
async def suggest_for_text(body: SuggestFor, book: CurrentBook, session: SessionDep) -> SuggestionOut:
    return SuggestionOut.of(await categorize.suggest(session, book, body.payee, body.description, body.memo))


@router.get("/search", summary="Hybrid search: meaning (vectors) and spelling (trigrams) in one ranked list")
async def search(
    book: CurrentBook,
    session: SessionDep,
    q: Annotated[str, Query(min_length=1, max_length=200)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[SearchHit]:
    ranked = await categorize.search(session, book, q, limit)
    found = {t.id: t for t in await transactions.outputs(session, book.id, [i for i, _ in ranked])}
    return [SearchHit(score=round(score, 6), transaction=found[i]) for i, score in ranked if i in found]
