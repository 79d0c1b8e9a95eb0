"""The strategic (outer) loop: customers on the DCV x VOL map (dissertation §2.5, Table 6)."""

from __future__ import annotations

import numpy as np

__all__ = ["strategic_quadrants", "learning_effect", "learning_effect_argmax"]

QUADRANTS = {
    (True, True): "good_friend",
    (False, True): "acquaintance",
    (True, False): "best_friend",
    (False, False): "stranger",
}


def _threshold(values, threshold, name):
    if isinstance(threshold, str):
        if threshold != "median":
            raise ValueError(f"{name} must be 'median' or a number, got {threshold!r}")
        return float(np.median(values))
    return float(threshold)


def strategic_quadrants(dcv, vol, dcv_threshold="median", vol_threshold="median"):
    """Quadrant and learning mode of each customer from its DCV and VOL.

    High DCV and high VOL: ``good_friend`` (cultivate adaptively); low DCV, high VOL:
    ``acquaintance``; high DCV, low VOL: ``best_friend``; both low: ``stranger``.
    ``learning_mode`` is ``adaptive`` where VOL exceeds ``vol_threshold`` (an absolute
    threshold stands for the cost of close monitoring), else ``open_loop``.

    Parameters
    ----------
    dcv : array-like
        Dynamic customer values.
    vol : array-like
        Values of learning.
    dcv_threshold : 'median' or float
        DCV above which a customer is 'high DCV'.
    vol_threshold : 'median' or float
        VOL above which a customer is 'high VOL' (e.g. the monitoring cost).

    Examples
    --------
    Table 6 of the dissertation (customers A-D):

    >>> q, m = strategic_quadrants([122236, 73092, 227626, 71014], [8512, 3604, 2792, 272])
    >>> q.tolist()
    ['good_friend', 'acquaintance', 'best_friend', 'stranger']
    >>> m.tolist()
    ['adaptive', 'adaptive', 'open_loop', 'open_loop']
    """
    dcv = np.asarray(dcv, dtype=float)
    vol = np.asarray(vol, dtype=float)
    d = _threshold(dcv, dcv_threshold, "dcv_threshold")
    v = _threshold(vol, vol_threshold, "vol_threshold")
    quad = np.array(
        [QUADRANTS[(bool(a > d), bool(b > v))] for a, b in zip(dcv, vol, strict=True)], dtype=object
    )
    mode = np.where(vol > v, "adaptive", "open_loop").astype(object)
    return quad, mode


def learning_effect(phi, p_high, p_low):
    """Size of one observation's belief revision, Essay 1 Proposition 1.

    ``|phi(b'|O) - phi| = phi (1 - phi) |P1 - P0| / (phi P1 + (1 - phi) P0)``, with
    ``phi`` the open-loop predicted P(high) and ``P1``, ``P0`` the probabilities of the
    observation in the high and low states.

    Parameters
    ----------
    phi : float or array
        Predicted probability of the high state before the outcome.
    p_high : float or array
        Probability of the outcome in the high state.
    p_low : float or array
        Probability of the outcome in the low state.

    Examples
    --------
    >>> round(float(learning_effect(0.25, 0.9, 0.1)), 6)
    0.5
    """
    phi = np.asarray(phi, dtype=float)
    return phi * (1 - phi) * np.abs(p_high - p_low) / (phi * p_high + (1 - phi) * p_low)


def learning_effect_argmax(p_high, p_low):
    """Where the learning effect peaks and its maximum (corrected Proposition 3).

    The dissertation prints ``phi/(1-phi) = sqrt(P1/P0)``; maximising Proposition 1 gives
    ``phi*/(1-phi*) = sqrt(P0/P1)``, i.e. ``phi* = sqrt(P0)/(sqrt(P0)+sqrt(P1))``, with
    maximum ``|sqrt(P1) - sqrt(P0)| / (sqrt(P1) + sqrt(P0))``.

    Parameters
    ----------
    p_high : float or array
        Probability of the outcome in the high state.
    p_low : float or array
        Probability of the outcome in the low state.

    Examples
    --------
    >>> learning_effect_argmax(0.9, 0.1)
    (0.25, 0.5)
    """
    r1, r0 = np.sqrt(p_high), np.sqrt(p_low)
    return float(r0 / (r0 + r1)), float(abs(r1 - r0) / (r1 + r0))
