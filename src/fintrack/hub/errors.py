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


class InvalidPosition(InvalidInput):
    """A stream's start position is not one the hub understands."""

    code = "hub_invalid_position"


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


class ConsumerNotFound(NotFound):
    """No durable consumer of that name on that channel: subscribe with `consumer` first, which creates it."""

    code = "hub_consumer_not_found"


class AckBeyondLast(InvalidInput):
    """An acknowledgement names a seq the channel has not reached: acknowledge only what you received."""

    code = "hub_ack_beyond_last"
