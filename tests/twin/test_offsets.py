"""target_offsets: per-target respondent baselines delta_j(x) beside the shared affinity.

Issue 14 (small-sample accuracy on generator C, whose four plain targets follow a second
latent): with the paper's single affinity the twin's whole-row MAE was 1.24 against a
random forest's 1.213 (3,000 respondents, seed 0; 0.06-0.11 worse at 3k/6k/15k).
"""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skcrm.datasets import make_digital_twin_survey
from skcrm.twin import DigitalTwinRegressor
from skcrm.twin._core import gauss_hermite, mlp_forward_np, ordinal_probs_np
from tests.twin._acceptance import make_model

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def test_offsets_enter_every_targets_linear_predictor_exactly(small_fit, small_survey):
    """predict_proba equals a hand computation of
    sum_q w_q P_ordlogit(y_j | alpha_jkt + delta_j(x) + (mu + sd node_q) lambda_jkt)."""
    est, X = small_fit, small_survey.X_te.iloc[:40]
    assert est.target_offsets
    cov, f, p = est._rows(X)
    out = mlp_forward_np(est.encoder_params_, est._encode(cov, f, p), 1, est.activation)
    J = est.n_outputs_
    assert out.shape == (len(X), 2 + J)
    mu, sd, delta = out[:, 0], np.exp(0.5 * np.clip(out[:, 1], -10, 6)), out[:, 2:]
    assert np.abs(delta).max() > 1e-3  # the offsets are in use
    nodes, w = gauss_hermite(est.n_quadrature)
    alpha = est.alpha_[:, f, p].T + delta  # (n, J)
    lam = est.loadings_[:, f, p].T
    cut = np.full((J, max(est.n_categories_) - 1), 1e4)
    for j, c in enumerate(est.cutpoints_):
        cut[j, : len(c)] = c
    zq = mu[:, None] + sd[:, None] * nodes[None, :]
    eta = alpha[:, None, :] + zq[:, :, None] * lam[:, None, :]
    expected = np.einsum("q,nqjm->njm", w, ordinal_probs_np(eta, cut))
    got = est.predict_proba(X)
    for j, m in enumerate(est.n_categories_):
        np.testing.assert_allclose(got[j], expected[:, j, :m], atol=1e-10)
    # ... and dropping delta changes the answer (the check can fail)
    eta0 = (alpha - delta)[:, None, :] + zq[:, :, None] * lam[:, None, :]
    without = np.einsum("q,nqjm->njm", w, ordinal_probs_np(eta0, cut))
    assert np.abs(without - expected).max() > 1e-3


def test_target_offsets_false_is_the_papers_single_affinity(small_survey):
    est = make_model(small_survey.kpi, 2, early_stopping=False, target_offsets=False)
    est.fit(small_survey.X_tr, small_survey.y_tr)
    assert est.encoder_params_["Dense_1"]["kernel"].shape == (32, 2)
    # every target then moves with z alone: the posterior mean answers are monotone in mu
    X = small_survey.X_te
    mu = est.affinity(X)
    firm0 = (X["firm"] == 0).to_numpy() & (X["period"] == 0).to_numpy()
    order = np.argsort(mu[firm0])
    mean = est.counterfactual_predict(X, statistic="mean")[firm0][order]
    assert np.all(np.diff(mean, axis=0) >= -1e-9)


@pytest.mark.slow
def test_generator_c_twin_beats_random_forest_at_3000():
    """The issue's counterexample: generator C of benchmarks/twin.py, seed 0, 3,000
    training respondents. Before: twin 1.240 vs RF 1.213. Now the twin (defaults) is
    below the forest and below its own single-affinity version."""
    from sklearn.ensemble import RandomForestRegressor

    kw = {"n_firms": 3, "n_periods": 4, "missing_y_rate": 0.2, "second_factor": True}
    X, y, kpi, _ = make_digital_twin_survey(n_per_cell=313, random_state=0, **kw)
    tr, te = train_test_split(
        np.arange(len(y)), train_size=3000, random_state=0, stratify=10 * X["firm"] + X["period"]
    )

    def twin_mae(**params):
        est = DigitalTwinRegressor(
            firm_col="firm", time_col="period", kpi=kpi, random_state=0,
            predict_statistic="median", **params,
        )  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X.iloc[tr], y[tr])
        return float(np.nanmean(np.abs(est.predict(X.iloc[te]) - y[te])))

    Z = X.fillna(X.iloc[tr].median()).to_numpy()
    rf_pred = np.column_stack(
        [
            RandomForestRegressor(100, min_samples_leaf=5, random_state=0, n_jobs=1)
            .fit(Z[tr][~np.isnan(y[tr, j])], y[tr][~np.isnan(y[tr, j]), j])
            .predict(Z[te])
            for j in range(y.shape[1])
        ]
    )
    rf = float(np.nanmean(np.abs(np.round(rf_pred) - y[te])))
    default = twin_mae()
    single = twin_mae(target_offsets=False)
    assert default <= rf - 0.05, (default, rf)
    assert default <= single - 0.05, (default, single)


def test_auto_keeps_the_variant_with_the_lower_validation_loss(small_survey):
    s = small_survey
    auto = make_model(s.kpi, 6, target_offsets="auto").fit(s.X_tr, s.y_tr)
    losses = auto.target_offsets_validation_loss_
    assert losses.shape == (2,) and np.all(np.isfinite(losses))
    chosen = bool(np.argmin(losses))
    assert auto.target_offsets_ is chosen
    assert auto.best_validation_loss_ == pytest.approx(losses.min(), rel=1e-12)
    # the kept model is exactly the plain fit of that variant (same split, same batches)
    plain = make_model(s.kpi, 6, target_offsets=chosen).fit(s.X_tr, s.y_tr)
    assert plain.best_validation_loss_ == pytest.approx(losses.min(), rel=1e-12)
    np.testing.assert_allclose(auto.predict(s.X_te), plain.predict(s.X_te), atol=1e-12)
    other = make_model(s.kpi, 6, target_offsets=not chosen).fit(s.X_tr, s.y_tr)
    assert other.best_validation_loss_ == pytest.approx(losses.max(), rel=1e-12)
    assert plain.target_offsets_validation_loss_ is None
