"""RobustCampaignAllocator: the sklearn shell (AC-02 via the estimator, AC-15)."""

import pickle

import joblib
import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skcrm.allocation import RobustCampaignAllocator
from skcrm.datasets import PAPER_LPG, make_campaign_data, make_er8_data

P = [[0.10, 0.30, 0.15], [0.20, 0.20, 0.30], [0.05, 0.10, 0.35]]


@pytest.fixture(scope="module")
def data():
    d = make_campaign_data(1500, P, random_state=0)
    return d, np.column_stack([d.y, d.treatment])


@pytest.fixture(scope="module")
def er8():
    d = make_er8_data(random_state=0)
    X = np.column_stack([d.X, d.segment])
    return d, X, np.column_stack([d.y, d.treatment])


def _er8_est(**kw):
    base = {
        "uplift_model": "segment_means", "segmentation": "column", "segment_col": 4,
        "segment_sizes": np.full(8, 10000), "budget": 30000, "random_state": 0,
    }  # fmt: skip
    return RobustCampaignAllocator(control=0, **(base | kw))


@pytest.fixture(scope="module")
def fitted(data):
    d, Y = data
    # a flexible response model: segment-specific rates are not linear in the features
    return RobustCampaignAllocator(control=0,
        n_segments=3, n_scenarios=10, budget=500.0, estimator=KNeighborsClassifier(60),
        random_state=0,
    ).fit(d.X, Y)  # fmt: skip


def test_fit_returns_self_and_attributes_have_documented_shapes(data, fitted):
    K, M, S = 3, 2, 10
    assert fitted.allocation_.shape == (K, M)
    assert fitted.lift_hat_.shape == (K, M)
    assert fitted.lift_scenarios_.shape == (S, K, M)
    assert fitted.lift_cov_.shape == (K * M, K * M)
    assert fitted.value_scenarios_.shape == (S, K, M)
    assert fitted.segment_sizes_.shape == (K,)
    assert fitted.campaigns_.tolist() == [1, 2] and fitted.control_ == 0
    assert fitted.n_features_in_ == 4
    assert fitted.budget_used_ <= 500.0 * (1 + 1e-9)
    for name in ("expected_profit_", "worst_case_profit_", "robust_objective_", "profit_sd_"):
        assert np.isfinite(getattr(fitted, name))
    assert fitted.robust_objective_ == pytest.approx(
        fitted.expected_profit_ - fitted.theta * fitted.profit_sd_, rel=1e-6
    )


def test_kmeans_on_lift_vectors_recovers_the_true_segment_lifts(data, fitted):
    d, _ = data
    seg = fitted.predict_segment(d.X)
    truth = np.array(P)[:, 1:] - np.array(P)[:, [0]]
    for k in range(3):
        true_k = np.bincount(d.segment[seg == k]).argmax()
        np.testing.assert_allclose(fitted.lift_hat_[k], truth[true_k], atol=0.06)


def test_predict_labels_are_campaigns_or_control_and_deterministic(data, fitted):
    d, _ = data
    pred = fitted.predict(d.X)
    assert set(np.unique(pred)) <= {0, 1, 2}
    np.testing.assert_array_equal(pred, fitted.predict(d.X))


def test_predict_counts_match_integer_allocation_on_the_population(er8):
    d, X, Y = er8
    est = _er8_est(method="interval", integer=True, segment_sizes=None).fit(X, Y)
    pred, seg = est.predict(X), est.predict_segment(X)
    for k in range(8):
        for m, lab in enumerate(est.campaigns_):
            assert np.sum((seg == k) & (pred == lab)) == est.allocation_[k, m]


def test_estimator_reproduces_the_paper_nominal_allocation():
    # segment x arm cells whose difference in means equals the paper-like lifts exactly
    mu = PAPER_LPG["SURROGATE_MU"]
    rows, ys, ts = [], [], []
    for k in range(9):
        for a, p in enumerate([0.3, 0.3 + mu[k, 0], 0.3 + mu[k, 1]]):
            n = 1000
            ones = int(round(p * n))
            rows += [k] * n
            ys += [1] * ones + [0] * (n - ones)
            ts += [a] * n
    X = np.array(rows, dtype=float)[:, None]
    est = RobustCampaignAllocator(control=0,
        method="nominal", uplift_model="segment_means", segmentation="column", segment_col=0,
        segment_sizes=PAPER_LPG["TABLE1_CLUSTER_SIZES"], budget=60000, nominal_estimate="point",
        random_state=0,
    ).fit(X, np.column_stack([ys, ts]))  # fmt: skip
    expected = np.zeros((9, 2))
    expected[[3, 5, 7], 0] = [12370, 29240, 4100]
    expected[2, 1] = 14290
    np.testing.assert_allclose(est.allocation_, expected, atol=1e-6 * 60220)
    np.testing.assert_allclose(est.expected_profit_, 5926.93, rtol=1e-9)


@pytest.mark.parametrize("metric", ["mean", "quantile", "cvar", "min", "neg_wcl"])
def test_score_is_finite_for_every_metric(data, fitted, metric):
    d, Y = data
    est = clone(fitted).set_params(score_metric=metric, n_score_scenarios=30)
    est.__dict__.update({k: v for k, v in fitted.__dict__.items() if k.endswith("_")})
    assert np.isfinite(est.score(d.X, Y))


def test_score_mean_is_the_plug_in_held_out_value(er8):
    d, X, Y = er8
    est = _er8_est(method="nominal").fit(X, Y)
    held = make_er8_data(random_state=99)
    Xh, Yh = np.column_stack([held.X, held.segment]), np.column_stack([held.y, held.treatment])
    m = np.array(
        [
            [held.y[(held.segment == k) & (held.treatment == a)].mean() for a in range(3)]
            for k in range(8)
        ]
    )
    expected = ((m[:, 1:] - m[:, :1]) * est.allocation_).sum()
    assert est.score(Xh, Yh) == pytest.approx(expected, rel=1e-12)


def test_grid_search_tunes_theta_with_packed_target(data):
    d, Y = data
    est = RobustCampaignAllocator(
        control=0, n_segments=3, n_scenarios=5, budget=300.0, random_state=0
    )
    gs = GridSearchCV(est, {"theta": [0, 1, 2]}, cv=3).fit(d.X, Y)
    assert np.all(np.isfinite(gs.cv_results_["mean_test_score"]))
    assert gs.best_params_["theta"] in (0, 1, 2)


def test_metadata_routing_passes_treatment_to_fit_and_score(data):
    d, _ = data
    with sklearn.config_context(enable_metadata_routing=True):
        est = (
            RobustCampaignAllocator(
                control=0, n_segments=3, n_scenarios=5, budget=300.0, random_state=0
            )
            .set_fit_request(treatment=True)
            .set_score_request(treatment=True)
        )
        res = cross_validate(est, d.X, d.y, cv=3, params={"treatment": d.treatment})
        gs = GridSearchCV(clone(est), {"theta": [0.0, 2.0]}, cv=3)
        gs.fit(d.X, d.y, treatment=d.treatment)
    assert np.all(np.isfinite(res["test_score"]))
    assert np.all(np.isfinite(gs.cv_results_["mean_test_score"]))


def test_metadata_routing_through_a_pipeline_fits(data):
    d, _ = data
    with sklearn.config_context(enable_metadata_routing=True):
        est = RobustCampaignAllocator(
            control=0, n_segments=3, n_scenarios=5, budget=300.0, random_state=0
        ).set_fit_request(treatment=True)
        pipe = make_pipeline(StandardScaler(), est).fit(d.X, d.y, treatment=d.treatment)
    assert pipe[-1].allocation_.shape == (3, 2)


def test_treatment_dummy_and_custom_clusterer_fit(data):
    d, Y = data
    est = RobustCampaignAllocator(control=0,
        method="cvar", uplift_model="treatment_dummy",
        segmentation=KMeans(3, n_init=3, random_state=0),
        uncertainty="subsample_means", n_scenarios=20, budget=300.0, random_state=0,
    ).fit(d.X, Y)  # fmt: skip
    assert est.allocation_.shape == (3, 2)
    assert est.budget_used_ <= 300 * (1 + 1e-9)


@pytest.mark.parametrize("uncertainty", ["bootstrap", "bayesian", "normal", "subsample_means"])
def test_segment_mean_uncertainty_scenarios_centre_on_the_point_estimate(er8, uncertainty):
    d, X, Y = er8
    est = _er8_est(method="nominal", uncertainty=uncertainty, nominal_estimate="point").fit(X, Y)
    spread = est.lift_scenarios_.std(axis=0)
    centre = est.lift_scenarios_.mean(axis=0)
    # 50 scenarios: the mean is within ~4 standard errors of the point estimate
    assert np.all(np.abs(centre - est.lift_hat_) <= 4 * spread / np.sqrt(50) + 1e-12)
    if uncertainty != "subsample_means":
        # estimation error: small segments (600 rows) spread ~sqrt(10) times more than large
        # ones; the paper's subsample means (100 draws whatever the size) do not see this
        assert spread[4:].mean() > 2 * spread[:4].mean()


def test_pickle_and_joblib_round_trip_give_identical_predictions(tmp_path, data, fitted):
    d, _ = data
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.predict(d.X), fitted.predict(d.X))
    joblib.dump(fitted, tmp_path / "m.joblib")
    loaded = joblib.load(tmp_path / "m.joblib")
    np.testing.assert_array_equal(loaded.allocation_, fitted.allocation_)
    np.testing.assert_array_equal(loaded.lift_scenarios_, fitted.lift_scenarios_)


def test_methods_before_fit_raise_not_fitted(data):
    d, Y = data
    est = RobustCampaignAllocator(
        control=0,
    )
    for call in (lambda: est.predict(d.X), lambda: est.score(d.X, Y), lambda: est.allocate(d.X)):
        with pytest.raises(NotFittedError):
            call()


def test_missing_control_arm_is_a_clear_error(data):
    d, _ = data
    rows = d.treatment > 0
    with pytest.raises(ValueError, match=r"control=0 is not one of the arms \[1, 2\]"):
        RobustCampaignAllocator(control=0, budget=10.0).fit(
            d.X[rows], np.column_stack([d.y, d.treatment])[rows]
        )


def test_sparse_segment_arm_cell_is_a_clear_error(er8):
    d, X, Y = er8
    keep = ~((d.segment == 5) & (d.treatment == 2))
    keep[np.flatnonzero((d.segment == 5) & (d.treatment == 2))[:1]] = True
    with pytest.raises(ValueError, match="segment 5.0 x arm 2 has 1 training row"):
        _er8_est(method="nominal").fit(X[keep], Y[keep])


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"budget": -1.0}, "budget"),
        ({"action_costs": -1.0}, "action_costs must be finite and >= 0"),
        ({"revenue": -1.0}, "revenue must be finite and >= 0"),
        ({"theta": -1.0}, "theta"),
        ({"segment_sizes": np.ones(3)}, "segment_sizes must have one entry per segment"),
        ({"method": "robust"}, "method"),
    ],
)
def test_bad_parameters_raise_value_error(er8, kw, match):
    d, X, Y = er8
    with pytest.raises(ValueError, match=match):
        _er8_est(method="nominal").set_params(**kw).fit(X, Y)


def test_robustness_path_is_monotone_in_theta(er8):
    d, X, Y = er8
    est = _er8_est(method="ellipsoidal", theta=0.0).fit(X, Y)
    path = est.robustness_path([0, 0.5, 1, 2, 4])
    for col in ("expected_profit", "robust_objective", "profit_sd"):
        v = path[col].to_numpy()
        assert np.all(np.diff(v) <= 1e-5 * np.abs(v[:-1]) + 1e-9), col
    assert path["expected_profit"].iloc[0] == pytest.approx(est.expected_profit_, rel=1e-7)


def test_allocate_resolves_for_a_new_population_without_changing_the_fit(er8):
    d, X, Y = er8
    est = _er8_est(method="interval").fit(X, Y)
    before = est.allocation_.copy()
    res = est.allocate(segment_sizes=np.full(8, 20000))
    np.testing.assert_array_equal(est.allocation_, before)
    assert res.budget_used == pytest.approx(30000)


def test_unseen_treatment_label_in_score_is_rejected(er8):
    d, X, Y = er8
    est = _er8_est(method="nominal").fit(X, Y)
    Y2 = Y.copy()
    Y2[0, 1] = 7
    with pytest.raises(
        ValueError, match=r"treatment has label\(s\) \[7\] not in actions \[0, 1, 2\]"
    ):
        est.score(X, Y2)


def test_resolve_switches_model_without_refitting_and_matches_a_fresh_fit(er8):
    d, X, Y = er8
    est = _er8_est(method="nominal").fit(X, Y)
    scen = est.lift_scenarios_.copy()
    est.resolve(method="interval")
    fresh = _er8_est(method="interval").fit(X, Y)
    np.testing.assert_array_equal(est.lift_scenarios_, scen)
    np.testing.assert_allclose(est.allocation_, fresh.allocation_, atol=1e-6)
    with pytest.raises(ValueError, match="need a new fit"):
        est.resolve(n_segments=3)


def test_plots_draw_the_allocation_and_the_path(er8):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skcrm.allocation.plotting import plot_allocation, plot_robustness_path

    d, X, Y = er8
    est = _er8_est(method="ellipsoidal").fit(X, Y)
    ax = plot_allocation(est)
    assert len(ax.texts) == int((est.allocation_ >= 0.5).sum())
    ax = plot_robustness_path(est.robustness_path([0, 1, 2]))
    assert len(ax.get_lines()) == 2
    plt.close("all")


def test_policy_packed_target_with_propensity_columns_is_accepted(er8):
    d, X, Y = er8
    packed = np.column_stack([Y, np.full(len(Y), 1 / 3)])  # pack_policy_target layout
    a = _er8_est(method="interval").fit(X, packed)
    b = _er8_est(method="interval").fit(X, Y)
    np.testing.assert_array_equal(a.allocation_, b.allocation_)
    assert a.score(X, packed) == b.score(X, Y)


def test_min_segment_size_merges_small_kmeans_segments(data):
    d, Y = data
    est = RobustCampaignAllocator(control=0,
        method="nominal", segmentation="kmeans_features", n_segments=8, min_segment_size=1000,
        uncertainty="normal", budget=300.0, random_state=0,
    ).fit(d.X, Y)  # fmt: skip
    assert est.n_segments_ < 8
    assert np.bincount(est.predict_segment(d.X)).min() >= 1000


def test_evaluate_summarises_value_over_given_scenarios(er8):
    from skcrm.metrics import summary_statistics

    d, X, Y = er8
    est = _er8_est(method="interval").fit(X, Y)
    values = est.value_scenarios_.reshape(50, -1) @ est.allocation_.ravel()
    out = est.evaluate()
    np.testing.assert_allclose(
        out.drop("WCL (%)").to_numpy(), summary_statistics(values).to_numpy()
    )
    assert out["Min"] == pytest.approx(est.worst_case_profit_)


def test_allocation_scorer_matches_score_and_tunes_gamma(er8):
    from skcrm.metrics import make_allocation_scorer

    d, X, Y = er8
    est = _er8_est(
        method="budgeted", score_metric="quantile", score_tail_fraction=0.1, n_score_scenarios=60
    )
    est.fit(X, Y)
    scorer = make_allocation_scorer("quantile", tail_fraction=0.1, n_scenarios=60)
    assert scorer(est, X, Y) == pytest.approx(est.score(X, Y), rel=1e-12)
    scoring = make_allocation_scorer("cvar", tail_fraction=0.2, n_scenarios=40)
    gs = GridSearchCV(
        _er8_est(method="budgeted"), {"gamma": [0.0, 2.0, 16.0]}, cv=2, scoring=scoring
    )
    gs.fit(X, Y)
    assert np.all(np.isfinite(gs.cv_results_["mean_test_score"]))


def test_dataframe_input_with_named_segment_column(er8):
    import pandas as pd

    d, X, Y = er8
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d", "region"])
    est = _er8_est(method="interval", segment_col="region").fit(frame, Y)
    assert est.feature_names_in_.tolist() == ["a", "b", "c", "d", "region"]
    np.testing.assert_array_equal(
        est.allocation_, _er8_est(method="interval").fit(X, Y).allocation_
    )


def test_parallel_bootstrap_refits_equal_sequential(data):
    d, Y = data
    kw = {"n_segments": 3, "n_scenarios": 4, "budget": 300.0, "random_state": 0}
    seq = RobustCampaignAllocator(control=0, **kw).fit(d.X[:900], Y[:900])
    par = RobustCampaignAllocator(control=0, n_jobs=2, **kw).fit(d.X[:900], Y[:900])
    np.testing.assert_allclose(par.lift_scenarios_, seq.lift_scenarios_, rtol=1e-12)
