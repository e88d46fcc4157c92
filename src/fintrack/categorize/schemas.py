"""Request and response bodies of the categorize API."""

from __future__ import annotations

from pydantic import Field

from fintrack.categorize.service import APPLY_THRESHOLD, Suggestion
from fintrack.schemas import Strict
from fintrack.transactions.schemas import TransactionOut


class SuggestionOut(Strict):
    category_id: int | None = Field(description="null when no categorized transaction is similar enough")
    confidence: float = Field(description="0 to 1: the winner's share of the vote times its closest similarity")
    applies: bool = Field(description=f"confidence >= {APPLY_THRESHOLD}: an import sets it without asking")
    threshold: float = APPLY_THRESHOLD
    source: str = "similar"
    neighbours: int = Field(description="how many categorized transactions voted")

    @classmethod
    def of(cls, suggestion: Suggestion | None) -> SuggestionOut:
        if suggestion is None:
            return cls(category_id=None, confidence=0.0, applies=False, neighbours=0)
        return cls(
            category_id=suggestion.category_id,
            confidence=suggestion.confidence,
            applies=suggestion.applies,
            neighbours=suggestion.neighbours,
        )


class SuggestFor(Strict):
    description: str = Field(max_length=2000)
    payee: str | None = Field(default=None, max_length=200)
    memo: str | None = Field(default=None, max_length=2000)


class SearchHit(Strict):
    score: float
    transaction: TransactionOut
