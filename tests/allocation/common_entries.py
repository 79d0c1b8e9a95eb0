"""Registry entries of RobustCampaignAllocator for the shared harness (tests/test_common.py)."""

import numpy as np

from skcrm.allocation import RobustCampaignAllocator
from skcrm.datasets import make_campaign_data
from tests._registry import Entry, FitData

_P = [[0.10, 0.30], [0.20, 0.20], [0.05, 0.25]]


def _data():
    d = make_campaign_data(120, _P, random_state=0)
    return FitData(X=d.X, y=np.column_stack([d.y, d.treatment]))


_Y_REASON = (
    "fit needs y = [outcome, treatment] (or treatment=) from a randomised experiment with a "
    "control arm; the check's plain y has no treatment column"
)
_FAILS = dict.fromkeys(
    (
        "check_estimators_dtypes",
        "check_dtype_object",
        "check_fit_score_takes_y",
        "check_estimators_fit_returns_self",
        "check_pipeline_consistency",
        "check_estimators_overwrite_params",
        "check_estimators_pickle",
        "check_fit2d_predict1d",
        "check_methods_subset_invariance",
        "check_methods_sample_order_invariance",
        "check_fit2d_1feature",
        "check_dict_unchanged",
        "check_dont_overwrite_parameters",
        "check_fit_idempotent",
        "check_fit_check_is_fitted",
        "check_n_features_in",
        "check_positive_only_tag_during_fit",
        "check_estimators_nan_inf",
        "check_readonly_memmap_input",
        "check_n_features_in_after_fitting",
        "check_f_contiguous_array_estimator",
        "check_requires_y_none",
    ),
    _Y_REASON,
)

ENTRIES = [
    Entry(
        estimator=RobustCampaignAllocator(
            method="ellipsoidal",
            n_segments=3,
            n_scenarios=5,
            budget=120.0,
            control=0,
            random_state=0,
        ),
        data=_data,
        output_method="predict",
        expected_failed_checks=_FAILS,
    ),
]
