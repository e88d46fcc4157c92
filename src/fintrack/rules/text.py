"""Text as rules see it: folded for comparison, and user-written patterns kept from running away. Pure."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import regex

from fintrack.errors import Term, mark
from fintrack.rules.errors import InvalidRule

# A pattern that backtracks catastrophically on some text gives up after this long and is then treated as not
# matching for the rest of the RuleSet's life, so one bad pattern costs one timeout, not one per transaction.
REGEX_TIMEOUT = 0.05
# regex expands counted repeats when it compiles: (((a{50}){50}){50}){50} takes seconds and gigabytes.
MAX_REPEAT_PRODUCT = 10_000
_REPEAT = re.compile(r"\{\s*(\d*)\s*(?:,\s*(\d*)\s*)?\}")


class _FoldTable(dict[int, str]):
    """Each character folded on its own (case folded, decomposed, marks dropped), worked out once when first seen."""

    def __missing__(self, code: int) -> str:
        decomposed = unicodedata.normalize("NFKD", chr(code).casefold())
        folded = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
        self[code] = folded
        return folded


_FOLD = _FoldTable()
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _fold_run(m: re.Match[str]) -> str:
    return m.group().translate(_FOLD)


def fold(text: str | None) -> str:
    """Case folded, accents (combining marks) removed, whitespace runs as one space, trimmed."""
    if not text:
        return ""
    s = text.casefold()
    if not s.isascii():
        # Character by character equals folding the whole string (decomposition and case folding work per
        # character, and the marks that canonical ordering would move are dropped anyway), and only the
        # non-ASCII runs need it.
        s = _NON_ASCII.sub(_fold_run, s)
    return " ".join(s.split())


class _Pattern:
    """A user's regular expression, searched with a timeout; one that times out stops matching anything.

    A search with a timeout costs a few microseconds, so a text without the word every match needs (see
    required_word) is turned down first.
    """

    __slots__ = ("broken", "compiled", "required")

    def __init__(self, compiled: Any) -> None:
        self.compiled = compiled
        self.broken = False
        self.required = ""

    def __call__(self, text: str) -> bool:
        if self.broken or self.required not in text:
            return False
        try:
            return self.compiled.search(text, timeout=REGEX_TIMEOUT) is not None
        except TimeoutError:
            self.broken = True
            return False


def compile_pattern(value: str, where: str) -> _Pattern:
    # The text it runs on is folded, so accents in the pattern go too, and case is ignored.
    source = "".join(c for c in unicodedata.normalize("NFKD", value) if not unicodedata.combining(c))
    product = 1
    for low, high in _REPEAT.findall(source):
        product *= max(int(low or 0), int(high or 0), 1)
    if product > MAX_REPEAT_PRODUCT:
        raise InvalidRule(
            mark("{field}: counted repeats such as {{n}} multiply to more than {limit:,}"),
            values={"field": Term(where), "limit": MAX_REPEAT_PRODUCT},
            field=where,
        )
    try:
        compiled = regex.compile(source, regex.IGNORECASE)
    except (regex.error, OverflowError, RecursionError, ValueError) as exc:
        raise InvalidRule(
            mark("{field}: not a valid regular expression: {problem}"),
            values={"field": Term(where), "problem": exc},
            field=where,
        ) from None
    pattern = _Pattern(compiled)
    # Runaway backtracking shows on long runs of the characters the pattern itself uses.
    letters = sorted({c for c in source.casefold() if c.isalnum()})[:6] or ["a"]
    probes = [c * 200 + "!" for c in letters] + ["".join(letters) * 40 + "!", "a1 " * 70 + "!"]
    for probe in probes:
        pattern(probe)
        if pattern.broken:
            raise InvalidRule(
                mark("{field}: the pattern takes too long on some text (catastrophic backtracking); simplify it"),
                values={"field": Term(where)},
                field=where,
            )
    pattern.required = required_word(source)
    return pattern


_CLASS_ESCAPES = frozenset("dwsbDWSBAZG")


def required_word(source: str) -> str:
    """The longest run of ASCII letters and digits that every match of the pattern contains, or "".

    Conservative: alternation, inline flags and escapes other than classes (\\d) and punctuation (\\.) give
    "", and what is inside groups and brackets is not read.
    """
    if "|" in source or "(?" in source:
        return ""
    best, run, depth, i = "", "", 0, 0
    while i < len(source):
        ch = source[i]
        step = 1
        if ch == "\\":
            following = source[i + 1 : i + 2]
            if following.isalnum() and following not in _CLASS_ESCAPES:
                return ""
            step = 2
        elif ch == "[":
            j = i + 1
            j += source[j : j + 1] == "^"
            j += source[j : j + 1] == "]"
            while j < len(source) and source[j] != "]":
                if source[j] == "[":
                    return ""  # a POSIX class or a nested set: not read
                j += 2 if source[j] == "\\" else 1
            if j >= len(source):
                return ""
            step = j + 1 - i
        elif ch in "()":
            depth += 1 if ch == "(" else -1
        elif depth == 0 and ch.isascii() and ch.isalnum():
            run += ch
            i += 1
            continue
        elif ch in "?*{":
            run = run[:-1]  # the quantifier makes the run's last character optional
            if ch == "{":
                end = source.find("}", i)
                if end < 0:
                    return ""
                step = end + 1 - i
        best = max(best, run, key=len)
        run = ""
        i += step
    return max(best, run, key=len).casefold()
