"""`fintrack backup run | list | verify | restore`, mounted on the main command line by fintrack.cli."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from fintrack.backup.errors import BackupError
from fintrack.settings import Settings

app = typer.Typer(
    help="Encrypted backups: local copies in BACKUP_DIR, off-site in an S3-compatible bucket.", no_args_is_help=True
)
err = Console(stderr=True, soft_wrap=True)  # long paths and names stay on one line in logs
Where = Literal["auto", "local", "remote"]
FromOption = Annotated[str, typer.Option("--from", help="auto (local first), local or remote")]
IdentityOption = Annotated[
    Path | None, typer.Option(help="age identity file (private key) [default: BACKUP_AGE_IDENTITY_FILE]")
]


def _context() -> tuple[Settings, str]:
    """Settings and the current database's URL, without migrating it: a backup takes the schema as it is."""
    from fintrack.cli import settings_or_exit
    from fintrack.db import database_url

    settings = settings_or_exit()
    return settings, database_url(settings)


def _say(message: str) -> None:
    err.print(message, highlight=False)


def _failed(exc: BackupError) -> typer.Exit:
    err.print(f"[red]error:[/red] {exc.message} ({exc.code})", highlight=False)
    return typer.Exit(1)


def _where(value: str) -> Where:
    if value not in ("auto", "local", "remote"):
        err.print("[red]error:[/red] --from takes auto, local or remote")
        raise typer.Exit(2)
    return value  # type: ignore[return-value]


@app.command("run")
def run_command(
    no_upload: Annotated[bool, typer.Option("--no-upload", help="keep it locally only, even with a bucket")] = False,
) -> None:
    """Dump the database, encrypt it to BACKUP_AGE_RECIPIENTS, keep it, upload it, and apply the retention."""
    from fintrack.backup import service

    settings, url = _context()
    try:
        summary = service.run(settings, url, upload=not no_upload, say=_say)
    except BackupError as exc:
        raise _failed(exc) from None
    typer.echo(summary.name)


@app.command("list")
def list_command(as_json: Annotated[bool, typer.Option("--json", help="one JSON array")] = False) -> None:
    """Local and remote backups, newest first, with size, time and manifest summary."""
    from dataclasses import asdict

    from fintrack.backup import service

    settings, _ = _context()
    try:
        rows = service.listing(settings)
    except BackupError as exc:
        raise _failed(exc) from None
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "name": r.name,
                        "created_at": r.created_at.isoformat() if r.created_at else None,
                        "where": r.where,
                        "local_bytes": r.local_bytes,
                        "remote_bytes": r.remote_bytes,
                        "summary": asdict(r.summary) if r.summary else None,
                    }
                    for r in rows
                ]
            )
        )
        return
    table = Table("name", "created (UTC)", "where", "size", "migration", "tables", "rows", "app")
    for column in table.columns[:2]:
        column.no_wrap = True
    for r in rows:
        s = r.summary
        size = r.local_bytes if r.local_bytes is not None else r.remote_bytes
        table.add_row(
            r.name,
            f"{r.created_at:%Y-%m-%d %H:%M:%S}" if r.created_at else "-",
            r.where,
            _size(size),
            (s.migration or "-") if s else "-",
            str(s.tables) if s else "-",
            f"{s.rows:,}" if s else "-",
            s.app_version if s else "-",
        )
    # Piped (a cron mail, a log), rich would squeeze the table to 80 columns and cut the names.
    Console(width=None if sys.stdout.isatty() else 140).print(table)


@app.command("verify")
def verify_command(
    name: Annotated[str | None, typer.Argument(help="which backup [default: the newest]")] = None,
    where: FromOption = "auto",
    identity: IdentityOption = None,
) -> None:
    """Restore a backup into a scratch database, compare every table with its manifest, and record the result."""
    from fintrack.backup import service

    settings, url = _context()
    try:
        result = service.verify(settings, url, name, where=_where(where), identity=identity, say=_say)
    except BackupError as exc:
        raise _failed(exc) from None
    err.print(
        f"verified {result.name} ({result.origin}): {result.tables} tables, {result.rows:,} rows match the "
        f"manifest ({result.seconds:.1f} s)",
        highlight=False,
    )


@app.command("restore")
def restore_command(
    name: Annotated[str | None, typer.Argument(help="which backup [default: the newest]")] = None,
    where: FromOption = "auto",
    identity: IdentityOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
    keep_old: Annotated[
        bool, typer.Option("--keep-old", help="keep the replaced database (renamed) instead of dropping it")
    ] = False,
) -> None:
    """Replace the current database with a backup: checked, restored beside it, compared, migrated, a safety
    backup of the current one taken, then swapped. Stop the app first."""
    from fintrack.backup import pgtools, service

    settings, url = _context()
    if not yes:
        if not sys.stdin.isatty():
            err.print("[red]error:[/red] restore replaces the database: pass --yes (no terminal to ask)")
            raise typer.Exit(2)
        typer.confirm(f"Replace database {pgtools.database_name(url)} with backup {name or '(newest)'}?", abort=True)
    try:
        result = service.restore(
            settings, url, name, where=_where(where), identity=identity, keep_old=keep_old, say=_say
        )
    except BackupError as exc:
        raise _failed(exc) from None
    err.print(
        f"restored {result.name} ({result.origin}) in {result.seconds:.1f} s; safety backup {result.safety_backup}"
        + (f"; the replaced database is kept as {result.kept}" if result.kept else ""),
        highlight=False,
    )


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)
