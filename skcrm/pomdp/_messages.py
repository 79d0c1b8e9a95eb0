"""Warnings at the user's line (``skcrm.utils.warn`` when available)."""

from __future__ import annotations

try:  # the shared helper (skcrm.utils.warn) once it is on main
    from skcrm.utils import warn
except ImportError:  # pragma: no cover - until the shared helper lands
    import os
    import sys
    import warnings

    def warn(message, category=UserWarning):
        """Issue ``message`` at the first frame outside skcrm and scikit-learn."""
        import sklearn

        import skcrm

        roots = tuple(os.path.dirname(m.__file__) + os.sep for m in (skcrm, sklearn) if m.__file__)
        frame, level = sys._getframe(1), 2
        while frame is not None and frame.f_code.co_filename.startswith(roots):
            frame = frame.f_back
            level += 1
        warnings.warn(message, category, stacklevel=level)


__all__ = ["warn"]
