"""SurrogateIndexTransformer: columns, horizons, out-of-fold fits, support, bad input."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import KFold

from skcrm.surrogate import SurrogateIndexTransformer


def _ols(Z, y):
    Z1 = np.column_stack([np.ones(len(Z)), Z])
    return np.linalg.lstsq(Z1, y, rcond=None)[0]


@pytest.fixture(scope="module")
def hist():
    """Historical table: covariates x0, x1; monthly surrogates s1..s3; long-term y."""
    rng = np.random.default_rng(0)
    n = 600
    df = pd.DataFrame(rng.normal(size=(n, 5)), columns=["x0", "x1", "s1", "s2", "s3"])
    y = 1 + 2 * df["s1"] + 3 * df["s2"] - df["s3"] + 0.5 * df["x0"] + rng.normal(size=n)
    return df, y.to_numpy()


def test_index_is_the_regression_of_y_on_surrogates_and_covariates(hist):
    df, y = hist
    si = SurrogateIndexTransformer(
        LinearRegression(), surrogate_cols=["s1", "s2", "s3"], covariate_cols=["x0", "x1"]
    ).fit(df, y)
    beta = _ols(df[["x0", "x1", "s1", "s2", "s3"]].to_numpy(), y)
    expected = beta[0] + df[["x0", "x1", "s1", "s2", "s3"]].to_numpy() @ beta[1:]
    np.testing.assert_allclose(si.transform(df)[:, 0], expected, atol=1e-10)
    np.testing.assert_allclose(si.predict(df), expected, atol=1e-10)
    assert si.surrogate_idx_ == [2, 3, 4] and si.covariate_idx_ == [0, 1]


def test_unlisted_columns_default_to_covariates(hist):
    df, y = hist
    si = SurrogateIndexTransformer(LinearRegression(), surrogate_cols=["s1", "s2", "s3"]).fit(df, y)
    assert si.covariate_idx_ == [0, 1]


def test_pure_surrogate_index_ignores_covariates(hist):
    df, y = hist
    si = SurrogateIndexTransformer(
        LinearRegression(), surrogate_cols=[2, 3, 4], include_covariates=False
    ).fit(df.to_numpy(), y)
    beta = _ols(df[["s1", "s2", "s3"]].to_numpy(), y)
    np.testing.assert_allclose(si.estimator_.coef_, beta[1:], atol=1e-10)
    assert si.covariate_idx_ == []


def test_horizons_give_one_index_column_per_horizon(hist):
    df, y = hist
    horizons = {"m1": ["s1"], "m2": ["s1", "s2"], "m3": ["s1", "s2", "s3"]}
    si = SurrogateIndexTransformer(
        LinearRegression(), covariate_cols=["x0", "x1"], horizons=horizons
    ).fit(df, y)
    out = si.transform(df)
    assert out.shape == (len(df), 3)
    for k, cols in enumerate(horizons.values()):
        Z = df[["x0", "x1", *cols]].to_numpy()
        beta = _ols(Z, y)
        np.testing.assert_allclose(out[:, k], beta[0] + Z @ beta[1:], atol=1e-10)
    np.testing.assert_allclose(si.predict(df, horizon="m2"), out[:, 1])
    assert list(si.get_feature_names_out()) == [
        "surrogate_index_m1",
        "surrogate_index_m2",
        "surrogate_index_m3",
    ]
    # the longer windows explain more of the long-term outcome
    r2 = [np.corrcoef(out[:, k], y)[0, 1] ** 2 for k in range(3)]
    assert r2[0] < r2[1] < r2[2]


def test_horizons_fitted_in_parallel_equal_sequential(hist):
    df, y = hist
    horizons = {"m1": ["s1"], "m3": ["s1", "s2", "s3"]}
    kw = {"covariate_cols": ["x0"], "horizons": horizons, "random_state": 0}
    a = SurrogateIndexTransformer(**kw, n_jobs=1).fit(df, y).transform(df)
    b = SurrogateIndexTransformer(**kw, n_jobs=2).fit(df, y).transform(df)
    np.testing.assert_array_equal(a, b)


def test_fit_transform_is_out_of_fold_with_cv(hist):
    df, y = hist
    cv = KFold(4, shuffle=True, random_state=0)
    si = SurrogateIndexTransformer(LinearRegression(), covariate_cols=["x0", "x1"], cv=cv)
    oof = si.fit_transform(df, y)[:, 0]
    X = df.to_numpy()
    expected = np.empty(len(y))
    for train, test in cv.split(X):
        beta = _ols(X[train], y[train])
        expected[test] = beta[0] + X[test] @ beta[1:]
    np.testing.assert_allclose(oof, expected, atol=1e-10)
    in_sample = si.transform(df)[:, 0]
    assert not np.allclose(oof, in_sample)
    r2 = 1 - np.sum((y - expected) ** 2) / np.sum((y - y.mean()) ** 2)
    assert si.oof_r2_ == pytest.approx(r2, abs=1e-12)
    np.testing.assert_allclose(si.oof_predictions_[:, 0], expected, atol=1e-10)


def test_fit_transform_without_cv_equals_fit_then_transform(hist):
    df, y = hist
    si = SurrogateIndexTransformer(random_state=0)
    a = si.fit_transform(df, y)
    b = SurrogateIndexTransformer(random_state=0).fit(df, y).transform(df)
    np.testing.assert_array_equal(a, b)
    assert not hasattr(si, "oof_r2_")


def test_oof_r2_per_horizon_with_int_cv(hist):
    df, y = hist
    si = SurrogateIndexTransformer(
        LinearRegression(),
        covariate_cols=["x0", "x1"],
        horizons={"m1": ["s1"], "m3": ["s1", "s2", "s3"]},
        cv=5,
        random_state=0,
    ).fit(df, y)
    assert set(si.oof_r2_) == {"m1", "m3"}
    assert si.oof_r2_["m1"] < si.oof_r2_["m3"]
    # y = ... + noise with sd 1 and a signal of variance 4 + 9 + 1 + 0.25
    assert si.oof_r2_["m3"] == pytest.approx(14.25 / 15.25, abs=0.03)


def test_set_output_pandas_names_the_index_columns(hist):
    df, y = hist
    si = SurrogateIndexTransformer(LinearRegression(), horizons={"m1": ["s1"], "m2": ["s2"]})
    out = si.set_output(transform="pandas").fit(df, y).transform(df)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["surrogate_index_m1", "surrogate_index_m2"]
    pd.testing.assert_index_equal(out.index, df.index)


def test_score_is_r2_of_the_index(hist):
    df, y = hist
    si = SurrogateIndexTransformer(LinearRegression()).fit(df, y)
    pred = si.predict(df)
    r2 = 1 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2)
    assert si.score(df, y) == pytest.approx(r2, abs=1e-12)


def test_xgboost_alias_fits_an_xgboost_regressor(hist):
    df, y = hist
    si = SurrogateIndexTransformer("xgboost", random_state=0).fit(df, y)
    assert type(si.estimator_).__name__ == "XGBRegressor"
    assert si.score(df, y) > 0.8


def test_default_index_is_histogram_gradient_boosting(hist):
    df, y = hist
    si = SurrogateIndexTransformer(random_state=0).fit(df, y)
    assert type(si.estimator_).__name__ == "HistGradientBoostingRegressor"
    assert si.estimator_.random_state == 0


# ------------------------------------------------------------------ support check
def test_support_check_flags_only_the_arm_pushed_out_of_range(hist):
    df, y = hist
    si = SurrogateIndexTransformer(LinearRegression(), covariate_cols=["x0", "x1"]).fit(df, y)
    rng = np.random.default_rng(1)
    exp = pd.DataFrame(rng.normal(size=(1000, 5)), columns=df.columns)
    arm = np.repeat([0, 1], 500)
    exp.loc[arm == 1, "s1"] -= 4.0  # a deep discount: short-term revenue below history
    with pytest.warns(UserWarning, match="arm 1: s1"):
        table = si.support_check(exp, treatment=arm)
    assert table.loc[1, "s1"] > 0.5
    assert table.loc[0, "s1"] < 0.05 and table.loc[0, "s2"] < 0.05
    assert list(table.columns) == ["s1", "s2", "s3"]


def test_support_check_is_quiet_on_historical_like_data(hist):
    df, y = hist
    si = SurrogateIndexTransformer(LinearRegression()).fit(df, y)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = si.support_check(df)
    assert table.loc["all"].max() <= 0.011


# ------------------------------------------------------------------ bad input
def test_treatment_argument_is_refused(hist):
    df, y = hist
    si = SurrogateIndexTransformer()
    with pytest.raises(TypeError, match="never an input"):
        si.fit(df, y, treatment=np.zeros(len(y)))
    with pytest.raises(TypeError, match="never an input"):
        si.fit_transform(df, y, treatment=np.zeros(len(y)))
    with pytest.raises(TypeError, match="unexpected argument"):
        si.fit(df, y, weights=np.ones(len(y)))


def test_missing_surrogate_column_at_transform_names_it(hist):
    df, y = hist
    si = SurrogateIndexTransformer(LinearRegression(), covariate_cols=["x0", "x1"]).fit(df, y)
    with pytest.raises(ValueError, match=r"missing column\(s\) \['s3'\]"):
        si.transform(df.drop(columns="s3"))


def test_wrong_number_of_columns_at_transform(hist):
    df, y = hist
    si = SurrogateIndexTransformer(LinearRegression()).fit(df.to_numpy(), y)
    with pytest.raises(ValueError, match="features"):
        si.transform(df.to_numpy()[:, :4])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_outcome_is_refused(hist, bad):
    df, y = hist
    y = y.copy()
    y[[3, 7]] = bad
    with pytest.raises(ValueError, match=r"2 non-finite value\(s\).*rows \[3, 7\]"):
        SurrogateIndexTransformer().fit(df, y)


def test_horizon_naming_an_unknown_column(hist):
    df, y = hist
    si = SurrogateIndexTransformer(horizons={"m1": ["s1"], "m2": ["s1", "s9"]})
    with pytest.raises(ValueError, match=r"horizons\['m2'\] names column 's9'"):
        si.fit(df, y)


def test_column_names_need_a_dataframe(hist):
    df, y = hist
    with pytest.raises(ValueError, match="no column names"):
        SurrogateIndexTransformer(surrogate_cols=["s1"]).fit(df.to_numpy(), y)


def test_column_position_out_of_range(hist):
    df, y = hist
    with pytest.raises(ValueError, match="position 9"):
        SurrogateIndexTransformer(surrogate_cols=[9]).fit(df.to_numpy(), y)


def test_a_column_cannot_be_surrogate_and_covariate(hist):
    df, y = hist
    with pytest.raises(ValueError, match="both surrogates and covariates"):
        SurrogateIndexTransformer(surrogate_cols=["s1"], covariate_cols=["s1", "x0"]).fit(df, y)


def test_unknown_horizon_at_predict(hist):
    df, y = hist
    si = SurrogateIndexTransformer(LinearRegression(), horizons={"m1": ["s1"]}).fit(df, y)
    with pytest.raises(ValueError, match="unknown horizon 'm9'"):
        si.predict(df, horizon="m9")


def test_treatment_of_wrong_length_in_support_check(hist):
    df, y = hist
    si = SurrogateIndexTransformer(LinearRegression()).fit(df, y)
    with pytest.raises(ValueError, match="treatment has 3 rows"):
        si.support_check(df, treatment=np.zeros(3, dtype=int))


def test_support_check_warning_points_at_the_callers_line(hist):
    df, y = hist
    si = SurrogateIndexTransformer(LinearRegression(), covariate_cols=["x0", "x1"]).fit(df, y)
    exp = df.copy()
    exp["s1"] -= 10.0
    with pytest.warns(UserWarning, match="arm 'all'") as rec:
        si.support_check(exp)
    assert rec[0].filename == __file__


def test_support_check_refuses_a_continuous_treatment(hist):
    df, y = hist
    si = SurrogateIndexTransformer(LinearRegression()).fit(df, y)
    dose = np.random.default_rng(0).uniform(size=len(df))
    with pytest.raises(ValueError, match="treatment looks continuous"):
        si.support_check(df, treatment=dose)


def test_reordered_dataframe_columns_give_the_same_index(hist):
    df, y = hist
    si = SurrogateIndexTransformer(LinearRegression(), covariate_cols=["x0", "x1"]).fit(df, y)
    shuffled = df[["s3", "x1", "s1", "x0", "s2"]]
    np.testing.assert_allclose(si.transform(shuffled), si.transform(df), atol=1e-12)


def test_permuted_history_gives_the_same_linear_index(hist):
    df, y = hist
    perm = np.random.default_rng(3).permutation(len(df))
    a = SurrogateIndexTransformer(LinearRegression()).fit(df, y).transform(df)
    b = SurrogateIndexTransformer(LinearRegression()).fit(df.iloc[perm], y[perm]).transform(df)
    np.testing.assert_allclose(a, b, atol=1e-10)


# ------------------------------------------------------------------ bootstrap of the index
def test_bootstrap_replicates_are_seeded_and_parallel_safe(hist):
    df, y = hist
    kw = {"covariate_cols": ["x0", "x1"], "n_bootstrap": 20, "random_state": 0}
    a = SurrogateIndexTransformer(LinearRegression(), **kw).fit(df, y)
    b = SurrogateIndexTransformer(LinearRegression(), n_jobs=2, **kw).fit(df, y)
    da, db = a.predict_bootstrap(df), b.predict_bootstrap(df)
    assert da.shape == (len(df), 20)
    np.testing.assert_array_equal(da, db)
    # replicates differ from one another and scatter around the full-data index
    assert np.all(da.std(axis=1) > 0)
    assert np.abs(da.mean(axis=1) - a.predict(df)).max() < 0.5


def test_bootstrap_replicate_is_ols_on_a_resample(hist):
    df, y = hist
    si = SurrogateIndexTransformer(LinearRegression(), n_bootstrap=3, random_state=0).fit(df, y)
    X = df.to_numpy()
    for est in si.bootstrap_estimators_["surrogate_index"]:
        # OLS on some resample: the normal equations hold with the resample's weights,
        # and the fit is not the full-data one
        assert not np.allclose(est.coef_, si.estimator_.coef_)
    # each bootstrap coefficient is within a few standard errors of the full-data one
    resid = y - si.predict(df)
    se = np.sqrt(np.diag(np.linalg.inv(np.cov(X.T) * len(X)))) * resid.std()
    coefs = np.array([e.coef_ for e in si.bootstrap_estimators_["surrogate_index"]])
    assert np.all(np.abs(coefs - si.estimator_.coef_) < 5 * se)


def test_bootstrap_progress_only_when_verbose(hist, capsys):
    df, y = hist
    SurrogateIndexTransformer(LinearRegression(), n_bootstrap=5, random_state=0).fit(df, y)
    quiet = capsys.readouterr()
    assert quiet.out == "" and quiet.err == ""
    SurrogateIndexTransformer(LinearRegression(), n_bootstrap=5, verbose=1, random_state=0).fit(
        df, y
    )
    loud = capsys.readouterr()
    assert loud.out == ""
    assert "bootstrap of the surrogate index" in loud.err


def test_predict_bootstrap_needs_n_bootstrap(hist):
    df, y = hist
    si = SurrogateIndexTransformer(LinearRegression()).fit(df, y)
    with pytest.raises(ValueError, match="fit with n_bootstrap > 0"):
        si.predict_bootstrap(df)
