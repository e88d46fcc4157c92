"""Balances and summaries in the book's base currency."""
