"""Every corpus file is recognised as its own format; anything else is a clear refusal."""

from __future__ import annotations

import pytest

from fintrack.imports.formats import detect
from fintrack.imports.formats.base import UnreadableFile
from tests.unit.imports.conftest import corpus

FOLDERS = {"csv": "csv", "ofx": "ofx", "qif": "qif", "camt": "camt", "mt940": "mt940"}
# Broken on purpose: nothing in the bytes says what they are, so only the file name can.
NAMED_ONLY = {"mt940/wolph__self-provided-invalid_statement.sta"}
# Not statements at all (the manifest says reject): detection itself refuses them, whatever their name.
REFUSED = {"qif/isaacharrisholt__empty.qif", "qif/isaacharrisholt__invalid.txt"}


def corpus_files() -> list[tuple[str, str]]:
    cases = []
    for folder, fmt in FOLDERS.items():
        for path in sorted(corpus(folder).iterdir()):
            if path.suffix != ".json":
                cases.append((fmt, f"{folder}/{path.name}"))
    return cases


@pytest.mark.parametrize(("fmt", "name"), corpus_files())
def test_each_corpus_file_is_detected_as_its_format(fmt, name):
    path = corpus(name.split("/")[0]) / name.split("/")[1]
    data = path.read_bytes()
    if name in REFUSED:
        with pytest.raises(UnreadableFile):
            detect.choose(data, path.name)
        return
    assert detect.choose(data, path.name).name == fmt
    if name in NAMED_ONLY:
        with pytest.raises(UnreadableFile, match="not a statement format"):
            detect.choose(data, None)
    else:
        assert detect.choose(data, None).name == fmt, "detected by content alone, whatever the file is called"


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf\r\n\r\n", b"\x00" * 64])
def test_empty_files_are_refused(data):
    with pytest.raises(UnreadableFile, match="empty"):
        detect.choose(data, "x.csv")


def test_binary_garbage_is_refused():
    with pytest.raises(UnreadableFile):
        detect.parse(bytes(range(256)) * 40, "photo.jpg")


def test_a_forced_format_wins_and_an_unknown_one_is_named():
    assert detect.choose(b"date,amount\n2026-01-01,1.00\n", "x.txt", forced="csv").name == "csv"
    with pytest.raises(detect.UnknownFormat) as caught:
        detect.choose(b"x", forced="xls")
    assert caught.value.details["format"] == "xls"
