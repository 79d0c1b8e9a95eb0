"""Warnings at the user's line: ``skcrm.utils.warn`` when main provides it, else a local copy."""

from __future__ import annotations

import os
import sys
import warnings

__all__ = ["warn"]

try:  # the shared helper (issue 11), once it is on main
    from ..utils import warn  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - depends on the merge order
    _SKIP = tuple(
        os.path.dirname(os.path.abspath(p))
        for p in (
            __import__("skcrm").__file__,
            __import__("sklearn").__file__,
        )
    )

    def warn(message, category=UserWarning):
        """Issue ``message`` at the first frame outside skcrm and scikit-learn."""
        frame, level = sys._getframe(1), 1
        while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_SKIP):
            frame, level = frame.f_back, level + 1
        warnings.warn(message, category, stacklevel=level + 1)
