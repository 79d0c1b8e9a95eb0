"""Progress reporting for long fits (``verbose``)."""

from __future__ import annotations

__all__ = ["progress"]


def progress(iterable, verbose=0, desc: str | None = None, total: int | None = None):
    """Wrap ``iterable`` in a tqdm progress bar when ``verbose`` is truthy.

    The one progress mechanism of skcrm: every long loop, in fit or predict, goes through it.

    Parameters
    ----------
    iterable : iterable
        The loop.
    verbose : int, default=0
        No bar when falsy.
    desc : str or None, default=None
        What the loop does, shown left of the bar.
    total : int or None, default=None
        Number of iterations, when ``iterable`` has no length.

    Returns
    -------
    iterable
        ``iterable`` itself, or a tqdm bar over it.

    Examples
    --------
    >>> list(progress(range(3), verbose=0))
    [0, 1, 2]
    """
    if not verbose:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, leave=False)
