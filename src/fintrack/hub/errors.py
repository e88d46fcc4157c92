"""Errors of the hub."""

from __future__ import annotations

from fintrack.errors import DomainError, Forbidden, InvalidInput, NotFound


class InvalidChannel(InvalidInput):
    """A channel name is 1 to 200 characters of lowercase letters, digits, '_' and '-', in dot-separated segments
    (`signals.btcusdt`)."""

    code = "hub_invalid_channel"


class InvalidPattern(InvalidInput):
    """A namespace pattern is dot-separated segments of lowercase letters, digits, '_', '-' or '*' (`signals.*`)."""

    code = "hub_invalid_pattern"


class NoNamespace(InvalidInput):
    """No namespace covers this channel: its name must start with one (`signals.`, `user.<id>`)."""

    code = "hub_no_namespace"


class ChannelNotFound(NotFound):
    """No such channel, or none you may read."""

    code = "hub_channel_not_found"


class NotAllowed(Forbidden):
    """This channel's namespace does not let you do this."""

    code = "hub_not_allowed"


class SchemaViolation(InvalidInput):
    """A payload does not match its namespace's JSON schema."""

    code = "hub_schema_violation"


class InvalidSchema(InvalidInput):
    """The namespace's json_schema is not a valid JSON schema."""

    code = "hub_invalid_schema"


class PayloadTooLarge(DomainError):
    """A publication's payload is larger than the hub accepts."""

    status = 413
    code = "hub_payload_too_large"


class BatchTooLarge(DomainError):
    """A batch has more publications than the hub accepts in one request."""

    status = 413
    code = "hub_batch_too_large"
