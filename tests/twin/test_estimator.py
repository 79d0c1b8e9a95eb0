"""DigitalTwinRegressor behaviour: queries, consistency, sklearn plumbing, bad inputs
(checks 4-10, and section 5.5)."""

import pickle
import warnings

import jax
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skcrm.twin import DigitalTwinRegressor
from tests.twin._acceptance import fit_model, make_model

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def tiny(kpi, **kwargs):
    """A few epochs with the acceptance configuration's network: the shapes match, so the
    compiled training step is shared by most tests of this file."""
    params = {"max_iter": 3, "early_stopping": False}
    params.update(kwargs)
    return make_model(kpi, **params)


# ------------------------------------------------------------------ check 4: positivity
def test_loadings_beta_phi_positive_and_cutpoints_increasing(small_fit):
    assert (small_fit.loadings_ > 0).all()
    assert (small_fit.beta_ > 0).all() and (small_fit.phi_ > 0).all()
    for c in small_fit.cutpoints_:
        assert np.all(np.diff(c) > 0)
    assert [len(c) for c in small_fit.cutpoints_] == [10, 10, 9, 4, 4, 4, 4]


def test_fitted_shapes(small_fit):
    est = small_fit
    assert est.alpha_.shape == (7, 3, 4) and est.phi_.shape == (3, 4, 2)
    np.testing.assert_allclose(est.loadings_, np.einsum("jl,ktl->jkt", est.beta_, est.phi_))
    assert list(est.firms_) == [0, 1, 2] and list(est.periods_) == [0, 1, 2, 3]
    assert est.n_iter_ == 4 and len(est.loss_curve_) == 4


# ------------------------------------------------------------------ check 5: consistency
def test_counterfactual_at_own_cell_equals_predict(small_fit, small_survey):
    X = small_survey.X_te
    own = small_fit.counterfactual_predict(X, firm=X["firm"], period=X["period"])
    np.testing.assert_allclose(own, small_fit.predict(X), atol=1e-12)


def test_complete_at_own_cell_equals_predict(small_fit, small_survey):
    X = small_survey.X_te
    full = small_fit.complete(X)
    own = full[np.arange(len(X)), X["firm"].to_numpy(), X["period"].to_numpy()]
    np.testing.assert_allclose(own, small_fit.predict(X), atol=1e-12)


def test_driver_effects_at_zero_shift_equal_affinity(small_fit, small_survey):
    X = small_survey.X_te
    curves = small_fit.driver_effects(X, deltas=[0.0])
    mu = small_fit.affinity(X)
    for v, name in enumerate(small_fit.covariate_names_):
        ok = ~X[name].isna().to_numpy()
        np.testing.assert_allclose(curves[ok, v, 0], mu[ok], atol=1e-12)
        assert np.isnan(curves[~ok, v, 0]).all()


def test_transform_at_own_firm_equals_affinity(small_fit, small_survey):
    X = small_survey.X_te
    Z = small_fit.transform(X)
    assert Z.shape == (len(X), 3)
    np.testing.assert_allclose(Z[np.arange(len(X)), X["firm"].to_numpy()], small_fit.affinity(X))
    assert list(small_fit.get_feature_names_out()) == ["affinity_0", "affinity_1", "affinity_2"]


def test_predict_proba_rows_sum_to_one_and_mean_matches_predict(small_fit, small_survey):
    X = small_survey.X_te
    proba = small_fit.predict_proba(X)
    assert [p.shape[1] for p in proba] == [11, 11, 10, 5, 5, 5, 5]
    mean = np.column_stack([p @ c for p, c in zip(proba, small_fit.categories_, strict=True)])
    for p in proba:
        np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-10)
    np.testing.assert_allclose(mean, small_fit.predict(X), atol=1e-10)


def test_median_and_mode_statistics_are_category_labels(small_fit, small_survey):
    X = small_survey.X_te
    for stat in ("median", "mode"):
        pred = small_fit.counterfactual_predict(X, statistic=stat)
        assert np.all(pred == np.round(pred)) and pred.min() >= 0


def test_impute_keeps_observed_cells_and_fills_every_nan(small_fit, small_survey):
    y = small_survey.y_te.copy()
    rng = np.random.default_rng(0)
    y[rng.random(y.shape) < 0.3] = np.nan
    out = small_fit.impute(small_survey.X_te, y)
    obs = ~np.isnan(y)
    np.testing.assert_array_equal(out[obs], y[obs])
    assert not np.isnan(out).any()


def test_posterior_affinity_moves_towards_the_answers(small_fit, small_survey):
    X = small_survey.X_te.iloc[:20]
    top = np.tile(small_fit.n_categories_ - 1, (20, 1)).astype(float)
    bottom = np.zeros_like(top)
    hi, sd_hi = small_fit.posterior_affinity(X, top)
    lo, _ = small_fit.posterior_affinity(X, bottom)
    mu, sd = small_fit.affinity(X, return_std=True)
    assert np.all(hi > mu) and np.all(lo < mu) and np.all(sd_hi < sd)


def test_sample_draws_labels_with_predictive_frequencies(small_fit, small_survey):
    X = small_survey.X_te.iloc[:5]
    draws = small_fit.sample(X, n_draws=4000, random_state=0)
    assert draws.shape == (4000, 5, 7)
    freq = (draws[:, :, 3][..., None] == np.arange(5)).mean(0)
    np.testing.assert_allclose(freq, small_fit.predict_proba(X)[3], atol=0.03)


def test_twin_simplex_rows_are_probabilities(small_fit, small_survey):
    S = small_fit.twin_simplex(small_survey.X_te)
    np.testing.assert_allclose(S.sum(1), 1.0)
    Z = small_fit.transform(small_survey.X_te.assign(period=0))
    np.testing.assert_array_equal(S.argmax(1), Z.argmax(1))


def test_recommend_actions_picks_the_largest_gain(small_fit, small_survey):
    deltas = {"speed_sat": 1.0, "reliability_sat": 1.0, "change_likelihood": -1.0}
    rec = small_fit.recommend_actions(small_survey.X_te, list(deltas), deltas)
    gains = rec[[f"gain_{f}" for f in deltas]].to_numpy()
    ok = ~np.isnan(gains).any(1)
    np.testing.assert_allclose(rec["gain"].to_numpy()[ok], gains[ok].max(1))
    assert rec.index.equals(small_survey.X_te.index)


def test_intervals_bracket_the_posterior_means(small_fit):
    lo, hi = small_fit.alpha_interval(0.95)
    assert np.all(lo < small_fit.alpha_) and np.all(small_fit.alpha_ < hi)
    llo, lhi = small_fit.loadings_interval(0.95, n_mc=2000)
    assert llo.shape == (7, 3, 4) and np.all(llo < lhi) and (llo > 0).all()
    inside = (llo <= small_fit.loadings_) & (small_fit.loadings_ <= lhi)
    assert inside.mean() > 0.95


# ------------------------------------------------------------------ check 6: linear f
def test_linear_encoder_gives_linear_identical_ice_curves(small_survey):
    est = tiny(small_survey.kpi, customer_encoder="linear", firm_encoder="linear")
    est.fit(small_survey.X_tr, small_survey.y_tr)
    X = small_survey.X_te
    deltas = np.round(np.arange(-2, 2.0001, 0.1), 10)
    curves = est.driver_effects(X, ["reliability_sat"], deltas)[:, 0]
    second = np.abs(np.diff(curves, 2, axis=1)).max()
    assert second < 1e-4 * np.ptp(curves)
    effect = curves[:, 30] - curves[:, 20]
    assert effect.std() < 1e-5


# ------------------------------------------------------------------ check 7: plumbing
def test_clone_and_params_round_trip(quick_survey):
    est = make_model(quick_survey.kpi, 10)
    twin = clone(est)
    np.testing.assert_array_equal(twin.get_params()["kpi"], est.get_params()["kpi"])
    twin.set_params(**est.get_params())
    assert repr(twin) == repr(est)


def test_not_fitted_error():
    with pytest.raises(NotFittedError):
        DigitalTwinRegressor().predict(np.zeros((2, 3)))


def test_pipeline_with_column_transformer_and_nan(small_survey):
    s = small_survey
    ct = ColumnTransformer(
        [("num", StandardScaler(), ["age", "income", "tenure"])],
        remainder="passthrough",
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")
    pipe = Pipeline([("ct", ct), ("dt", tiny(s.kpi))])
    assert s.X_tr["speed_sat"].isna().any()
    pred = pipe.fit(s.X_tr, s.y_tr).predict(s.X_te)
    assert pred.shape == s.y_te.shape and np.isfinite(pred).all()


def test_grid_search_over_prediction_settings_with_mae(small_survey):
    s = small_survey
    grid = GridSearchCV(
        tiny(s.kpi),
        {"predict_statistic": ["mean", "median"], "n_quadrature": [16]},
        cv=3,
        scoring="neg_mean_absolute_error",
    ).fit(s.X_tr, s.y_tr)
    assert grid.best_params_["predict_statistic"] in ("mean", "median")
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()


@pytest.mark.slow
@pytest.mark.parametrize("scoring", [None, "neg_mean_absolute_error"])
def test_grid_search_cv3(scoring):
    from tests.twin._acceptance import Survey

    s = Survey(50)  # N = 600, rows in random order so that every fold sees every cell
    grid = GridSearchCV(
        tiny(s.kpi, max_iter=5),
        {"hidden_layer_sizes": [(8,), (16,)], "n_firm_factors": [1, 2]},
        cv=3,
        scoring=scoring,
    )
    grid.fit(s.X_shuffled, s.y_shuffled)
    assert set(grid.best_params_) == {"hidden_layer_sizes", "n_firm_factors"}
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()


def test_cross_val_score(small_survey):
    s = small_survey
    scores = cross_val_score(tiny(s.kpi), s.X_tr, s.y_tr, cv=3)
    assert scores.shape == (3,) and np.isfinite(scores).all()


def test_single_target_gives_1d_predictions(small_survey):
    s = small_survey
    est = tiny(s.kpi).fit(s.X_tr, s.y_tr[:, 0])
    assert est.predict(s.X_te).shape == (len(s.X_te),)
    assert est.sample(s.X_te, n_draws=2).shape == (2, len(s.X_te))


def test_integer_column_positions_and_numpy_input(small_survey):
    s = small_survey
    est = tiny(s.kpi, firm_col=0, time_col=1)
    est.fit(s.X_tr.to_numpy(), s.y_tr)
    assert est.predict(s.X_te.to_numpy()).shape == s.y_te.shape
    assert not hasattr(est, "feature_names_in_")


def test_string_firm_labels_and_kpi_dataframe(small_survey):
    s = small_survey
    names = np.array(["AT", "TM", "VZ"])
    X = s.X.assign(firm=names[s.X["firm"]])
    index = pd.MultiIndex.from_product([names, range(4)], names=["firm", "period"])
    kpi = pd.DataFrame(s.kpi.reshape(12, -1), index=index)
    est = tiny(kpi).fit(X, s.y)
    assert list(est.firms_) == ["AT", "TM", "VZ"]
    np.testing.assert_allclose(est.kpi_, s.kpi)
    at_vz = est.counterfactual_predict(X.iloc[:5], firm="VZ")
    np.testing.assert_allclose(
        at_vz, est.complete(X.iloc[:5])[:, 2, :, :][np.arange(5), X["period"].to_numpy()[:5]]
    )


def test_reverse_targets_round_trip(small_survey):
    s = small_survey
    y = s.y.copy()
    y[:, 3] = 4 - y[:, 3]  # "likelihood to switch" coding
    est = tiny(s.kpi, reverse_targets=[3]).fit(s.X, y)
    proba = est.predict_proba(s.X.iloc[:50])[3]
    mean = proba @ est.categories_[3]
    np.testing.assert_allclose(mean, est.predict(s.X.iloc[:50])[:, 3])
    # reversed internally: higher affinity means a lower raw answer
    hi = est.counterfactual_predict(s.X.iloc[:50], statistic="mean")
    corr = np.corrcoef(est.affinity(s.X.iloc[:50]), hi[:, 3])[0, 1]
    assert corr < 0


# ------------------------------------------------------------------ check 8: pickle
def test_pickle_round_trip_has_no_jax_and_same_predictions(small_fit, small_survey):
    X = small_survey.X_te
    clone_ = pickle.loads(pickle.dumps(small_fit))
    np.testing.assert_allclose(clone_.predict(X), small_fit.predict(X), atol=1e-6)
    np.testing.assert_allclose(clone_.transform(X), small_fit.transform(X), atol=1e-6)

    def walk(value):
        if isinstance(value, jax.Array):
            raise AssertionError("jax array in the fitted state")
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list | tuple):
            for v in value:
                walk(v)

    walk(vars(clone_))


def test_same_random_state_same_fit(small_survey):
    s = small_survey
    a = tiny(s.kpi).fit(s.X_tr, s.y_tr).predict(s.X_te)
    b = tiny(s.kpi).fit(s.X_tr, s.y_tr).predict(s.X_te)
    np.testing.assert_allclose(a, b, atol=1e-5)
    c = tiny(s.kpi, random_state=1).fit(s.X_tr, s.y_tr).predict(s.X_te)
    assert np.abs(a - c).max() > 1e-4


# ------------------------------------------------------------------ check 10: amortized
def test_paper_literal_amortized_mode_fits_and_its_variance_collapses(quick_survey):
    est = fit_model(quick_survey, 30, model=4, local_inference="amortized", early_stopping=False)
    pred = est.predict(quick_survey.X_te)
    assert pred.shape == quick_survey.y_te.shape and np.isfinite(pred).all()
    mu, sd = est.affinity(quick_survey.X_te, return_std=True)
    assert sd.mean() < 0.25 * mu.std()


def test_amortized_firm_inference_fits(small_survey):
    s = small_survey
    est = tiny(s.kpi, firm_inference="amortized").fit(s.X_tr, s.y_tr)
    assert (est.loadings_ > 0).all() and np.isfinite(est.predict(s.X_te)).all()


# ------------------------------------------------------------------ bad inputs
def test_non_integral_targets_raise(small_survey):
    s = small_survey
    with pytest.raises(ValueError, match="ordinal"):
        tiny(s.kpi).fit(s.X_tr, s.y_tr + 0.5)


def test_unseen_firm_or_period_at_predict_warns_and_pools(small_fit, small_survey):
    # A row's own unseen label (a CV fold holding a firm out) is predicted at the pooled
    # cell with a warning; asking for an unseen firm explicitly is still an error.
    X = small_survey.X_te.iloc[:3]
    with pytest.warns(UserWarning, match=r"firm label\(s\) \['7'\] not seen in fit"):
        pred = small_fit.predict(X.assign(firm=7))
    assert np.isfinite(pred).all()
    with pytest.warns(UserWarning, match="period label"):
        assert np.isfinite(small_fit.predict(X.assign(period=9))).all()
    with pytest.raises(ValueError, match="unseen firm"):
        small_fit.counterfactual_predict(X, firm=5)


def test_kpi_missing_a_cell_raises(small_survey):
    s = small_survey
    index = pd.MultiIndex.from_product([range(3), range(4)], names=["firm", "period"])
    kpi = pd.DataFrame(s.kpi.reshape(12, -1), index=index).drop(index=(2, 3))
    with pytest.raises(ValueError, match="firm 2, period 3"):
        tiny(kpi).fit(s.X, s.y)
    with pytest.raises(ValueError, match="shape"):
        tiny(s.kpi[:, :3]).fit(s.X, s.y)


def test_all_nan_target_column_raises(small_survey):
    s = small_survey
    y = s.y.copy()
    y[:, 2] = np.nan
    with pytest.raises(ValueError, match=r"target column\(s\) \[2\]"):
        tiny(s.kpi).fit(s.X, y)


def test_n_features_mismatch_raises(small_fit, small_survey):
    with pytest.raises(ValueError, match="features"):
        small_fit.predict(small_survey.X_te.iloc[:, :-1].to_numpy())


def test_missing_firm_label_and_non_numeric_covariate_raise(small_survey):
    s = small_survey
    X = s.X.astype({"firm": float})
    X.iloc[0, 0] = np.nan
    with pytest.raises(ValueError, match="firm column"):
        tiny(s.kpi).fit(X, s.y)
    with pytest.raises(ValueError, match="'income' must be numeric"):
        tiny(s.kpi).fit(s.X.assign(income="high"), s.y)


def test_unknown_target_label_at_impute_raises(small_fit, small_survey):
    y = small_survey.y_te.copy()
    y[0, 3] = 9
    with pytest.raises(ValueError, match="outside its categories"):
        small_fit.impute(small_survey.X_te, y)


def test_verbose_progress_prints_epochs(small_survey, capsys):
    s = small_survey
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        tiny(s.kpi, verbose=2, max_iter=2).fit(s.X_tr, s.y_tr)
    assert "epoch 2: loss=" in capsys.readouterr().out


def test_early_stopping_restores_best_validation_loss(small_survey):
    est = tiny(small_survey.kpi, early_stopping=True, max_iter=30, n_iter_no_change=2)
    est.fit(small_survey.X_tr, small_survey.y_tr)
    assert est.best_validation_loss_ == pytest.approx(min(est.validation_loss_curve_), abs=1e-4)
    assert len(est.validation_loss_curve_) == est.n_iter_


def test_sample_weight_is_routed_through_cross_validate(small_survey):
    import sklearn
    from sklearn.model_selection import cross_validate

    s = small_survey
    w = np.where(s.X_tr["firm"].to_numpy() == 0, 3.0, 1.0)
    with sklearn.config_context(enable_metadata_routing=True):
        est = tiny(s.kpi).set_fit_request(sample_weight=True).set_score_request(sample_weight=True)
        out = cross_validate(est, s.X_tr, s.y_tr, cv=2, params={"sample_weight": w})
    assert np.isfinite(out["test_score"]).all()


def test_zero_sample_weight_rows_do_not_influence_the_fit(small_survey):
    s = small_survey
    y_noise = s.y_tr.copy()
    y_noise[: len(y_noise) // 2] = 0  # garbage answers, then weighted out
    w = np.r_[np.zeros(len(y_noise) // 2), np.ones(len(y_noise) - len(y_noise) // 2)]
    weighted = tiny(s.kpi, max_iter=10).fit(s.X_tr, y_noise, sample_weight=w)
    plain = tiny(s.kpi, max_iter=10).fit(s.X_tr, y_noise)
    clean = s.y_te.mean()
    assert abs(weighted.predict(s.X_te).mean() - clean) < abs(plain.predict(s.X_te).mean() - clean)


def test_posterior_samples_average_close_to_plug_in_and_deterministic(small_fit, small_survey):
    import copy

    X = small_survey.X_te
    mc = copy.deepcopy(small_fit)
    mc.n_posterior_samples = 30
    a, b = mc.predict(X), mc.predict(X)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - small_fit.predict(X)).mean() < 0.1


def test_shared_twin_noise_carries_the_factual_residual(small_fit, small_survey):
    import copy

    X, y = small_survey.X_te, small_survey.y_te
    shared = copy.deepcopy(small_fit)
    shared.twin_noise = "shared"
    with pytest.raises(ValueError, match="needs the factual answers"):
        shared.counterfactual_predict(X, firm=1)
    indep = small_fit.counterfactual_predict(X, firm=1)
    carried = shared.counterfactual_predict(X, firm=1, y=y)
    # the twin keeps what the answers reveal about the respondent beyond x
    r_indep = np.corrcoef(indep[:, 0], y[:, 0])[0, 1]
    r_shared = np.corrcoef(carried[:, 0], y[:, 0])[0, 1]
    assert r_shared > r_indep


def test_response_scale_drivers_match_counterfactual_means(small_fit, small_survey):
    X = small_survey.X_te
    ok = X["speed_sat"].notna().to_numpy()
    curves = small_fit.driver_effects(X, ["speed_sat"], [0.0, 1.0], output="response", target=0)
    mean = small_fit.counterfactual_predict(X, statistic="mean")[:, 0]
    np.testing.assert_allclose(curves[ok, 0, 0], mean[ok], atol=1e-10)
    rec = small_fit.recommend_actions(X, ["speed_sat"], 1.0, output="response", target=0)
    np.testing.assert_allclose(rec["gain_speed_sat"][ok], curves[ok, 0, 1] - mean[ok], atol=1e-10)
