"""DRPolicyClassifier (exact depth-2 policy tree) vs EconML DRPolicyTree / DRPolicyForest.

Hillstrom e-mail experiment (3 arms, propensity 1/3), outcome two-week spend: learn on 80%,
evaluate every learned policy on the same 20% hold-out with the same DR scores (skcrm's
outcome model refit on the training rows; eq. 17), with 95% CIs and the paired difference.

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
kw = {"treatment": a[test], "propensity": 1 / 3, "n_boot": 1000, "random_state": 0}
base = ours.evaluate(Xte, y[test], **kw)


def fmt_ci(ci):
    return f"[{ci[0]:.3f}, {ci[1]:.3f}]"


rows = [
    {
        "learner": "skcrm DRPolicyClassifier (exact depth-2 tree)",
        "fit_s": times["skcrm"]["median"],
        "fit_s_cold": times["skcrm"]["cold"],
        "heldout_value": base["value"],
        "ci95": fmt_ci(base["ci"]),
        "ci95_bootstrap": fmt_ci(base["ci_bootstrap"]),
        "skcrm_minus_this": 0.0,
        "diff_ci95": "",
    }
]
for arm in ARMS:
    res = ours.evaluate(Xte, y[test], policy=arm, **kw)
    rows.append(
        {
            "learner": f"always {arm}",
            "heldout_value": res["policy_value"],
            "ci95": fmt_ci(res["policy_ci"]),
            "skcrm_minus_this": res["difference"],
            "diff_ci95": fmt_ci(res["difference_ci"]),
        }
    )

notes = [
    f"n_train = {len(train)}, n_test = {len(test)}, features = {list(X.columns)}",
    "held-out values: DR (eq. 17) with skcrm's outcome model fitted on the training rows and "
    "the known propensity 1/3; 'skcrm_minus_this' is the paired difference (95% normal CI)",
    "skcrm fit: median of interleaved repeats after a warm-up; EconML fits once (minutes), "
    "not interleaved with skcrm; on a shared machine the load differs between the two",
]
econml = peer("econml")
if econml is not None:
    from econml.policy import DRPolicyForest, DRPolicyTree

    categories = list(ARMS)
    for name, make in (
        (
            "EconML DRPolicyTree(max_depth=2)",
            lambda: DRPolicyTree(max_depth=2, categories=categories, random_state=0),
        ),
        ("EconML DRPolicyForest()", lambda: DRPolicyForest(categories=categories, random_state=0)),
    ):
        model, seconds = timed(lambda make=make: make().fit(y[train], a[train], X=Xtr.to_numpy()))
        pred = np.asarray(model.predict(Xte.to_numpy()))
        if pred.dtype.kind in "iu":
            pred = np.asarray(categories)[pred]
        res = ours.evaluate(Xte, y[test], policy=pred, **kw)
        rows.append(
            {
                "learner": name,
                "fit_s": seconds,
                "heldout_value": res["policy_value"],
                "ci95": fmt_ci(res["policy_ci"]),
                "skcrm_minus_this": res["difference"],
                "diff_ci95": fmt_ci(res["difference_ci"]),
                "speedup_vs_skcrm": seconds / times["skcrm"]["median"],
            }
        )
        print(rows[-1], flush=True)
        # same answer first: skcrm's policy must not be detectably worse than the peer's
        if res["difference"] < -2 * res["difference_se"]:
            sys.exit(f"skcrm's policy is worse than {name}: {res['difference']:.3f}")
    notes.append(
        "EconML: default nuisances (WeightedLassoCV outcome, LogisticRegressionCV "
        "propensity, cv=2), categories with No E-Mail first; econml "
        f"{econml.__version__}"
    )
notes.append(f"peak RSS {peak_rss_mib():.0f} MiB")
write_results(
    "policy",
    args,
    {"Hillstrom spend: fit time and held-out DR value per customer ($)": rows},
    notes=notes,
    libraries=("skcrm", "numpy", "sklearn", "econml"),
)
