"""Errors of the transactions domain."""

from __future__ import annotations

from fintrack.errors import InvalidInput, NotFound


class TransactionNotFound(NotFound):
    """No such transaction in this book."""

    code = "transaction_not_found"


class TransferNotFound(NotFound):
    """No such transfer in this book."""

    code = "transfer_not_found"


class SplitMismatch(InvalidInput):
    """The split parts do not add up to the transaction's amount."""

    code = "split_mismatch"


class CurrencyMismatch(InvalidInput):
    """A transaction's currency must be its account's currency."""

    code = "currency_mismatch"


class InvalidTransfer(InvalidInput):
    """The transfer is not valid."""

    code = "invalid_transfer"


class TransferLegLocked(InvalidInput):
    """This transaction is a leg of a transfer: change or delete the transfer instead."""

    code = "transfer_leg"


class InvalidCursor(InvalidInput):
    """The pagination cursor is malformed; use the next_cursor value of a previous page."""

    code = "invalid_cursor"


class BulkInvalid(InvalidInput):
    """Some transactions in the batch are invalid; nothing was written."""

    code = "bulk_invalid"
