"""AttributeBGNBD in the shared harness: the classic RFM form runs sklearn's checks; the
long transaction-log form runs clone, determinism, numpy-only state and pickle checks."""

from skcrm.clv import (
    AttributeBGNBD,
    GammaGammaSpend,
    ParetoNBD,
    calibration_holdout_split,
    rfm_summary,
)
from skcrm.datasets import make_attribute_bgnbd_data
from tests._registry import Entry, FitData


def _log():
    tx, _ = make_attribute_bgnbd_data(300, random_state=0)
    cal, _, _ = calibration_holdout_split(tx, 52.0, 104.0)
    return cal


def _rfm_data():
    return FitData(rfm_summary(_log(), observation_end=52.0).to_numpy())


def _long_data():
    return FitData(_log())


# sklearn's checks feed random tables (any number of columns, recency above T, a positive
# frequency with zero recency); an RFM summary rejects them with a ValueError by design.
_RFM_REASON = (
    "sklearn's generated X is not a valid RFM summary: it needs exactly 3 columns "
    "(frequency >= 0, 0 <= recency <= T, recency 0 without repeat purchases), which the "
    "estimator checks and rejects with a ValueError"
)
_FAILS = {
    "check_fit_score_takes_y": _RFM_REASON,
    "check_estimators_overwrite_params": _RFM_REASON,
    "check_dont_overwrite_parameters": _RFM_REASON,
    "check_estimators_fit_returns_self": _RFM_REASON,
    "check_readonly_memmap_input": _RFM_REASON,
    "check_n_features_in_after_fitting": _RFM_REASON,
    "check_positive_only_tag_during_fit": _RFM_REASON,
    "check_estimators_dtypes": _RFM_REASON,
    "check_sample_weights_pandas_series": _RFM_REASON,
    "check_sample_weights_not_an_array": _RFM_REASON,
    "check_sample_weights_list": _RFM_REASON,
    "check_all_zero_sample_weights_error": _RFM_REASON,
    "check_sample_weights_shape": _RFM_REASON,
    "check_sample_weights_not_overwritten": _RFM_REASON,
    "check_sample_weight_equivalence_on_dense_data": _RFM_REASON,
    "check_dtype_object": _RFM_REASON,
    "check_pipeline_consistency": _RFM_REASON,
    "check_estimators_nan_inf": _RFM_REASON,
    "check_estimators_pickle": _RFM_REASON,
    "check_f_contiguous_array_estimator": _RFM_REASON,
    "check_methods_sample_order_invariance": _RFM_REASON,
    "check_methods_subset_invariance": _RFM_REASON,
    "check_fit2d_1sample": _RFM_REASON,
    "check_fit2d_1feature": _RFM_REASON,
    "check_dict_unchanged": _RFM_REASON,
    "check_fit_idempotent": _RFM_REASON,
    "check_fit_check_is_fitted": _RFM_REASON,
    "check_n_features_in": _RFM_REASON,
    "check_fit2d_predict1d": _RFM_REASON,
}

ENTRIES = [
    Entry(
        estimator=AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False),
        data=_rfm_data,
        output_method="predict",
        expected_failed_checks=_FAILS,
    ),
    Entry(
        estimator=AttributeBGNBD(
            attribute_cols=["attr", "cont"], first_transaction_effect=True, observation_end=52.0
        ),
        data=_long_data,
        output_method="predict",
        check_estimator=False,
        id="AttributeBGNBD-long",
    ),
]


def _spend_data():
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.integers(1, 8, 200).astype(float)
    m = rng.gamma(6.0, 1.0 / rng.gamma(4.0, 1.0 / 15.0, 200)) + 0.1
    return FitData(np.column_stack([x, m]))


_SPEND_REASON = (
    "sklearn's generated X is not a valid spend table: it needs exactly 2 columns "
    "(frequency >= 0, mean spend >= 0) and at least 2 rows with frequency > 0, which the "
    "estimator checks and rejects with a ValueError"
)
_SPEND_FAILS = {
    k: _SPEND_REASON
    for k in _FAILS
    if k
    not in [
        "check_estimators_fit_returns_self",
        "check_estimators_overwrite_params",
        "check_fit_check_is_fitted",
        "check_fit_idempotent",
        "check_n_features_in",
        "check_readonly_memmap_input",
        "check_sample_weights_not_an_array",
        "check_sample_weights_not_overwritten",
    ]
}

ENTRIES += [
    Entry(
        estimator=ParetoNBD(),
        data=_rfm_data,
        output_method="predict",
        expected_failed_checks=_FAILS,
    ),
    Entry(
        estimator=GammaGammaSpend(),
        data=_spend_data,
        output_method="predict",
        expected_failed_checks=_SPEND_FAILS,
    ),
]
