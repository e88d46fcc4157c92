"""Choose the parser for a file: the user's choice if given, else the parser most sure of the bytes."""

from __future__ import annotations

from fintrack.errors import InvalidInput, mark
from fintrack.imports.formats.base import Options, Parser, ParseResult, UnreadableFile

FORMATS = ("ofx", "csv", "qif", "camt", "mt940")
MAX_SNIFF_BYTES = 64 * 1024
MIN_CONFIDENCE = 0.2


class UnknownFormat(InvalidInput):
    """The format is not one FinTrack reads: use csv, ofx, qif, camt or mt940."""

    code = "unknown_format"


def parsers() -> dict[str, Parser]:
    # Imported here so that loading one format never pays for the others' imports at start-up.
    from fintrack.imports.formats import camt, csv, mt940, ofx, qif

    return {"ofx": ofx.parser, "csv": csv.parser, "qif": qif.parser, "camt": camt.parser, "mt940": mt940.parser}


def choose(data: bytes, filename: str | None = None, forced: str | None = None) -> Parser:
    available = parsers()
    if forced is not None:
        if forced not in available:
            raise UnknownFormat(field="format", format=forced, known=list(FORMATS))
        return available[forced]
    if not data.strip(b"\x00\r\n\t \xef\xbb\xbf\xff\xfe"):
        raise UnreadableFile(mark("the file is empty"))
    head = data[:MAX_SNIFF_BYTES]
    scored = sorted(((p.sniff(head, filename), name) for name, p in available.items()), reverse=True)
    confidence, best = scored[0]
    if confidence < MIN_CONFIDENCE:
        raise UnreadableFile(
            mark("the file is not a statement format FinTrack recognises (CSV, OFX/QFX/OFC, QIF, CAMT, MT940)"),
            filename=filename,
        )
    return available[best]


def parse(
    data: bytes, filename: str | None = None, forced: str | None = None, options: Options | None = None
) -> ParseResult:
    return choose(data, filename, forced).parse(data, options or Options())
