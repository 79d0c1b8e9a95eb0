"""Figures for policy learning: the fitted policy tree, policy values with intervals."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_policy_tree", "plot_policy_values"]


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


def plot_policy_tree(model, ax=None, feature_names=None, action_names=None, X=None, scores=None):
    """Draw a fitted policy tree with the rule at each split and action and value per leaf.

    Parameters
    ----------
    model : PolicyTreeClassifier or DRPolicyClassifier
        Fitted; a DRPolicyClassifier must use a PolicyTreeClassifier as ``policy_model``.
    ax : matplotlib Axes, optional
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
        labels = getattr(model, "classes_", tree_model.classes_)
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


def plot_policy_values(results, ax=None, title=None):
    """Horizontal interval plot of policy values (dict name -> evaluate() result).

    Each result needs ``value`` and ``ci``.
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
