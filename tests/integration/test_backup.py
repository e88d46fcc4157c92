"""Backups for real: pg_dump/pg_restore of the embedded PostgreSQL, age, and an S3 API (moto's server) the tests
start themselves. Every refused restore leaves the current database exactly as it was."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import psycopg
import pytest
from pyrage import x25519

from fintrack import migrate, pgserver
from fintrack.backup import archive, crypto, pgtools, service, status
from fintrack.backup.errors import (
    BackupError,
    BackupNotFound,
    DamagedArchive,
    IncompatibleSchema,
    ManifestMissing,
    NotConfigured,
    StorageError,
    VerifyMismatch,
    WrongKey,
)
from fintrack.backup.manifest import Manifest, table_checksums
from fintrack.db import Database
from fintrack.settings import Settings

pytestmark = pytest.mark.slow
SOURCE = "backup_src"
BUCKET = "fintrack-backups"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An S3-compatible server on a free loopback port: moto's standalone server, in its own process."""
    yield from _moto_server(tmp_path_factory.mktemp("moto"), {})


def _moto_server(folder: Path, extra_env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    log = (folder / "moto.log").open("wb")
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **extra_env},
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{endpoint}/moto-api/", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"moto_server did not start; see {folder / 'moto.log'}") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("keys")
    identity, other = x25519.Identity.generate(), x25519.Identity.generate()
    (folder / "backup-key.txt").write_text(f"# created for the tests\n{identity}\n")
    (folder / "other-key.txt").write_text(f"{other}\n")
    return {
        "recipient": str(identity.to_public()),
        "identity": folder / "backup-key.txt",
        "other": folder / "other-key.txt",
    }


@pytest.fixture(scope="module")
async def source_url(database_url: str) -> str:
    """A database of its own (restores rename databases), holding a year of a household's life."""
    from fintrack.auth import service as auth
    from fintrack.books.access import access
    from fintrack.demo.service import fill_book

    url = pgserver.create_database(SOURCE)
    migrate.upgrade(url)
    database = Database.connect(url, pool_size=1)
    try:
        async with database.sessionmaker() as session, session.begin():
            user = await auth.create_user(session, "backup@example.com", "correct horse battery staple")
            book = await access(session, user.id, None, user.default_book_id)
            await fill_book(session, book, years=1, seed=7)
    finally:
        await database.close()
    return url


@pytest.fixture
def backup_settings(tmp_path: Path, source_url: str, moto: str, keys: dict[str, Any], pg_data_dir: Path) -> Settings:
    s3 = boto3.client(
        "s3", endpoint_url=moto, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    bucket = f"{BUCKET}-{tmp_path.name.lower().replace('_', '-')[-30:]}".rstrip("-")
    s3.create_bucket(Bucket=bucket)
    return Settings(
        FINTRACK_ENV="test",
        FINTRACK_DATA_DIR=pg_data_dir,
        DATABASE_URL=source_url,
        BACKUP_DIR=tmp_path / "backups",
        BACKUP_AGE_RECIPIENTS=keys["recipient"],
        BACKUP_AGE_IDENTITY_FILE=keys["identity"],
        BACKUP_S3_ENDPOINT=moto,
        BACKUP_S3_BUCKET=bucket,
        BACKUP_S3_PREFIX="prod/db",
        BACKUP_S3_ACCESS_KEY_ID="test",
        BACKUP_S3_SECRET_ACCESS_KEY="test",
    )


def snapshot(url: str) -> dict[str, Any]:
    """Every table's row count and checksum, and which databases exist: what 'untouched' is checked against."""
    with psycopg.connect(pgtools.libpq_url(url)) as connection:
        tables = table_checksums(connection)
        databases = sorted(r[0] for r in connection.execute("SELECT datname FROM pg_database").fetchall())
    return {"tables": tables, "databases": databases}


def execute(url: str, *statements: str) -> None:
    with psycopg.connect(pgtools.libpq_url(url), autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)


def bucket_keys(settings: Settings) -> list[str]:
    store = service.remote_store(settings)
    assert store is not None
    return sorted(o["Key"] for o in store.client.list_objects_v2(Bucket=store.bucket).get("Contents", []))


def test_backup_then_drop_then_restore_from_the_bucket_gives_identical_data(backup_settings: Settings) -> None:
    settings, url = backup_settings, backup_settings.DATABASE_URL or ""
    before = snapshot(url)
    assert before["tables"]["public.transactions"]["rows"] > 500

    summary = service.run(settings, url)

    assert bucket_keys(settings) == [f"prod/db/{summary.name}.json", f"prod/db/{summary.name}.tar.age"]
    assert summary.rows == sum(t["rows"] for t in before["tables"].values())
    assert summary.migration == migrate.head_revision()
    sealed = settings.backup_dir / f"{summary.name}.tar.age"
    assert sealed.read_bytes().startswith(b"age-encryption.org/v1")
    assert b"PIX" not in sealed.read_bytes()  # the household's data is not readable without the key
    # Lose the local copy and most of the data: only the bucket holds the backup now.
    sealed.unlink()
    execute(
        url,
        "DELETE FROM transaction_splits",
        "DELETE FROM transactions",
        "UPDATE accounts SET name = name || ' (gone)'",
    )
    assert snapshot(url)["tables"]["public.transactions"]["rows"] == 0

    restored = service.restore(settings, url, summary.name)

    assert restored.origin == "remote"
    assert snapshot(url) == before
    assert restored.safety_backup.endswith("-pre-restore")
    assert (settings.backup_dir / f"{restored.safety_backup}.tar.age").exists()
    assert f"prod/db/{restored.safety_backup}.tar.age" not in bucket_keys(settings)  # the safety dump stays here


def test_the_safety_backup_holds_the_database_as_it_was_before_the_restore(backup_settings: Settings) -> None:
    settings, url = backup_settings, backup_settings.DATABASE_URL or ""
    original = snapshot(url)
    made = service.run(settings, url, upload=False)
    execute(url, "UPDATE accounts SET name = name || ' (changed after the backup)'")
    changed = snapshot(url)

    restored = service.restore(settings, url, made.name)
    assert snapshot(url) == original
    service.restore(settings, url, restored.safety_backup)
    assert snapshot(url) == changed
    service.restore(settings, url, made.name)  # leave the data as the other tests expect it
    assert snapshot(url) == original


def test_verify_restores_into_a_scratch_database_and_records_the_result(backup_settings: Settings) -> None:
    from fintrack.ops import metrics

    settings, url = backup_settings, backup_settings.DATABASE_URL or ""
    before = snapshot(url)
    made = service.run(settings, url)

    result = service.verify(settings, url, where="remote")

    assert (result.name, result.origin) == (made.name, "remote")
    assert result.rows == made.rows
    assert snapshot(url) == before  # the scratch database is gone again
    gauges = {name: value for name, _, value in status.gauges(settings.backup_dir)}
    assert gauges["backup_size_bytes"] == made.archive_bytes
    assert time.time() - gauges["backup_verify_last_success_timestamp_seconds"] < 60
    previous = metrics._BACKUPS.read
    metrics.watch_backups(lambda: status.gauges(settings.backup_dir))
    try:
        exposed = metrics.render().decode()
    finally:
        metrics._BACKUPS.read = previous
    assert f"backup_size_bytes {float(made.archive_bytes)}" in exposed
    exposed_values = dict(line.split(" ") for line in exposed.splitlines() if line.startswith("backup_"))
    assert float(exposed_values["backup_verify_last_success_timestamp_seconds"]) > time.time() - 60


def test_list_shows_local_and_remote_backups_with_their_summary(backup_settings: Settings) -> None:
    settings, url = backup_settings, backup_settings.DATABASE_URL or ""
    first = service.run(settings, url)
    second = service.run(settings, url, upload=False)
    (settings.backup_dir / f"{first.name}.tar.age").unlink()
    (settings.backup_dir / f"{first.name}.json").unlink()

    rows = {row.name: row for row in service.listing(settings)}

    assert rows[first.name].where == "remote"
    assert rows[second.name].where == "local"
    assert rows[first.name].summary is not None and rows[first.name].summary.rows == first.rows
    assert rows[first.name].remote_bytes == first.archive_bytes


def test_retention_deletes_old_backups_locally_and_remotely_but_keeps_the_newest(backup_settings: Settings) -> None:
    settings, url = backup_settings, backup_settings.DATABASE_URL or ""
    made = service.run(settings, url)
    store = service.remote_store(settings)
    assert store is not None
    old = ["fintrack-20261101T020000Z", "fintrack-20261110T020000Z"]
    for name in [*old, "fintrack-20261120T020000Z"]:
        for suffix in (".tar.age", ".json"):
            shutil.copy(settings.backup_dir / f"{made.name}{suffix}", settings.backup_dir / f"{name}{suffix}")
        store.upload(settings.backup_dir / f"{made.name}.tar.age", settings.backup_dir / f"{made.name}.json", name)
    now = dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC)

    deleted = service.prune(settings, now=now)

    assert sorted(deleted) == sorted(f"{n} ({w})" for n in old for w in ("local", "remote"))
    assert sorted(service.local_store(settings).list()) == sorted(["fintrack-20261120T020000Z", made.name])
    assert sorted(store.list()) == sorted(["fintrack-20261120T020000Z", made.name])
    # Backups stopped a month ago: the last one is kept whatever its age.
    assert service.prune(settings, now=now + dt.timedelta(days=400)) == [
        f"fintrack-20261120T020000Z ({w})" for w in ("local", "remote")
    ]


# Refusals: each one names what is wrong, and leaves the current database untouched.


@pytest.fixture
def made(backup_settings: Settings) -> archive.Summary:
    return service.run(backup_settings, backup_settings.DATABASE_URL or "")


def refused(settings: Settings, error: type[Exception], match: str, *, name: str | None = None, **kw: Any) -> None:
    url = settings.DATABASE_URL or ""
    before = snapshot(url)
    settings.backup_dir.mkdir(exist_ok=True)
    backups_before = sorted(p.name for p in settings.backup_dir.iterdir())
    with pytest.raises(error, match=match):
        service.restore(settings, url, name, **kw)
    assert snapshot(url) == before  # same rows, same checksums, no scratch database left
    assert sorted(p.name for p in settings.backup_dir.iterdir()) == backups_before  # no safety dump, no leftovers


def test_a_wrong_key_is_refused(backup_settings: Settings, made: archive.Summary, keys: dict[str, Any]) -> None:
    refused(backup_settings, WrongKey, f"none of the given identities can decrypt {made.name}", identity=keys["other"])


def test_a_truncated_archive_is_refused(backup_settings: Settings, made: archive.Summary) -> None:
    sealed = backup_settings.backup_dir / f"{made.name}.tar.age"
    sealed.write_bytes(sealed.read_bytes()[:-5000])
    refused(backup_settings, DamagedArchive, rf"{made.name} is truncated: [\d,]+ bytes of the")


def test_a_truncated_archive_without_its_summary_is_refused_by_age(
    backup_settings: Settings, made: archive.Summary
) -> None:
    sealed = backup_settings.backup_dir / f"{made.name}.tar.age"
    sealed.write_bytes(sealed.read_bytes()[:-5000])
    (backup_settings.backup_dir / f"{made.name}.json").unlink()
    refused(backup_settings, DamagedArchive, "cannot be decrypted: it is truncated or has been altered")


def test_a_tampered_byte_is_refused(backup_settings: Settings, made: archive.Summary) -> None:
    sealed = backup_settings.backup_dir / f"{made.name}.tar.age"
    data = bytearray(sealed.read_bytes())
    data[len(data) // 2] ^= 0x01
    sealed.write_bytes(bytes(data))
    refused(backup_settings, DamagedArchive, f"{made.name} has been altered")
    (backup_settings.backup_dir / f"{made.name}.json").unlink()  # without the summary, age's MAC catches it
    refused(backup_settings, DamagedArchive, "truncated or has been altered")


def test_a_wrong_bucket_is_refused(backup_settings: Settings, made: archive.Summary) -> None:
    (backup_settings.backup_dir / f"{made.name}.tar.age").unlink()
    wrong = backup_settings.model_copy(update={"BACKUP_S3_BUCKET": "no-such-bucket"})
    refused(wrong, StorageError, "bucket 'no-such-bucket' at http://127.0.0.1:\\d+ does not exist", name=made.name)


def test_a_backup_missing_from_the_bucket_is_refused(backup_settings: Settings) -> None:
    refused(
        backup_settings,
        BackupNotFound,
        "no backup fintrack-20200101T000000Z in s3://",
        name="fintrack-20200101T000000Z",
        where="remote",
    )


def test_wrong_credentials_are_refused(backup_settings: Settings, made: archive.Summary, tmp_path: Path) -> None:
    # A second S3 server that checks credentials (moto's IAM enforcement): no key is known to it.
    for endpoint in _moto_server(tmp_path, {"INITIAL_NO_AUTH_ACTION_COUNT": "0"}):
        wrong = backup_settings.model_copy(update={"BACKUP_S3_ENDPOINT": endpoint})
        (backup_settings.backup_dir / f"{made.name}.tar.age").unlink(missing_ok=True)
        refused(wrong, StorageError, "refused the credentials \\(InvalidAccessKeyId\\)", name=made.name, where="remote")
        with pytest.raises(StorageError, match="refused the credentials"):
            service.run(wrong, wrong.DATABASE_URL or "")


def reseal(settings: Settings, name: str, keys: dict[str, Any], change: Any) -> None:
    """Decrypt a backup, let `change` edit its unpacked files, and seal it again with a matching summary: what
    someone holding the public key could forge. Only the manifest's checks can catch it."""
    folder = settings.backup_dir / "reseal"
    folder.mkdir()
    sealed = settings.backup_dir / f"{name}.tar.age"
    crypto.decrypt(sealed, folder / "plain.tar", crypto.load_identities(keys["identity"]), name)
    with tarfile.open(folder / "plain.tar") as tar:
        tar.extractall(folder, filter="data")
    change(folder)
    with tarfile.open(folder / "new.tar", "w") as tar:
        for member in archive.MEMBERS:
            if (folder / member).exists():
                tar.add(folder / member, arcname=member)
    crypto.encrypt(folder / "new.tar", sealed, crypto.parse_recipients(keys["recipient"]))
    summary_path = settings.backup_dir / f"{name}.json"
    summary = json.loads(summary_path.read_text())
    summary.update(archive_bytes=sealed.stat().st_size, archive_sha256=archive.sha256(sealed))
    summary_path.write_text(json.dumps(summary))
    shutil.rmtree(folder)


def edit_manifest(folder: Path, **changes: Any) -> None:
    manifest = Manifest.from_json((folder / archive.MANIFEST).read_text())
    for key, value in changes.items():
        setattr(manifest, key, value)
    (folder / archive.MANIFEST).write_text(manifest.to_json())


def test_a_missing_manifest_is_refused(backup_settings: Settings, made: archive.Summary, keys: dict[str, Any]) -> None:
    reseal(backup_settings, made.name, keys, lambda folder: (folder / archive.MANIFEST).unlink())
    refused(backup_settings, ManifestMissing, f"{made.name} holds no manifest.json")


def test_a_dump_that_differs_from_its_manifest_is_refused(
    backup_settings: Settings, made: archive.Summary, keys: dict[str, Any]
) -> None:
    def swap_dump(folder: Path) -> None:
        (folder / archive.DUMP).write_bytes((folder / archive.DUMP).read_bytes()[:-100])

    reseal(backup_settings, made.name, keys, swap_dump)
    refused(backup_settings, DamagedArchive, "database.dump does not match its manifest")


def test_verify_detects_data_that_does_not_match_the_manifest(
    backup_settings: Settings, made: archive.Summary, keys: dict[str, Any]
) -> None:
    def wrong_checksum(folder: Path) -> None:
        tables = Manifest.from_json((folder / archive.MANIFEST).read_text()).tables
        tables["public.accounts"]["checksum"] = "0" * 32
        tables["public.transactions"]["rows"] += 1
        edit_manifest(folder, tables=tables)

    settings, url = backup_settings, backup_settings.DATABASE_URL or ""
    reseal(settings, made.name, keys, wrong_checksum)
    before = snapshot(url)
    with pytest.raises(VerifyMismatch, match="does not restore to what its manifest recorded") as caught:
        service.verify(settings, url, made.name, where="local")
    assert caught.value.details["tables"] == [
        "public.accounts: same row count (4) but the checksum differs",
        f"public.transactions: {made.rows and before['tables']['public.transactions']['rows']} rows restored, "
        f"the manifest says {before['tables']['public.transactions']['rows'] + 1}",
    ]
    assert snapshot(url) == before
    recorded = status.read(settings.backup_dir)["verify"]
    assert recorded.get("last_success") is None and "does not restore" in recorded["error"]
    # And restore refuses the same archive, before touching anything.
    refused(settings, VerifyMismatch, "public.accounts: same row count", name=made.name)


def test_a_backup_from_a_newer_version_is_refused(
    backup_settings: Settings, made: archive.Summary, keys: dict[str, Any]
) -> None:
    reseal(backup_settings, made.name, keys, lambda folder: edit_manifest(folder, migration="9999_from_the_future"))
    refused(backup_settings, IncompatibleSchema, "at migration 9999_from_the_future, unknown to FinTrack")


def test_backups_are_never_written_unencrypted(backup_settings: Settings) -> None:
    no_keys = backup_settings.model_copy(update={"BACKUP_AGE_RECIPIENTS": ""})
    with pytest.raises(NotConfigured, match="BACKUP_AGE_RECIPIENTS is not set"):
        service.run(no_keys, no_keys.DATABASE_URL or "")
    assert status.read(no_keys.backup_dir)["backup"]["error"].startswith("BACKUP_AGE_RECIPIENTS is not set")


def test_the_command_line_runs_lists_and_refuses_clearly(
    backup_settings: Settings, keys: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from fintrack.cli import app

    env = {
        name: str(value)
        for name, value in backup_settings.model_dump().items()
        if name.startswith(("BACKUP_", "DATABASE_URL", "FINTRACK_")) and value is not None
    }
    runner = CliRunner()
    made = runner.invoke(app, ["backup", "run"], env=env)
    assert made.exit_code == 0, made.output
    name = made.stdout.strip().splitlines()[-1]
    listed = runner.invoke(app, ["backup", "list", "--json"], env=env)
    assert [row["where"] for row in json.loads(listed.stdout) if row["name"] == name] == ["local+remote"]
    wrong_key = runner.invoke(app, ["backup", "restore", name, "--yes", "--identity", str(keys["other"])], env=env)
    assert wrong_key.exit_code == 1
    assert f"none of the given identities can decrypt {name}" in wrong_key.stderr
    assert "(wrong_key)" in wrong_key.stderr


def test_an_unreachable_database_is_a_clear_error_and_is_recorded(backup_settings: Settings) -> None:
    url = (backup_settings.DATABASE_URL or "").replace(f"/{SOURCE}?", "/no_such_database?")
    with pytest.raises(BackupError, match=r'the database refused: .*database "no_such_database" does not exist'):
        service.run(backup_settings, url)
    assert "no_such_database" in status.read(backup_settings.backup_dir)["backup"]["error"]


def test_a_backup_taken_while_the_app_writes_matches_its_manifest(backup_settings: Settings) -> None:
    """pg_dump and the checksums read one exported snapshot: rows committed during the run are in neither."""
    import threading

    settings, url = backup_settings, backup_settings.DATABASE_URL or ""
    stop = threading.Event()
    written = 0

    def write() -> None:
        nonlocal written
        with psycopg.connect(pgtools.libpq_url(url), autocommit=True) as connection:
            while not stop.is_set():
                connection.execute(
                    "INSERT INTO login_attempts (email, ip, success) VALUES ('x@example.com', '192.0.2.1', false)"
                )
                written += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        made = service.run(settings, url, upload=False)
    finally:
        stop.set()
        writer.join()
    assert written > 10
    service.verify(settings, url, made.name)  # raises if the dump and the manifest saw different rows
    execute(url, "DELETE FROM login_attempts")


def test_restore_ends_the_connections_still_open_on_the_current_database(backup_settings: Settings) -> None:
    settings, url = backup_settings, backup_settings.DATABASE_URL or ""
    made = service.run(settings, url, upload=False)
    lingering = psycopg.connect(pgtools.libpq_url(url), autocommit=True)  # an app someone forgot to stop
    try:
        service.restore(settings, url, made.name)
        with pytest.raises(psycopg.OperationalError):
            lingering.execute("SELECT 1")
    finally:
        lingering.close()


def test_a_drill_run_on_the_machine_holding_the_key_reaches_the_servers_metric(
    backup_settings: Settings, tmp_path: Path
) -> None:
    server, url = (
        backup_settings.model_copy(update={"BACKUP_AGE_IDENTITY_FILE": None}),
        backup_settings.DATABASE_URL or "",
    )
    laptop = backup_settings.model_copy(update={"BACKUP_DIR": tmp_path / "laptop", "BACKUP_AGE_RECIPIENTS": ""})
    service.run(server, url)
    with pytest.raises(NotConfigured, match="no age identity"):
        service.verify(server, url)  # the server has no private key

    drill = service.verify(laptop, url, where="remote")
    service.run(server, url)  # the next daily run reads the drill's note from the bucket

    verified = status.read(server.backup_dir)["verify"]
    assert verified["name"] == drill.name
    assert abs(verified["last_success"] - status.read(laptop.backup_dir)["verify"]["last_success"]) < 5
