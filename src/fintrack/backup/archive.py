"""Backup names, the archive's layout (a tar of manifest, globals and dump) and its plaintext summary."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import tarfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fintrack.backup.errors import DamagedArchive, ManifestMissing

ARCHIVE_SUFFIX = ".tar.age"
SUMMARY_SUFFIX = ".json"
MANIFEST, GLOBALS, DUMP = "manifest.json", "globals.sql", "database.dump"
MEMBERS = (MANIFEST, GLOBALS, DUMP)  # manifest first: a reader learns what to expect before the large dump
NAME = re.compile(r"^fintrack-(?P<stamp>\d{8}T\d{6}Z)(?:-(?P<label>[a-z0-9-]+))?$")
STAMP = "%Y%m%dT%H%M%SZ"


def new_name(now: dt.datetime, label: str = "", taken: set[str] | None = None) -> str:
    base = f"fintrack-{now.astimezone(dt.UTC).strftime(STAMP)}"
    name = f"{base}-{label}" if label else base
    n = 1
    while taken and name in taken:  # two runs in one second (tests, a manual run beside the timer)
        n += 1
        name = f"{base}-{n}-{label}" if label else f"{base}-{n}"
    return name


def created_at(name: str) -> dt.datetime | None:
    match = NAME.match(name)
    if not match:
        return None
    return dt.datetime.strptime(match["stamp"], STAMP).replace(tzinfo=dt.UTC)


def is_name(name: str) -> bool:
    return NAME.match(name) is not None


@dataclass
class Summary:
    """Written beside each archive in plaintext so `backup list` works without the private key. It holds no
    financial data: versions, sizes, counts, and the archive's SHA-256, checked before decrypting."""

    name: str
    created_at: str
    archive_bytes: int
    archive_sha256: str
    app_version: str
    migration: str | None
    postgres_version: str
    database: str
    tables: int
    rows: int
    recipients: list[str]
    label: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> Summary:
        data = json.loads(text)
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def pack(folder: Path, target: Path) -> None:
    """An uncompressed tar: the dump is compressed already, and plain tar lets an operator unpack it by hand."""
    with tarfile.open(target, "w", format=tarfile.PAX_FORMAT) as tar:
        for member in MEMBERS:
            tar.add(folder / member, arcname=member, recursive=False)


def unpack(tar_path: Path, folder: Path, name: str) -> None:
    """Extract only the three known regular files (nothing else is written, whatever the tar holds)."""
    found = set()
    try:
        with tarfile.open(tar_path, "r:") as tar:
            for info in tar:
                if info.name not in MEMBERS or not info.isfile():
                    raise DamagedArchive(f"{name} holds an unexpected entry {info.name!r}: not a FinTrack backup")
                source = tar.extractfile(info)
                assert source is not None
                with source, (folder / info.name).open("wb") as out:
                    shutil.copyfileobj(source, out, 1 << 20)
                found.add(info.name)
    except tarfile.TarError as exc:
        raise DamagedArchive(f"{name} decrypts, but what it holds is not a readable tar ({exc})") from None
    if MANIFEST not in found:
        raise ManifestMissing(f"{name} holds no {MANIFEST}: not a FinTrack backup, or made by hand")
    if missing := [m for m in MEMBERS if m not in found]:
        raise DamagedArchive(f"{name} lacks {', '.join(missing)}")


def check_files(folder: Path, files: dict[str, dict[str, Any]], name: str) -> None:
    """Each extracted file against the size and SHA-256 its manifest recorded."""
    for member, expected in files.items():
        path = folder / member
        if path.stat().st_size != expected["bytes"] or sha256(path) != expected["sha256"]:
            raise DamagedArchive(f"{name}: {member} does not match its manifest (size or SHA-256)")
