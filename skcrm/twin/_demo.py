"""Demo section: the digital twin on a survey at the paper's shape (3 firms, 10 periods,
7 targets), scored against a random forest, IterativeImputer and the generator's oracle."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd


def _design(X, medians):
    Z = X.drop(columns=["firm", "period"]).fillna(medians)
    Z["speed_missing"] = X["speed_sat"].isna().astype(float)
    onehot = pd.get_dummies(X[["firm", "period"]].astype(str), dtype=float)
    return pd.concat([Z, onehot], axis=1).to_numpy()


def run(report, quick=False):
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer
    from sklearn.model_selection import train_test_split

    from ..datasets import make_digital_twin_survey
    from . import DigitalTwinRegressor
    from .plotting import plot_baselines_and_loadings, plot_driver_effects, plot_twin_simplex

    n_per_cell = 40 if quick else 200
    X, y, kpi, truth = make_digital_twin_survey(
        n_per_cell=n_per_cell, n_firms=3, n_periods=10, random_state=0
    )
    idx = np.arange(len(y))
    tr, te = train_test_split(
        idx, test_size=0.2, random_state=0, stratify=10 * X["firm"] + X["period"]
    )
    X_tr, X_te, y_tr, y_te = X.iloc[tr], X.iloc[te], y[tr], y[te]
    report.text(
        f"Simulated brand survey at the paper's shape: {X['firm'].nunique()} firms x "
        f"{X['period'].nunique()} quarters x {n_per_cell} respondents, {y.shape[1]} ordinal "
        "targets (LTR, phone LTR, satisfaction, retention, feeling about each firm), 4 firm "
        "KPIs. Each respondent is seen at one (firm, quarter) only; the twin completes the "
        "rest. The generator knows every respondent's true answer probabilities anywhere."
    )
    est = DigitalTwinRegressor(
        firm_col="firm",
        time_col="period",
        kpi=kpi,
        max_iter=15 if quick else 200,
        n_iter_no_change=15,
        early_stopping=not quick,
        random_state=0,
    )
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X_tr, y_tr)
    fit_s = time.perf_counter() - t0

    medians = X_tr.median()
    Z_tr, Z_te = _design(X_tr, medians), _design(X_te, medians)
    t0 = time.perf_counter()
    n_trees = 50 if quick else 100  # 200 took 10.6 s on a busy 2-core machine
    rf = RandomForestRegressor(n_trees, min_samples_leaf=5, random_state=0)
    rf.fit(Z_tr, y_tr)
    rf_pred = np.round(rf.predict(Z_te))
    rf_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    stacked = np.vstack([np.column_stack([Z_tr, y_tr]), np.column_stack([Z_te, np.nan * y_te])])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        filled = IterativeImputer(random_state=0, max_iter=5 if quick else 10).fit_transform(
            stacked
        )
    ii_pred = np.round(filled[len(tr) :, Z_tr.shape[1] :])
    ii_s = time.perf_counter() - t0
    oracle = truth.true_probs(truth.F.iloc[te], X_te["firm"], X_te["period"])
    oracle_pred = np.column_stack([(np.cumsum(p, 1) < 0.5).sum(1) for p in oracle])
    twin_pred = est.counterfactual_predict(X_te, statistic="median")
    rows = [
        ("DigitalTwinRegressor", twin_pred, fit_s),
        (f"RandomForest ({n_trees} trees)", rf_pred, rf_s),
        ("IterativeImputer (transductive)", ii_pred, ii_s),
        ("oracle (true parameters)", oracle_pred, np.nan),
    ]
    table = pd.DataFrame(
        {
            "MAE (all targets)": [float(np.abs(p - y_te).mean()) for _, p, _ in rows],
            "MAE LTR": [float(np.abs(p[:, 0] - y_te[:, 0]).mean()) for _, p, _ in rows],
            "fit seconds": [s for *_, s in rows],
        },
        index=pd.Index([r[0] for r in rows], name="held-out respondents"),
    )
    report.table(table, caption="Whole-row held-out accuracy (lower is better)")

    report.text(
        "The digital twin: the same respondents as if they were customers of each firm at "
        "their own quarter. E[LTR] from the model against the generator's truth:"
    )
    show = X_te.iloc[:4]
    F_show = truth.F.iloc[te[:4]]
    cf = {}
    for k in est.firms_:
        model = est.counterfactual_predict(show, firm=k, statistic="mean")[:, 0]
        true = truth.true_probs(F_show, np.full(4, k), show["period"])[0] @ np.arange(11)
        cf[f"firm {k}: model"] = model
        cf[f"firm {k}: truth"] = true
    frame = pd.DataFrame(cf, index=pd.Index(show["firm"].to_numpy(), name="own firm"))
    report.table(frame, caption="E[LTR] of four test respondents at every firm", floatfmt=".2f")

    deltas = np.round(np.arange(-2, 2.0001, 0.25), 10)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, feature in zip(axes, ("speed_sat", "change_likelihood"), strict=True):
        ok = ~X_te[feature].isna().to_numpy()
        curves = est.driver_effects(X_te[ok], [feature], deltas)[:, 0]
        F = truth.F.iloc[te[ok]]
        true_pd = np.array(
            [
                truth.true_affinity(F.assign(**{feature: F[feature] + d}), X_te["firm"][ok]).mean()
                for d in deltas
            ]
        )
        plot_driver_effects(curves, deltas, feature, truth=true_pd, ax=ax)
    report.figure(
        fig,
        "twin_drivers",
        "Figure 7 analogue: affinity against shifts of network-speed satisfaction (convex) "
        "and likelihood to change (saturating decrease); grey: individual curves",
    )
    fig, ax = plt.subplots(figsize=(4.5, 4))
    plot_twin_simplex(est.twin_simplex(X_te), X_te["firm"], ax=ax)
    report.figure(
        fig,
        "twin_simplex",
        "Figure 4 analogue: softmax of each respondent's affinity under the three firms at "
        "the first quarter (cross-firm z levels are identified only through the priors)",
    )
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    plot_baselines_and_loadings(est, target=0, axes=axes, target_name="LTR")
    report.figure(fig, "twin_alpha_loadings", "Figures 5-6 analogue: LTR baseline and loading")
