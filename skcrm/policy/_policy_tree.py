"""PolicyTreeClassifier: the exact shallow policy tree as a scikit-learn estimator."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ..utils._dask import dask_dispatch
from ._tree import fit_policy_tree, predict_tree, tree_leaf_values

__all__ = ["PolicyTreeClassifier"]


class PolicyTreeClassifier(BaseEstimator):
    """Exact depth-1..3 policy tree maximising the summed reward of the chosen actions.

    Searches every tree of depth at most ``max_depth`` whose splits are ``x_j <= t`` and
    returns one maximising sum_i Gamma_{i, pi(X_i)}, the empirical DR welfare of eq. 22
    (Yang et al.; the objective of R's ``policytree``). With ``split_search="exact"`` the
    thresholds ``t`` are every distinct value of every feature, as in policytree (cost
    O(p^k n^k K) at depth k: for small n, or as a reference). With ``"binned"`` (default)
    they are the quantile-bin edges of each feature (every distinct value when a feature
    has at most ``n_bins`` of them); the search is vectorised through cumulative
    histograms: depth 2 costs O(n p^2) plus O(p^2 B^2 K), depth 3 O(n C(p, 3)) for the
    joint histograms of feature triples plus O(p^3 B^3 K).

    It is a *score-based* policy learner: ``fit(X, scores)`` takes the (n, K) reward matrix
    directly, so :class:`DRPolicyClassifier` passes it the DR scores without a
    classification reduction. Given 1-D labels instead, it maximises accuracy (reward 1
    for the observed label).

    Parameters
    ----------
    max_depth : {1, 2, 3}, default=2
        Depth of the tree.
    n_bins : int or None, default=None
        Candidate thresholds per feature (quantile bins); None -> 64 for depth <= 2 and 16
        for depth 3 (the depth-3 search costs O(n p^3 + p^3 B^4 K)).
    min_samples_leaf : int, default=1
        Minimum number of training rows in every leaf.
    split_search : {"binned", "exact"}, default="binned"
        Candidate thresholds: quantile-bin edges, or every distinct value (policytree).
    n_jobs : int or None, default=None
        Threads over the root features of the binned depth-3 search.
    verbose : int, default=0
        Progress bar over the root features of the binned depth-3 search.
    random_state : None, int or RandomState, default=None
        Unused: the search is exhaustive and deterministic (ties go to the first feature,
        threshold and action). Accepted so that every skcrm estimator takes it.

    Attributes
    ----------
    tree_ : dict of ndarray
        ``feature, threshold, left, right, action, value, n_samples`` per node (node 0 is
        the root, leaves have ``feature == -1``; ``value`` = summed reward of the node's
        best action), and ``objective``.
    classes_ : ndarray of shape (K,)
        Action labels (0..K-1 for a reward matrix).
    feature_importances_ : ndarray of shape (n_features,)
        Share of the objective gained by the splits on each feature: at every split, the
        summed reward of the two children's best actions minus that of the node's best
        action, summed per feature and normalised to 1 (all 0 for a single leaf).
    n_features_in_ : int
        Number of columns of X.
    feature_names_in_ : ndarray of str
        Present when X is a DataFrame with string column names.

    References
    ----------
    Yang, J., Eckles, D., Dhillon, P., Aral, S. (2022). Targeting for long-term outcomes,
    eq. 22. Sverdrup, E., Kanodia, A., Zhou, Z., Athey, S., Wager, S. (2020). policytree:
    Policy learning via doubly robust empirical welfare maximization over trees. JOSS.

    Examples
    --------
    >>> import numpy as np
    >>> from skcrm.policy import PolicyTreeClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 3))
    >>> G = np.column_stack([np.zeros(500), X[:, 0], -X[:, 0] + X[:, 1]])
    >>> tree = PolicyTreeClassifier(max_depth=2).fit(X, G)
    >>> tree.predict(X[:4]).tolist()
    [1, 1, 1, 2]
    """

    _skcrm_score_based = True

    _parameter_constraints = {
        "max_depth": [Interval(numbers.Integral, 1, 3, closed="both")],
        "n_bins": [Interval(numbers.Integral, 2, None, closed="left"), None],
        "min_samples_leaf": [Interval(numbers.Integral, 1, None, closed="left")],
        "split_search": [StrOptions({"binned", "exact"})],
        "n_jobs": [None, numbers.Integral],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        max_depth=2,
        *,
        n_bins=None,
        min_samples_leaf=1,
        split_search="binned",
        n_jobs=None,
        verbose=0,
        random_state=None,
    ):
        self.max_depth = max_depth
        self.n_bins = n_bins
        self.min_samples_leaf = min_samples_leaf
        self.split_search = split_search
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.random_state = random_state

    def _rewards(self, y, n):
        if y is None:
            raise ValueError("requires y to be passed, but the target y is None")
        y = np.asarray(y)
        if y.ndim == 2:
            if y.shape[0] != n:
                raise ValueError(f"scores must have one row per sample ({n}), got {y.shape[0]}")
            G = y.astype(np.float64)
            if not np.all(np.isfinite(G)):
                raise ValueError("scores (y) contain NaN or infinite values")
            return G, np.arange(G.shape[1])
        if y.ndim != 1 or y.shape[0] != n:
            raise ValueError(f"y must be an (n, K) score matrix or n labels, got {y.shape}")
        classes, idx = np.unique(y, return_inverse=True)
        G = np.zeros((n, classes.shape[0]))
        G[np.arange(n), idx] = 1.0
        return G, classes

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Find the optimal tree for rewards ``y``.

        Parameters
        ----------
        X : array-like of shape (n, p)
            Covariates.
        y : array-like of shape (n, K) or (n,)
            Reward of every action (e.g. DR scores), or labels (reward 1 if matched).
        sample_weight : array-like of shape (n,), optional
            Multiplies each row's rewards.

        Returns
        -------
        self
        """
        X = validate_data(self, X, dtype=np.float64)
        G, self.classes_ = self._rewards(y, X.shape[0])
        sw = None if sample_weight is None else _check_sample_weight(sample_weight, X)
        n_bins = self.n_bins or (64 if self.max_depth <= 2 else 16)
        self.tree_ = fit_policy_tree(
            X,
            G,
            max_depth=self.max_depth,
            n_bins=n_bins,
            min_samples_leaf=self.min_samples_leaf,
            sample_weight=sw,
            n_jobs=self.n_jobs,
            split_search=self.split_search,
            verbose=self.verbose,
        )
        self.feature_importances_ = _importances(self.tree_, self.n_features_in_)
        return self

    @dask_dispatch()
    def apply_actions(self, X):
        """Action index (0..K-1) of every row.

        Parameters
        ----------
        X : array-like of shape (n, p)
            Covariates.

        Returns
        -------
        ndarray of int64, shape (n,)
            Positions in ``classes_``.
        """
        check_is_fitted(self, "tree_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return predict_tree(self.tree_, X)

    @dask_dispatch()
    def predict(self, X):
        """Recommended action of every row (labels from ``classes_``).

        Parameters
        ----------
        X : array-like of shape (n, p)
            Covariates.

        Returns
        -------
        ndarray of shape (n,)
            Action labels.
        """
        actions = self.apply_actions(X)
        return self.classes_[actions]

    @dask_dispatch()
    def predict_proba(self, X):
        """One-hot (n, K) policy distribution.

        Parameters
        ----------
        X : array-like of shape (n, p)
            Covariates.

        Returns
        -------
        ndarray of shape (n, K)
            One-hot rows.
        """
        a = self.apply_actions(X)
        out = np.zeros((a.shape[0], self.classes_.shape[0]))
        out[np.arange(a.shape[0]), a] = 1.0
        return out

    def score(self, X, y, sample_weight=None):
        """Mean reward of the chosen actions (2-D ``y``) or accuracy (1-D labels).

        Parameters
        ----------
        X : array-like of shape (n, p)
            Covariates.
        y : array-like of shape (n, K) or (n,)
            Rewards of every action, or labels.
        sample_weight : array-like of shape (n,), optional
            Weights of the rows in the mean.

        Returns
        -------
        float
            The mean reward (or accuracy).
        """
        a = self.apply_actions(X)
        y = np.asarray(y)
        if y.ndim == 2:
            reward = y[np.arange(a.shape[0]), a].astype(np.float64)
        else:
            reward = (self.classes_[a] == y).astype(np.float64)
        return float(np.average(reward, weights=sample_weight))

    def leaf_values(self, X, scores):
        """(n_nodes,) mean reward of each leaf's action over the rows of X in that leaf.

        Parameters
        ----------
        X : array-like of shape (n, p)
            Covariates.
        scores : array-like of shape (n, K)
            Rewards of every action.

        Returns
        -------
        ndarray of shape (n_nodes,)
            NaN for nodes no row reaches.
        """
        check_is_fitted(self, "tree_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return tree_leaf_values(self.tree_, X, scores)

    def export_text(self, feature_names=None, action_names=None, decimals=3):
        """The tree as indented text rules, in the style of ``sklearn.tree.export_text``.

        Parameters
        ----------
        feature_names : list of str, optional
            Names of the columns (default: the fitted names or ``x0, x1, ...``).
        action_names : list of str, optional
            Names of the actions (default: ``classes_``).
        decimals : int, default=3
            Digits of thresholds and values.

        Returns
        -------
        str
            One line per node; leaves show the action, the rows and the mean reward of the
            action over the training rows in the leaf.
        """
        check_is_fitted(self, "tree_")
        if feature_names is None:
            names = getattr(self, "feature_names_in_", None)
            feature_names = (
                [str(f) for f in names]
                if names is not None
                else [f"x{j}" for j in range(self.n_features_in_)]
            )
        if action_names is None:
            action_names = [str(c) for c in self.classes_]
        return export_tree_text(self.tree_, feature_names, action_names, decimals)

    def plot(self, ax=None, feature_names=None, action_names=None, X=None, scores=None):
        """Draw the tree: split rules at internal nodes, action and value at each leaf.

        See :func:`skcrm.policy.plotting.plot_policy_tree`.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Where to draw.
        feature_names : list of str, optional
            Column names.
        action_names : list of str, optional
            Action names.
        X : array-like, optional
            Rows whose per-leaf mean reward is shown (with ``scores``).
        scores : array-like of shape (n, K), optional
            Their rewards.

        Returns
        -------
        matplotlib Axes
            The drawing.
        """
        from .plotting import plot_policy_tree

        return plot_policy_tree(
            self, ax=ax, feature_names=feature_names, action_names=action_names, X=X, scores=scores
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags


def _importances(tree, n_features):
    """Objective gain of the splits per feature, normalised to sum to 1."""
    out = np.zeros(n_features)
    for node in np.flatnonzero(tree["feature"] >= 0):
        gain = tree["value"][tree["left"][node]] + tree["value"][tree["right"][node]]
        out[tree["feature"][node]] += max(gain - tree["value"][node], 0.0)
    total = out.sum()
    return out / total if total > 0 else out


def export_tree_text(tree, feature_names, action_names, decimals=3):
    """Indented text of a tree from :func:`~skcrm.policy._tree.fit_policy_tree`."""
    lines = []

    def walk(node, depth):
        pad = "|   " * depth + "|--- "
        f = tree["feature"][node]
        if f < 0:
            n = int(tree["n_samples"][node])
            mean = tree["value"][node] / max(n, 1)
            lines.append(
                f"{pad}action: {action_names[tree['action'][node]]} "
                f"(n = {n}, mean reward = {mean:.{decimals}f})"
            )
            return
        t = tree["threshold"][node]
        lines.append(f"{pad}{feature_names[f]} <= {t:.{decimals}f}")
        walk(int(tree["left"][node]), depth + 1)
        lines.append(f"{pad}{feature_names[f]} >  {t:.{decimals}f}")
        walk(int(tree["right"][node]), depth + 1)

    walk(0, 0)
    return "\n".join(lines) + "\n"
