"""Errors of the demo domain."""

from __future__ import annotations

from fintrack.errors import Conflict


class DemoAlreadyThere(Conflict):
    """This book already has the demo's history; fill another book (fintrack demo --email someone@example.com)."""

    code = "demo_exists"
