"""Turn OFX/OFC bytes into text and a flat stream of SGML-ish tags, tolerating what banks really send."""

from __future__ import annotations

import codecs
import html
import re

from fintrack.errors import mark
from fintrack.imports.formats.base import UnreadableFile

# One tag and the text up to the next "<". Processing instructions and comments (<?..>, <!..>) never match,
# so they fall out of the stream. Closed, unclosed and self-described-XML tags all look alike here, which
# is what lets one reader handle OFX 1.x SGML, OFX 2.x XML and the not-quite-XML in between.
TOKEN = re.compile(r"<(/?)([^\s<>/!?][^\s<>/]*)[^<>]*>([^<]*)")

_ENTITY = re.compile(r"&(?:#\d+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
_DECLARED = (
    re.compile(rb"CHARSET:[ \t]*([\w-]+)"),
    re.compile(rb"<\?xml[^>]*encoding=[\"']([\w.-]+)"),
    re.compile(rb"<CPAGE>[ \t]*(\d+)", re.IGNORECASE),
)


def decode(data: bytes, forced: str | None = None) -> tuple[str, str]:
    """Bytes to text with line ends normalised to LF; returns (text, encoding used)."""
    if forced:
        try:
            text = data.decode(forced)
        except LookupError:
            raise UnreadableFile(mark("unknown encoding {encoding!r}"), values={"encoding": forced}) from None
        except UnicodeDecodeError as exc:
            raise UnreadableFile(
                mark("the file is not valid {encoding}: byte {byte} cannot be decoded"),
                values={"encoding": forced, "byte": exc.start},
            ) from None
        return _clean(text), forced
    utf16 = _utf16(data)
    if utf16:
        try:
            return _clean(data.decode(utf16)), utf16
        except UnicodeDecodeError:
            pass  # not UTF-16 after all: fall through to the byte-oriented encodings
    # NULs are padding some banks and transfer tools add; they never carry text in an 8-bit file.
    data = data.replace(b"\x00", b"")
    if data.startswith(codecs.BOM_UTF8):
        data = data[3:]
    # Headers lie (CHARSET:1252 over UTF-8 bytes is common), and valid UTF-8 is almost never accidental,
    # so strict UTF-8 goes first; the declared charset only decides between 8-bit encodings.
    candidates = ["utf-8", _declared(data[:4096]), "cp1252"]
    for encoding in candidates:
        if encoding is None:
            continue
        try:
            return _clean(data.decode(encoding)), encoding
        except (UnicodeDecodeError, LookupError):
            continue
    return _clean(data.decode("latin-1")), "latin-1"  # decodes anything: the last resort


def _utf16(data: bytes) -> str | None:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    head = data[:200]
    if len(head) >= 4 and head.count(0) * 3 > len(head):
        return "utf-16-le" if head[1] == 0 else "utf-16-be"
    return None


def _declared(head: bytes) -> str | None:
    for pattern in _DECLARED:
        found = pattern.search(head)
        if not found:
            continue
        name = found.group(1).decode("ascii", "replace").lower()
        if name in ("none", "usascii", "us-ascii", "ascii"):
            return None  # ASCII over non-ASCII bytes: cp1252 is the realistic reading
        if name.isdigit():
            name = "latin-1" if name == "8859" else f"cp{name}"
        elif name.startswith("8859"):
            name = "iso" + name
        try:
            return codecs.lookup(name).name
        except LookupError:
            return None
    return None


def _clean(text: str) -> str:
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")


def unescape(value: str) -> str:
    """Undo entity escaping, twice at most: some banks escape already-escaped text (`&amp;lt;`)."""
    if "&" not in value:
        return value
    for _ in range(2):
        if not _ENTITY.search(value):
            break
        value = html.unescape(value)
    return value
