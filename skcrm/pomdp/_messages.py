"""Warnings at the user's line: the shared :func:`skcrm.utils.warn`."""

from __future__ import annotations

from skcrm.utils import warn

__all__ = ["warn"]
