"""Feature maps for parametric surrogate indices (picklable, module-level)."""

from __future__ import annotations

import numpy as np
from sklearn.preprocessing import FunctionTransformer

__all__ = ["interaction_features", "make_linear_index"]


def _append_products(Z, pairs):
    cols = [Z[:, i] * (Z[:, j] > 0) for i, j in pairs]
    return np.column_stack([Z, *cols]) if cols else Z


def interaction_features(pairs):
    """A transformer appending ``Z[:, i] * 1{Z[:, j] > 0}`` for each ``(i, j)`` in ``pairs``.

    Positions refer to the columns the index's regressor receives: the covariates first,
    then the surrogates (``SurrogateIndexTransformer.columns_``).

    Examples
    --------
    >>> import numpy as np
    >>> interaction_features([(1, 0)]).fit_transform(np.array([[1.0, 2.0], [-1.0, 3.0]]))
    array([[ 1.,  2.,  2.],
           [-1.,  3.,  0.]])
    """
    return FunctionTransformer(_append_products, kw_args={"pairs": list(pairs)})


def make_linear_index(pairs=()):
    """``LinearRegression`` on the inputs plus the ``interaction_features(pairs)``.

    The correctly specified index of :func:`skcrm.datasets.make_surrogate_targeting` is
    ``make_linear_index([(7, 5)])`` with the six covariates before the four surrogates
    (``S2 * 1{x6 > 0}``).

    Examples
    --------
    >>> make_linear_index([(7, 5)]).steps[-1][0]
    'linearregression'
    """
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(interaction_features(pairs), LinearRegression())
