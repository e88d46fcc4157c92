"""Backups: run (dump, manifest, encrypt, keep, upload, prune), list, verify (a scratch restore) and restore."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from fintrack.backup import archive, crypto, pgtools, status
from fintrack.backup.archive import DUMP, GLOBALS, MANIFEST, Summary
from fintrack.backup.errors import (
    BackupError,
    BackupNotFound,
    DamagedArchive,
    IncompatibleSchema,
    ManifestMissing,
    NotConfigured,
    ToolFailed,
    VerifyMismatch,
)
from fintrack.backup.manifest import CHECKSUM_ALGORITHM, FORMAT, Manifest, database_facts, differences, table_checksums
from fintrack.backup.storage import LocalStore, S3Store, Stored, expired
from fintrack.settings import Settings

Say = Callable[[str], None]
# Per pg_restore session (two of them): index builds get more memory than the server's default.
RESTORE_SESSION = {"maintenance_work_mem": "256MB"}
VERIFY_NOTE = "verify-status.json"


def _quiet(_: str) -> None:
    pass


def local_store(settings: Settings) -> LocalStore:
    return LocalStore(settings.backup_dir)


def remote_store(settings: Settings) -> S3Store | None:
    return S3Store(settings) if settings.BACKUP_S3_BUCKET else None


# run


def run(
    settings: Settings,
    url: str,
    *,
    label: str = "",
    upload: bool = True,
    recipients: list[Any] | None = None,
    say: Say = _quiet,
) -> Summary:
    """Dump, encrypt and keep one backup locally, upload it when a bucket is set, then apply the retention.

    The status file records the outcome either way (the BackupStale alert reads it through /metrics)."""
    try:
        with _database_errors():
            summary = _run(settings, url, label=label, upload=upload, recipients=recipients, say=say)
    except BackupError as exc:
        if not label:
            status.record(settings.backup_dir, "backup", ok=False, error=exc.message)
            status.export(settings.backup_dir, settings.BACKUP_METRICS_TEXTFILE)
        raise
    if not label:  # a safety dump before a restore is not the daily backup
        status.record(settings.backup_dir, "backup", ok=True, name=summary.name, size_bytes=summary.archive_bytes)
        status.export(settings.backup_dir, settings.BACKUP_METRICS_TEXTFILE)
        prune(settings, say=say)
    return summary


def _run(settings: Settings, url: str, *, label: str, upload: bool, recipients: list[Any] | None, say: Say) -> Summary:
    recipients = recipients or crypto.parse_recipients(settings.BACKUP_AGE_RECIPIENTS)
    remote = remote_store(settings) if upload else None
    local = local_store(settings)
    local.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    name = archive.new_name(now, label, taken=set(local.list()))
    with _workdir(local.folder, name) as work:
        started = time.perf_counter()
        manifest = _dump(settings, url, work, name, now, label)
        say(f"dumped {len(manifest.tables)} tables, {manifest.rows:,} rows in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        archive.pack(work, work / "backup.tar")
        crypto.encrypt(work / "backup.tar", work / "backup.tar.age", recipients)
        sealed = work / "backup.tar.age"
        summary = Summary(
            name=name,
            created_at=manifest.created_at,
            archive_bytes=sealed.stat().st_size,
            archive_sha256=archive.sha256(sealed),
            app_version=manifest.app_version,
            migration=manifest.migration,
            postgres_version=manifest.postgres_version,
            database=manifest.database,
            tables=len(manifest.tables),
            rows=manifest.rows,
            recipients=[str(r) for r in recipients],
            label=label,
        )
        (work / "summary.json").write_text(summary.to_json())
        sealed.replace(local.archive(name))
        (work / "summary.json").replace(local.summary_path(name))
        say(f"encrypted {name} ({summary.archive_bytes:,} bytes) in {time.perf_counter() - started:.1f} s")
    if remote is not None:
        started = time.perf_counter()
        remote.upload(local.archive(name), local.summary_path(name), name)
        say(f"uploaded to {remote} in {time.perf_counter() - started:.1f} s")
        if not label:
            _adopt_remote_verify(settings, remote)
    return summary


def _dump(settings: Settings, url: str, work: Path, name: str, now: dt.datetime, label: str) -> Manifest:
    """pg_dump and the manifest's checksums read one snapshot: the manifest describes exactly what was dumped,
    even while the app writes. pg_dump runs while the checksums are computed (two cores, two processes)."""
    conninfo = pgtools.libpq_url(url)
    with psycopg.connect(conninfo) as connection:
        connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        connection.read_only = True
        row = connection.execute("SELECT pg_export_snapshot()").fetchone()
        assert row is not None
        facts = database_facts(connection)
        dump = pgtools.start(
            "pg_dump",
            [
                "--format=custom",
                f"--compress={settings.BACKUP_COMPRESSION}",
                f"--snapshot={row[0]}",
                f"--file={work / DUMP}",
                f"--dbname={conninfo}",
            ],
            work / "pg_dump.err",
        )
        try:
            tables = table_checksums(connection)
        except BaseException:
            dump.kill()
            dump.wait()
            raise
        pgtools.wait("pg_dump", dump, work / "pg_dump.err")
        connection.rollback()
    with_passwords = _dump_globals(conninfo, work / GLOBALS)
    manifest = Manifest(
        name=name,
        created_at=now.isoformat(timespec="seconds"),
        app_version=_app_version(),
        migration=facts["migration"],
        postgres_version=facts["postgres_version"],
        database=pgtools.database_name(url),
        extensions=facts["extensions"],
        tables=tables,
        files={f: {"bytes": (work / f).stat().st_size, "sha256": archive.sha256(work / f)} for f in (DUMP, GLOBALS)},
        globals_with_passwords=with_passwords,
        label=label,
    )
    (work / MANIFEST).write_text(manifest.to_json())
    return manifest


def _dump_globals(conninfo: str, target: Path) -> bool:
    """Roles and tablespaces; without password hashes where the role may not read them (managed servers)."""
    try:
        pgtools.run("pg_dumpall", ["--globals-only", f"--file={target}", f"--dbname={conninfo}"])
        return True
    except ToolFailed as exc:
        if "permission denied" not in exc.message:
            raise
    pgtools.run("pg_dumpall", ["--globals-only", "--no-role-passwords", f"--file={target}", f"--dbname={conninfo}"])
    return False


def _app_version() -> str:
    try:
        return version("fintrack")
    except PackageNotFoundError:
        return "unknown"


@contextmanager
def _database_errors() -> Iterator[None]:
    """The database's own refusals (down, no permission to create a database...) as a BackupError with its text."""
    try:
        yield
    except psycopg.Error as exc:
        raise BackupError(f"the database refused: {str(exc).strip()}") from exc


@contextmanager
def _workdir(folder: Path, name: str) -> Iterator[Path]:
    """Scratch files beside the backups (same file system: the finished archive is renamed into place)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    work = folder / f".work-{name}-{os.getpid()}"
    work.mkdir(mode=0o700)
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


# list and retention


@dataclass
class Listed:
    name: str
    created_at: dt.datetime | None
    local_bytes: int | None
    remote_bytes: int | None
    summary: Summary | None

    @property
    def where(self) -> str:
        places = [p for p, size in (("local", self.local_bytes), ("remote", self.remote_bytes)) if size is not None]
        return "+".join(places) or "incomplete"


def listing(settings: Settings) -> list[Listed]:
    """Every backup, local and remote, newest first, with its summary where one is readable."""
    local = local_store(settings).list()
    remote_store_ = remote_store(settings)
    remote = remote_store_.list() if remote_store_ else {}
    rows = []
    for name in sorted(local.keys() | remote.keys(), reverse=True):
        mine, theirs = local.get(name), remote.get(name)
        summary = mine.summary if mine else None
        if summary is None and theirs is not None and remote_store_ is not None:
            summary = remote_store_.summary(name)
        rows.append(
            Listed(
                name,
                archive.created_at(name),
                mine.archive_bytes if mine else None,
                theirs.archive_bytes if theirs else None,
                summary,
            )
        )
    return rows


def prune(settings: Settings, *, now: dt.datetime | None = None, say: Say = _quiet) -> list[str]:
    """Delete backups older than BACKUP_RETENTION_DAYS, locally and in the bucket; the newest always stays."""
    now = now or dt.datetime.now(dt.UTC)
    deleted = []
    stores: list[LocalStore | S3Store] = [local_store(settings)]
    if (remote := remote_store(settings)) is not None:
        stores.append(remote)
    for store in stores:
        for name in expired(list(store.list()), settings.BACKUP_RETENTION_DAYS, now):
            store.delete(name)
            deleted.append(f"{name} ({'local' if isinstance(store, LocalStore) else 'remote'})")
            say(f"retention: deleted {name} from {store}")
    return deleted


# reading a backup back


@dataclass
class Opened:
    name: str
    origin: str
    manifest: Manifest
    folder: Path  # holds manifest.json, globals.sql and database.dump


def _identities(settings: Settings, identity: Path | None) -> list[Any]:
    path = identity or settings.BACKUP_AGE_IDENTITY_FILE
    if path is None:
        raise NotConfigured("no age identity: pass --identity FILE or set BACKUP_AGE_IDENTITY_FILE")
    return crypto.load_identities(path)


def _choose(settings: Settings, name: str | None, where: str) -> tuple[str, str]:
    """(name, "local" or "remote"): the given or newest backup, local first when both hold it."""
    local = local_store(settings)
    remote = remote_store(settings)
    if where == "remote" and remote is None:
        raise NotConfigured("--from remote needs BACKUP_S3_BUCKET")
    if name is not None:
        name = name.removesuffix(archive.ARCHIVE_SUFFIX).removesuffix(archive.SUMMARY_SUFFIX)
        if where != "remote" and local.archive(name).exists():
            return name, "local"
        if where == "local" or remote is None:
            raise BackupNotFound(f"no backup {name} in {local}")
        return name, "remote"
    candidates: dict[str, str] = {}
    if where != "local" and remote is not None:
        candidates.update({n: "remote" for n, s in remote.list().items() if s.archive_bytes is not None})
    if where != "remote":
        candidates.update({n: "local" for n, s in local.list().items() if s.archive_bytes is not None})
    dated = [(archive.created_at(n), n) for n in candidates if not n.endswith("-pre-restore")]
    if not dated:
        raise BackupNotFound(f"no backup to use in {local}" + (f" or {remote}" if remote and where != "local" else ""))
    newest = max(dated, key=lambda pair: (pair[0] or dt.datetime.min.replace(tzinfo=dt.UTC), pair[1]))[1]
    return newest, candidates[newest]


def _open(settings: Settings, name: str, origin: str, identities: list[Any], work: Path, say: Say) -> Opened:
    """Fetch, check against the summary, decrypt, unpack and check against the manifest: all before anything is
    written to any database."""
    if origin == "local":
        store = local_store(settings)
        sealed, summary = store.archive(name), store.summary(name)
    else:
        remote = remote_store(settings)
        assert remote is not None
        sealed, summary_path = work / "download.tar.age", work / "download.json"
        started = time.perf_counter()
        remote.download(name, sealed, summary_path)
        say(f"downloaded {name} from {remote} in {time.perf_counter() - started:.1f} s")
        summary = Summary.from_json(summary_path.read_text()) if summary_path.exists() else None
    if summary is not None:
        size = sealed.stat().st_size
        if size < summary.archive_bytes:
            raise DamagedArchive(f"{name} is truncated: {size:,} bytes of the {summary.archive_bytes:,} written")
        if size != summary.archive_bytes or archive.sha256(sealed) != summary.archive_sha256:
            raise DamagedArchive(f"{name} has been altered: its SHA-256 is not the one recorded when it was made")
    else:
        say(f"{name} has no summary beside it; age's own authentication still checks every byte")
    started = time.perf_counter()
    crypto.decrypt(sealed, work / "backup.tar", identities, name)
    if origin == "remote":
        sealed.unlink()
    archive.unpack(work / "backup.tar", work, name)
    (work / "backup.tar").unlink()
    try:
        manifest = Manifest.from_json((work / MANIFEST).read_text())
    except (ValueError, TypeError) as exc:
        raise ManifestMissing(f"{name}: {MANIFEST} is not a readable manifest ({exc})") from None
    if manifest.format > FORMAT or manifest.checksum_algorithm != CHECKSUM_ALGORITHM:
        raise IncompatibleSchema(f"{name} was written by a newer FinTrack (format {manifest.format})")
    archive.check_files(work, manifest.files, name)
    say(f"decrypted and checked {name} in {time.perf_counter() - started:.1f} s")
    return Opened(name, origin, manifest, work)


def _restore_into(url: str, database: str, opened: Opened, say: Say) -> str:
    """A fresh database on the same server holding the backup; returns its SQLAlchemy URL."""
    with psycopg.connect(pgtools.libpq_url(url), autocommit=True) as admin:
        admin.execute(_ddl("DROP DATABASE IF EXISTS {} WITH (FORCE)", database))
        admin.execute(_ddl("CREATE DATABASE {} TEMPLATE template0", database))
    # Index builds (the trigram GIN index on a million descriptions above all) are most of a restore's time, and
    # they are bounded by maintenance_work_mem; the server's default is sized for a small VM's background work.
    target = pgtools.libpq_url(url, database, settings=RESTORE_SESSION)
    started = time.perf_counter()
    pgtools.run(
        "pg_restore",
        [f"--dbname={target}", f"--jobs={min(2, os.cpu_count() or 1)}", "--exit-on-error", "--no-owner",
         str(opened.folder / DUMP)],
    )  # fmt: skip
    say(f"pg_restore into {database} took {time.perf_counter() - started:.1f} s")
    return _sqlalchemy_url(url, database)


def _ddl(statement: str, *databases: str) -> sql.Composed:
    return sql.SQL(statement).format(*map(sql.Identifier, databases))


def _drop(url: str, database: str) -> None:
    with suppress(psycopg.Error), psycopg.connect(pgtools.libpq_url(url), autocommit=True) as admin:
        admin.execute(_ddl("DROP DATABASE IF EXISTS {} WITH (FORCE)", database))


def _compare(url: str, opened: Opened, say: Say) -> dict[str, dict[str, Any]]:
    started = time.perf_counter()
    with psycopg.connect(pgtools.libpq_url(url)) as connection:
        connection.read_only = True
        actual = table_checksums(connection)
    say(f"checksummed {len(actual)} tables in {time.perf_counter() - started:.1f} s")
    if problems := differences(opened.manifest.tables, actual):
        raise VerifyMismatch(
            f"{opened.name} does not restore to what its manifest recorded: " + "; ".join(problems[:5]),
            tables=problems,
        )
    return actual


def _sqlalchemy_url(url: str, database: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql+psycopg", database=database).render_as_string(hide_password=False)


def _scratch(url: str, purpose: str) -> str:
    return f"{pgtools.database_name(url)[: 62 - len(purpose)]}_{purpose}"


# verify


@dataclass
class Verified:
    name: str
    origin: str
    tables: int
    rows: int
    seconds: float


def verify(
    settings: Settings,
    url: str,
    name: str | None = None,
    *,
    where: str = "auto",
    identity: Path | None = None,
    say: Say = _quiet,
) -> Verified:
    """Restore a backup (the newest by default) into a scratch database on the same server, compare every table
    with the manifest, drop the scratch database, and record the result."""
    started = time.perf_counter()
    chosen = name
    try:
        identities = _identities(settings, identity)
        chosen, origin = _choose(settings, name, where)
        scratch = _scratch(url, "verify")
        with _database_errors(), _workdir(settings.backup_dir, f"verify-{chosen}") as work:
            opened = _open(settings, chosen, origin, identities, work, say)
            try:
                scratch_url = _restore_into(url, scratch, opened, say)
                _compare(scratch_url, opened, say)
            finally:
                _drop(url, scratch)
    except BackupError as exc:
        status.record(settings.backup_dir, "verify", ok=False, name=chosen, error=exc.message)
        status.export(settings.backup_dir, settings.BACKUP_METRICS_TEXTFILE)
        raise
    result = Verified(chosen, origin, len(opened.manifest.tables), opened.manifest.rows, time.perf_counter() - started)
    status.record(settings.backup_dir, "verify", ok=True, name=chosen, rows=result.rows, seconds=result.seconds)
    status.export(settings.backup_dir, settings.BACKUP_METRICS_TEXTFILE)
    if origin == "remote" and (remote := remote_store(settings)) is not None:
        # The drill may run on the machine holding the private key, not on the server: the server's next backup
        # run reads this note, so its backup_verify_* metric counts drills run anywhere.
        note = {"last_success": time.time(), "name": chosen, "host": socket.gethostname(), "rows": result.rows}
        remote.put_note(VERIFY_NOTE, json.dumps(note).encode())
    return result


def _adopt_remote_verify(settings: Settings, remote: S3Store) -> None:
    """Take a newer drill result from the bucket (a verify run on another machine) into the local status."""
    body = remote.get_note(VERIFY_NOTE)
    if body is None:
        return
    try:
        note = json.loads(body)
        at = float(note["last_success"])
    except (ValueError, KeyError, TypeError):
        return
    if at > float(status.read(settings.backup_dir).get("verify", {}).get("last_success") or 0):
        status.record(settings.backup_dir, "verify", ok=True, at=at, name=note.get("name"), host=note.get("host"))


# restore


@dataclass
class Restored:
    name: str
    origin: str
    safety_backup: str
    migration: str
    kept: str | None
    seconds: float


def restore(
    settings: Settings,
    url: str,
    name: str | None,
    *,
    where: str = "auto",
    identity: Path | None = None,
    keep_old: bool = False,
    say: Say = _quiet,
) -> Restored:
    """Replace the current database with a backup, or change nothing.

    Everything that can fail runs before the current database is touched: the archive is checked and decrypted,
    restored into a new database beside the current one, compared with its manifest and migrated to this
    version's head; then a safety backup of the current database is written; only then are the two swapped
    by renaming. Needs a role that may create databases (the embedded server's is one)."""
    from fintrack import migrate

    started = time.perf_counter()
    identities = _identities(settings, identity)
    chosen, origin = _choose(settings, name, where)
    current = pgtools.database_name(url)
    scratch = _scratch(url, "restoring")
    with _database_errors(), _workdir(settings.backup_dir, f"restore-{chosen}") as work:
        opened = _open(settings, chosen, origin, identities, work, say)
        _check_migration(opened)
        try:
            scratch_url = _restore_into(url, scratch, opened, say)
            _compare(scratch_url, opened, say)
            migrate.upgrade(scratch_url)
            head = migrate.head_revision()
            safety = run(
                settings, url, label="pre-restore", upload=False, recipients=_safety_recipients(settings, identities)
            )
            say(f"safety backup of the current database: {safety.name} in {settings.backup_dir}")
            kept = _swap(url, current, scratch, keep_old)
        except BaseException:
            _drop(url, scratch)
            raise
    _ready(url, head)
    say(f"{current} is ready at migration {head}")
    return Restored(chosen, origin, safety.name, head, kept, time.perf_counter() - started)


def _check_migration(opened: Opened) -> None:
    from alembic.script import ScriptDirectory

    from fintrack import migrate

    revision = opened.manifest.migration
    if revision is None:
        raise IncompatibleSchema(f"{opened.name} holds no alembic_version: not a FinTrack database")
    known = {script.revision for script in ScriptDirectory(str(migrate.MIGRATIONS)).walk_revisions()}
    if revision not in known:
        raise IncompatibleSchema(
            f"{opened.name} is at migration {revision}, unknown to FinTrack {_app_version()}: restore it with the "
            "version that made it (its manifest says " + opened.manifest.app_version + ")"
        )


def _safety_recipients(settings: Settings, identities: list[Any]) -> list[Any]:
    """The configured public keys; on a fresh server without them, the identity's own, so the safety backup can be
    opened with the same key file."""
    if settings.BACKUP_AGE_RECIPIENTS.strip():
        return crypto.parse_recipients(settings.BACKUP_AGE_RECIPIENTS)
    return [identity.to_public() for identity in identities]


def _swap(url: str, current: str, scratch: str, keep_old: bool) -> str | None:
    """Rename current -> old and scratch -> current (a database cannot be renamed from inside it, so each rename
    runs from the other one); the old one is dropped unless kept. Connections to the current database are ended:
    stop the app first."""
    old = f"{current[:40]}_pre_restore_{dt.datetime.now(dt.UTC):%Y%m%d%H%M%S}"
    with psycopg.connect(pgtools.libpq_url(url, scratch), autocommit=True) as conn:
        conn.execute(_ddl("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false", current))
        try:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (current,))
            _retry(lambda: conn.execute(_ddl("ALTER DATABASE {} RENAME TO {}", current, old)))
        finally:
            conn.execute(_ddl("ALTER DATABASE {} WITH ALLOW_CONNECTIONS true", _existing(conn, current, old)))
    try:
        with psycopg.connect(pgtools.libpq_url(url, old), autocommit=True) as conn:
            conn.execute(_ddl("ALTER DATABASE {} RENAME TO {}", scratch, current))
    except psycopg.Error:
        with psycopg.connect(pgtools.libpq_url(url, scratch), autocommit=True) as conn:
            conn.execute(_ddl("ALTER DATABASE {} RENAME TO {}", old, current))  # put the original back
        raise
    if keep_old:
        return old
    _drop(pgtools.libpq_url(url, current), old)
    return None


def _existing(conn: psycopg.Connection[Any], *names: str) -> str:
    for name in names:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return name
    raise BackupError(f"neither {' nor '.join(names)} exists any more")


def _retry(action: Callable[[], object], attempts: int = 20) -> None:
    # A backend being terminated may still hold the database for a few milliseconds.
    for attempt in range(attempts):
        try:
            action()
            return
        except psycopg.errors.ObjectInUse:
            if attempt == attempts - 1:
                raise
            time.sleep(0.1)


def _ready(url: str, head: str) -> None:
    """What /readyz checks: the database answers and is at this version's migration head."""
    with psycopg.connect(pgtools.libpq_url(url)) as connection:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    if row is None or row[0] != head:
        raise BackupError(f"the restored database is at migration {row[0] if row else None}, expected {head}")


__all__ = ["Listed", "Restored", "Stored", "Verified", "listing", "prune", "restore", "run", "verify"]
