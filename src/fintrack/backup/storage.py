"""Where archives are kept: the local BACKUP_DIR and an S3-compatible bucket (AWS, OCI, MinIO, ...)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fintrack.backup.archive import ARCHIVE_SUFFIX, SUMMARY_SUFFIX, Summary, is_name
from fintrack.backup.errors import BackupNotFound, StorageError
from fintrack.settings import Settings


@dataclass
class Stored:
    """One backup as a store holds it."""

    name: str
    archive_bytes: int | None  # None: only a summary (an upload cut short)
    summary: Summary | None


class LocalStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __str__(self) -> str:
        return str(self.folder)

    def archive(self, name: str) -> Path:
        return self.folder / f"{name}{ARCHIVE_SUFFIX}"

    def summary_path(self, name: str) -> Path:
        return self.folder / f"{name}{SUMMARY_SUFFIX}"

    def list(self) -> dict[str, Stored]:
        found: dict[str, Stored] = {}
        if not self.folder.is_dir():
            return found
        for path in self.folder.iterdir():
            for suffix in (ARCHIVE_SUFFIX, SUMMARY_SUFFIX):
                name = path.name.removesuffix(suffix)
                if path.name.endswith(suffix) and is_name(name) and name not in found:
                    archive = self.archive(name)
                    found[name] = Stored(name, archive.stat().st_size if archive.exists() else None, self.summary(name))
        return found

    def summary(self, name: str) -> Summary | None:
        try:
            return Summary.from_json(self.summary_path(name).read_text())
        except (OSError, ValueError, TypeError):
            return None

    def delete(self, name: str) -> None:
        self.archive(name).unlink(missing_ok=True)
        self.summary_path(name).unlink(missing_ok=True)


class S3Store:
    """A bucket and prefix. OCI Object Storage needs path-style addressing and checksums only when required
    (recent AWS SDKs send CRC headers it refuses); both are set for every endpoint, which all accept them."""

    def __init__(self, settings: Settings) -> None:
        import boto3
        from botocore.config import Config

        assert settings.BACKUP_S3_BUCKET
        self.bucket = settings.BACKUP_S3_BUCKET
        self.prefix = settings.BACKUP_S3_PREFIX.lstrip("/")
        if self.prefix and not self.prefix.endswith("/"):
            self.prefix += "/"
        self.endpoint = settings.BACKUP_S3_ENDPOINT or "AWS S3"
        config = Config(
            region_name=settings.BACKUP_S3_REGION,
            s3={"addressing_style": settings.BACKUP_S3_ADDRESSING_STYLE},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            retries={"max_attempts": 5, "mode": "standard"},
            connect_timeout=10,
            read_timeout=120,
        )
        self.client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=settings.BACKUP_S3_ENDPOINT,
            aws_access_key_id=settings.BACKUP_S3_ACCESS_KEY_ID,
            aws_secret_access_key=settings.BACKUP_S3_SECRET_ACCESS_KEY,
            config=config,
        )

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix} at {self.endpoint}"

    def key(self, name: str, suffix: str) -> str:
        return f"{self.prefix}{name}{suffix}"

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        from boto3.exceptions import S3UploadFailedError
        from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

        try:
            yield
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            raise StorageError(self._explain(code, doing, str(exc))) from None
        except S3UploadFailedError as exc:
            code = next((c for c in _CODES if c in str(exc)), "")
            raise StorageError(self._explain(code, doing, str(exc))) from None
        except EndpointConnectionError:
            raise StorageError(f"{doing}: cannot reach {self.endpoint} (BACKUP_S3_ENDPOINT)") from None
        except NoCredentialsError:
            raise StorageError(
                f"{doing}: no credentials: set BACKUP_S3_ACCESS_KEY_ID and BACKUP_S3_SECRET_ACCESS_KEY (or _FILE)"
            ) from None
        except BotoCoreError as exc:
            raise StorageError(f"{doing}: {exc}") from None

    def _explain(self, code: str, doing: str, raw: str) -> str:
        where = f"bucket {self.bucket!r} at {self.endpoint}"
        if code == "NoSuchBucket":
            return f"{doing}: {where} does not exist (BACKUP_S3_BUCKET, BACKUP_S3_ENDPOINT, BACKUP_S3_REGION)"
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403", "Forbidden"):
            return (
                f"{doing}: {where} refused the credentials ({code}): check BACKUP_S3_ACCESS_KEY_ID and "
                "BACKUP_S3_SECRET_ACCESS_KEY, and that the key may use this bucket"
            )
        return f"{doing}: {where} answered {code or 'an error'}: {raw}"

    def list(self) -> dict[str, Stored]:
        sizes: dict[str, int | None] = {}
        with self._errors(f"listing {self}"):
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
                for item in page.get("Contents", []):
                    rest = item["Key"][len(self.prefix) :]
                    for suffix in (ARCHIVE_SUFFIX, SUMMARY_SUFFIX):
                        name = rest.removesuffix(suffix)
                        if rest.endswith(suffix) and is_name(name):
                            if suffix == ARCHIVE_SUFFIX:
                                sizes[name] = int(item["Size"])
                            else:
                                sizes.setdefault(name, None)
        return {name: Stored(name, size, None) for name, size in sizes.items()}

    def summary(self, name: str) -> Summary | None:
        try:
            with self._errors(f"reading the summary of {name}"):
                body = self.client.get_object(Bucket=self.bucket, Key=self.key(name, SUMMARY_SUFFIX))["Body"].read()
        except StorageError:
            return None
        try:
            return Summary.from_json(body)
        except (ValueError, TypeError):
            return None

    def upload(self, archive: Path, summary: Path, name: str) -> None:
        from boto3.s3.transfer import TransferConfig

        transfer = TransferConfig(multipart_threshold=64 << 20, multipart_chunksize=64 << 20, max_concurrency=4)
        with self._errors(f"uploading {name} to {self}"):
            self.client.upload_file(str(archive), self.bucket, self.key(name, ARCHIVE_SUFFIX), Config=transfer)
            # The summary last: a summary in the bucket means its archive is complete there.
            self.client.upload_file(str(summary), self.bucket, self.key(name, SUMMARY_SUFFIX))

    def download(self, name: str, archive: Path, summary: Path) -> None:
        key = self.key(name, ARCHIVE_SUFFIX)
        # A listing, not a HEAD: a HEAD's error has no body, so a missing bucket or a refused key would both read
        # as a bare 404 or 403.
        with self._errors(f"reading {name} from {self}"):
            found = self.client.list_objects_v2(Bucket=self.bucket, Prefix=key, MaxKeys=1).get("Contents", [])
        if not any(item["Key"] == key for item in found):
            raise BackupNotFound(f"no backup {name} in {self}")
        with self._errors(f"downloading {name} from {self}"):
            self.client.download_file(self.bucket, key, str(archive))
        try:
            with self._errors(f"downloading the summary of {name}"):
                self.client.download_file(self.bucket, self.key(name, SUMMARY_SUFFIX), str(summary))
        except StorageError:
            summary.unlink(missing_ok=True)  # an archive without summary is still decrypted and checked by age

    def put_note(self, name: str, body: bytes) -> None:
        """A small object beside the backups (not named like one: listing and retention pass it by)."""
        with self._errors(f"writing {name} to {self}"):
            self.client.put_object(Bucket=self.bucket, Key=f"{self.prefix}{name}", Body=body)

    def get_note(self, name: str) -> bytes | None:
        try:
            with self._errors(f"reading {name} from {self}"):
                return bytes(self.client.get_object(Bucket=self.bucket, Key=f"{self.prefix}{name}")["Body"].read())
        except StorageError:
            return None

    def delete(self, name: str) -> None:
        with self._errors(f"deleting {name} from {self}"):
            for suffix in (SUMMARY_SUFFIX, ARCHIVE_SUFFIX):
                self.client.delete_object(Bucket=self.bucket, Key=self.key(name, suffix))


_CODES = ("NoSuchBucket", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied")


def expired(names: list[str], days: int, now: dt.datetime) -> list[str]:
    """Backups older than the retention, never the newest one: if backups stop, the last good one stays."""
    from fintrack.backup.archive import created_at

    dated = sorted((stamp, name) for name in names if (stamp := created_at(name)) is not None)
    if not dated:
        return []
    newest = dated[-1][1]
    cutoff = now - dt.timedelta(days=days)
    return [name for stamp, name in dated if stamp < cutoff and name != newest]
