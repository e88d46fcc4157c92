"""Finding a CSV file's shape: its encoding, its delimiter, and where the header and data start."""

from __future__ import annotations

import codecs
import csv
import io
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

from fintrack.errors import mark
from fintrack.imports.formats.base import UnreadableFile
from fintrack.imports.formats.csv_profiles import CsvProfile, header_key, map_header, match_profile
from fintrack.imports.formats.csv_values import decide_date_order, decide_decimal, parse_amount, parse_date

DELIMITERS = (",", ";", "\t", "|")
SAMPLE_CHARS = 64 * 1024
SAMPLE_LINES = 60
# Encodings Brazilian and Western banks write; charset-normalizer left free picks cp1250 for "São João".
_LEGACY = ["cp1252", "cp850", "latin_1"]
_NAMES = {"cp1252": "cp1252", "cp850": "cp850", "latin_1": "latin-1", "iso8859_15": "latin-1"}


def detect_encoding(data: bytes) -> str:
    """The encoding of the bytes: BOMs and strict UTF-8 first, charset-normalizer only for the rest."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le"
    if data.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be"
    head = data[:4096]
    if len(head) >= 4:
        # Text in UTF-16 without a BOM: ASCII characters leave a NUL in every other byte.
        odd_nuls, even_nuls = head[1::2].count(0), head[0::2].count(0)
        if odd_nuls > len(head) * 0.3 and even_nuls == 0:
            return "utf-16-le"
        if even_nuls > len(head) * 0.3 and odd_nuls == 0:
            return "utf-16-be"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return _legacy_encoding(data)
    return "utf-8"


def _legacy_encoding(data: bytes) -> str:
    try:
        # charset-normalizer may warn (and pytest runs with warnings as errors): its guess is only a hint.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from charset_normalizer import from_bytes

            best = from_bytes(data, cp_isolation=_LEGACY).best()
    except Exception:  # a library failure on odd bytes must not lose the file: fall back below
        best = None
    guess = _NAMES.get(best.encoding, "cp1252") if best is not None else "cp1252"
    if guess == "latin-1" and _decodes(data, "cp1252"):
        return "cp1252"  # the same letters, plus the € and quotes Windows puts in 0x80-0x9f
    return guess if _decodes(data, guess) else "latin-1"


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def decode(data: bytes, forced: str | None) -> tuple[str, str, str | None]:
    """(text, encoding, warning): a forced encoding that does not fit decodes with replacement characters."""
    encoding = forced or detect_encoding(data)
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise UnreadableFile(mark("unknown encoding {encoding!r}"), values={"encoding": encoding}) from None
    try:
        return data.decode(encoding).removeprefix("\ufeff"), encoding, None
    except UnicodeDecodeError as e:
        text = data.decode(encoding, errors="replace").removeprefix("\ufeff")
        said = mark("the file is not valid {encoding} (byte {byte}); unreadable characters replaced")
        return text, encoding, said.format(encoding=encoding, byte=e.start)


def sample(text: str) -> str:
    """The first lines of the text, enough to find the delimiter and the header."""
    head = text[:SAMPLE_CHARS]
    if len(text) > SAMPLE_CHARS and "\n" in head:
        head = head[: head.rindex("\n") + 1]
    return "".join(head.splitlines(keepends=True)[:SAMPLE_LINES])


def records(text: str, delimiter: str) -> Iterator[tuple[int, list[str] | None, str | None]]:
    """(first line, fields, error) per CSV record; a record the csv module rejects comes with its error."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    done = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            if reader.line_num <= done:
                return
            yield done + 1, None, str(e)
            done = reader.line_num
            continue
        yield done + 1, fields, None
        done = reader.line_num


def detect_delimiter(head: str) -> tuple[str, int]:
    """The delimiter whose column count is the most consistent over the sample, and that count."""
    first = head.lstrip("\ufeff").split("\n", 1)[0].strip()
    if first.lower().startswith("sep=") and len(first) == 5:
        return first[4], 0  # Excel's own hint
    best: tuple[int, int, str] = (0, 0, ",")
    for delimiter in DELIMITERS:
        counts = Counter(len(f) for _, f, _ in records(head, delimiter) if f and any(c.strip() for c in f))
        width, lines = max(((w, n) for w, n in counts.items() if w >= 2), key=lambda wn: (wn[1], wn[0]), default=(0, 0))
        if (lines, width) > best[:2]:
            best = (lines, width, delimiter)
    if best[0] == 0:
        raise UnreadableFile(mark("no delimiter (comma, semicolon, tab or |) splits the lines into columns"))
    return best[2], best[1]


def find_header(head: str, delimiter: str, profiles: Sequence[CsvProfile]) -> tuple[int | None, CsvProfile]:
    """(header line, profile): a known header, a header named in pt-BR or English, or a layout by content."""
    rows = [(line, f) for line, f, _ in records(head, delimiter) if f]
    for line, fields in rows:
        profile = match_profile(fields, profiles)
        if profile is not None:
            return line, profile
    for line, fields in rows:
        profile = map_header(fields)
        if profile is not None:
            return line, profile
    return _by_content(rows)


def _by_content(rows: list[tuple[int, list[str]]]) -> tuple[int | None, CsvProfile]:
    """Columns by content, for a file whose header names nothing we know ("Quando;Quanto;Onde") or that has none.

    A first row without a single digit is that unknown header: it is kept as the profile's header, so the user
    can map its columns by hand and the mapping is found again for the next file with the same header.
    """
    width = Counter(len(f) for _, f in rows).most_common(1)[0][0] if rows else 0
    table = [(line, f) for line, f in rows if len(f) == width]
    if len(table) > 1 and not any(c.isdigit() for cell in table[0][1] for c in cell):
        (line, header), table = table[0], table[1:]
        profile = _headerless([f for _, f in table], width)
        return line, replace(profile, name="by content", header=header_key(header), columns=width)
    return None, _headerless([f for _, f in table], width)


def _headerless(table: list[list[str]], width: int) -> CsvProfile:
    """Columns by content: the dates, the amounts, the longest text."""
    if width < 2 or not table:
        raise UnreadableFile(mark("no header row and no column of dates and amounts"))
    columns = list(zip(*table, strict=True))

    def share(column: Sequence[str], ok: Callable[[str], object]) -> float:
        values = [v for v in column if v.strip()]
        return sum(1 for v in values if ok(v)) / len(values) if values else 0.0

    order, _ = decide_date_order((v for col in columns for v in col), "pt-BR")
    dates = [i for i, col in enumerate(columns) if share(col, lambda v: parse_date(v, order)) >= 0.8]
    if not dates:
        raise UnreadableFile(mark("no header row, and no column holds dates"))

    def is_amount(column: Sequence[str]) -> float:
        decimal = decide_decimal(column, "pt-BR")
        return share(column, lambda v: parse_amount(v, decimal) is not None)

    amounts = [i for i, col in enumerate(columns) if i not in dates and is_amount(col) >= 0.8]
    if not amounts:
        raise UnreadableFile(mark("no header row, and no column holds amounts"))
    texts = [i for i in range(width) if i not in dates and i not in amounts]
    description = max(texts, key=lambda i: sum(len(v) for v in columns[i]), default=None)
    return CsvProfile(
        name="headerless", header=None, date=dates[0], amount=amounts[0], description=description, columns=width
    )
