"""Health, readiness, metrics and the request middleware."""
