"""Words pages show from data (an account's type, an import's status, a rule's source, a period): marked here
so `make messages` extracts them; templates translate them with `_(value)`."""

from __future__ import annotations

from fintrack.errors import mark

ACCOUNT_TYPES = [
    mark("checking"),
    mark("savings"),
    mark("credit_card"),
    mark("cash"),
    mark("investment"),
    mark("loan"),
    mark("other"),
]
IMPORT_STATUSES = [
    mark("queued"),
    mark("previewed"),
    mark("failed"),
    mark("committing"),
    mark("committed"),
    mark("reverted"),
]
ROW_STATUSES = [
    mark("new"),
    mark("transfer"),
    mark("duplicate"),
    mark("possible_duplicate"),
    mark("deleted"),
    mark("error"),
]
DECISIONS = [mark("import"), mark("skip")]
CATEGORY_SOURCES = [mark("rule"), mark("file"), mark("similar"), mark("user")]
CSV_COLUMNS = [
    mark("date"),
    mark("description"),
    mark("amount"),
    mark("debit"),
    mark("credit"),
    mark("payee"),
    mark("memo"),
    mark("category"),
    mark("external_id"),
    mark("kind"),
]
PERIODS = [mark("weekly"), mark("biweekly"), mark("monthly"), mark("quarterly"), mark("semiannual"), mark("yearly")]
SERIES_STATUSES = [mark("detected"), mark("confirmed"), mark("dismissed")]
ROLES = [mark("owner"), mark("editor"), mark("viewer")]
HUB_ACTIONS = [mark("Publish"), mark("Subscribe"), mark("History")]
# Field names as form errors name them ("password: at least 10 characters"), from the schemas pages parse
# and the filters and forms pages read themselves (from, to, min, max...).
FIELDS = [
    mark("account"),
    mark("account_id"),
    mark("actions"),
    mark("amount"),
    mark("archived"),
    mark("base_currency"),
    mark("book_name"),
    mark("category"),
    mark("category_id"),
    mark("conditions"),
    mark("credit"),
    mark("currency"),
    mark("date"),
    mark("date_order"),
    mark("debit"),
    mark("decimal"),
    mark("description"),
    mark("email"),
    mark("enabled"),
    mark("expires_at"),
    mark("external_id"),
    mark("flip_sign"),
    mark("from"),
    mark("ids"),
    mark("kind"),
    mark("locale"),
    mark("match"),
    mark("max"),
    mark("memo"),
    mark("min"),
    mark("name"),
    mark("opening_balance"),
    mark("password"),
    mark("pattern"),
    mark("payee"),
    mark("position"),
    mark("retention_count"),
    mark("retention_seconds"),
    mark("rollover"),
    mark("scopes"),
    mark("starts"),
    mark("to"),
    mark("ttl_seconds"),
    mark("type"),
]
