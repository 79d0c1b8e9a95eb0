"""The Fig. 3 study helpers: monthly surrogate windows, the study's story, the figures."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from skcrm.surrogate._study import figure3_study, monthly_surrogates
from skcrm.surrogate.plotting import plot_failure_modes, plot_figure3


def test_monthly_windows_add_noise_of_variance_s2_times_1_over_m_minus_1_over_6():
    S = np.zeros((200_000, 4))
    months = monthly_surrogates(S, noise=(0.0, 0.6, 1.5, 0.0), random_state=0)
    for m in (1, 2, 3, 5):
        var = months[m].var(axis=0)
        expected = np.array([0.0, 0.36, 2.25, 0.0]) * (1 / m - 1 / 6)
        np.testing.assert_allclose(var, expected, rtol=0.02, atol=1e-12)
    np.testing.assert_array_equal(months[6], S)


@pytest.fixture(scope="module")
def small_study():
    return figure3_study(
        4_000,
        2_500,
        months=(1, 6),
        failure_modes={"sign flip": {"surrogacy_violation": -1.5}},
        n_mc=30_000,
        random_state=1,
    )


def test_study_tells_the_figure3_story(small_study):
    pol = small_study["policies"]
    assert pol.loc["surrogate index, 6 months", "true_gain"] > 1.5  # oracle: 2.25
    assert abs(pol.loc["short-term proxy (revenue)", "true_gain"]) < 0.3
    vs = small_study["si_vs_truth"]
    assert abs(vs["true_difference"]) < 0.3
    assert vs["agreement_fresh_units"] > 0.75


def test_study_shows_the_short_window_index_attenuates_the_ate(small_study):
    m = small_study["months"]
    assert m.loc[1, "ate_si"] < m.loc[6, "ate_si"]
    assert m.loc[1, "index_oof_r2"] < m.loc[6, "index_oof_r2"]


def test_study_sign_flip_makes_the_index_policy_lose_to_the_status_quo(small_study):
    f = small_study["failures"].loc["sign flip"]
    assert f["si_policy_true_gain"] < 0
    assert abs(f["si_ate_bias"]) <= f["bias_bound_eq31"]


def test_figures_have_the_paper_layout(small_study):
    fig = plot_figure3(small_study)
    assert len(fig.axes) == 4
    assert fig.axes[0].get_title().startswith("(a)")
    fig2 = plot_failure_modes(small_study["failures"])
    assert len(fig2.axes) == 2
