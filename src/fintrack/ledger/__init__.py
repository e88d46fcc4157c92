"""Accounts, categories, payees, tags and FX rates: what transactions refer to."""
