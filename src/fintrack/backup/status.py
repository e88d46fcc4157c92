"""The last backup's and the last verified restore's outcome, in BACKUP_DIR/status.json, read by /metrics."""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

FILE = "status.json"


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    # A daily run and a weekly verify may finish at the same moment: each rewrites only its own part.
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".status.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def read(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def record(folder: Path, kind: str, *, ok: bool, at: float | None = None, **fields: Any) -> None:
    """kind is "backup" or "verify"; a failure keeps the last success's time and says what went wrong. `at` is
    when it happened (default: now), for a drill run on another machine."""
    with _locked(folder):
        data = read(folder)
        entry = data.setdefault(kind, {})
        now = time.time() if at is None else at
        if ok:
            entry.update(last_success=now, error=None, **fields)
        else:
            entry.update(last_failure=now, **fields)
        tmp = folder / f".{FILE}.{os.getpid()}"
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
        tmp.replace(folder / FILE)


def gauges(folder: Path) -> list[tuple[str, str, float]]:
    """The backup_* metrics at scrape time; 0 when nothing has succeeded yet, so staleness alerts fire."""
    data = read(folder)
    backup, verify = data.get("backup", {}), data.get("verify", {})
    return [
        (
            "backup_last_success_timestamp_seconds",
            "When the last backup was written and uploaded (Unix time; 0: never)",
            float(backup.get("last_success") or 0),
        ),
        (
            "backup_size_bytes",
            "Size of the last successful backup's encrypted archive",
            float(backup.get("size_bytes") or 0),
        ),
        (
            "backup_verify_last_success_timestamp_seconds",
            "When a backup was last restored into a scratch database and matched its manifest (Unix time; 0: never)",
            float(verify.get("last_success") or 0),
        ),
    ]


def export(folder: Path, textfile: Path | None) -> None:
    """The same gauges in Prometheus' text format, for node-exporter's textfile collector (written atomically: the
    collector may read at any moment)."""
    if textfile is None:
        return
    lines = []
    for name, help_text, value in gauges(folder):
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {value!r}"]
    tmp = textfile.with_name(f".{textfile.name}.{os.getpid()}")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(textfile)
