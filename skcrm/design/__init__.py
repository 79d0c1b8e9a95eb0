"""Experimental-design helpers (e.g. garbled threshold propensities)."""

__all__: list[str] = []
