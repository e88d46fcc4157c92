"""Unit tests of the learned category suggestions."""
