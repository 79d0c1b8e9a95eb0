"""Choosing POMDPPolicy's number of states: BIC against cross-validated score on the CRM
simulator (true number of states: 2), over several seeds.

Usage: python benchmarks/pomdp_model_selection.py [--quick] [--seeds 8]
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import setup, write_results  # noqa: E402


def _args(parser):
    parser.add_argument("--seeds", type=int, default=8)


ARGS = setup(__doc__.splitlines()[0], extra_args=_args)

import numpy as np  # noqa: E402
from sklearn.model_selection import GroupKFold, cross_val_score  # noqa: E402

from skcrm.datasets import make_pomdp_crm  # noqa: E402
from skcrm.pomdp import POMDPPolicy  # noqa: E402


def main():
    warnings.simplefilter("ignore")
    seeds = 1 if ARGS.quick else ARGS.seeds
    n_customers, n_periods = (60, 15) if ARGS.quick else (400, 40)
    rows = []
    for seed in range(seeds):
        X, y, _ = make_pomdp_crm(n_customers=n_customers, n_periods=n_periods, random_state=seed)
        res = {}
        for k in (1, 2, 3):
            kw = {"n_states": k, "n_init": 3, "n_belief_points": 21, "random_state": seed}
            est = POMDPPolicy(**kw).fit(X, y)
            cv = cross_val_score(POMDPPolicy(**kw), X, y, groups=X["customer_id"], cv=GroupKFold(5))
            res[k] = (est.bic_, cv.mean(), cv.std(ddof=1) / np.sqrt(len(cv)))
        best = max(res, key=lambda k: res[k][1])
        one_se = min(k for k in res if res[k][1] >= res[best][1] - res[best][2])
        rows.append(
            {
                "seed": seed,
                "BIC picks": min(res, key=lambda k: res[k][0]),
                "best score picks": best,
                "one-SE rule picks": one_se,
                "BIC (1 / 2 / 3 states)": " / ".join(f"{res[k][0]:.0f}" for k in (1, 2, 3)),
                "score 2 vs 3 states": f"{res[2][1]:.5f} vs {res[3][1]:.5f}",
            }
        )
    write_results("pomdp_model_selection", ARGS, {"number of states (truth: 2)": rows})


if __name__ == "__main__":
    main()
