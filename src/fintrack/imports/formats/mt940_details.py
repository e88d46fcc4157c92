"""Read an MT940 :86: information field: German ?xx subfields, Dutch /TAG/ pairs, or free text."""

from __future__ import annotations

import re
from dataclasses import dataclass

_SUBFIELDS = re.compile(r"^(\d{3})\s*([?>])\d{2}")
# /TAG/ codes used by ING, ABN AMRO, Rabobank (SEPA) and the SWIFT network-validated :86: guidelines.
_TAGS = "TRTP|IBAN|BIC|NAME|REMI|EREF|MARF|CSID|ORDP|BENM|ULTD|ULTC|ULTB|PURP|RTRN|CNTP|ADDR|OCMT|CHGS|EXCH|ISDT|CREF"
_TAG = re.compile(rf"/({_TAGS})/")
# A purpose subfield that opens a SEPA keyword starts a new phrase; others continue the previous word.
_SEPA_KEYWORD = re.compile(r"^(?:[A-Z]{4}\+|[A-Z]{4}:|[A-Z]{3,4} ?:)")


@dataclass(frozen=True)
class Details:
    description: str | None = None
    payee: str | None = None
    posting_text: str | None = None
    code: str | None = None  # the German GV code (e.g. 166), when the bank gives one


def _squash(value: str) -> str | None:
    return " ".join(value.split()) or None


def parse_details(lines: list[str]) -> Details:
    raw = "".join(lines)
    sub = _SUBFIELDS.match(raw.lstrip())
    if sub:
        return _subfields(raw.lstrip(), sub.group(1), sub.group(2))
    joined = " ".join(line.strip() for line in lines if line.strip())
    if joined.startswith("/") and _TAG.search(joined):
        return _tagged(joined)
    return Details(description=_squash(joined))


def _subfields(raw: str, code: str, marker: str) -> Details:
    # Lines wrap every 65 characters, even inside a subfield number, so the lines are joined before splitting.
    pieces = re.split(rf"\{marker}(\d{{2}})", raw[3:])
    values: dict[int, list[str]] = {}
    for number, value in zip(pieces[1::2], pieces[2::2], strict=False):
        values.setdefault(int(number), []).append(value)
    purpose = ""
    for number in (*range(20, 30), *range(60, 64)):
        for chunk in values.get(number, []):
            if purpose and _SEPA_KEYWORD.match(chunk.lstrip()):
                purpose += " "
            purpose += chunk
    payee = "".join(v for n in (32, 33) for v in values.get(n, []))
    posting = "".join(values.get(0, []))
    return Details(description=_squash(purpose), payee=_squash(payee), posting_text=_squash(posting), code=code)


def _tagged(text: str) -> Details:
    found: dict[str, str] = {}
    matches = list(_TAG.finditer(text))
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        found.setdefault(match.group(1), text[match.end() : end].strip("/ "))
    return Details(
        description=_squash(found.get("REMI", "")) or _squash(text),
        payee=_squash(found.get("NAME", "")),
        posting_text=_squash(found.get("TRTP", "")),
    )
