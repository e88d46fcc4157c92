"""Budgets: a monthly limit per category, its status (with rollover) and alerts when spending crosses 80 and 100 %."""
