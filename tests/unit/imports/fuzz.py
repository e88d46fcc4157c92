"""Fuzzing helpers shared by the parser tests: mutated corpus files, and the one outcome allowed."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

from fintrack.imports.formats.base import Options, Parser, ParseResult, UnreadableFile


def mutated(samples: Sequence[bytes], tokens: Sequence[bytes], *, edits: int, drop: int) -> st.SearchStrategy[bytes]:
    """A corpus file with up to `edits` byte flips, cuts of up to `drop` bytes, or format tokens inserted."""

    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        data = bytearray(draw(st.sampled_from(list(samples))))
        for _ in range(draw(st.integers(0, edits))):
            at = draw(st.integers(0, max(0, len(data) - 1)))
            action = draw(st.sampled_from(["flip", "drop", "insert"]))
            if action == "flip" and data:
                data[at] = draw(st.integers(0, 255))
            elif action == "drop":
                del data[at : at + draw(st.integers(1, drop))]
            else:
                data[at:at] = draw(st.sampled_from(list(tokens)))
        return bytes(data)

    return build()


def parses_or_refuses(parser: Parser, data: bytes) -> None:
    """Whatever the bytes, the parser answers with a result or its own clear refusal, nothing else."""
    try:
        result = parser.parse(data, Options())
    except UnreadableFile:
        return
    assert isinstance(result, ParseResult)
