"""Encrypted, verified backups: `fintrack backup run | list | verify | restore`."""
