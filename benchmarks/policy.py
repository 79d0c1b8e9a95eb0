"""DRPolicyClassifier (exact depth-2 policy tree) vs EconML DRPolicyTree, in two settings.

Hillstrom e-mail experiment (3 arms, propensity 1/3), outcome two-week spend: learn on 80%,
evaluate every learned policy on the same 20% hold-out with one independent evaluator (DR
scores with outcome models cross-fitted on the hold-out, known propensity), with 95% CIs and
the paired difference. EconML runs with its default nuisance models and with skcrm's
outcome model, so that the fit-time ratio separates nuisances from the policy search.

    .venv-bench/bin/python benchmarks/policy.py            # full (EconML takes minutes)
    .venv/bin/python benchmarks/policy.py --quick          # smoke test, no peer needed
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    interleaved,
    peak_rss_mib,
    peer,
    setup,
    timed,
    write_results,
)

args = setup(__doc__.splitlines()[0])

import numpy as np  # noqa: E402

from skcrm.datasets import load_hillstrom  # noqa: E402
from skcrm.policy import DRPolicyClassifier, PolicyTreeClassifier  # noqa: E402
from skcrm.policy._demo import ARMS, CONTROL, hillstrom_design, hillstrom_split  # noqa: E402

frame = load_hillstrom()
if args.quick:
    frame = frame.sample(5000, random_state=0).reset_index(drop=True)
X = hillstrom_design(frame)
y = frame["spend"].to_numpy(dtype=float)
a = frame["segment"].astype(str).to_numpy()
train, test = hillstrom_split(frame)
Xtr, Xte = X.iloc[train], X.iloc[test]


def fit_skcrm():
    return DRPolicyClassifier(
        policy_model=PolicyTreeClassifier(max_depth=2, min_samples_leaf=500),
        control=CONTROL,
        random_state=0,
    ).fit(Xtr, y[train], treatment=a[train], propensity=1 / 3)


times = interleaved({"skcrm": fit_skcrm}, repeats=args.repeats)
ours = fit_skcrm()


# One independent evaluator for every policy: DR scores (eq. 19) on the hold-out with the
# known propensity 1/3 and an outcome model cross-fitted on the hold-out itself (2 folds),
# so neither learner's own nuisance models score its policy.
def evaluator_scores():
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.model_selection import KFold

    from skcrm.utils import check_treatment, dr_scores

    Xe, ye = Xte.to_numpy(), y[test]
    info = check_treatment(a[test], control=CONTROL)
    K = info.n_actions
    mu = np.empty((len(ye), K))
    for fit_rows, pred_rows in KFold(2, shuffle=True, random_state=123).split(Xe):
        for k in range(K):
            rows = fit_rows[info.codes[fit_rows] == k]
            model = HistGradientBoostingRegressor(max_iter=100, random_state=123)
            mu[pred_rows, k] = model.fit(Xe[rows], ye[rows]).predict(Xe[pred_rows])
    return info, dr_scores(mu, info.codes, ye, np.full(len(ye), 1 / 3))


info, G = evaluator_scores()
n_te = G.shape[0]
control_idx = info.control_index


def summary(pred_labels):
    codes = info.encode(np.broadcast_to(np.asarray(pred_labels, dtype=object), (n_te,)).astype(str))
    psi = G[np.arange(n_te), codes]
    return psi


def fmt_ci(lo, hi):
    return f"[{lo:.3f}, {hi:.3f}]"


psi_ours = summary(ours.predict(Xte))
z = 1.959964


def row(name, psi, **extra):
    v, se = psi.mean(), psi.std(ddof=1) / np.sqrt(n_te)
    d = psi_ours - psi
    dv, dse = d.mean(), d.std(ddof=1) / np.sqrt(n_te)
    out = {
        "learner": name,
        **extra,
        "heldout_value": v,
        "ci95": fmt_ci(v - z * se, v + z * se),
        "skcrm_minus_this": dv,
        "diff_ci95": fmt_ci(dv - z * dse, dv + z * dse) if dse > 0 else "",
    }
    return out, dv, dse


rows = [
    row(
        "skcrm DRPolicyClassifier (HGB outcome, known 1/3, exact depth-2 tree)",
        psi_ours,
        fit_s=times["skcrm"]["median"],
        fit_s_cold=times["skcrm"]["cold"],
    )[0]
]
for arm in ARMS:
    rows.append(row(f"always {arm}", summary(arm))[0])

notes = [
    f"n_train = {len(train)}, n_test = {len(test)}, features = {list(X.columns)}",
    "held-out values: one independent evaluator for every policy: DR scores (eq. 17/19) on "
    "the hold-out with the known propensity 1/3 and per-arm HistGradientBoostingRegressor "
    "outcome models cross-fitted on the hold-out itself (2 folds), used by no learner; "
    "'skcrm_minus_this' is the paired difference (95% normal CI)",
    "skcrm fit: median of interleaved repeats after a warm-up (whole fit: cross-fitted "
    "outcome model, DR scores, exact tree); EconML fits once, not interleaved with skcrm; on "
    "a shared machine the load differs between the two",
]
econml = peer("econml")
if econml is not None:
    from econml.policy import DRPolicyTree
    from sklearn.dummy import DummyClassifier
    from sklearn.ensemble import HistGradientBoostingRegressor

    categories = [CONTROL] + [arm for arm in ARMS if arm != CONTROL]
    settings = (
        (
            "EconML DRPolicyTree(max_depth=2), its default nuisances",
            lambda: DRPolicyTree(max_depth=2, categories=categories, random_state=0),
        ),
        (
            "EconML DRPolicyTree(max_depth=2), skcrm's outcome model (HGB), prior propensity",
            lambda: DRPolicyTree(
                model_regression=HistGradientBoostingRegressor(random_state=0),
                model_propensity=DummyClassifier(strategy="prior"),
                max_depth=2,
                categories=categories,
                random_state=0,
            ),
        ),
    )
    if args.quick:
        settings = settings[1:]
    for name, make in settings:
        model, seconds = timed(lambda make=make: make().fit(y[train], a[train], X=Xtr.to_numpy()))
        pred = np.asarray(model.predict(Xte.to_numpy()))
        if pred.dtype.kind in "iu":
            pred = np.asarray(categories)[pred]
        out, dv, dse = row(
            name,
            summary(pred),
            fit_s=seconds,
            econml_over_skcrm_fit_time=seconds / times["skcrm"]["median"],
        )
        rows.append(out)
        print(rows[-1], flush=True)
        # same answer first: skcrm's policy must not be detectably worse than the peer's
        if dv < -2 * dse:
            sys.exit(f"skcrm's policy is worse than {name}: {dv:.3f}")
    notes.append(
        "EconML defaults: WeightedLassoCV outcome, LogisticRegressionCV propensity, cv=2; "
        "second setting: HistGradientBoostingRegressor(random_state=0) outcome (skcrm's "
        "default) and DummyClassifier(strategy='prior') propensity (the empirical arm "
        f"shares, ~1/3: EconML cannot take the known design); econml {econml.__version__}"
    )
notes.append(f"peak RSS {peak_rss_mib():.0f} MiB")
write_results(
    "policy",
    args,
    {"Hillstrom spend: fit time and held-out DR value per customer ($)": rows},
    notes=notes,
    libraries=("skcrm", "numpy", "sklearn", "econml"),
)
