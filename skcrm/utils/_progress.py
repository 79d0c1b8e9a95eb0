"""Progress reporting for long fits (``verbose``)."""

from __future__ import annotations

__all__ = ["progress"]


def progress(iterable, verbose=0, desc: str | None = None, total: int | None = None):
    """Wrap ``iterable`` in a tqdm progress bar when ``verbose`` is truthy.

    Examples
    --------
    >>> list(progress(range(3), verbose=0))
    [0, 1, 2]
    """
    if not verbose:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, leave=False)
