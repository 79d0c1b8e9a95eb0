"""Messages to the user: warnings at the user's line, quiet solvers, compile notes."""

from __future__ import annotations

import contextlib
import os
import sys
import warnings

__all__ = ["compiling", "quiet_stdout", "warn"]

# Frames in these packages are library internals; a warning points past them.
_INTERNAL_PACKAGES = ("skcrm", "sklearn", "joblib", "numpy", "scipy", "pandas", "jax", "cvxpy")


def _internal_dirs():
    dirs = []
    for name in _INTERNAL_PACKAGES:
        module = sys.modules.get(name)
        path = getattr(module, "__file__", None)
        if path:
            dirs.append(os.path.dirname(os.path.abspath(path)) + os.sep)
    return tuple(dirs)


def _user_stacklevel() -> int:
    """``stacklevel`` for :func:`warnings.warn` called from :func:`warn` that names the first
    frame outside skcrm and the libraries it calls through (sklearn's ``_fit_context``,
    ``Pipeline``, joblib)."""
    internal = _internal_dirs()
    frame = sys._getframe(2)  # the caller of warn()
    level = 2
    while frame is not None:
        filename = os.path.abspath(frame.f_code.co_filename)
        if not filename.startswith(internal):
            return level
        frame = frame.f_back
        level += 1
    return 2


def warn(message: str, category: type[Warning] = UserWarning) -> None:
    """Issue a warning located at the user's line, not inside skcrm or scikit-learn.

    Parameters
    ----------
    message : str
        What happened and what to try.
    category : Warning subclass, default=UserWarning
        The warning class.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn("something to check")
    >>> caught[0].message.args[0]
    'something to check'
    """
    warnings.warn(message, category, stacklevel=_user_stacklevel())


@contextlib.contextmanager
def quiet_stdout(verbose=0):
    """Silence everything written to standard output, C libraries included, unless ``verbose``.

    Solvers such as HiGHS print banners from C code that ``sys.stdout`` redirection does not
    catch; this redirects file descriptor 1 itself for the duration of the block.

    Parameters
    ----------
    verbose : int, default=0
        When truthy, nothing is silenced.

    Examples
    --------
    >>> with quiet_stdout():
    ...     print("hidden")
    """
    if verbose:
        yield
        return
    sys.stdout.flush()
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        # sys.stdout is a capture object (Jupyter, sphinx-gallery): C code still writes to
        # the process's file descriptor 1
        fd = 1
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), fd)
            try:
                with contextlib.redirect_stdout(devnull):
                    yield
            finally:
                sys.stdout.flush()
                os.dup2(saved, fd)
    finally:
        os.close(saved)


@contextlib.contextmanager
def compiling(desc: str, verbose=0):
    """Say "compiling <desc>..." on standard error while a JIT compile runs, when ``verbose``.

    A first jitted call can take seconds; a progress bar at 0% for that time looks frozen.

    Parameters
    ----------
    desc : str
        What is being compiled.
    verbose : int, default=0
        When falsy, nothing is shown.

    Examples
    --------
    >>> with compiling("the training step", verbose=0):
    ...     pass
    """
    if not verbose:
        yield
        return
    import time

    start = time.perf_counter()
    sys.stderr.write(f"compiling {desc}...")
    sys.stderr.flush()
    try:
        yield
    finally:
        sys.stderr.write(f" done in {time.perf_counter() - start:.1f} s\n")
        sys.stderr.flush()
