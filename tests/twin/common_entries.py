"""DigitalTwinRegressor in the shared harness (tests/test_common.py)."""

from skcrm.datasets import make_digital_twin_survey
from skcrm.twin import DigitalTwinRegressor
from tests._registry import Entry, FitData

_CONTINUOUS = (
    "fits continuous y, but DigitalTwinRegressor models ordinal targets and rejects "
    "non-integral values with a ValueError"
)


def _data():
    X, y, _, _ = make_digital_twin_survey(n_per_cell=10, random_state=0)
    return FitData(X=X, y=y)


ENTRIES = [
    Entry(
        estimator=DigitalTwinRegressor(
            hidden_layer_sizes=(8,),
            max_iter=2,
            early_stopping=False,
            batch_size=64,
            random_state=0,
        ),
        data=_data,
        output_method="predict",
        expected_failed_checks={
            "check_n_features_in_after_fitting": _CONTINUOUS,
            "check_regressors_train": _CONTINUOUS,
            "check_regressor_data_not_an_array": _CONTINUOUS,
            "check_regressor_multioutput": _CONTINUOUS,
            "check_regressors_no_decision_function": _CONTINUOUS,
            "check_fit_idempotent": _CONTINUOUS,
            "check_fit_check_is_fitted": _CONTINUOUS,
            "check_n_features_in": _CONTINUOUS,
            "check_sample_weight_equivalence_on_dense_data": (
                "stochastic minibatch training: repeating a row changes the minibatch draws, "
                "so weights and repeated rows agree only in expectation"
            ),
        },
    )
]
