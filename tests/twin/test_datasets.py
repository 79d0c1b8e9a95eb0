"""make_digital_twin_survey: shapes, determinism and its oracle."""

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


@pytest.mark.parametrize("second_factor", [False, True])
def test_generator_shapes_of_the_benchmark(second_factor):
    # 2 plain targets + 3 "feeling" targets (the 5-target survey); the generator
    # indexed the feeling targets as 4.. before and failed here with an IndexError.
    X, y, kpi, truth = make_digital_twin_survey(
        n_per_cell=400,
        n_periods=6,
        n_categories=(11, 5),
        missing_y_rate=0.35,
        second_factor=second_factor,
        random_state=0,
    )
    assert y.shape == (400 * 18, 5) and np.isnan(y).mean() == pytest.approx(0.35, abs=0.01)
    assert truth.target_names[2:] == ["feeling_firm0", "feeling_firm1", "feeling_firm2"]
    # the oracle's probabilities match the empirical answer frequencies of a cell
    rows = (X["firm"].to_numpy() == 0) & (X["period"].to_numpy() == 0)
    probs = truth.true_probs(truth.F[rows], 0, 0)
    for j in range(5):
        obs = ~np.isnan(y[rows, j])
        M = len(truth.cut[j]) + 1
        freq = np.bincount(y[rows, j][obs].astype(int), minlength=M) / obs.sum()
        np.testing.assert_allclose(freq, probs[j][obs].mean(0), atol=0.06)


def test_second_factor_decouples_the_plain_targets():
    kw = {"n_per_cell": 300, "missing_x_rate": 0.0, "random_state": 0}
    _, y1, _, t1 = make_digital_twin_survey(**kw)
    _, y2, _, t2 = make_digital_twin_survey(second_factor=True, **kw)
    # LTR vs own-firm feeling: strongly related under one latent, much less under two
    r1 = np.corrcoef(y1[:, 0], t1.z)[0, 1]
    r2 = np.corrcoef(y2[:, 0], t2.z)[0, 1]
    assert r1 > 0.5 and r2 < r1 - 0.3


def test_heterogeneous_levers_have_known_gains():
    X, _, _, truth = make_digital_twin_survey(
        n_per_cell=200, drivers="heterogeneous", missing_x_rate=0.0, random_state=0
    )
    levers = {"speed_sat": 1.0, "reliability_sat": 1.0, "value_sat": 1.0}
    gains = truth.lever_gains(truth.F, X["firm"], levers)
    F = truth.F.assign(value_sat=truth.F["value_sat"] + 1.0)
    np.testing.assert_allclose(
        gains["value_sat"],
        truth.true_affinity(F, X["firm"]) - truth.true_affinity(truth.F, X["firm"]),
    )
    share = gains.idxmax(axis=1).value_counts(normalize=True)
    assert len(share) == 3 and share.max() < 0.45
    with pytest.raises(ValueError, match="drivers"):
        make_digital_twin_survey(n_per_cell=2, drivers="linear")
