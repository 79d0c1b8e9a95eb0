"""The allocation simulators and the shipped surrogate fixture."""

import numpy as np

from skcrm.datasets import (
    load_allocation_surrogate,
    make_campaign_data,
    make_er8_data,
    make_paper_surrogate,
)


def test_shipped_surrogate_matches_the_spec_rng_checks():
    d = load_allocation_surrogate()
    np.testing.assert_allclose(d.train[0, 0], [-0.00074174, -0.00496194], atol=5e-9)
    np.testing.assert_allclose(d.train[0, 2], [0.04392334, 0.08104419], atol=5e-9)
    np.testing.assert_allclose(d.test[0, 1], [-0.04234005, -0.02675117], atol=5e-9)


def test_surrogate_generator_reproduces_the_shipped_file():
    d = load_allocation_surrogate()
    sur = make_paper_surrogate(2019)
    np.testing.assert_allclose(sur.sample_scenarios(50, random_state=1), d.train, rtol=1e-14)


def test_campaign_data_response_rates_recover_truth():
    p = [[0.1, 0.3, 0.2], [0.2, 0.2, 0.5]]
    d = make_campaign_data(20000, p, random_state=0)
    for k in range(2):
        for a in range(3):
            rows = (d.segment == k) & (d.treatment == a)
            se = np.sqrt(p[k][a] * (1 - p[k][a]) / rows.sum())
            assert abs(d.y[rows].mean() - p[k][a]) < 4 * se


def test_er8_design_has_the_oracle_value_1400():
    d = make_er8_data(random_state=1)
    assert d.oracle_value == 1400.0
    assert np.bincount(d.segment).tolist() == [6000] * 4 + [600] * 4
    np.testing.assert_allclose(d.lift[:, 0] - d.lift[:, 1], 0.01)
