"""Simulators with known ground truth for RobustCampaignAllocator.

- :func:`make_campaign_data`: a randomised campaign experiment with known response rates.
- :func:`make_er8_data`: the estimation-risk design ER-8, oracle value 1400.
- :func:`make_paper_surrogate` / :func:`load_allocation_surrogate`: the paper-like surrogate
  fixture (the shipped training and test scenarios).
- ``PAPER_LPG``: the constants of Lo, Pachamanova & Gulpinar (Tables 1-4, the nominal
  allocation), with Table 3 flagged as inconsistent with Table 2.

numpy, scipy and pandas only: importing skcrm.datasets must stay light.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

__all__ = [
    "PAPER_LPG",
    "ER8_TRUE_LIFT",
    "load_allocation_surrogate",
    "make_campaign_data",
    "make_er8_data",
    "make_paper_surrogate",
]

_DATA = Path(__file__).resolve().parent / "data"


class Bunch(dict):
    """A dict whose keys are also attributes (like ``sklearn.utils.Bunch``, without sklearn)."""

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError as exc:
            raise AttributeError(key) from exc

    def __setattr__(self, key, value):
        self[key] = value

    def __dir__(self):
        return list(self.keys())


# ----------------------------------------------------------------------------- paper constants
_TABLE2_ROWS = [
    "Mean", "Min", "5th Per", "25th Per", "Median", "75th Per", "95th Per", "Max",
    "StDev", "IQR", "Range", "Coeff of Var",
]  # fmt: skip
_TABLE2_COLS = [
    "Nominal", "Interval", "Max Regret", "Ellipsoidal20", "Ellipsoidal150", "Ellipsoidal300",
]  # fmt: skip
_TABLE2 = np.array(
    [
        [5876.7065, 5780.9885, 5871.6872, 5827.2433, 5217.3279, 1603.3474],
        [5037.6129, 4998.5835, 5022.7839, 4971.9561, 4423.2438, 1408.0376],
        [5233.4083, 5188.0957, 5239.4815, 5224.3975, 4813.1027, 1508.5897],
        [5575.3214, 5439.5284, 5576.4901, 5537.0804, 5017.5484, 1558.0839],
        [5871.5743, 5771.7755, 5865.5381, 5819.8640, 5215.7888, 1602.8412],
        [6154.0621, 6047.4792, 6143.4234, 6093.9303, 5398.0646, 1652.8411],
        [6498.1474, 6423.8280, 6502.5265, 6506.6897, 5620.9669, 1698.6911],
        [6897.7758, 6779.3620, 6920.7589, 6770.4810, 5851.9300, 1751.7663],
        [410.3164, 393.8975, 408.2891, 400.2428, 260.5810, 62.1641],
        [578.7408, 607.9508, 566.9333, 556.8499, 380.5162, 94.7573],
        [1860.1629, 1780.7786, 1897.9750, 1798.5249, 1428.6863, 343.7287],
        [6.9821, 6.8137, 6.9535, 6.8685, 4.9945, 3.8771],
    ]
)

PAPER_LPG = MappingProxyType(
    {
        "TABLE1_CLUSTER_SIZES": np.array(
            [4180, 5650, 60220, 12370, 8940, 29240, 28070, 4100, 37080], dtype=np.int64
        ),
        "TABLE2": pd.DataFrame(_TABLE2, index=_TABLE2_ROWS, columns=_TABLE2_COLS),
        "TABLE3_WCL": pd.Series(
            [14.3305, 13.5748, 14.7212, 15.2410, 12.2000, 14.5038],
            index=_TABLE2_COLS,
            name="WCL (%)",
        ),
        # 100 (Mean - Min) / Mean of Table 2 does not give Table 3: stored verbatim.
        "TABLE3_CONSISTENT_WITH_TABLE2": False,
        "TABLE4": pd.DataFrame(
            {"Model Targets (Top 3 Deciles)": [6.70, 6.70, 0.0], "Random Targets": [2.5, 2.5, 0.0]},
            index=["Treatment", "Control", "Lift"],
        ),
        "BUDGET": 60000.0,
        "COST": 1.0,
        "THETAS": (20, 150, 300),
        "NOMINAL_ALLOCATION": MappingProxyType(
            {(4, "men"): 12370, (6, "men"): 29240, (8, "men"): 4100, (3, "women"): 14290}
        ),
        # invented per-cluster lifts consistent with the paper's nominal allocation
        "SURROGATE_MU": np.array(
            [
                [0.015, 0.010],
                [-0.030, -0.020],
                [0.055, 0.082],
                [0.095, 0.060],
                [0.050, 0.045],
                [0.100, 0.070],
                [0.072, 0.065],
                [0.160, 0.120],
                [0.045, 0.055],
            ]
        ),  # fmt: skip
        "SURROGATE_SD": np.array([0.1125, 0.1125, 0.10, 0.09, 0.03, 0.09, 0.0375, 0.15, 0.06]),
        "SURROGATE_RHO": 0.5,
    }
)


# ----------------------------------------------------------------------------- simulators
def make_campaign_data(
    n_per_segment,
    p,
    *,
    n_features=4,
    center_scale=10.0,
    centers=None,
    centers_random_state=12345,
    treatment_probs=None,
    lift_heterogeneity=0.0,
    random_state=None,
):
    """A randomised campaign experiment with known per-segment response rates.

    Parameters
    ----------
    n_per_segment : int or array-like of shape (K,)
        Rows per segment.
    p : array-like of shape (K, M + 1)
        True response probabilities; column 0 is the control.
    n_features : int
        Feature dimension (customers scatter with unit noise around their segment centre).
    center_scale : float
        Scale of the random segment centres (large: segments are separable).
    centers : array-like of shape (K, n_features), optional
        Segment centres.
    centers_random_state : int
        Seed of the centres.
    treatment_probs : array-like of shape (M + 1,), optional
        Randomisation probabilities (default uniform).
    lift_heterogeneity : float
        Standard deviation of customer-level noise added to the treated response rates.
    random_state : int, optional
        Seed of the customers' features, arms and responses.

    Returns
    -------
    Bunch
        ``X`` (n, n_features), ``y`` (n,) 0/1, ``treatment`` (n,) in 0..M (0 = control),
        ``segment`` (n,), ``p`` (K, M+1), ``lift`` (K, M) true lifts, ``centers``.

    Examples
    --------
    >>> d = make_campaign_data(50, [[0.1, 0.2], [0.1, 0.1]], random_state=0)
    >>> d.X.shape, d.lift.ravel().tolist()
    ((100, 4), [0.1, 0.0])
    """
    rng = np.random.default_rng(random_state)
    p = np.asarray(p, dtype=float)
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(f"p must have shape (K, M + 1) with M >= 1, got {p.shape}")
    if np.any((p < 0) | (p > 1)):
        raise ValueError("p must hold probabilities in [0, 1]")
    K, M1 = p.shape
    n_per_segment = np.broadcast_to(np.asarray(n_per_segment, dtype=np.int64), (K,))
    if np.any(n_per_segment < 0):
        raise ValueError("n_per_segment must be >= 0")
    if centers is None:
        centers = np.random.default_rng(centers_random_state).normal(
            scale=center_scale, size=(K, n_features)
        )
    centers = np.asarray(centers, dtype=float)
    tp = np.full(M1, 1.0 / M1) if treatment_probs is None else np.asarray(treatment_probs, float)
    seg = np.repeat(np.arange(K), n_per_segment)
    rng.shuffle(seg)
    X = centers[seg] + rng.standard_normal((seg.size, centers.shape[1]))
    t = rng.choice(M1, size=seg.size, p=tp)
    prob = p[seg, t]
    if lift_heterogeneity > 0:
        noise = rng.normal(scale=lift_heterogeneity, size=seg.size)
        prob = np.clip(prob + np.where(t > 0, noise, 0.0), 0.0, 1.0)
    y = (rng.random(seg.size) < prob).astype(np.int64)
    return Bunch(
        X=X, y=y, treatment=t, segment=seg, p=p, lift=p[:, 1:] - p[:, [0]], centers=centers
    )


ER8_TRUE_LIFT = np.column_stack(
    [
        [0.050, 0.045, 0.040, 0.035, 0.045, 0.040, 0.035, 0.030],
        np.array([0.050, 0.045, 0.040, 0.035, 0.045, 0.040, 0.035, 0.030]) - 0.010,
    ]
)


def make_er8_data(random_state=None):
    """The estimation-risk design ER-8 with known true lifts.

    Eight segments, two campaigns, control rate 0.10; treatment-1 lifts
    [0.050, 0.045, 0.040, 0.035, 0.045, 0.040, 0.035, 0.030], treatment 2 = treatment 1 - 0.01.
    Training rows per segment [6000] * 4 + [600] * 4 (the last four are noisy). The target
    population is 10,000 customers per segment, costs 1 and a budget of 30,000: the oracle
    allocation (segments 0, 1 and 4 with treatment 1) is worth exactly 1400.

    Parameters
    ----------
    random_state : int, optional
        Seed of the simulated training rows.

    Returns
    -------
    Bunch
        As :func:`make_campaign_data`, plus ``segment_sizes`` (8,), ``budget``,
        ``oracle_value`` (1400.0) and ``oracle_allocation`` (8, 2).

    Examples
    --------
    >>> d = make_er8_data(random_state=0)
    >>> d.X.shape, d.oracle_value
    ((26400, 4), 1400.0)
    """
    p0 = np.full(8, 0.10)
    p = np.column_stack([p0, p0 + ER8_TRUE_LIFT[:, 0], p0 + ER8_TRUE_LIFT[:, 1]])
    data = make_campaign_data([6000] * 4 + [600] * 4, p, random_state=random_state)
    oracle = np.zeros((8, 2))
    oracle[[0, 1, 4], 0] = 10000
    data.update(
        segment_sizes=np.full(8, 10000),
        budget=30000.0,
        oracle_allocation=oracle,
        oracle_value=float(round((ER8_TRUE_LIFT * oracle).sum(), 9)),
    )
    return data


def make_paper_surrogate(random_state=2019):
    """The paper-like surrogate: per-cluster bivariate normal lift populations.

    Cluster sizes are Table 1, means ``PAPER_LPG["SURROGATE_MU"]``, sd ``SURROGATE_SD`` and
    correlation 0.5, generated with an explicit Cholesky factor.

    Parameters
    ----------
    random_state : int, default=2019
        Seed of the training scenarios.

    Returns
    -------
    Bunch
        ``segment_sizes``, ``lift_mean``, ``lift_sd``, ``rho``, ``populations`` (list of
        (N_k, 2) arrays) and ``sample_scenarios(S, n_per_segment=100, random_state=None)``,
        the paper's section-6 procedure (mean of ``n_per_segment`` draws with replacement
        per cluster, ``S`` times) returning (S, 9, 2).

    Examples
    --------
    >>> sur = make_paper_surrogate()
    >>> sur.sample_scenarios(50, random_state=1)[0, 0].round(8).tolist()
    [-0.00074174, -0.00496194]
    """
    N = PAPER_LPG["TABLE1_CLUSTER_SIZES"]
    MU, SD, RHO = PAPER_LPG["SURROGATE_MU"], PAPER_LPG["SURROGATE_SD"], PAPER_LPG["SURROGATE_RHO"]
    rng = np.random.default_rng(random_state)
    pops = []
    for k in range(len(N)):
        z = rng.standard_normal((N[k], 2))
        L = SD[k] * np.array([[1.0, 0.0], [RHO, np.sqrt(1 - RHO**2)]])
        pops.append(MU[k] + z @ L.T)

    def sample_scenarios(S, n_per_segment=100, random_state=None):
        r = np.random.default_rng(random_state)
        out = np.empty((S, len(pops), 2))
        for s in range(S):
            for k in range(len(pops)):
                idx = r.integers(0, len(pops[k]), size=n_per_segment)
                out[s, k] = pops[k][idx].mean(0)
        return out

    return Bunch(
        segment_sizes=N.copy(),
        lift_mean=MU.copy(),
        lift_sd=SD.copy(),
        rho=RHO,
        populations=pops,
        sample_scenarios=sample_scenarios,
    )


def load_allocation_surrogate():
    """The shipped surrogate scenarios (``train`` (50, 9, 2), ``test`` (200, 9, 2)).

    Generated by :func:`make_paper_surrogate` (seed 2019) with ``sample_scenarios(50,
    random_state=1)`` and ``sample_scenarios(200, random_state=2)``; shipped so that the
    regression values of the tests do not depend on numpy's random streams.

    Examples
    --------
    >>> d = load_allocation_surrogate()
    >>> d.train.shape, d.test.shape
    ((50, 9, 2), (200, 9, 2))
    """
    frame = pd.read_csv(_DATA / "allocation_paper_surrogate.csv.gz")
    out = {}
    for split in ("train", "test"):
        part = frame[frame["split"] == split].sort_values(["scenario", "cluster"])
        S = part["scenario"].nunique()
        out[split] = part[["men", "women"]].to_numpy(dtype=float).reshape(S, 9, 2)
    return Bunch(
        train=out["train"], test=out["test"], segment_sizes=PAPER_LPG["TABLE1_CLUSTER_SIZES"].copy()
    )
