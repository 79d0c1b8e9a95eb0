"""Registry entries of the surrogate-index estimators for tests/test_common.py."""

import numpy as np

from skcrm.surrogate import SurrogateIndexTransformer
from tests._registry import Entry, FitData


def _historical():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5))  # two covariates, three surrogates
    y = 2 * X[:, 2] + 3 * X[:, 3] * (X[:, 0] > 0) - X[:, 4] + rng.normal(size=300)
    return FitData(X, y)


ENTRIES = [
    Entry(
        estimator=SurrogateIndexTransformer(random_state=0),
        data=_historical,
        output_method="transform",
    ),
    Entry(
        estimator=SurrogateIndexTransformer(
            covariate_cols=[0, 1],
            horizons={"m1": [2], "m3": [2, 3, 4]},
            cv=3,
            random_state=0,
        ),
        data=_historical,
        output_method="transform",
        check_estimator=False,
        id="SurrogateIndexTransformer-horizons-cv",
    ),
]
