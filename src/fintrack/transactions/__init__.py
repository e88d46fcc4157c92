"""Transactions, splits, transfers, search and bulk creation."""
