"""Shared set-up and metrics of the spec's acceptance checks (section 7)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.model_selection import train_test_split

from skcrm.datasets import make_digital_twin_survey
from skcrm.twin import DigitalTwinRegressor

QUICK = {"n_per_cell": 200, "max_iter": 100}
STANDARD = {"n_per_cell": 500, "max_iter": 200}
MODELS = {
    1: {"customer_encoder": "linear", "firm_encoder": "linear"},
    2: {"customer_encoder": "none", "firm_encoder": "mlp"},
    3: {"customer_encoder": "mlp", "firm_encoder": "none"},
    4: {"customer_encoder": "mlp", "firm_encoder": "mlp"},
}
DELTAS = np.round(np.arange(-2, 2.0001, 0.1), 10)


class Survey:
    """The generator draw and the 80/20 split stratified by (firm, period)."""

    def __init__(self, n_per_cell, random_state=0, **kwargs):
        X, y, kpi, truth = make_digital_twin_survey(
            n_per_cell=n_per_cell, random_state=random_state, **kwargs
        )
        idx = np.arange(len(y))
        tr, te = train_test_split(
            idx, test_size=0.2, random_state=0, stratify=10 * X["firm"] + X["period"]
        )
        self.X, self.y, self.kpi, self.truth = X, y, kpi, truth
        shuffled = np.random.default_rng(0).permutation(len(y))
        self.X_shuffled, self.y_shuffled = X.iloc[shuffled], y[shuffled]
        self.tr, self.te = tr, te
        self.X_tr, self.X_te = X.iloc[tr], X.iloc[te]
        self.y_tr, self.y_te = y[tr], y[te]
        self.F_te = truth.F.iloc[te]
        self.firm_te = X["firm"].to_numpy()[te]
        self.period_te = X["period"].to_numpy()[te]


def make_model(kpi, max_iter, model=4, **kwargs):
    params = {
        "firm_col": "firm",
        "time_col": "period",
        "kpi": kpi,
        "hidden_layer_sizes": (32,),
        "weight_decay": 0.5,
        "early_stopping": True,
        "n_iter_no_change": 15,
        "max_iter": max_iter,
        "learning_rate": 3e-3,
        "batch_size": 256,
        "random_state": 0,
        **MODELS[model],
    }
    params.update(kwargs)
    return DigitalTwinRegressor(**params)


def fit_model(survey, max_iter, model=4, **kwargs):
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return make_model(survey.kpi, max_iter, model, **kwargs).fit(survey.X_tr, survey.y_tr)


def mae(pred, y):
    return float(np.nanmean(np.abs(np.asarray(pred) - y)))


def model_mae(est, s):
    return mae(est.counterfactual_predict(s.X_te, statistic="median"), s.y_te)


def _design(s, rows):
    X = s.X.iloc[rows]
    med = s.X_tr.median()
    Z = X.fillna(med).drop(columns=["firm", "period"])
    Z["speed_missing"] = X["speed_sat"].isna().astype(float)
    onehot = pd.get_dummies(X[["firm", "period"]].astype(str), dtype=float)
    return pd.concat([Z, onehot], axis=1).to_numpy()


def baseline_maes(s):
    """Whole-row held-out MAE of the spec's baselines (section 6.3)."""
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer
    from sklearn.linear_model import LinearRegression

    Ztr, Zte = _design(s, s.tr), _design(s, s.te)
    rf = RandomForestRegressor(200, min_samples_leaf=5, random_state=0, n_jobs=1).fit(Ztr, s.y_tr)
    lr = LinearRegression().fit(Ztr, s.y_tr)
    out = {
        "rf": mae(np.round(rf.predict(Zte)), s.y_te),
        "lr": mae(np.round(lr.predict(Zte)), s.y_te),
        "rf_r2": r2_per_target(rf.predict(Zte), s.y_te),
        "lr_r2": r2_per_target(lr.predict(Zte), s.y_te),
    }
    stacked = np.vstack([np.column_stack([Ztr, s.y_tr]), np.column_stack([Zte, np.nan * s.y_te])])
    filled = IterativeImputer(random_state=0, max_iter=10).fit_transform(stacked)
    out["ii"] = mae(np.round(filled[len(s.tr) :, Ztr.shape[1] :]), s.y_te)
    cell = 10 * s.X["firm"].to_numpy() + s.X["period"].to_numpy()
    med = np.array([np.nanmedian(s.y_tr[cell[s.tr] == c], axis=0) for c in cell[s.te]])
    out["cell_median"] = mae(med, s.y_te)
    out["oracle"] = oracle_mae(s)
    return out


def r2_per_target(pred, y):
    from sklearn.metrics import r2_score

    return np.array([r2_score(y[:, j], pred[:, j]) for j in range(y.shape[1])])


def oracle_probs(s, firm=None, period=None):
    f = s.firm_te if firm is None else firm
    p = s.period_te if period is None else period
    return s.truth.true_probs(s.F_te, f, p)


def oracle_mae(s):
    med = np.column_stack([(np.cumsum(pj, 1) < 0.5).sum(1) for pj in oracle_probs(s)])
    return mae(med, s.y_te)


def oracle_mean(probs):
    return np.column_stack([pj @ np.arange(pj.shape[1]) for pj in probs])


def partial_row_masks(s):
    rng = np.random.default_rng(1)
    mask = rng.random(s.y_te.shape) < 0.3
    y_masked = s.y_te.copy()
    y_masked[mask] = np.nan
    return mask, y_masked


def partial_row_maes(est, s, with_ii=True):
    """MAE on the masked cells: the model's impute and transductive IterativeImputer."""
    mask, y_masked = partial_row_masks(s)
    out = {
        "model": float(
            np.abs(est.impute(s.X_te, y_masked, statistic="median") - s.y_te)[mask].mean()
        )
    }
    if with_ii:
        from sklearn.experimental import enable_iterative_imputer  # noqa: F401
        from sklearn.impute import IterativeImputer

        Ztr, Zte = _design(s, s.tr), _design(s, s.te)
        stacked = np.vstack([np.column_stack([Ztr, s.y_tr]), np.column_stack([Zte, y_masked])])
        filled = IterativeImputer(random_state=0, max_iter=10).fit_transform(stacked)
        out["ii"] = float(
            np.abs(np.round(filled[len(s.tr) :, Ztr.shape[1] :]) - s.y_te)[mask].mean()
        )
    return out


def explained_fraction(est, s):
    mu, sd = est.affinity(s.X_te, return_std=True)
    truth_h = s.truth.h[s.te]
    sz = s.truth.affinity_noise
    return (
        float(np.var(mu) / (np.var(mu) + np.mean(sd**2))),
        float(np.var(truth_h) / (np.var(truth_h) + sz**2)),
    )


def loadings_cosine(est, s):
    est_l, true_l = est.loadings_, s.truth.lam
    num = (est_l * true_l).sum(0)
    den = np.linalg.norm(est_l, axis=0) * np.linalg.norm(true_l, axis=0)
    return float((num / den).mean())


def counterfactual_metrics(est, s):
    """Section 7.3 item 18: E[y] errors against the oracle on counterfactual cells."""
    K, T = est.n_firms_, est.n_periods_
    fact, cf, spear = [], [], []
    for k in range(K):
        for t in range(T):
            model = est.counterfactual_predict(s.X_te, firm=k, period=t, statistic="mean")
            oracle = oracle_mean(oracle_probs(s, np.full(len(s.te), k), np.full(len(s.te), t)))
            err = np.abs(model - oracle).mean(1)
            own = (s.firm_te == k) & (s.period_te == t)
            fact.append(err[own])
            cf.append(err[~own])
            spear.append(spearmanr(model[~own, 0], oracle[~own, 0])[0])
    return {
        "factual": float(np.concatenate(fact).mean()),
        "counterfactual": float(np.concatenate(cf).mean()),
        "min_spearman": float(min(spear)),
    }


def best_firm_metrics(est, s):
    K = est.n_firms_
    model = np.column_stack(
        [
            est.counterfactual_predict(s.X_te, firm=k, period=0, statistic="mean")[:, 0]
            for k in range(K)
        ]
    )
    oracle = np.column_stack(
        [
            oracle_mean(oracle_probs(s, np.full(len(s.te), k), np.zeros(len(s.te), int)))[:, 0]
            for k in range(K)
        ]
    )
    mb, ob = model.argmax(1), oracle.argmax(1)
    return {
        "agreement": float((mb == ob).mean()),
        "model_shares": np.bincount(mb, minlength=K),
        "oracle_shares": np.bincount(ob, minlength=K),
    }


def driver_metrics(est, s, feature):
    """PD curves, slopes and individual-effect Spearman against the truth (section 7.4)."""
    ok = ~s.X_te[feature].isna().to_numpy()
    curves = est.driver_effects(s.X_te[ok], [feature], DELTAS)[:, 0]
    pd_model = curves.mean(0)
    F = s.F_te[ok]
    true_curves = np.column_stack(
        [
            s.truth.true_affinity(F.assign(**{feature: F[feature] + d}), s.firm_te[ok])
            for d in DELTAS
        ]
    )
    pd_true = true_curves.mean(0)
    A = np.column_stack([pd_model, np.ones_like(pd_model)])
    coef, *_ = np.linalg.lstsq(A, pd_true, rcond=None)
    r2 = 1 - ((pd_true - A @ coef) ** 2).sum() / ((pd_true - pd_true.mean()) ** 2).sum()
    i0, im2, ip2, ip1 = (int(np.argmin(np.abs(DELTAS - d))) for d in (0, -2, 2, 1))
    s1 = (pd_model[i0] - pd_model[im2]) / 2
    s2 = (pd_model[ip2] - pd_model[i0]) / 2
    eff_model = curves[:, ip1] - curves[:, i0]
    eff_true = true_curves[:, ip1] - true_curves[:, i0]
    return {
        "pd": pd_model,
        "affine_r2": float(r2),
        "s1": float(s1),
        "s2": float(s2),
        "spearman": float(spearmanr(eff_model, eff_true)[0]) if eff_model.std() > 0 else np.nan,
        "effect_sd": float(eff_model.std()),
    }


def recommend_agreement(est, s):
    deltas = {"speed_sat": 1.0, "reliability_sat": 1.0, "change_likelihood": -1.0}
    rec = est.recommend_actions(s.X_te, list(deltas), deltas)
    F = s.F_te
    base = s.truth.true_affinity(F, s.firm_te)
    gains = np.column_stack(
        [
            s.truth.true_affinity(F.assign(**{f: F[f] + d}), s.firm_te) - base
            for f, d in deltas.items()
        ]
    )
    true_best = np.array(list(deltas))[gains.argmax(1)]
    ok = rec["best_feature"].notna().to_numpy()
    return float((rec["best_feature"].to_numpy()[ok] == true_best[ok]).mean())


def oracle_nll(s, n_nodes=40):
    """Average -log p(y_i | x_i) under the true parameters, z integrated out jointly."""
    nodes, w = np.polynomial.hermite_e.hermegauss(n_nodes)
    w = w / w.sum()
    y = s.y_te.astype(int)
    logs = []
    for node in nodes:
        probs = s.truth.true_probs(s.F_te, s.firm_te, s.period_te, xi=np.full(len(y), node))
        logs.append(sum(np.log(p[np.arange(len(y)), y[:, j]]) for j, p in enumerate(probs)))
    logs = np.array(logs) + np.log(w)[:, None]
    m = logs.max(0)
    return float(-np.mean(m + np.log(np.exp(logs - m).sum(0))))
