"""Benchmark of RobustCampaignAllocator's optimisation core (skcrm.allocation).

1. Customer-level allocation: every customer its own segment, 100,000 customers x 3
   campaigns, the ellipsoidal model (SOCP) with a low-rank scenario factor F (ranks 50 and
   10): cold solve (validation + build + solve), wall and CPU time and the peak RSS of a
   child process that runs only that solve; the factored interior point (the default) and,
   at the first rank, Clarabel on the factored formulation (the previous path) for the same
   answer and the comparison.
2. A grid of 20 theta values on a segment-level problem: re-solving the cached DPP problem
   versus rebuilding the cvxpy problem for every theta (the naive loop). Same answers first.
3. Hillstrom: every allocation model on ``--hillstrom-splits`` random 70/30 splits (the
   docs' comparison): held-out value and its gain on the nominal allocation, with the
   spread over splits (``skcrm.allocation._demo.hillstrom_splits``).

There is no peer library for robust campaign allocation; the comparison of (2) is cvxpy used
naively (rebuild per value) against cvxpy used with DPP parameters.

Run: ``python benchmarks/allocation.py`` (``--quick`` for tiny sizes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import interleaved, same_answer, setup, write_results  # noqa: E402


def _large_child(n, r, ipm):
    """One cold solve of the customer-level SOCP in this (child) process; JSON on stdout."""
    import resource
    import time

    import numpy as np

    from skcrm.allocation import _core, solve_allocation

    _core._LOWRANK_IPM = ipm
    M = 3
    rng = np.random.default_rng(0)
    value = rng.normal(0.03, 0.02, size=(n, M))
    # a rank-r scenario factor: r centred scenario deviations of the per-customer lifts
    F = rng.normal(size=(r, n * M)) * 0.01 / np.sqrt(r)
    kw = {"method": "ellipsoidal", "cov_factor": F, "budget": 0.2 * n}
    rss_data = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    load_before = os.getloadavg()[0]
    c0, w0 = time.process_time(), time.perf_counter()
    res = solve_allocation(value, np.ones(n), theta=1.0, **kw)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    out = {
        "customers": n, "campaigns": M, "factor rank": r, "variables": n * M,
        "formulation": res.extras.get("formulation", "cvxpy"),
        "cold solve wall (s)": wall, "cold solve CPU (s)": cpu,
        "iterations": res.extras.get("iterations"),
        "peak RSS (MiB)": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "RSS before the solve (MiB)": rss_data,
        "status": res.status, "budget used": res.budget_used,
        "objective theta=1": res.objective,
        "certified gap": res.extras.get("duality_gap"),
        "load average before / after": f"{load_before:.1f} / {os.getloadavg()[0]:.1f}",
    }  # fmt: skip
    print("@@" + json.dumps(out))


def _run_child(n, r, ipm):
    cmd = [sys.executable, __file__, "--child-large", f"{n},{r},{int(ipm)}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    line = [x for x in proc.stdout.splitlines() if x.startswith("@@")][-1]
    return json.loads(line[2:])


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--child-large":
        n, r, ipm = (int(v) for v in sys.argv[2].split(","))
        return _large_child(n, r, bool(ipm))
    args = setup(
        __doc__.splitlines()[0],
        extra_args=lambda p: (
            p.add_argument("--customers", type=int, default=None),
            p.add_argument("--ranks", type=str, default="50,10"),
            p.add_argument("--hillstrom-splits", type=int, default=10),
        ),
    )
    import numpy as np

    from skcrm.allocation import _models, solve_allocation

    n = args.customers or (2_000 if args.quick else 100_000)
    M = 3
    rng = np.random.default_rng(0)
    ranks = [int(v) for v in args.ranks.split(",")]
    big_rows = []
    for i, r in enumerate(ranks):
        row = _run_child(n, r, True)
        big_rows.append(row)
        if i == 0:  # the previous path (Clarabel, factored) on the same problem
            prev = _run_child(n, r, False)
            big_rows.append(prev)
            same_answer(
                f"rank-{r} objective, interior point vs Clarabel",
                row["objective theta=1"], prev["objective theta=1"], rtol=1e-6,
            )  # fmt: skip
    _models.clear_cache()

    # 2. theta grid: DPP re-solve vs rebuild, on K segments x 3 campaigns with S scenarios
    K, S = (50, 30) if args.quick else (300, 50)
    scen = rng.normal(0.03, 0.02, size=(S, K, M)) + rng.normal(0, 0.01, size=(1, K, M))
    sizes = rng.integers(100, 2000, size=K).astype(float)
    thetas = np.linspace(0.0, 4.0, 20)
    base = {"method": "ellipsoidal", "scenarios": scen, "budget": 0.3 * sizes.sum()}

    def grid(reuse):
        return [
            solve_allocation(scen.mean(0), sizes, theta=t, reuse_problem=reuse, **base)
            for t in thetas
        ]

    solved = grid(True)
    a = np.array([res.objective for res in solved])
    b = np.array([res.objective for res in grid(False)])
    in_solver = float(np.median([res.extras.get("solve_time", np.nan) for res in solved]))
    for t, x, y in zip(thetas[::5], a[::5], b[::5], strict=True):
        same_answer(f"objective at theta={t:.2f}", x, y, rtol=1e-6)
    times = interleaved({"DPP re-solve": lambda: grid(True), "rebuild": lambda: grid(False)},
                        repeats=args.repeats)  # fmt: skip
    dpp, reb = times["DPP re-solve"]["median"], times["rebuild"]["median"]
    grid_rows = [
        {"variant": "DPP re-solve (skcrm)", "cold (s)": times["DPP re-solve"]["cold"],
         "median of 20-theta grid (s)": dpp, "per theta (ms)": 1000 * dpp / 20},
        {"variant": "rebuild per theta", "cold (s)": times["rebuild"]["cold"],
         "median of 20-theta grid (s)": reb, "per theta (ms)": 1000 * reb / 20},
        {"variant": "speed-up", "median of 20-theta grid (s)": reb / dpp},
        {"variant": "inside Clarabel (both variants)", "per theta (ms)": 1000 * in_solver},
        {"variant": "speed-up outside the solver",
         "median of 20-theta grid (s)": (reb - 20 * in_solver) / max(dpp - 20 * in_solver, 1e-9)},
    ]  # fmt: skip
    tables = {
        f"Customer-level ellipsoidal allocation ({n:,} customers x {M})": big_rows,
        f"20-theta grid, {K} segments x {M} campaigns, {S} scenarios": grid_rows,
    }
    if args.hillstrom_splits:
        from skcrm.allocation._demo import hillstrom_splits

        summary, _ = hillstrom_splits(n_splits=args.hillstrom_splits, quick=args.quick)
        rows = [{"model": name, **row.round(1).to_dict()} for name, row in summary.iterrows()]
        tables[
            f"Hillstrom, {args.hillstrom_splits} random 70/30 splits: held-out incremental "
            "visits and the gain on nominal (mean, sd, min, max over splits)"
        ] = rows
    write_results(
        "allocation",
        args,
        tables,
        notes=[
            "customer-level SOCP: each row is a fresh child process (peak RSS is that "
            "process's, including Python, numpy and the data); the default path is the "
            "factored primal-dual interior point (Woodbury Newton steps, O(n r^2) per "
            "iteration, a certified duality gap), the previous path Clarabel on the factored "
            "formulation built without cvxpy (now the fallback)",
            "theta grid: cvxpy + Clarabel with DPP parameters",
            "the machine is shared: the load average is in the first table; timings are "
            "wall-clock on a loaded machine",
            "the theta-grid speed-up is bounded by the solver: Clarabel's own time per solve "
            "is the same in both variants (no warm start for interior-point methods); DPP "
            "removes the cvxpy compile time, the rest",
            f"same answers checked before timing (rtol 1e-6); repeats={args.repeats}",
        ],
        libraries=("skcrm", "numpy", "scipy", "cvxpy", "clarabel"),
    )


if __name__ == "__main__":
    main()
