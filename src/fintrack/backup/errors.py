"""What can go wrong with a backup; every message names the backup, file, bucket or table concerned."""

from __future__ import annotations

from fintrack.errors import DomainError


class BackupError(DomainError):
    """The backup operation failed."""

    status = 500
    code = "backup_failed"


class NotConfigured(BackupError):
    """A backup setting is missing."""

    status = 400
    code = "backup_not_configured"


class BackupNotFound(BackupError):
    """No such backup, locally or in the bucket."""

    status = 404
    code = "backup_not_found"


class WrongKey(BackupError):
    """None of the given age identities can decrypt this backup."""

    status = 400
    code = "wrong_key"


class DamagedArchive(BackupError):
    """The archive is truncated or has been altered: it cannot be trusted."""

    status = 422
    code = "damaged_archive"


class ManifestMissing(BackupError):
    """The archive holds no manifest: it is not a FinTrack backup, or it is damaged."""

    status = 422
    code = "manifest_missing"


class StorageError(BackupError):
    """The object storage refused or could not be reached."""

    status = 502
    code = "storage_error"


class ToolFailed(BackupError):
    """pg_dump, pg_dumpall or pg_restore failed."""

    code = "tool_failed"


class VerifyMismatch(BackupError):
    """The restored data differs from what the backup's manifest recorded."""

    status = 422
    code = "verify_mismatch"


class IncompatibleSchema(BackupError):
    """The backup was made by a newer FinTrack: its migration is unknown to this version."""

    status = 409
    code = "incompatible_schema"
