"""The pure parts of backups: names, retention, keys, the archive's layout, manifest comparison."""

from __future__ import annotations

import datetime as dt
import io
import re
import tarfile
from pathlib import Path

import pytest
from pyrage import x25519

from fintrack.backup import archive, crypto, pgtools, status
from fintrack.backup.errors import DamagedArchive, ManifestMissing, NotConfigured, WrongKey
from fintrack.backup.manifest import differences
from fintrack.backup.storage import expired

NOW = dt.datetime(2026, 11, 23, 3, 0, tzinfo=dt.UTC)


def test_names_carry_their_time_and_never_collide():
    first = archive.new_name(NOW)
    assert first == "fintrack-20261123T030000Z"
    assert archive.new_name(NOW, taken={first}) == "fintrack-20261123T030000Z-2"
    assert archive.new_name(NOW, "pre-restore") == "fintrack-20261123T030000Z-pre-restore"
    assert archive.created_at("fintrack-20261123T030000Z-2") == NOW
    assert archive.created_at("notes.txt") is None


def test_retention_keeps_the_last_days_and_always_the_newest():
    names = [archive.new_name(NOW - dt.timedelta(days=d)) for d in (0, 3, 6, 8, 30)]
    assert expired(names, 7, NOW) == [names[4], names[3]]
    stale = names[3:]
    assert expired(stale, 7, NOW) == [names[4]]  # backups stopped: the newest of them stays


def test_recipients_are_read_from_lines_and_commas_with_comments():
    a, b = (str(x25519.Identity.generate().to_public()) for _ in range(2))
    assert len(crypto.parse_recipients(f"# laptop\n{a}\n\n{b}, {a}  # safe\n")) == 3
    with pytest.raises(NotConfigured, match="BACKUP_AGE_RECIPIENTS is not set"):
        crypto.parse_recipients("  # none yet\n")
    with pytest.raises(NotConfigured, match="'AGE-SECRET-KEY-1"):
        crypto.parse_recipients(str(x25519.Identity.generate()))  # a private key pasted by mistake


def test_identity_files_are_checked(tmp_path: Path):
    path = tmp_path / "key.txt"
    path.write_text("# created: today\n# public key: age1...\n" + str(x25519.Identity.generate()) + "\n")
    assert len(crypto.load_identities(path)) == 1
    path.write_text("age1notaprivatekey\n")
    with pytest.raises(NotConfigured, match="not an age identity"):
        crypto.load_identities(path)
    with pytest.raises(NotConfigured, match="cannot read the identity file"):
        crypto.load_identities(tmp_path / "missing.txt")


def test_decrypting_with_the_wrong_key_or_a_cut_file_leaves_no_plaintext(tmp_path: Path):
    mine, theirs = x25519.Identity.generate(), x25519.Identity.generate()
    (tmp_path / "plain").write_bytes(b"household data " * 50_000)
    crypto.encrypt(tmp_path / "plain", tmp_path / "sealed", [mine.to_public()])
    with pytest.raises(WrongKey):
        crypto.decrypt(tmp_path / "sealed", tmp_path / "out", [theirs], "b")
    assert not (tmp_path / "out").exists()
    (tmp_path / "cut").write_bytes((tmp_path / "sealed").read_bytes()[:-100])
    with pytest.raises(DamagedArchive, match="truncated or has been altered"):
        crypto.decrypt(tmp_path / "cut", tmp_path / "out", [mine], "b")
    assert not (tmp_path / "out").exists()


def _tar(path: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_unpacking_writes_only_the_three_known_files(tmp_path: Path):
    _tar(tmp_path / "evil.tar", {"manifest.json": b"{}", "../../etc/cron.d/x": b"boom"})
    with pytest.raises(DamagedArchive, match=re.escape("unexpected entry '../../etc/cron.d/x'")):
        archive.unpack(tmp_path / "evil.tar", tmp_path, "b")
    _tar(tmp_path / "bare.tar", {"database.dump": b"x", "globals.sql": b""})
    with pytest.raises(ManifestMissing, match=re.escape("b holds no manifest.json")):
        archive.unpack(tmp_path / "bare.tar", tmp_path, "b")


def test_differences_name_each_table():
    expected = {"public.a": {"rows": 2, "checksum": "x"}, "public.b": {"rows": 1, "checksum": "y"}}
    actual = {"public.a": {"rows": 2, "checksum": "z"}, "public.c": {"rows": 0, "checksum": "w"}}
    assert differences(expected, actual) == [
        "public.a: same row count (2) but the checksum differs",
        "public.b: in the manifest, missing from the restored database",
        "public.c: in the restored database, not in the manifest",
    ]
    assert differences(expected, expected) == []


def test_metrics_read_zero_until_a_backup_succeeds_and_keep_the_last_success_after_a_failure(tmp_path: Path):
    assert {v for _, _, v in status.gauges(tmp_path)} == {0.0}
    status.record(tmp_path, "backup", ok=True, size_bytes=1234)
    status.record(tmp_path, "backup", ok=False, error="bucket gone")
    values = {name: v for name, _, v in status.gauges(tmp_path)}
    assert values["backup_size_bytes"] == 1234
    assert values["backup_last_success_timestamp_seconds"] > 0
    assert values["backup_verify_last_success_timestamp_seconds"] == 0
    assert status.read(tmp_path)["backup"]["error"] == "bucket gone"


def test_the_metrics_can_also_be_written_for_node_exporters_textfile_collector(tmp_path: Path):
    status.record(tmp_path, "verify", ok=True)
    status.export(tmp_path, tmp_path / "fintrack_backup.prom")
    text = (tmp_path / "fintrack_backup.prom").read_text()
    assert "# TYPE backup_verify_last_success_timestamp_seconds gauge\n" in text
    assert "\nbackup_last_success_timestamp_seconds 0.0\n" in text
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".prom")] == ["fintrack_backup.prom"]


def test_libpq_urls_carry_session_settings_that_libpq_decodes():
    import psycopg

    url = pgtools.libpq_url("postgresql+psycopg://u:p%40ss@/fintrack?host=/run/pg", "scratch", {"work_mem": "64MB"})
    params = psycopg.conninfo.conninfo_to_dict(url)
    assert params == {
        "user": "u",
        "password": "p@ss",
        "dbname": "scratch",
        "host": "/run/pg",
        "options": "-c work_mem=64MB",
    }
