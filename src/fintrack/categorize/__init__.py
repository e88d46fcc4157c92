"""Learned category suggestions: embeddings of transaction text and the neighbours vote."""
