"""Recurring transactions: subscriptions and bills found in a book's history, confirmed or dismissed by people."""
