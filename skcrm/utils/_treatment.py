"""The treatment contract: one reading of ``treatment``, ``propensity`` and ``control``.

Every skcrm estimator and function that takes an experiment's arms (policy learning, the
surrogate index, campaign allocation) reads them through :func:`check_treatment` and
:func:`check_propensity`, so the same inputs mean the same thing everywhere.

**Arms.** ``treatment`` holds one discrete arm label per row (strings, integers, booleans,
or floats with integer values). The arms, sorted, are ``actions``; a row's ``code`` is the
position of its label in ``actions``. Floats with non-integer values (doses) are refused.

**Control.** The no-action arm is named by ``control``; it is never guessed from sort order.
Where a contrast with the control is computed (gains, effects, budgets), it is required.

**Propensity** (the design probability of assignment), in one of these forms:

============================  =================================================================
form                          meaning
============================  =================================================================
(n, K) array                  ``P[i, k]`` = P(arm ``actions[k]`` | row i): columns follow the
                              sorted ``actions``
DataFrame                     columns matched **by label** to the arms (any order); with two arms
                              a single column named by an arm gives that arm's probability
dict ``{arm: probability}``   the same design probabilities for every row
per-row vector (n,)           two arms only: P(T = the non-control arm | X), the propensity score
                              of EconML, causalml and the causal-inference literature
scalar                        two arms: P(T = the non-control arm); K > 2 arms: only 1/K
                              (uniform design)
============================  =================================================================

A per-row vector with three or more arms is ambiguous and refused with an error that says
what to pass instead.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._messages import warn

__all__ = ["TreatmentInfo", "check_propensity", "check_treatment", "format_labels"]

_MAX_ARMS = 100


def _plain(value):
    """A label as a user typed it (``0``, not ``np.int64(0)``)."""
    return value.item() if isinstance(value, np.generic) else value


def format_labels(labels) -> str:
    """Labels as a user typed them, for messages: ``[0, 1]`` or ``['a', 'b']``.

    Parameters
    ----------
    labels : array-like
        Labels, numpy scalars included.

    Returns
    -------
    str
        The ``repr`` of the labels as a list of Python values.

    Examples
    --------
    >>> import numpy as np
    >>> format_labels(np.array([0, 1]))
    '[0, 1]'
    """
    return repr([_plain(v) for v in np.asarray(labels, dtype=object).ravel()])


@dataclass(frozen=True)
class TreatmentInfo:
    """Arms of an experiment, read by :func:`check_treatment`.

    Parameters
    ----------
    actions : ndarray of shape (K,)
        Sorted arm labels.
    codes : ndarray of int64, shape (n,)
        Position in ``actions`` of each row's arm.
    control_index : int or None
        Position of the control arm in ``actions`` (None when no control was named).
    """

    actions: np.ndarray
    codes: np.ndarray
    control_index: int | None

    @property
    def n_actions(self) -> int:
        """Number of arms K."""
        return int(self.actions.shape[0])

    @property
    def control(self):
        """The control label (None when no control was named)."""
        return None if self.control_index is None else _plain(self.actions[self.control_index])

    def encode(self, treatment, *, param: str = "treatment") -> np.ndarray:
        """Codes of new labels in ``actions``; unknown labels raise a ``ValueError``.

        Parameters
        ----------
        treatment : array-like of shape (n,)
            Arm labels.
        param : str, default="treatment"
            Name of the argument, for messages.

        Returns
        -------
        ndarray of int64, shape (n,)
            Positions in ``actions``.
        """
        labels = _as_labels(treatment, param)
        pos = np.searchsorted(self.actions, labels)
        pos = np.clip(pos, 0, self.n_actions - 1)
        bad = self.actions[pos] != labels
        if np.any(bad):
            unknown = np.unique(labels[bad])
            raise ValueError(
                f"{param} has label(s) {format_labels(unknown[:5])} that are not arms of "
                f"the fitted model {format_labels(self.actions)}"
            )
        return pos.astype(np.int64)


def _as_labels(treatment, param):
    """Treatment as a 1-D array of discrete labels; continuous or missing values raise."""
    if treatment is None:
        raise ValueError(f"{param} is required: pass the arm each row received")
    if isinstance(treatment, pd.DataFrame):
        if treatment.shape[1] != 1:
            raise ValueError(f"{param} must be one column, got {treatment.shape[1]}")
        treatment = treatment.iloc[:, 0]
    if isinstance(treatment, pd.Series) and isinstance(treatment.dtype, pd.CategoricalDtype):
        treatment = treatment.astype(object)
    arr = np.asarray(treatment)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{param} must be 1-D (one arm label per row), got shape {arr.shape}")
    if arr.dtype.kind == "O":
        missing = pd.isna(arr)
        if missing.any():
            rows = np.flatnonzero(missing)[:5].tolist()
            raise ValueError(f"{param} has missing labels (rows {rows})")
        kinds = {type(_plain(v)) for v in arr}
        if len(kinds) > 1 and not all(issubclass(k, numbers.Number) for k in kinds):
            raise TypeError(
                f"{param} mixes label types {sorted(k.__name__ for k in kinds)}; "
                "use one type (all strings or all integers)"
            )
        if kinds and all(issubclass(k, numbers.Number) for k in kinds):
            arr = arr.astype(np.float64)
        else:
            arr = arr.astype(str)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)):
            rows = np.flatnonzero(~np.isfinite(arr))[:5].tolist()
            raise ValueError(f"{param} has missing or infinite labels (rows {rows})")
        if np.any(arr != np.round(arr)):
            frac = np.unique(arr[arr != np.round(arr)])
            raise ValueError(
                f"{param} looks continuous ({np.unique(arr).size} distinct values, e.g. "
                f"{format_labels(frac[:3])}): skcrm estimators need discrete arms. Pass arm "
                "labels (strings or integers); bin a dose into levels first if that is meant"
            )
        arr = arr.astype(np.int64)
    if arr.dtype.kind == "b":
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iuU":
        raise TypeError(f"{param} must hold strings, integers or booleans, got dtype {arr.dtype}")
    return arr


def _match_label(value, actions, param):
    """Position of ``value`` in ``actions`` (matching 0 with np.int64(0), not with '0')."""
    for k, a in enumerate(actions):
        a = _plain(a)
        if type(a) is type(value) or (
            isinstance(a, numbers.Integral) and isinstance(value, numbers.Integral)
        ):
            if a == value:
                return k
        elif isinstance(value, numbers.Real) and isinstance(a, numbers.Real) and a == value:
            return k
    raise ValueError(f"{param}={value!r} is not one of the arms {format_labels(actions)}")


def check_treatment(
    treatment,
    *,
    n_samples=None,
    actions=None,
    control=None,
    require_control: bool = False,
    min_arms: int = 2,
    param: str = "treatment",
) -> TreatmentInfo:
    """Read the arm of every row; the one treatment validator of skcrm.

    Parameters
    ----------
    treatment : array-like of shape (n,)
        Arm label of each row: strings, integers, booleans or integral floats.
    n_samples : int or None, default=None
        Expected number of rows (of X), for the length check.
    actions : array-like or None, default=None
        Every arm label, so that arms absent from the data are known; labels outside it
        raise. None -> the labels seen in ``treatment``.
    control : label or None, default=None
        The no-action arm; it must be one of the arms.
    require_control : bool, default=False
        Raise when ``control`` is None (where a contrast with the control is computed).
    min_arms : int, default=2
        Fewest arms accepted.
    param : str, default="treatment"
        Name of the argument, for messages.

    Returns
    -------
    TreatmentInfo
        Sorted ``actions``, per-row ``codes`` and the ``control_index``.

    Examples
    --------
    >>> info = check_treatment(["b", "a", "b"], control="a")
    >>> info.actions.tolist(), info.codes.tolist(), info.control_index
    (['a', 'b'], [1, 0, 1], 0)
    >>> check_treatment([0.5, 1.5, 2.5])
    Traceback (most recent call last):
    ...
    ValueError: treatment looks continuous (3 distinct values, e.g. [0.5, 1.5, 2.5]): ...
    """
    labels = _as_labels(treatment, param)
    if n_samples is not None and labels.shape[0] != n_samples:
        raise ValueError(f"{param} has {labels.shape[0]} rows but X has {n_samples}")
    observed = np.unique(labels)
    if actions is not None:
        all_arms = np.unique(_as_labels(np.asarray(actions), "actions"))
        if all_arms.dtype.kind != observed.dtype.kind and not (
            all_arms.dtype.kind in "iu" and observed.dtype.kind in "iu"
        ):
            raise TypeError(
                f"actions {format_labels(all_arms)} and {param} labels "
                f"{format_labels(observed[:5])} are of different types"
            )
        unknown = np.setdiff1d(observed, all_arms)
        if unknown.size:
            raise ValueError(
                f"{param} has label(s) {format_labels(unknown[:5])} not in actions "
                f"{format_labels(all_arms)}"
            )
    else:
        all_arms = observed
    if all_arms.size < min_arms:
        raise ValueError(
            f"{param} has {all_arms.size} arm(s) {format_labels(all_arms)}; "
            f"at least {min_arms} are needed"
        )
    if all_arms.size > _MAX_ARMS:
        raise ValueError(
            f"{param} has {all_arms.size} distinct labels: more than {_MAX_ARMS} arms looks like "
            "a continuous treatment or an id column; pass the arm labels"
        )
    control_index = None
    if control is not None:
        control_index = _match_label(_plain(control), all_arms, "control")
    elif require_control:
        raise ValueError(
            "control is required: name the no-action arm, e.g. control="
            f"{_plain(all_arms[0])!r} (one of {format_labels(all_arms)}); skcrm never guesses "
            "it from sort order"
        )
    codes = np.searchsorted(all_arms, labels).astype(np.int64)
    return TreatmentInfo(all_arms, codes, control_index)


def _column_positions(columns, actions, param):
    """Positions in ``actions`` of DataFrame columns named by arm label."""
    pos = []
    for c in columns:
        try:
            pos.append(_match_label(_plain(c), actions, param))
        except ValueError:
            raise ValueError(
                f"{param} column {c!r} is not an arm; its columns must be named by the arm "
                f"labels {format_labels(actions)}"
            ) from None
    return pos


def _two_arm_matrix(p_treated, info, form, param):
    """(n, 2) matrix from P(T = the non-control arm) for a two-arm experiment."""
    if info.n_actions != 2:
        raise ValueError(
            f"{param} as {form} is ambiguous with {info.n_actions} arms "
            f"{format_labels(info.actions)}: pass an (n, {info.n_actions}) array whose columns "
            "follow the sorted arms, a DataFrame with columns named by arm, or a dict "
            "{arm: probability}"
        )
    if info.control_index is None:
        raise ValueError(
            f"{param} as {form} is read as P(T = the non-control arm | X), so control must be "
            f"named (one of {format_labels(info.actions)}); or pass an (n, 2) matrix or a "
            "DataFrame with columns named by arm"
        )
    P = np.empty((p_treated.shape[0], 2))
    P[:, 1 - info.control_index] = p_treated
    P[:, info.control_index] = 1.0 - p_treated
    return P


def check_propensity(
    propensity,
    info: TreatmentInfo,
    *,
    min_propensity=None,
    param: str = "propensity",
):
    """Read design probabilities in any of skcrm's forms (see the module docstring).

    Parameters
    ----------
    propensity : float, array-like of shape (n,) or (n, K), DataFrame or dict
        Design probabilities: an (n, K) array (columns in sorted arm order), a DataFrame
        (columns matched by arm label), a dict ``{arm: probability}``, or with two arms
        P(T = the non-control arm) as a per-row vector or a scalar (K > 2: only 1/K).
    info : TreatmentInfo
        The arms, from :func:`check_treatment`.
    min_propensity : float or None, default=None
        Probabilities of the received arm below it are clipped, with a warning.
    param : str, default="propensity"
        Name of the argument, for messages.

    Returns
    -------
    p_obs : ndarray of shape (n,)
        P(the arm row i received | X_i), clipped at ``min_propensity``.
    P : ndarray of shape (n, K)
        Every arm's probability, columns in ``info.actions`` order.

    Examples
    --------
    >>> import numpy as np
    >>> info = check_treatment(np.array([0, 1, 1]), control=0)
    >>> p_obs, P = check_propensity(np.array([0.2, 0.5, 0.8]), info)
    >>> p_obs.tolist(), P[0].tolist()
    ([0.8, 0.5, 0.8], [0.8, 0.2])
    """
    n, K = info.codes.shape[0], info.n_actions
    if isinstance(propensity, Mapping):
        probs = np.zeros(K)
        seen = np.zeros(K, dtype=bool)
        for label, value in propensity.items():
            k = _column_positions([label], info.actions, param)[0]
            probs[k], seen[k] = float(value), True
        if not seen.all():
            missing = info.actions[~seen]
            if K == 2 and seen.sum() == 1:
                probs[~seen] = 1.0 - probs[seen]
            else:
                raise ValueError(f"{param} has no probability for arm(s) {format_labels(missing)}")
        P = np.broadcast_to(probs, (n, K)).copy()
    elif isinstance(propensity, pd.DataFrame):
        if propensity.shape[0] != n:
            raise ValueError(f"{param} has {propensity.shape[0]} rows but X has {n}")
        pos = _column_positions(propensity.columns, info.actions, param)
        values = propensity.to_numpy(dtype=np.float64)
        if len(pos) == K:
            if len(set(pos)) != K:
                raise ValueError(f"{param} names an arm twice: {list(propensity.columns)}")
            P = np.empty((n, K))
            P[:, pos] = values
        elif K == 2 and len(pos) == 1:
            P = np.empty((n, 2))
            P[:, pos[0]] = values[:, 0]
            P[:, 1 - pos[0]] = 1.0 - values[:, 0]
        else:
            raise ValueError(
                f"{param} has columns {list(propensity.columns)}; it needs one column per arm "
                f"{format_labels(info.actions)}"
            )
    else:
        arr = np.asarray(propensity, dtype=np.float64)
        if arr.ndim == 0:
            p = float(arr)
            if K == 2:
                P = _two_arm_matrix(np.full(n, p), info, "a scalar", param)
            elif np.isclose(p, 1.0 / K):
                P = np.full((n, K), 1.0 / K)
            else:
                raise ValueError(
                    f"{param}={p:g} is ambiguous with {K} arms (only 1/{K} is, a uniform "
                    "design): pass a dict {arm: probability} or an (n, K) array"
                )
        elif arr.ndim == 1 or (arr.ndim == 2 and arr.shape[1] == 1 and K > 1):
            arr = arr.reshape(-1)
            if arr.shape[0] != n:
                raise ValueError(f"{param} has {arr.shape[0]} rows but X has {n}")
            P = _two_arm_matrix(arr, info, "a per-row vector", param)
        elif arr.ndim == 2:
            if arr.shape != (n, K):
                raise ValueError(
                    f"{param} must have shape (n, K) = ({n}, {K}) with columns in the order of "
                    f"the sorted arms {format_labels(info.actions)}, got {arr.shape}"
                )
            P = arr.copy()
        else:
            raise ValueError(f"{param} must be a scalar, (n,) or (n, K), got shape {arr.shape}")
    if not np.all(np.isfinite(P)) or np.any(P < 0) or np.any(P > 1):
        raise ValueError(f"{param} must hold probabilities in [0, 1]")
    sums = P.sum(axis=1)
    if not np.allclose(sums, 1.0, atol=1e-6):
        bad = np.flatnonzero(~np.isclose(sums, 1.0, atol=1e-6))[:5].tolist()
        raise ValueError(
            f"{param} rows must sum to 1 over the arms {format_labels(info.actions)} "
            f"(rows {bad} do not)"
        )
    p_obs = P[np.arange(n), info.codes]
    if np.any(p_obs <= 0):
        rows = np.flatnonzero(p_obs <= 0)[:5].tolist()
        raise ValueError(
            f"{param} gives probability 0 to the arm that rows {rows} received; "
            "positivity needs every received arm to have a positive design probability"
        )
    if min_propensity is not None:
        low = p_obs < min_propensity
        if low.any():
            warn(
                f"{int(low.sum())} {param} values of the received arm are below "
                f"min_propensity={min_propensity:g} and were clipped; check the design or "
                "lower min_propensity"
            )
            p_obs = np.maximum(p_obs, min_propensity)
    return p_obs, P
