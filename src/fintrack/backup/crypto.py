"""age encryption of archives: to public keys on the server, decrypted only where the identity file is."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyrage
from pyrage import ssh, x25519

from fintrack.backup.errors import BackupError, DamagedArchive, NotConfigured, WrongKey


def parse_recipients(text: str) -> list[Any]:
    """Public keys, one per line or comma-separated; `#` starts a comment. age1... and ssh-ed25519/ssh-rsa keys."""
    recipients: list[Any] = []
    for line in text.splitlines():
        for entry in line.split("#", 1)[0].split(","):
            entry = entry.strip()
            if not entry:
                continue
            try:
                if entry.startswith("ssh-"):
                    recipients.append(ssh.Recipient.from_str(entry))
                else:
                    recipients.append(x25519.Recipient.from_str(entry))
            except pyrage.RecipientError as exc:
                raise NotConfigured(f"BACKUP_AGE_RECIPIENTS: {entry[:24]!r} is not an age public key ({exc})") from None
    if not recipients:
        raise NotConfigured(
            "BACKUP_AGE_RECIPIENTS is not set: backups are always encrypted; make a key pair with "
            "`age-keygen -o backup-key.txt` on another machine and set its public key (age1...)"
        )
    return recipients


def load_identities(path: Path) -> list[Any]:
    """An age identity file (AGE-SECRET-KEY-1... lines) or an unencrypted OpenSSH private key."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise NotConfigured(f"cannot read the identity file {path}: {exc.strerror}") from None
    if data.lstrip().startswith(b"-----BEGIN"):
        try:
            return [ssh.Identity.from_buffer(data)]
        except pyrage.IdentityError as exc:
            raise NotConfigured(f"{path} is not a usable SSH private key ({exc})") from None
    identities = []
    for line in data.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            try:
                identities.append(x25519.Identity.from_str(line))
            except pyrage.IdentityError:
                raise NotConfigured(f"{path} holds a line that is not an age identity (AGE-SECRET-KEY-1...)") from None
    if not identities:
        raise NotConfigured(f"{path} holds no age identity (AGE-SECRET-KEY-1...)")
    return identities


def encrypt(source: Path, target: Path, recipients: Sequence[Any]) -> None:
    pyrage.encrypt_file(str(source), str(target), list(recipients))


def decrypt(source: Path, target: Path, identities: Sequence[Any], name: str) -> None:
    """Decrypt a whole archive; on any failure nothing is left at target (age writes plaintext as it goes, and a
    truncated file is only found out at its end)."""
    try:
        pyrage.decrypt_file(str(source), str(target), list(identities))
    except pyrage.DecryptError as exc:
        target.unlink(missing_ok=True)
        if "No matching keys" in str(exc):
            raise WrongKey(f"none of the given identities can decrypt {name}: it was encrypted to other keys") from None
        raise DamagedArchive(f"{name} is not a readable age file: its header is damaged ({exc})") from None
    except OSError as exc:
        target.unlink(missing_ok=True)
        if exc.errno is not None:  # the disk, not the archive (ENOSPC, EACCES...)
            raise BackupError(f"cannot write the decrypted {name} to {target.parent}: {exc.strerror}") from None
        raise DamagedArchive(
            f"{name} cannot be decrypted: it is truncated or has been altered ({exc}); nothing was restored"
        ) from None
