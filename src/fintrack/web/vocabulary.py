"""Words pages show from data (an account's type, an import's status, a rule's source, a period): marked here
so `make messages` extracts them; templates translate them with `_(value)`."""

from __future__ import annotations

from fintrack.web.errors import mark

ACCOUNT_TYPES = [mark(w) for w in ("checking", "savings", "credit_card", "cash", "investment", "loan", "other")]
IMPORT_STATUSES = [mark(w) for w in ("queued", "previewed", "failed", "committing", "committed", "reverted")]
ROW_STATUSES = [mark(w) for w in ("new", "transfer", "duplicate", "possible_duplicate", "deleted", "error")]
DECISIONS = [mark(w) for w in ("import", "skip")]
CATEGORY_SOURCES = [mark(w) for w in ("rule", "file", "similar", "user")]
CSV_COLUMNS = [
    mark(w)
    for w in ("date", "description", "amount", "debit", "credit", "payee", "memo", "category", "external_id", "kind")
]
PERIODS = [mark(w) for w in ("weekly", "biweekly", "monthly", "quarterly", "semiannual", "yearly")]
SERIES_STATUSES = [mark(w) for w in ("detected", "confirmed", "dismissed")]
ROLES = [mark(w) for w in ("owner", "editor", "viewer")]
HUB_ACTIONS = [mark(w) for w in ("Publish", "Subscribe", "History")]
