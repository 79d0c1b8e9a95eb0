"""Known-truth estimation risk and the fit-time budget (AC-16)."""

import numpy as np
import pytest

from skcrm.allocation import RobustCampaignAllocator
from skcrm.datasets import ER8_TRUE_LIFT, make_er8_data


def _true_values(method_kw, R=40, base=0):
    values = []
    for r in range(R):
        d = make_er8_data(random_state=base + r)
        X = np.column_stack([d.X, d.segment])
        est = RobustCampaignAllocator(
            control=0,
            uplift_model="segment_means", segmentation="column", segment_col=X.shape[1] - 1,
            uncertainty="bootstrap", n_scenarios=50, segment_sizes=np.full(8, 10000),
            budget=30000, random_state=base + r + 777, **method_kw,
        ).fit(X, np.column_stack([d.y, d.treatment]))  # fmt: skip
        values.append(float((ER8_TRUE_LIFT * est.allocation_).sum()))
    return np.array(values)


@pytest.mark.slow
def test_robust_allocations_beat_nominal_on_true_value_under_estimation_risk():
    nominal = _true_values({"method": "nominal"})
    for kw in ({"method": "interval"}, {"method": "ellipsoidal", "theta": 2.0}):
        robust = _true_values(kw)
        assert robust.mean() >= nominal.mean() + 20, kw
        assert np.percentile(robust, 5) >= np.percentile(nominal, 5) + 20, kw
        assert robust.std(ddof=1) < nominal.std(ddof=1), kw
        assert np.all(robust <= 1400 + 1e-6)
    assert np.all(nominal <= 1400 + 1e-6)
