"""Demo section: DRPolicyClassifier on the Hillstrom e-mail experiment.

Learn a targeting policy for two-week ``spend`` on 80% of the customers (three arms,
randomised with propensity 1/3 each) and evaluate it on the other 20% with DR values and
confidence intervals, next to "always Mens", "always Womens" and "no e-mail"; then the budget
curve: the best gain per customer when at most a given share of customers can be e-mailed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CONTROL = "No E-Mail"
ARMS = ("No E-Mail", "Mens E-Mail", "Womens E-Mail")


def hillstrom_design(frame):
    """Pre-treatment covariates of Hillstrom as a numeric DataFrame (one-hot categories)."""
    X = frame[["recency", "history", "mens", "womens", "newbie"]].astype(float)
    for col, levels in (("zip_code", ("Surburban", "Urban")), ("channel", ("Web", "Multichannel"))):
        for level in levels:
            X[f"{col}_{level.lower()}"] = (frame[col].astype(str) == level).astype(float)
    return X


def hillstrom_split(frame, test_size=0.2, random_state=0):
    """Random train/test row indices (the 80/20 split of the paper's section 5.1)."""
    rng = np.random.default_rng(random_state)
    order = rng.permutation(len(frame))
    n_test = int(round(test_size * len(frame)))
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def evaluate_against_baselines(policy, X, y, treatment, propensity, n_boot=1000, seed=0):
    """Table of DR values with normal and bootstrap CIs: learned policy and fixed arms."""
    rows = {}
    base = policy.evaluate(
        X, y, treatment=treatment, propensity=propensity, n_boot=n_boot, random_state=seed
    )
    rows["learned policy"] = {
        "value": base["value"],
        "se": base["se"],
        "ci_low": base["ci"][0],
        "ci_high": base["ci"][1],
        "boot_low": base["ci_bootstrap"][0],
        "boot_high": base["ci_bootstrap"][1],
        "gain_vs_no_email": base["gain"],
        "gain_ci": f"[{base['gain_ci'][0]:.3f}, {base['gain_ci'][1]:.3f}]",
        "learned_minus_this": 0.0,
        "diff_ci": "",
    }
    for arm in ARMS:
        res = policy.evaluate(
            X,
            y,
            treatment=treatment,
            propensity=propensity,
            policy=arm,
            n_boot=n_boot,
            random_state=seed,
        )
        psi_ci = res["policy_ci"]
        gain = res["policy_value"] - res["baseline_value"]
        rows[f"always {arm}"] = {
            "value": res["policy_value"],
            "se": res["policy_se"],
            "ci_low": psi_ci[0],
            "ci_high": psi_ci[1],
            "boot_low": res["policy_ci_bootstrap"][0],
            "boot_high": res["policy_ci_bootstrap"][1],
            "gain_vs_no_email": gain,
            "gain_ci": "",
            "learned_minus_this": res["difference"],
            "diff_ci": f"[{res['difference_ci'][0]:.3f}, {res['difference_ci'][1]:.3f}]",
        }
    return pd.DataFrame(rows).T.infer_objects(), base


BUDGETS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)


def hillstrom_budget_curve(policy, X, y, treatment, budgets=BUDGETS):
    """Held-out budget curve: one e-mail costs 1, the budget is the share e-mailed."""
    return policy.budget_curve(
        X, y, treatment=treatment, propensity=1 / 3, budgets=np.asarray(budgets)
    )


def run(report, quick=False):
    """Write the policy section of ``python -m skcrm demo``."""
    import matplotlib.pyplot as plt

    from skcrm.datasets import load_hillstrom

    from ._estimator import DRPolicyClassifier
    from ._policy_tree import PolicyTreeClassifier
    from .plotting import plot_budget_curve, plot_policy_tree

    frame = load_hillstrom()
    if quick:
        frame = frame.sample(20_000, random_state=0).reset_index(drop=True)
    X = hillstrom_design(frame)
    y = frame["spend"].to_numpy(dtype=float)
    a = frame["segment"].astype(str).to_numpy()
    train, test = hillstrom_split(frame)
    policy = DRPolicyClassifier(
        policy_model=PolicyTreeClassifier(max_depth=2, min_samples_leaf=500),
        control=CONTROL,
        random_state=0,
    ).fit(X.iloc[train], y[train], treatment=a[train], propensity=1 / 3)
    report.text(
        f"Hillstrom: {len(frame):,} customers randomised to {', '.join(ARMS)} (propensity 1/3). "
        f"Outcome: two-week spend ($). DRPolicyClassifier with an exact depth-2 policy tree "
        f"learned on {len(train):,} customers (80%), evaluated on the other {len(test):,} "
        "with the DR value (eq. 17); 95% normal and bootstrap (1,000 draws) intervals."
    )
    table, base = evaluate_against_baselines(
        policy, X.iloc[test], y[test], a[test], 1 / 3, n_boot=200 if quick else 1000
    )
    report.table(table, caption="Held-out DR value per customer ($, two weeks)", floatfmt=".3f")
    shares = ", ".join(f"{k}: {v:.1%}" for k, v in base["action_shares"].items())
    report.text(f"Learned policy's action shares on the test customers: {shares}.")
    fig, ax = plt.subplots(figsize=(10, 4.8))
    plot_policy_tree(policy, ax=ax)
    ax.set_title("Whom to send which e-mail (leaf value: mean DR spend, $ per customer)")
    report.figure(
        fig, "policy_hillstrom_tree", caption="Depth-2 policy tree learned on Hillstrom spend"
    )
    curve = hillstrom_budget_curve(policy, X.iloc[test], y[test], a[test])
    report.text(
        "Budget curve (multi-armed Qini, `DRPolicyClassifier.budget_curve`): customers and "
        "e-mails are ranked by the outcome model's predicted gain over no e-mail, one e-mail "
        "costs 1, so the budget is the share of customers e-mailed; the value is the gain "
        "per customer over e-mailing no one, measured with held-out DR scores (95% band)."
    )
    report.table(curve, caption="Held-out budget curve ($ per customer)", floatfmt=".3f")
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    plot_budget_curve(curve, ax=ax)
    ax.set_xlabel("share of customers e-mailed (budget, one e-mail = 1)")
    ax.set_ylabel("gain per customer over no e-mail ($, 2 weeks)")
    ax.set_title("Hillstrom: best e-mails under a budget (held-out DR)")
    ax.legend(loc="upper left", fontsize=8)  # the band reaches the lower right corner
    report.figure(fig, "policy_hillstrom_budget", caption="Hillstrom budget curve")
