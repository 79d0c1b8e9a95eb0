"""make_digital_twin_survey: shapes, determinism and its oracle (spec section 6)."""

import numpy as np
import pytest

from skcrm.datasets import make_digital_twin_survey


@pytest.fixture(scope="module")
def survey():
    return make_digital_twin_survey(n_per_cell=300, random_state=0)


def test_shapes_and_columns(survey):
    X, y, kpi, truth = survey
    assert X.shape == (300 * 12, 12) and y.shape == (3600, 7) and kpi.shape == (3, 4, 4)
    assert list(X.columns[:2]) == ["firm", "period"]
    assert truth.lam.shape == (7, 3, 4) and truth.phi.shape == (3, 4, 2)
    assert [len(c) for c in truth.cut] == [10, 10, 9, 4, 4, 4, 4]


def test_same_seed_same_draw():
    a = make_digital_twin_survey(n_per_cell=20, random_state=3)
    b = make_digital_twin_survey(n_per_cell=20, random_state=3)
    np.testing.assert_array_equal(a[1], b[1])
    assert a[0].equals(b[0])


def test_targets_are_ordinal_codes_within_range(survey):
    _, y, _, truth = survey
    for j, M in enumerate(truth.n_categories):
        assert set(np.unique(y[:, j])) <= set(range(M))
        assert len(np.unique(y[:, j])) == M  # quantile cut points use every category


def test_speed_sat_missing_at_the_requested_rate(survey):
    X, _, _, truth = survey
    assert X["speed_sat"].isna().mean() == pytest.approx(0.1, abs=0.02)
    assert not truth.F["speed_sat"].isna().any()


def test_missing_y_rate_masks_cells_completely_at_random():
    _, y, _, _ = make_digital_twin_survey(n_per_cell=100, missing_y_rate=0.2, random_state=1)
    assert np.isnan(y).mean() == pytest.approx(0.2, abs=0.02)


def test_loadings_are_positive_and_factorised(survey):
    truth = survey[3]
    assert (truth.lam > 0).all()
    np.testing.assert_allclose(truth.lam, np.einsum("jl,ktl->jkt", truth.beta, truth.phi))


def test_true_probs_sum_to_one_and_match_direct_probabilities_given_xi(survey):
    X, _, _, truth = survey
    p = truth.true_probs(truth.F, X["firm"], X["period"], xi=truth.xi)
    k, t = X["firm"].to_numpy(), X["period"].to_numpy()
    for j, pj in enumerate(p):
        np.testing.assert_allclose(pj.sum(1), 1.0, atol=1e-12)
        eta = truth.alpha[j, k, t] + truth.z * truth.lam[j, k, t]
        c = np.concatenate([[-np.inf], truth.cut[j], [np.inf]])
        direct = 1 / (1 + np.exp(-(c[1:][None] - eta[:, None]))) - 1 / (
            1 + np.exp(-(c[:-1][None] - eta[:, None]))
        )
        np.testing.assert_allclose(pj, direct, atol=1e-12)


def test_observed_answers_are_calibrated_against_the_oracle(survey):
    """The generated y has the category frequencies that true_probs predicts."""
    X, y, _, truth = survey
    p = truth.true_probs(truth.F, X["firm"], X["period"])
    for j in (0, 3):
        observed = np.bincount(y[:, j].astype(int), minlength=p[j].shape[1]) / len(y)
        np.testing.assert_allclose(observed, p[j].mean(0), atol=0.02)


def test_true_affinity_is_the_noise_free_part_of_z(survey):
    X, _, _, truth = survey
    h = truth.true_affinity(truth.F, X["firm"])
    np.testing.assert_allclose(h, truth.h)
    np.testing.assert_allclose(truth.z - h, truth.affinity_noise * truth.xi)


def test_speed_effect_is_convex_and_change_effect_saturates(survey):
    truth = survey[3]
    F = truth.F.iloc[:1].copy()
    speed = [truth.true_affinity(F.assign(speed_sat=v), 0)[0] for v in (4.0, 6.5, 9.0)]
    assert speed[2] - speed[1] > 2 * (speed[1] - speed[0])
    change = [truth.true_affinity(F.assign(change_likelihood=v), 0)[0] for v in (1.0, 3.0, 5.0)]
    assert change[0] - change[1] > 3 * (change[1] - change[2]) > 0


def test_generator_imports_no_jax():
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", "import skcrm.datasets._twin, sys; print('jax' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "False"
