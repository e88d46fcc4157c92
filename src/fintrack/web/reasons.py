"""Import reasons in the reader's language. A preview row's reason and an import's notices are stored in English
(the API returns them so, and old rows have no template to go by): each text is matched back to the marked
template it was made from, and that template's translation is filled in with the same values."""

from __future__ import annotations

import ast
import inspect
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import Any

from fintrack import money
from fintrack.imports import dedupe, explain, tasks, transfers
from fintrack.imports.formats import base, camt, csv, csv_sniff, csv_values, detect, mt940, ofx, ofx_values, qif, sgml

# The modules whose marked messages end up stored as text: dedupe, transfer pairing and row checks (an amount's
# MoneyError among them) make reasons; the parsers make problems, questions and, with the background tasks, the
# errors of failed imports.
SOURCES: tuple[ModuleType, ...] = (
    dedupe,
    transfers,
    explain,
    money,
    tasks,
    base,
    camt,
    csv,
    csv_sniff,
    csv_values,
    detect,
    mt940,
    ofx,
    ofx_values,
    qif,
    sgml,
)
# A value with this name is itself a reason ("you deleted this transaction ({reason})"), translated in turn.
NESTED = "reason"


@dataclass(frozen=True, slots=True)
class Template:
    text: str
    pattern: re.Pattern[str]


def marked(module: ModuleType) -> list[str]:
    """The templates `mark("...")` names in a module's source, in order."""
    found = []
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "mark" and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.append(first.value)
    return found


def compile_template(template: str) -> re.Pattern[str]:
    """A regex matching exactly what `template.format(...)` makes: each field a named non-greedy group."""
    parts, seen = [], set()
    for literal, name, _, _ in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if name is None:
            continue
        parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>.*?)")
        seen.add(name)
    return re.compile("".join(parts), re.DOTALL)


@cache
def templates() -> tuple[Template, ...]:
    """Every known template, the most specific (the longest fixed text) first: the first full match wins."""
    unique = dict.fromkeys(t for module in SOURCES for t in marked(module))

    def fixed(template: str) -> int:
        return sum(len(literal) for literal, *_ in string.Formatter().parse(template))

    return tuple(Template(t, compile_template(t)) for t in sorted(unique, key=fixed, reverse=True))


def _plain(template: str) -> str:
    """The template without conversions and format specs: the captured values are already formatted text."""
    out = []
    for literal, name, _, _ in string.Formatter().parse(template):
        out.append(literal.replace("{", "{{").replace("}", "}}"))
        if name is not None:
            out.append("{" + name + "}")
    return "".join(out)


def translate(text: Any, gettext: Callable[[str], str]) -> Any:
    """The stored English text in the reader's language; a text no template made (or not a text) as it is."""
    if not isinstance(text, str) or not text:
        return text
    for template in templates():
        found = template.pattern.fullmatch(text)
        if found is None:
            continue
        said = gettext(template.text)
        if said == template.text:
            return text  # no translation: the English text is the answer
        values = found.groupdict()
        if NESTED in values:
            values[NESTED] = translate(values[NESTED], gettext)
        try:
            return _plain(said).format(**values)
        except (KeyError, IndexError, ValueError):
            return text  # a translation that lost a placeholder: English rather than half a sentence
    return text
