"""Saved CSV column mappings: stored as JSON per book, keyed by the header they were made for."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.errors import mark
from fintrack.imports import queries
from fintrack.imports.errors import InvalidMapping
from fintrack.imports.formats.csv import CsvLayout
from fintrack.imports.formats.csv_profiles import CsvProfile
from fintrack.imports.models import ImportProfile

COLUMNS = ("date", "description", "amount", "debit", "credit", "payee", "memo", "category", "external_id", "kind")
CHOICES = ("delimiter", "encoding", "date_order", "decimal", "flip_sign")


def to_json(profile: CsvProfile) -> dict[str, Any]:
    out = dataclasses.asdict(profile)
    out["header"] = list(profile.header) if profile.header is not None else None
    return out


def from_json(data: dict[str, Any]) -> CsvProfile:
    fields = {f.name for f in dataclasses.fields(CsvProfile)}
    values = {k: v for k, v in data.items() if k in fields}
    if values.get("header") is not None:
        values["header"] = tuple(values["header"])
    return CsvProfile(**values)


def header_digest(header: tuple[str, ...] | None) -> str:
    return hashlib.sha256("\x1f".join(header or ()).encode()).hexdigest()


def layout_json(layout: CsvLayout) -> dict[str, Any]:
    """What the preview shows of how it read the file, and what a new mapping starts from."""
    return {
        "profile": to_json(layout.profile),
        "encoding": layout.encoding,
        "delimiter": layout.delimiter,
        "header_line": layout.header_line,
    }


def remapped(detected: dict[str, Any], mapping: dict[str, Any]) -> CsvProfile:
    """The detected profile with the user's columns and choices; the header stays the file's own."""
    base = detected["profile"]
    width = len(base["header"]) if base.get("header") else (base.get("columns") or 0)
    values = {**base, **{k: mapping.get(k) for k in COLUMNS}}
    values.update({k: mapping[k] for k in CHOICES if mapping.get(k) is not None})
    values["name"] = mapping.get("name") or base["name"]
    for column in COLUMNS:
        index = values[column]
        if index is not None and width and index >= width:
            reason = mark("column {index} does not exist: the file has {width} columns").format(
                index=index, width=width
            )
            raise InvalidMapping(field=column, reason=reason)
    try:
        return from_json(values)
    except ValueError as exc:
        raise InvalidMapping(field="amount", reason=str(exc)) from exc


async def saved(session: AsyncSession, book_id: int) -> dict[tuple[str, ...] | None, tuple[int, CsvProfile]]:
    """The book's profiles by header; a stored profile that no longer loads is skipped, not fatal."""
    out: dict[tuple[str, ...] | None, tuple[int, CsvProfile]] = {}
    for row in await queries.profiles(session, book_id):
        try:
            profile = from_json(row.mapping)
        except (TypeError, ValueError):
            continue
        out[profile.header] = (row.id, profile)
    return out


async def save(session: AsyncSession, book_id: int, profile: CsvProfile) -> ImportProfile:
    return await queries.upsert_profile(session, book_id, profile.name, header_digest(profile.header), to_json(profile))
