"""Issues 11 and 14: the cases where a new user got a wrong or silent answer.

Each test states today's (pre-fix) failure value as its counterexample.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score, cross_validate

from skcrm.datasets import make_digital_twin_survey
from skcrm.twin import DigitalTwinRegressor
from tests.twin._acceptance import make_model

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

LEVERS = {"speed_sat": 1.0, "reliability_sat": 1.0, "value_sat": 1.0}


def tiny(kpi, **kwargs):
    params = {"max_iter": 3, "early_stopping": False}
    params.update(kwargs)
    return make_model(kpi, **params)


def kpi_table(kpi):
    K, T, H = kpi.shape
    index = pd.MultiIndex.from_product([range(K), range(T)], names=["firm", "period"])
    return pd.DataFrame(kpi.reshape(K * T, H), index=index, columns=[f"k{h}" for h in range(H)])


# ------------------------------------------------------------------ recommend_actions
@pytest.fixture(scope="module")
def lever_survey():
    kw = {"drivers": "heterogeneous", "missing_x_rate": 0.0}
    X, y, kpi, _ = make_digital_twin_survey(n_per_cell=150, random_state=0, **kw)
    X_te, _, _, truth = make_digital_twin_survey(n_per_cell=25, random_state=1, **kw)
    gains = truth.lever_gains(truth.F, X_te["firm"], LEVERS)
    return X, y, kpi, X_te, gains


def test_generator_best_lever_varies(lever_survey):
    *_, gains = lever_survey
    share = gains.idxmax(axis=1).value_counts(normalize=True)
    assert len(share) == 3 and share.max() < 0.45


@pytest.mark.parametrize("encoder", ["mlp", pytest.param("linear", marks=pytest.mark.slow)])
def test_recommend_actions_is_per_respondent(lever_survey, encoder):
    # Issue 14: the same lever for 550 of 550 respondents (truth 302 / 164 / 84), i.e. an
    # "agreement" equal to always answering the most common lever. A model whose gains do
    # not depend on the respondent (the linear encoder, Model 1) shows that failure here,
    # so this test can fail; the default MLP twin must find each respondent's lever.
    X, y, kpi, X_te, gains = lever_survey
    est = make_model(kpi, 80, customer_encoder=encoder, n_iter_no_change=10).fit(X, y)
    rec = est.recommend_actions(X_te, delta=LEVERS)
    best = gains.idxmax(axis=1)
    top_share = rec["best_feature"].value_counts(normalize=True).max()
    agreement = float((rec["best_feature"] == best).mean())
    majority = float(best.value_counts(normalize=True).max())
    if encoder == "linear":
        assert top_share == 1.0  # the failure mode: one lever for everyone, now with a warning
        with pytest.warns(UserWarning, match="customer_encoder='linear'"):
            est.recommend_actions(X_te, delta=LEVERS)
        assert agreement == pytest.approx(
            best.value_counts(normalize=True)[rec["best_feature"].iloc[0]]
        )
        return
    assert top_share < 0.6
    assert agreement > majority + 0.2
    for name in LEVERS:  # individual gains track the true ones
        assert np.corrcoef(rec[f"gain_{name}"], gains[name])[0, 1] > 0.5
    # the gains are the per-row differences of the driver curves (no shared lever)
    curve = est.driver_effects(X_te.iloc[:20], ["value_sat"], [0.0, 1.0])
    np.testing.assert_allclose(
        rec["gain_value_sat"].iloc[:20], curve[:, 0, 1] - curve[:, 0, 0], atol=1e-10
    )


# ------------------------------------------------------------------ KPIs and any folds
@pytest.fixture(scope="module")
def sorted_survey():
    """The docs' data, sorted by firm: unshuffled cv=3 holds one firm out per fold."""
    X, y, kpi, _ = make_digital_twin_survey(n_per_cell=20, random_state=0)
    order = np.argsort(X["firm"].to_numpy(), kind="stable")
    return X.iloc[order].reset_index(drop=True), y[order], kpi


def test_kpi_array_on_a_fold_without_a_firm_names_the_folds(sorted_survey):
    # Issue 14: "the error talks about kpi shapes, not folds".
    X, y, kpi = sorted_survey
    two_firms = X["firm"].to_numpy() < 2
    with pytest.raises(ValueError, match="cross-validation fold") as info:
        tiny(kpi).fit(X[two_firms], y[two_firms])
    assert "DataFrame indexed by (firm, period)" in str(info.value)


def test_kpi_table_is_looked_up_by_label_in_any_fold(sorted_survey):
    X, y, kpi = sorted_survey
    table = kpi_table(kpi)
    two_firms = X["firm"].to_numpy() >= 1
    est = tiny(table.sample(frac=1.0, random_state=0)).fit(X[two_firms], y[two_firms])
    np.testing.assert_array_equal(est.firms_, [1, 2])
    np.testing.assert_allclose(est.kpi_, kpi[1:])
    # a long table with the firm and period columns works the same way
    long = table.reset_index().iloc[::-1]
    est2 = tiny(long).fit(X[two_firms], y[two_firms])
    np.testing.assert_allclose(est2.kpi_, kpi[1:])


def test_kpi_table_missing_cell_is_named(sorted_survey):
    X, y, kpi = sorted_survey
    with pytest.raises(ValueError, match="no row for firm 1, period 2"):
        tiny(kpi_table(kpi).drop(index=(1, 2))).fit(X, y)


@pytest.mark.parametrize("with_kpi", [True, False])
def test_cross_val_score_unshuffled_cv3_sorted_by_firm_is_finite(sorted_survey, with_kpi):
    # Issue 14: with an array kpi the fit failed in every fold; without kpi,
    # cross_val_score returned [nan, nan, nan] (the held-out firm raised at predict).
    X, y, kpi = sorted_survey
    est = tiny(kpi_table(kpi) if with_kpi else None)
    with pytest.warns(UserWarning, match="not seen in fit"):
        scores = cross_val_score(est, X, y, cv=3, error_score="raise")
    assert scores.shape == (3,) and np.isfinite(scores).all()
    out = cross_validate(est, X, y, cv=KFold(3), scoring="neg_mean_absolute_error")
    assert np.isfinite(out["test_score"]).all()


def test_grid_search_unshuffled_cv3_sorted_by_firm(sorted_survey):
    X, y, kpi = sorted_survey
    grid = GridSearchCV(
        tiny(kpi_table(kpi)),
        {"predict_statistic": ["mean", "median"]},
        cv=3,
        scoring="neg_mean_absolute_error",
        error_score="raise",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        grid.fit(X, y)
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()


# ------------------------------------------------------------------ conditional sample
@pytest.fixture(scope="module")
def imputation_fit():
    X, y, kpi, truth = make_digital_twin_survey(n_per_cell=60, random_state=0)
    est = make_model(kpi, 40, n_iter_no_change=10).fit(X, y)
    X_te, y_te, _, _ = make_digital_twin_survey(n_per_cell=5, random_state=3)
    y_obs = y_te.copy()
    hide = np.random.default_rng(0).random(y_obs.shape) < 0.4
    hide[:, 0] = True  # target 0 always hidden: the cell to impute
    y_obs[hide] = np.nan
    return est, X_te, y_te, y_obs, hide


def test_sample_given_y_keeps_observed_cells(imputation_fit):
    est, X, _, y_obs, hide = imputation_fit
    draws = est.sample(X, y_obs, n_draws=5, random_state=0)
    assert draws.shape == (5,) + y_obs.shape
    for d in draws:
        np.testing.assert_array_equal(d[~hide], y_obs[~hide])
    assert np.isfinite(draws).all()
    for j, cats in enumerate(est.categories_):
        assert np.isin(draws[..., j], cats).all()


def test_sample_given_y_draws_from_the_conditional_distribution(imputation_fit):
    # Today sample() ignores the observed answers: its draws average to p(y | x), not
    # p(y | x, y_obs). The mean of the conditional draws must match the exact
    # quadrature posterior-predictive mean of ``impute`` within Monte Carlo error.
    est, X, y_true, y_obs, _ = imputation_fit
    n_draws = 400
    draws = est.sample(X, y_obs, n_draws=n_draws, random_state=1)
    exact = est.impute(X, y_obs, statistic="mean")[:, 0]
    uncond = est.predict(X)[:, 0]
    sd = draws[..., 0].std(0)
    se = np.maximum(sd, 0.3) / np.sqrt(n_draws)
    assert np.all(np.abs(draws[..., 0].mean(0) - exact) < 5 * se)
    # ... and the rows whose answers moved them are far from the unconditional mean
    moved = np.abs(exact - uncond) > 10 * se
    assert moved.mean() > 0.1
    assert np.all(np.abs(draws[..., 0].mean(0) - uncond)[moved] > 4 * se[moved])
    # without y the draws average to the unconditional predictive mean
    free = est.sample(X, n_draws=n_draws, random_state=2)[..., 0].mean(0)
    assert np.all(np.abs(free - uncond) < 5 * np.maximum(sd, 0.3) / np.sqrt(n_draws) + 0.35)
    # the conditional imputations are closer to the hidden answers
    err_c = np.abs(draws[..., 0].mean(0) - y_true[:, 0]).mean()
    err_u = np.abs(uncond - y_true[:, 0]).mean()
    assert err_c < err_u


def test_sample_given_y_rejects_cell_overrides(imputation_fit):
    est, X, _, y_obs, _ = imputation_fit
    with pytest.raises(ValueError, match="own cell"):
        est.sample(X, y_obs, firm=0)


# ------------------------------------------------------------------ warnings
@pytest.fixture(scope="module")
def complete_fit():
    X, y, kpi, _ = make_digital_twin_survey(n_per_cell=20, missing_x_rate=0.0, random_state=0)
    return tiny(kpi).fit(X, y), X


def test_nan_at_predict_in_a_covariate_complete_at_fit_warns(complete_fit):
    # Issue 14: mean-imputed silently.
    est, X = complete_fit
    X = X.iloc[:10].copy()
    X.loc[X.index[:3], "tenure"] = np.nan
    with pytest.warns(UserWarning, match=r"\['tenure'\] have NaN in \[3\] row") as rec:
        est.predict(X)
    assert rec[0].filename == __file__  # at the user's line, not inside skcrm/sklearn


def test_nan_in_a_covariate_missing_at_fit_is_silent():
    X, y, kpi, _ = make_digital_twin_survey(n_per_cell=10, missing_x_rate=0.2, random_state=0)
    est = tiny(kpi).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        pred = est.predict(X)
    assert np.isfinite(pred).all()


def test_five_rows_with_early_stopping_warns():
    # Issue 14: early stopping silently disabled.
    X, y, kpi, _ = make_digital_twin_survey(n_per_cell=1, n_periods=2, random_state=0)
    X, y = X.iloc[:5], y[:5]
    est = tiny(None, early_stopping=True, max_iter=2, firm_col=None)
    with pytest.warns(UserWarning, match="early stopping is disabled") as rec:
        est.fit(X.drop(columns="firm"), y)
    assert any(r.filename == __file__ for r in rec)
    assert est.validation_loss_curve_ == []


def test_one_firm_warns_that_counterfactuals_equal_factuals():
    X, y, kpi, _ = make_digital_twin_survey(n_per_cell=20, random_state=0)
    one = X["firm"].to_numpy() == 0
    with pytest.warns(UserWarning, match="single firm") as rec:
        est = tiny(kpi_table(kpi)).fit(X[one], y[one])
    assert any(r.filename == __file__ for r in rec)
    assert est.n_firms_ == 1


# ------------------------------------------------------------------ conventions
def test_conventions_names_and_fitted_attributes(complete_fit):
    est, _ = complete_fit
    params = est.get_params()
    for name in ("max_iter", "tol", "n_jobs", "verbose", "random_state", "time_col"):
        assert name in params
    for name in ("max_epochs", "period_col"):
        assert name not in params
    assert isinstance(est.converged_, bool) and est.n_iter_ == 3
    with pytest.raises(TypeError):
        DigitalTwinRegressor("firm")  # keyword-only


def test_converged_flag_follows_early_stopping():
    X, y, kpi, _ = make_digital_twin_survey(n_per_cell=20, random_state=0)
    est = tiny(kpi, early_stopping=True, max_iter=60, n_iter_no_change=2, tol=10.0).fit(X, y)
    assert est.converged_ and est.n_iter_ == 3  # best at epoch 1, then 2 without gain
    with pytest.warns(Warning, match="still improving"):
        est = tiny(kpi, early_stopping=True, max_iter=2, n_iter_no_change=50).fit(X, y)
    assert not est.converged_


def test_n_jobs_runs_and_gives_the_same_fit():
    X, y, kpi, _ = make_digital_twin_survey(n_per_cell=10, random_state=0)
    one = tiny(kpi, n_jobs=1).fit(X, y)
    two = tiny(kpi, n_jobs=-1).fit(X, y)
    np.testing.assert_allclose(one.predict(X), two.predict(X), rtol=1e-5)


def test_quiet_unless_verbose_and_compiling_shown(capsys):
    X, y, kpi, _ = make_digital_twin_survey(n_per_cell=10, random_state=0)
    tiny(kpi, max_iter=2).fit(X, y).predict(X)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    tiny(kpi, max_iter=2, verbose=1).fit(X, y)
    out = capsys.readouterr()
    assert out.out == ""
    assert "compiling" in out.err


# ------------------------------------------------------------------ invariance (issue 11)
def test_string_labels_and_shuffled_kpi_table_give_the_same_fit():
    # Labels are matched by value, not by position: string firm and period labels (same
    # sort order) with a shuffled long KPI table give exactly the fit of integer labels
    # with the positional array.
    X, y, kpi, _ = make_digital_twin_survey(n_per_cell=15, random_state=0)
    base = tiny(kpi).fit(X, y)
    names = np.array(["a_firm", "b_firm", "c_firm"])
    periods = np.array(["q0", "q1", "q2", "q3"])
    Xs = X.assign(firm=names[X["firm"]], period=periods[X["period"]])
    table = kpi_table(kpi).reset_index()
    table["firm"], table["period"] = names[table["firm"]], periods[table["period"]]
    other = tiny(table.sample(frac=1.0, random_state=1)).fit(Xs, y)
    np.testing.assert_allclose(other.kpi_, kpi)
    np.testing.assert_allclose(other.predict(Xs), base.predict(X), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(
        other.counterfactual_predict(Xs, firm="c_firm"),
        base.counterfactual_predict(X, firm=2),
        rtol=1e-6,
        atol=1e-8,
    )
