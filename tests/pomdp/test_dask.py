"""POMDPPolicy on Dask: out-of-core fits equal the in-memory fits, Dask scoring equals pandas."""

import numpy as np
import pandas as pd
import pytest

from skcrm.datasets import make_pomdp_crm, make_pomdp_parametric
from skcrm.pomdp import POMDPPolicy

dd = pytest.importorskip("dask.dataframe")
pytest.importorskip("distributed")

TABULAR = {
    "action_costs": [0, 2, 10],
    "outcome_values": [0, 10, 40],
    "n_init": 3,
    "n_belief_points": 51,
    "random_state": 0,
}


@pytest.fixture(scope="module")
def panel():
    X, y, _ = make_pomdp_crm(n_customers=300, n_periods=16, random_state=3)
    X = X.assign(outcome=y)
    # customers with shorter histories and unobserved outcomes, as real panels have
    X = X[X["period"] <= 8 + X["customer_id"] % 9].copy()
    X.loc[X.index % 17 == 5, "outcome"] = np.nan
    return X.sort_values(["customer_id", "period"], kind="stable").reset_index(drop=True)


@pytest.fixture(scope="module")
def reference(panel):
    return POMDPPolicy(**TABULAR).fit(panel)


@pytest.fixture(scope="module")
def on_dask(panel, cluster_client):
    ddf = dd.from_pandas(panel.set_index("customer_id"), npartitions=4, sort=True)
    assert ddf.npartitions >= 3
    return POMDPPolicy(**TABULAR).fit(ddf)


def _assert_same_fit(ref, got, rtol=1e-6, same_path=True):
    for name in ("startprob_", "transmat_", "emissionprob_", "reward_"):
        np.testing.assert_allclose(getattr(got, name), getattr(ref, name), rtol=rtol, err_msg=name)
    assert got.log_likelihood_ == pytest.approx(ref.log_likelihood_, rel=rtol)
    assert got.converged_ == ref.converged_
    if same_path:  # EM: the same iterations; L-BFGS-B may take one more or less
        assert got.n_iter_ == ref.n_iter_
    np.testing.assert_array_equal(got.actions_, ref.actions_)
    np.testing.assert_array_equal(got.outcome_levels_, ref.outcome_levels_)
    np.testing.assert_array_equal(got.state_order_, ref.state_order_)
    assert got.n_params_ == ref.n_params_
    assert got.bic_ == pytest.approx(ref.bic_, rel=rtol)
    assert got.value_at_start_ == pytest.approx(ref.value_at_start_, rel=1e-6)


def test_tabular_em_on_a_cluster_equals_the_in_memory_fit(reference, on_dask):
    _assert_same_fit(reference, on_dask, rtol=1e-9)
    np.testing.assert_allclose(
        on_dask.log_likelihood_history_, reference.log_likelihood_history_, rtol=1e-9
    )
    assert list(on_dask.feature_names_in_) == list(reference.feature_names_in_)


def test_parquet_path_with_monthly_dates_equals_the_in_memory_fit(panel, tmp_path, cluster_client):
    months = panel["period"] - 1
    dated = panel.copy()
    dated["period"] = pd.to_datetime(
        {"year": 2020 + months // 12, "month": months % 12 + 1, "day": 1}
    )
    # labelled actions and an ordered categorical outcome: encoded from the global pass
    dated["action"] = dated["action"].map({0: "none", 1: "email", 2: "call"})
    levels = ["no", "small", "large"]
    dated["outcome"] = pd.Categorical.from_codes(
        dated["outcome"].fillna(-1).astype(int), categories=levels, ordered=True
    )
    kw = {
        **TABULAR,
        "action_costs": {"none": 0, "email": 2, "call": 10},
        "outcome_values": {"no": 0, "small": 10, "large": 40},
    }
    ref = POMDPPolicy(**kw).fit(dated)
    path = tmp_path / "panel.parquet"
    dated.set_index("customer_id").to_parquet(path)
    got = POMDPPolicy(**kw).fit(str(path))
    _assert_same_fit(ref, got)
    np.testing.assert_array_equal(got.actions_, ["call", "email", "none"])


def test_unpartitioned_panel_is_repartitioned_by_customer_with_a_warning(
    panel, reference, cluster_client
):
    shuffled = dd.from_pandas(panel.sample(frac=1.0, random_state=0), npartitions=3, sort=False)
    with pytest.warns(UserWarning, match="not partitioned by customer"):
        got = POMDPPolicy(**TABULAR).fit(shuffled)
    _assert_same_fit(reference, got)


def test_separate_y_with_a_dask_panel_is_refused(panel, cluster_client):
    ddf = dd.from_pandas(panel.set_index("customer_id"), npartitions=2, sort=True)
    with pytest.raises(ValueError, match="outcome_col='outcome'"):
        POMDPPolicy(**TABULAR).fit(ddf.drop(columns="outcome"), panel["outcome"])


def test_methods_that_need_the_panel_in_memory_say_so(panel, reference):
    ddf = dd.from_pandas(panel.set_index("customer_id"), npartitions=2, sort=True)
    for method in ("score", "vol_curve", "plan_open_loop"):
        with pytest.raises(ValueError, match="needs the panel X in memory"):
            getattr(reference, method)(ddf)


@pytest.mark.parametrize(
    ("method", "kwargs"),
    [
        ("transform", {}),
        ("decision_function", {}),
        ("predict", {}),
        ("predict_outcome_proba", {"action": 1}),
        ("recommend", {}),
        ("dynamic_customer_value", {"policy": "open_loop"}),
        ("value_of_learning", {}),
        ("strategic_segments", {}),
    ],
)
def test_dask_scoring_equals_pandas(panel, reference, method, kwargs):
    want = getattr(reference, method)(panel, **kwargs)
    ddf = dd.from_pandas(panel.set_index("customer_id"), npartitions=3, sort=True)
    got = getattr(reference, method)(ddf, **kwargs)
    assert type(got).__module__.startswith("dask")
    got = got.compute()
    if isinstance(want, np.ndarray):  # per-row answers: the rows of X, indexed by customer
        np.testing.assert_array_equal(got.index.to_numpy(), panel["customer_id"].to_numpy())
        np.testing.assert_allclose(
            np.asarray(got, dtype=float).reshape(want.shape), want.astype(float), rtol=1e-12
        )
        return
    assert got.index.name == want.index.name == "customer_id"
    if isinstance(want, pd.DataFrame):
        assert list(got.columns) == list(want.columns)
        pd.testing.assert_frame_equal(got.sort_index(), want.sort_index(), rtol=1e-12)
    else:
        pd.testing.assert_series_equal(got.sort_index(), want.sort_index(), rtol=1e-12)


def test_parametric_mle_with_covariates_on_a_cluster_equals_the_in_memory_fit(cluster_client):
    X, y, truth = make_pomdp_parametric(90, 14, random_state=2)
    # a covariate with three values: three POMDPs to solve, whatever the number of customers
    X = X.assign(outcome=y, size=np.clip(np.round(X["size"]), -1, 1))
    kw = {
        "transition_model": "logit",
        "emission_model": "ordered_logit",
        "action_features": truth.action_features,
        "covariate_cols": ["size"],
        "outcome_values": [0.0, 1.0, 3.0, 8.0],
        "action_costs": {0: 0.0, 5: 0.4, 15: 1.2},
        "discount": 0.9,
        "n_init": 1,
        "n_belief_points": 21,
        "random_state": 0,
    }
    ref = POMDPPolicy(**kw).fit(X)
    ddf = dd.from_pandas(X.set_index("customer_id"), npartitions=3, sort=True)
    got = POMDPPolicy(**kw).fit(ddf)
    # L-BFGS-B alone stopped 4.7e-4 (relative) apart; the Newton polish reaches the optimum
    np.testing.assert_allclose(got.coef_, ref.coef_, rtol=1e-9)
    np.testing.assert_allclose(got.standard_errors_, ref.standard_errors_, rtol=1e-6)
    assert got.log_likelihood_ == pytest.approx(ref.log_likelihood_, rel=1e-9)
    np.testing.assert_array_equal(got.covariate_patterns_, ref.covariate_patterns_)
    np.testing.assert_allclose(got.covariate_mean_, ref.covariate_mean_, rtol=1e-12)
    _assert_same_fit(ref, got, same_path=False)
    rec = got.recommend(ddf).compute().sort_index()
    want = got.recommend(X).sort_index()
    pd.testing.assert_frame_equal(rec, want, rtol=1e-12)
