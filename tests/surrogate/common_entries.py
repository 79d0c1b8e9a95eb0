"""Registry entries of the surrogate-index estimators for tests/test_common.py."""

import numpy as np
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression

from skcrm.datasets import make_surrogate_targeting
from skcrm.surrogate import SurrogateIndexTransformer, SurrogatePolicyLearner, pack_surrogate_target
from tests._registry import CHECKS_THAT_FIT_ON_RANDOM_DATA, Entry, FitData


def _historical():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5))  # two covariates, three surrogates
    y = 2 * X[:, 2] + 3 * X[:, 3] * (X[:, 0] > 0) - X[:, 4] + rng.normal(size=300)
    return FitData(X, y)


def _prefit_index():
    d = make_surrogate_targeting(500, 10, random_state=0)
    si = SurrogateIndexTransformer(LinearRegression(), covariate_cols=list(range(6)))
    return si.fit(np.hstack([d.X_hist, d.S_hist]), d.y_hist)


def _experiment():
    d = make_surrogate_targeting(10, 600, random_state=1)
    return FitData(d.X, pack_surrogate_target(d.S, d.treatment, d.propensity))


# sklearn's checks fit with a plain 1-D y. The learner needs the experimental surrogates,
# treatment and design propensities (keywords, or packed in a 2-D y), and its prefit index
# reads exactly the simulator's 6 covariates + 4 surrogates, so every check that fits on
# sklearn's own random data stops at that (clear) error. The behaviours these checks cover
# are tested with real inputs in tests/surrogate/test_learner.py and test_policy_workflow.py.
_NEEDS_SURROGATES = (
    "fit needs packed surrogates, treatment and propensity (or keywords); sklearn's check "
    "passes a plain 1-D y"
)
_LEARNER_FAILS = dict.fromkeys(CHECKS_THAT_FIT_ON_RANDOM_DATA, _NEEDS_SURROGATES)

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
    Entry(
        estimator=SurrogatePolicyLearner(FrozenEstimator(_prefit_index()), random_state=0),
        data=_experiment,
        output_method="predict",
        expected_failed_checks=_LEARNER_FAILS,
    ),
]
