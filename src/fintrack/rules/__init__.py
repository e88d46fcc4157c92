"""Categorization rules: ordered conditions on a transaction's text, amount, account and date, and their actions."""
