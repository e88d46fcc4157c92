"""Babel's extraction for our Python (`make messages`): the marked messages, plus the docstrings of the domain
errors, which are the messages of errors raised without one (`raise LastOwner()`)."""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

from babel.messages.extract import extract_python


def extract(
    fileobj: IO[bytes], keywords: Mapping[str, Any], comment_tags: Collection[str], options: Any
) -> Iterator[tuple[Any, ...]]:
    source = fileobj.read()
    fileobj.seek(0)
    web = "/fintrack/web/" in str(getattr(fileobj, "name", ""))
    for found in extract_python(fileobj, keywords, comment_tags, options):
        # Outside the web package only mark() is ours: `_` and `text` there are other things (XML paths, SQL).
        if web or found[1] == "mark":
            yield found
    for node in ast.walk(ast.parse(source)):
        # An error class is one that sets its `code` (every DomainError does; tests/unit/web checks it).
        if isinstance(node, ast.ClassDef) and _sets_code(node) and (doc := ast.get_docstring(node, clean=False)):
            yield node.lineno, "mark", doc.strip(), []


def _sets_code(node: ast.ClassDef) -> bool:
    for statement in node.body:
        targets = statement.targets if isinstance(statement, ast.Assign) else [getattr(statement, "target", None)]
        if any(isinstance(t, ast.Name) and t.id == "code" for t in targets):
            return True
    return False
