"""Metrics shared across methods (policy values, allocation risk summaries)."""

__all__: list[str] = []
