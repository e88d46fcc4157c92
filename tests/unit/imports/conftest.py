"""The public statement corpus in ../shared/testdata/statements, beside the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

STATEMENTS = Path(__file__).resolve().parents[3].parent / "shared" / "testdata" / "statements"


def corpus(folder: str) -> Path:
    path = STATEMENTS / folder
    if not path.is_dir():
        pytest.fail(f"the statement corpus is missing: {path} (clone ../shared beside the repository)")
    return path
