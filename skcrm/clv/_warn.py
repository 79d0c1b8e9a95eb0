"""Warnings at the user's line (the shared ``skcrm.utils.warn``)."""

from ..utils import warn

__all__ = ["warn"]
