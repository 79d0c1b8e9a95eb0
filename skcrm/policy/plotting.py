"""Figures for policy learning: the fitted policy tree, policy values with intervals."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_budget_curve", "plot_policy_tree", "plot_policy_values", "plot_toc"]


def _tree_of(model):
    """The PolicyTreeClassifier inside ``model`` (itself or a DRPolicyClassifier's)."""
    if hasattr(model, "tree_"):
        return model
    inner = getattr(model, "policy_model_", None)
    if inner is not None and hasattr(inner, "tree_"):
        return inner
    raise ValueError(
        "plot_policy_tree needs a fitted PolicyTreeClassifier (or a "
        "DRPolicyClassifier whose policy_model is one)"
    )


def plot_policy_tree(model, *, ax=None, feature_names=None, action_names=None, X=None, scores=None):
    """Draw a fitted policy tree with the rule at each split and action and value per leaf.

    Parameters
    ----------
    model : PolicyTreeClassifier or DRPolicyClassifier
        Fitted; a DRPolicyClassifier must use a PolicyTreeClassifier as ``policy_model``.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.
    feature_names, action_names : list of str, optional
        Defaults: the fitted feature names (or ``x0..``) and the action labels.
    X, scores : optional
        Data and (n, K) rewards whose per-leaf mean value is shown; default: the training
        value stored in the tree (summed reward / rows).

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt

    tree_model = _tree_of(model)
    tree = tree_model.tree_
    if feature_names is None:
        names = getattr(model, "policy_feature_names_", None)
        if names is None:
            names = getattr(tree_model, "feature_names_in_", None)
        feature_names = (
            list(names)
            if names is not None
            else [f"x{j}" for j in range(tree_model.n_features_in_)]
        )
    if action_names is None:
        labels = getattr(model, "actions_", tree_model.classes_)
        action_names = [str(c) for c in labels]
    if X is not None and scores is not None:
        leaf_val = tree_model.leaf_values(X, scores)
    else:
        leaf_val = tree["value"] / np.maximum(tree["n_samples"], 1)

    if ax is None:
        _, ax = plt.subplots(figsize=(9, 4.5))
    depth = {0: 0}
    order = [0]
    for node in order:
        if tree["feature"][node] >= 0:
            for child in (tree["left"][node], tree["right"][node]):
                depth[int(child)] = depth[node] + 1
                order.append(int(child))
    max_d = max(depth.values())
    pos = {}

    def place(node, lo, hi):
        pos[node] = ((lo + hi) / 2, -depth[node])
        if tree["feature"][node] >= 0:
            mid = (lo + hi) / 2
            place(int(tree["left"][node]), lo, mid)
            place(int(tree["right"][node]), mid, hi)

    place(0, 0.0, 1.0)
    for node, (x, y) in pos.items():
        f = tree["feature"][node]
        if f >= 0:
            rule = f"{feature_names[f]} <= {tree['threshold'][node]:.4g}"
            text = f"{rule}\nn = {tree['n_samples'][node]}"
            color = "#e8eef7"
            for child, lab in ((tree["left"][node], "yes"), (tree["right"][node], "no")):
                cx, cy = pos[int(child)]
                ax.plot([x, cx], [y, cy], color="0.5", lw=1, zorder=1)
                ax.text((x + cx) / 2, (y + cy) / 2, lab, fontsize=7, color="0.35", ha="center")
        else:
            a = tree["action"][node]
            text = f"action: {action_names[a]}\nvalue: {leaf_val[node]:.3g}"
            text += f"\nn = {tree['n_samples'][node]}"
            color = "#e6f4e6"
        ax.text(
            x,
            y,
            text,
            ha="center",
            va="center",
            fontsize=8,
            zorder=2,
            bbox={"boxstyle": "round", "fc": color, "ec": "0.4"},
        )
    ax.set_xlim(-0.05, 1.05)
    ax.set_ylim(-max_d - 0.6, 0.6)
    ax.axis("off")
    ax.set_title("Policy tree (leaf value = mean DR score of the chosen action)")
    return ax


def plot_policy_values(results, *, ax=None, title=None):
    """Horizontal interval plot of policy values (dict name -> evaluate() result).

    Parameters
    ----------
    results : dict
        Name -> a result of :meth:`~skcrm.policy.DRPolicyClassifier.evaluate`
        (``value`` and ``ci``).
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.
    title : str, optional
        Title of the plot.

    Returns
    -------
    matplotlib Axes
        The drawing.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.5 + 0.5 * len(results)))
    names = list(results)
    for i, name in enumerate(names):
        r = results[name]
        lo, hi = r["ci"]
        ax.plot([lo, hi], [i, i], color="C0", lw=2)
        ax.plot([r["value"]], [i], "o", color="C0")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("DR policy value (95% CI)")
    if title:
        ax.set_title(title)
    return ax


def plot_budget_curve(curve, *, alpha=0.05, label=None, ax=None):
    """Draw a budget (multi-armed Qini) curve with its pointwise normal band.

    Parameters
    ----------
    curve : DataFrame
        The output of :func:`skcrm.policy.budget_curve` or
        :meth:`~skcrm.policy.DRPolicyClassifier.budget_curve` (index ``budget``,
        columns ``value`` and
        ``std_error``).
    alpha : float, default=0.05
        The band is value +- z_{1 - alpha/2} std_error (0.05 = 95%).
    label : str, optional
        Legend label of the curve.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt
    from scipy.stats import norm

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    b = np.asarray(curve.index, dtype=float)
    v = curve["value"].to_numpy()
    se = curve["std_error"].to_numpy()
    z = norm.ppf(1 - alpha / 2)
    (line,) = ax.plot(b, v, lw=2, label=label or "optimal policy under the budget")
    ax.fill_between(
        b,
        v - z * se,
        v + z * se,
        color=line.get_color(),
        alpha=0.2,
        label=f"{1 - alpha:.0%} pointwise band",
    )
    ax.axhline(0.0, color="0.5", lw=1, ls=":")
    ax.set_xlabel("budget: average spend per customer")
    ax.set_ylabel("gain per customer over treating no one")
    ax.set_title("Budget curve (multi-armed Qini)")
    ax.legend(loc="lower right")
    return ax


def toc_curve(priority, scores, *, fractions=None):
    """Targeting-operator (TOC) and Qini curves of one treated arm.

    Customers are sorted by decreasing ``priority`` (e.g. the predicted effect); for the top
    fraction q the Qini value is (1/n) sum of their ``scores`` (DR effect scores
    Gamma_arm - Gamma_control) and the TOC is the mean score of the top q minus the mean
    over everyone (Yadlowsky et al.'s targeting operator characteristic).

    Parameters
    ----------
    priority : array-like of shape (n,)
        Ranking score; larger first (ties keep the row order).
    scores : array-like of shape (n,)
        Unbiased per-customer effect scores.
    fractions : array-like, optional
        Fractions q in (0, 1]; default 100 equally spaced.

    Returns
    -------
    DataFrame indexed by ``fraction`` with ``qini``, ``qini_std_error``, ``toc``,
    ``toc_std_error`` (sd of the per-customer contributions / sqrt(n), ranking held fixed).
    """
    import pandas as pd

    pr = np.asarray(priority, dtype=float)
    s = np.asarray(scores, dtype=float)
    n = s.shape[0]
    q = np.linspace(0.01, 1.0, 100) if fractions is None else np.asarray(fractions, float)
    order = np.argsort(-pr, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    k = np.maximum(np.ceil(q * n - 1e-9).astype(np.int64), 1)
    top = rank[None, :] < k[:, None]  # (m, n)
    qini_psi = top * s[None, :]
    qini = qini_psi.mean(axis=1)
    qini_se = qini_psi.std(axis=1, ddof=1) / np.sqrt(n)
    # TOC(q) = mean_{top}(s) - mean(s) = mean_i s_i (n 1{top}/k - 1)
    toc_psi = s[None, :] * (n * top / k[:, None] - 1.0)
    toc = toc_psi.mean(axis=1)
    toc_se = toc_psi.std(axis=1, ddof=1) / np.sqrt(n)
    return pd.DataFrame(
        {"qini": qini, "qini_std_error": qini_se, "toc": toc, "toc_std_error": toc_se},
        index=pd.Index(q, name="fraction"),
    )


def plot_toc(
    policy,
    X=None,
    y=None,
    *,
    treatment=None,
    propensity=None,
    arm=None,
    kind="toc",
    alpha=0.05,
    ax=None,
):
    """TOC or Qini curve of one treated arm of a fitted :class:`~skcrm.policy.DRPolicyClassifier`.

    Customers are ranked by the predicted effect of ``arm`` over control; the curve is
    evaluated with DR scores: on held-out rows ``(X, y, treatment, propensity)``, or on the
    out-of-fold training scores when ``X`` is None.

    Parameters
    ----------
    policy : DRPolicyClassifier
        Fitted.
    X, y : array-like, optional
        Held-out covariates and outcomes (default: the training rows, out of fold).
    treatment, propensity : array-like, optional
        As in :meth:`~skcrm.policy.DRPolicyClassifier.score`.
    arm : label, optional
        The treated arm; default the only one (K = 2) or the first non-control arm.
    kind : {"toc", "qini"}, default="toc"
        TOC: mean effect of the top q minus the average effect; Qini: cumulative gain per
        customer from treating the top q.
    alpha : float, default=0.05
        Band level (0.05 = 95%).
    ax : matplotlib Axes, optional
        Where to draw.

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt
    from scipy.stats import norm

    if kind not in ("toc", "qini"):
        raise ValueError(f"kind must be 'toc' or 'qini', got {kind!r}")
    gains, scores, labels = policy._effect_scores(X, y, treatment, propensity)
    if arm is None:
        j = 0
    else:
        names = [str(a) for a in labels]
        if str(arm) not in names:
            raise ValueError(f"arm={arm!r} is not a treated arm {list(labels)}")
        j = names.index(str(arm))
    curve = toc_curve(gains[:, j], scores[:, j])
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    q = np.asarray(curve.index)
    v, se = curve[kind].to_numpy(), curve[f"{kind}_std_error"].to_numpy()
    z = norm.ppf(1 - alpha / 2)
    (line,) = ax.plot(q, v, lw=2, label=f"{labels[j]} vs control")
    ax.fill_between(
        q,
        v - z * se,
        v + z * se,
        color=line.get_color(),
        alpha=0.2,
        label=f"{1 - alpha:.0%} pointwise band",
    )
    ax.axhline(0.0, color="0.5", lw=1, ls=":")
    ax.set_xlabel("fraction of customers treated (highest predicted effect first)")
    if kind == "toc":
        ax.set_ylabel("effect of top fraction - average effect")
        ax.set_title("TOC curve")
    else:
        ax.set_ylabel("gain per customer over treating no one")
        ax.set_title("Qini curve")
    ax.legend(loc="best")
    return ax
