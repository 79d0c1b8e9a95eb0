"""Experimental-design helpers (e.g. garbled threshold propensities)."""

from ._propensity import garbled_threshold_propensity

__all__ = ["garbled_threshold_propensity"]
