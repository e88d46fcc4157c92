"""Realistic Brazilian household demo data."""
