"""The garbled-threshold design policy of App. D.2."""

import numpy as np
import pytest
from scipy.stats import norm

from skcrm.design import garbled_threshold_propensity


def test_equals_capped_normal_cdf_of_distance_to_threshold():
    risk = np.array([0.0, 0.001, 0.0038, 0.0068, 0.0098, 0.2])
    expected = np.minimum(norm.cdf((risk - 0.0068) / 0.003), 0.5)
    np.testing.assert_allclose(garbled_threshold_propensity(risk), expected, rtol=1e-12)


def test_matches_the_noisy_threshold_rule_by_simulation():
    # pi(1|R) = Pr(R - eps >= tau), eps ~ N(0, sigma^2)
    rng = np.random.default_rng(0)
    eps = rng.normal(scale=0.003, size=400_000)
    for r in (0.002, 0.005, 0.0068):
        freq = np.mean(r - eps >= 0.0068)
        p = garbled_threshold_propensity(r, cap=1.0)
        assert abs(freq - p) < 4 * np.sqrt(p * (1 - p) / eps.size)


def test_cap_bounds_probability_and_keeps_positivity():
    risk = np.linspace(0, 0.05, 101)
    p = garbled_threshold_propensity(risk, cap=0.5)
    assert p.max() == 0.5 and p.min() > 0
    assert np.all(np.diff(p) >= 0)


def test_rejects_bad_parameters():
    with pytest.raises(ValueError, match="sigma"):
        garbled_threshold_propensity([0.1], sigma=0.0)
    with pytest.raises(ValueError, match="cap"):
        garbled_threshold_propensity([0.1], cap=1.5)
    with pytest.raises(ValueError, match="risk"):
        garbled_threshold_propensity([np.nan])


def test_design_parameters_are_keyword_only():
    with pytest.raises(TypeError):
        garbled_threshold_propensity([0.1], 0.0068)
