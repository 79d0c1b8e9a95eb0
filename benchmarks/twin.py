"""DigitalTwinRegressor benchmark: whole-row accuracy at small samples against the baselines.

1. Three generators of different shape (``make_digital_twin_survey``):

   A. the issue's survey: 3 firms x 6 periods, 5 ordinal targets, 35% of the answer
      cells missing at random, the paper's nonlinear drivers;
   B. 4 firms x 3 periods, 8 ordinal targets, 10% missing answers, "heterogeneous"
      drivers (the strongest lever differs between respondents);
   C. 3 firms x 4 periods, 7 ordinal targets, 20% missing answers, the four non-brand
      targets driven by a second latent (``second_factor=True``).

   At 3,000, 6,000 and 15,000 training respondents (plus 25% as many test respondents,
   split stratified by cell), over several seeds: held-out whole-row MAE (every answer of
   a test respondent predicted from X alone, averaged over the observed answer cells) of
   the twin with its **default** settings, a random forest (one per target, on the rows
   where it is observed), IterativeImputer fit transductively on [features, answers], and
   the oracle (true parameters, posterior-predictive median).
2. Paper scale (200,000 respondents, 340 input columns, 7 targets, 3 firms, 10 periods):
   XLA compile time and seconds per epoch (batch 1024) on this machine's cores.

Run: ``python benchmarks/twin.py`` (``--quick`` for tiny sizes; ``--sizes``, ``--seeds``,
``--generators``, ``--twin '{"param": value}'`` and ``--no-scale`` for exploration).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import peak_rss_mib, setup, timed, write_results  # noqa: E402


def _extra(parser):
    parser.add_argument("--sizes", default="3000,6000,15000")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--generators", default="A,B,C")
    parser.add_argument("--twin", default="{}", help="JSON overrides of the twin's defaults")
    parser.add_argument("--no-scale", action="store_true", help="skip the paper-scale timing")
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument(
        "--from-jsonl", default=None, help="comma-separated logs of earlier runs to tabulate"
    )


args = setup(__doc__.splitlines()[0], threads=1, extra_args=_extra)

import warnings  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.ensemble import RandomForestRegressor  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.experimental import enable_iterative_imputer  # noqa: E402, F401
from sklearn.impute import IterativeImputer  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from skcrm.datasets import make_digital_twin_survey  # noqa: E402
from skcrm.twin import DigitalTwinRegressor  # noqa: E402

warnings.simplefilter("ignore", ConvergenceWarning)
QUICK = args.quick

GENERATORS = {
    "A": (
        "3 firms x 6 periods, 5 targets, 35% missing answers, paper drivers",
        {"n_firms": 3, "n_periods": 6, "n_categories": (11, 5), "missing_y_rate": 0.35},
    ),
    "B": (
        "4 firms x 3 periods, 8 targets, 10% missing answers, heterogeneous drivers",
        {"n_firms": 4, "n_periods": 3, "missing_y_rate": 0.1, "drivers": "heterogeneous"},
    ),
    "C": (
        "3 firms x 4 periods, 7 targets, 20% missing answers, the 4 non-brand targets on a "
        "second latent (outside the paper's one-affinity model)",
        {"n_firms": 3, "n_periods": 4, "missing_y_rate": 0.2, "second_factor": True},
    ),
}


def design(X, medians):
    Z = X.drop(columns=["firm", "period"]).fillna(medians)
    Z["speed_missing"] = X["speed_sat"].isna().astype(float)
    onehot = pd.get_dummies(X[["firm", "period"]].astype(str), dtype=float)
    return pd.concat([Z, onehot], axis=1).to_numpy()


def mae(pred, y):
    return float(np.nanmean(np.abs(np.asarray(pred, dtype=float) - y)))


def one_cell(gen, n_train, seed, twin_params, baselines=True):
    """Every method on one draw of generator ``gen`` with ``n_train`` training rows."""
    _, kw = GENERATORS[gen]
    K, T = kw["n_firms"], kw["n_periods"]
    n_per_cell = int(np.ceil(n_train * 1.25 / (K * T)))
    X, y, kpi, truth = make_digital_twin_survey(n_per_cell=n_per_cell, random_state=seed, **kw)
    idx = np.arange(len(y))
    tr, te = train_test_split(
        idx, train_size=n_train, random_state=seed, stratify=10 * X["firm"] + X["period"]
    )
    X_tr, X_te, y_tr, y_te = X.iloc[tr], X.iloc[te], y[tr], y[te]
    out = {"generator": gen, "n_train": n_train, "seed": seed}

    params = {"firm_col": "firm", "time_col": "period", "kpi": kpi, "random_state": seed}
    params.update({"predict_statistic": "median"})
    params.update(twin_params)
    est = DigitalTwinRegressor(**params)
    _, out["twin_s"] = timed(lambda: est.fit(X_tr, y_tr))
    out["twin"] = mae(est.predict(X_te), y_te)
    out["twin_epochs"] = est.n_iter_

    probs = truth.true_probs(truth.F.iloc[te], X_te["firm"], X_te["period"])
    oracle = np.column_stack([(np.cumsum(p, 1) < 0.5).sum(1) for p in probs])
    out["oracle"] = mae(oracle, y_te)
    if not baselines:
        return out

    med = X_tr.median()
    Z_tr, Z_te = design(X_tr, med), design(X_te, med)
    t0 = time.perf_counter()
    rf_pred = np.empty(y_te.shape)
    for j in range(y.shape[1]):
        obs = ~np.isnan(y_tr[:, j])
        rf = RandomForestRegressor(100, min_samples_leaf=5, random_state=seed, n_jobs=1)
        rf_pred[:, j] = rf.fit(Z_tr[obs], y_tr[obs, j]).predict(Z_te)
    out["rf_s"] = time.perf_counter() - t0
    out["rf"] = mae(np.round(rf_pred), y_te)

    stacked = np.vstack([np.column_stack([Z_tr, y_tr]), np.column_stack([Z_te, np.nan * y_te])])
    ii = IterativeImputer(random_state=seed, max_iter=3 if QUICK else 10)
    filled, out["ii_s"] = timed(lambda: ii.fit_transform(stacked))
    out["ii"] = mae(np.round(filled[len(tr) :, Z_tr.shape[1] :]), y_te)
    return out


def accuracy_rows():
    sizes = [300, 600] if QUICK else [int(s) for s in args.sizes.split(",")]
    seeds = [0] if QUICK else [int(s) for s in args.seeds.split(",")]
    twin_params = json.loads(args.twin)
    if QUICK:
        twin_params.setdefault("max_iter", 5)
    rows = []
    for gen in args.generators.split(","):
        for n in sizes:
            for seed in seeds:
                row = one_cell(gen, n, seed, twin_params, baselines=not args.no_baselines)
                print(json.dumps(row), flush=True)
                rows.append(row)
    return pd.DataFrame(rows)


def summary(df):
    """Mean over seeds per (generator, size), with the twin's margin to each baseline."""
    table = []
    for (gen, n), g in df.groupby(["generator", "n_train"]):
        wins = int(((g["twin"] <= g["rf"]) & (g["twin"] <= g["ii"])).sum())
        row = {
            "generator": f"{gen}: {GENERATORS[gen][0]}",
            "train respondents": n,
            "seeds": len(g),
            "twin": g["twin"].mean(),
            "RF": g["rf"].mean(),
            "IterativeImputer": g["ii"].mean(),
            "oracle": g["oracle"].mean(),
            "twin - RF (worst seed)": (g["twin"] - g["rf"]).max(),
            "twin - II (worst seed)": (g["twin"] - g["ii"]).max(),
            "twin <= both (seeds)": f"{wins}/{len(g)}",
            "twin fit s": g["twin_s"].mean(),
            "epochs": g["twin_epochs"].mean(),
            "RF fit s": g["rf_s"].mean(),
            "II fit s": g["ii_s"].mean(),
        }
        table.append(row)
    return table


def paper_scale():
    n, p, J, K, T = (20_000, 40, 7, 3, 10) if QUICK else (200_000, 338, 7, 3, 10)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, p)).astype(np.float32)
    firm = rng.integers(0, K, n)
    period = rng.integers(0, T, n)
    signal = X[:, :5].sum(1) / np.sqrt(5) + 0.3 * firm
    M = np.array([11, 11, 10, 5, 5, 5, 5])
    y = np.column_stack(
        [
            np.clip(np.round((signal + rng.logistic(size=n)) * M[j] / 6 + M[j] / 2), 0, M[j] - 1)
            for j in range(J)
        ]
    )
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(p)])
    frame.insert(0, "period", period)
    frame.insert(0, "firm", firm)
    kpi = rng.normal(size=(K, T, 7))
    est = DigitalTwinRegressor(
        firm_col="firm",
        time_col="period",
        kpi=kpi,
        batch_size=1024,
        max_iter=3,
        early_stopping=False,
        random_state=0,
    )
    _, total = timed(lambda: est.fit(frame, y))
    times = np.array(est.epoch_times_)
    epoch = float(np.median(times[1:]))
    return [
        {
            "N": n,
            "input columns": p + 2,
            "targets": J,
            "firms x periods": f"{K} x {T}",
            "batch": 1024,
            "compile s (first epoch - epoch)": float(times[0] - epoch),
            "s / epoch": epoch,
            "fit s (3 epochs, incl. preprocessing)": total,
            "peak RSS MiB": peak_rss_mib(),
        }
    ]


if args.from_jsonl:
    lines = [ln for f in args.from_jsonl.split(",") for ln in Path(f).read_text().splitlines()]
    df = pd.DataFrame([json.loads(ln) for ln in lines if ln.startswith("{")])
else:
    df = accuracy_rows()
if args.no_baselines:
    print(df.groupby(["generator", "n_train"])[["twin", "oracle", "twin_epochs"]].mean())
    sys.exit(0)
table = summary(df)
print(pd.DataFrame(table).to_string())
sections = {
    "Held-out whole-row MAE, mean over seeds (lower is better)": table,
    "Every run": df.to_dict("records"),
}
if not args.no_scale:
    sections["Paper scale: compile time and seconds per epoch (CPU)"] = paper_scale()
if not args.no_write:
    write_results(
        "twin",
        args,
        sections,
        notes=[
            "MAE: mean over the observed answer cells of test respondents of |prediction - "
            "answer|, every answer predicted from X alone; the twin predicts the "
            "posterior-predictive median with its default settings otherwise.",
            "RF: one RandomForestRegressor(100 trees, min_samples_leaf=5) per target on "
            "the rows where it is observed, prediction rounded. IterativeImputer is fit "
            "transductively on the stacked [features, answers] matrix (max_iter=10), "
            "rounded.",
            "Training respondents = the size; test respondents = a quarter of that, split "
            "stratified by (firm, period). One process, one thread.",
            "No peer library implements this model; the rows are the baselines a user would try.",
            "The twin's default model (target_offsets=True) gives each target a respondent-"
            "level baseline alpha_jkt + delta_j(x) beside the shared affinity z. Generator C "
            "(four of the seven answers follow a second, independent latent) is outside the "
            "paper's one-affinity model (target_offsets=False), which was above RF in every "
            "run by 0.06-0.11 (1.348 / 1.283 / 1.262 vs RF 1.282 / 1.199 / 1.173 at 3k / 6k "
            "/ 15k, 2 seeds, previous results); with the offsets its mean prediction per "
            "answer is inside the model family.",
            "Defaults chosen by validation on seed 5 (not a benchmark seed), 3,000 "
            "respondents, twin only: target_offsets False / True gave MAE 0.9380 / 0.9380 "
            "(A), 1.1989 / 1.2256 (B), 1.4749 / 1.3740 (C), mean 1.2039 / 1.1792, so True. "
            "The validation negative ELBO that target_offsets='auto' compares was 4.194 / "
            "4.222 (A), 11.516 / 11.527 (B), 10.072 / 9.645 (C): 'auto' would keep False, "
            "False, True, the lower-MAE choice on each, at twice the fit time. Earlier "
            "validation (same seed, A / B): weight_decay 0.1, 0.5, 2.0 gave MAE "
            "0.9380 / 0.9380 / 0.9388 (A) and 1.1983 / 1.1989 / 1.1989 (B); hidden (64,) "
            "0.9448 (A) and 1.2116 (B) against (32,) 0.9380 / 1.1989; the defaults "
            "((32,), weight_decay=0.5, early stopping with patience 20) are kept.",
            "This table: one process per generator (and per seed at 15,000) with --no-write, "
            "tabulated with --from-jsonl, because the machine (2 cores) was shared by "
            "several jobs; every cell uses the same code and defaults.",
            "Times were measured on a machine shared by several jobs (2 cores); a process's "
            "first twin fit includes the XLA compilation of the training step, later fits "
            "reuse it (the 3,000-row seed-0 rows).",
        ],
        libraries=("skcrm", "numpy", "sklearn", "jax", "flax", "optax"),
    )
