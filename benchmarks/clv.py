"""AttributeBGNBD against lifetimes' BetaGeoFitter, side by side in one run.

1. Classic BG/NBD on simulated customers with continuous times (no two rows alike, so
   compressing duplicates gains nothing): cold fit and warm fits, interleaved, same
   log-likelihood first (both parameter sets scored by both libraries' likelihoods).
2. Weighting duplicate (frequency, recency, T) rows on discretised real data (CDNOW).
3. The attribute model on 1M customers / ~5M transactions: fit time and peak memory, in a
   child process so that the peak is the fit's own.

    make .venv-bench/.stamp && .venv-bench/bin/python benchmarks/clv.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

from _common import (
    markdown_table,
    peak_rss_mib,
    peer,
    same_answer,
    setup,
    write_results,
)

# main before the issue-12 speed work (the parent of 2c5d2b3, "bootstrap DERT progress and
# cheaper series"): the baseline of the bootstrap DERT goal (>= 5x)
BOOT_BASELINE = "2c5d2b3^"
BOOT_PATHS = 200
BOOT_CHECK = {}  # the Monte Carlo same-answer check of the bootstrap section (for the notes)


def _extra(parser):
    parser.add_argument(
        "--attr-child", type=int, default=0, help="internal: attribute fit of N customers"
    )
    parser.add_argument(
        "--boot-child", type=int, default=0, help="internal: bootstrap DERT of N customers"
    )
    parser.add_argument(
        "--boot-seeds",
        type=int,
        default=0,
        help="internal: with --boot-child, sums of DERT for random_state 1..N (no timing)",
    )
    parser.add_argument(
        "--cold-child",
        default="",
        help="internal: time the first fit of 'skcrm' or 'lifetimes' on --cold-data",
    )
    parser.add_argument("--cold-data", default="", help="internal: .npy RFM array")
    parser.add_argument(
        "--only",
        choices=[
            "classic",
            "predictions",
            "alive-floor",
            "quickstart",
            "bootstrap",
            "duplicates",
            "attribute",
        ],
        default="",
        help="run one section and print its table (benchmarks/results/clv.md is not written)",
    )
    parser.add_argument(
        "--cold-runs", type=int, default=0, help="fresh processes per library (default 5, 3 at 1M)"
    )
    parser.add_argument(
        "--boot-baseline",
        default=BOOT_BASELINE,
        help="git revision whose skcrm is the bootstrap DERT baseline ('' to skip)",
    )


ARGS = setup("AttributeBGNBD vs lifetimes BetaGeoFitter", extra_args=_extra)

import numpy as np  # noqa: E402

from skcrm.clv import AttributeBGNBD, rfm_summary, transactions_from_log  # noqa: E402
from skcrm.clv._likelihood import log_likelihood  # noqa: E402
from skcrm.datasets import load_cdnow, make_attribute_bgnbd_data  # noqa: E402

BG_TRUTH = {"r": 0.243, "alpha": 4.41, "a": 0.793, "b": 2.43}  # CDNOW-like


def interleaved_cpu(funcs, repeats):
    """Interleaved A B A B timing of wall-clock and CPU seconds (medians).

    On a shared, oversubscribed machine the CPU time of the process is the steadier figure;
    both are reported.
    """
    wall = {k: [] for k in funcs}
    cpu = {k: [] for k in funcs}
    for _ in range(repeats):
        for name, func in funcs.items():
            w0, c0 = time.perf_counter(), time.process_time()
            func()
            wall[name].append(time.perf_counter() - w0)
            cpu[name].append(time.process_time() - c0)
    return {k: (float(np.median(wall[k])), float(np.median(cpu[k]))) for k in funcs}


def simulate_rfm(n, seed=0):
    """Classic BG/NBD customers with continuous purchase times (39-week calibration)."""
    tx, _ = make_attribute_bgnbd_data(
        n,
        **BG_TRUTH,
        coef={},
        dropout_mixing="beta",
        dropout_after_first=False,
        acquisition_end=12.0,
        calibration_end=39.0,
        observation_end=39.0,
        random_state=seed,
    )
    return rfm_summary(tx, observation_end=39.0)


def our_ll(params, rfm, weights=None):
    n, R, A = (rfm[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    ll = log_likelihood(n, R, A, np.maximum(n - 1, 0), n, *params, "beta")
    return float(ll.sum() if weights is None else weights @ ll)


def their_ll(bgf_cls, params, rfm):
    n, R, A = (rfm[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    mean = bgf_cls._negative_log_likelihood(np.log(params), n, R, A, np.ones_like(n), 0.0)
    return -float(mean) * n.size


def cold_child(lib, path):
    """First fit of one library in this fresh process, imports and data loaded before timing.

    Prints JSON {cpu, wall, params}: the cold cost a user's first fit pays (first-call
    caches, lazy imports inside the libraries' own fit code such as scikit-learn's
    callback support), not the cost of ``import``.
    """
    import pandas as pd

    from skcrm.clv import AttributeBGNBD as Ours  # noqa: F401  (both imported on both sides)

    try:
        from lifetimes import BetaGeoFitter
    except ImportError:
        BetaGeoFitter = None
    X = np.load(path)
    rfm = pd.DataFrame(X, columns=["frequency", "recency", "T"])
    if lib == "skcrm":

        def fit():
            m = Ours(dropout_mixing="beta", dropout_after_first=False).fit(X)
            return m.params_.to_numpy()
    else:

        def fit():
            m = BetaGeoFitter().fit(rfm["frequency"], rfm["recency"], rfm["T"])
            return m.params_[["r", "alpha", "a", "b"]].to_numpy()

    t0, c0 = time.perf_counter(), time.process_time()
    params = fit()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(json.dumps({"wall": wall, "cpu": cpu, "params": [float(v) for v in params]}))


def cold_fits(X, runs, libs):
    """Median cold (first-in-a-fresh-process) fit of each library, processes interleaved."""
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "rfm.npy")
        np.save(path, X)
        res = {lib: [] for lib in libs}
        for _ in range(runs):
            for lib in libs:
                out = subprocess.run(
                    [sys.executable, __file__, "--cold-child", lib, "--cold-data", path],
                    capture_output=True,
                    text=True,
                    check=True,
                    env={**os.environ, "PYTHONWARNINGS": "ignore"},
                )
                res[lib].append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {
        lib: (
            float(np.median([r["wall"] for r in runs_])),
            float(np.median([r["cpu"] for r in runs_])),
            runs_[0]["params"],
        )
        for lib, runs_ in res.items()
    }


def classic_section(n_customers, lifetimes):
    rfm = simulate_rfm(n_customers)
    X = rfm.to_numpy()
    distinct = len(np.unique(X, axis=0))
    runs = ARGS.cold_runs or (1 if ARGS.quick else 3 if n_customers >= 1_000_000 else 5)

    def ours():
        return AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False).fit(X)

    cold = cold_fits(X, runs, ["skcrm", "lifetimes"] if lifetimes is not None else ["skcrm"])
    model = ours()
    row = {
        "customers": n_customers,
        "distinct rows": distinct,
        "skcrm cold wall / CPU (s)": f"{cold['skcrm'][0]:.3g} / {cold['skcrm'][1]:.3g}",
        "skcrm LL": f"{model.log_likelihood_:.4f}",
    }
    if lifetimes is None:
        return row, None
    from lifetimes import BetaGeoFitter

    def theirs():
        return BetaGeoFitter().fit(rfm["frequency"], rfm["recency"], rfm["T"])

    bgf = theirs()
    p_ours = model.params_.to_numpy()
    p_theirs = bgf.params_[["r", "alpha", "a", "b"]].to_numpy()
    same_answer(
        "LL of the fits (skcrm's likelihood)", our_ll(p_ours, rfm), our_ll(p_theirs, rfm), 1e-6
    )
    same_answer(
        "LL of the fits (lifetimes' likelihood)",
        their_ll(BetaGeoFitter, p_ours, rfm),
        their_ll(BetaGeoFitter, p_theirs, rfm),
        1e-6,
    )
    same_answer(
        "our LL vs lifetimes' formula at our optimum",
        model.log_likelihood_,
        their_ll(BetaGeoFitter, p_ours, rfm),
        1e-9,
    )
    for lib, p in (("skcrm", p_ours), ("lifetimes", p_theirs)):
        diff = float(np.max(np.abs(np.asarray(cold[lib][2]) / p - 1)))
        print(f"same answer? {lib}: fresh-process fit vs fit here, max param rel diff {diff:.1e}")
        if not diff <= 1e-9:
            sys.exit(f"{lib}: the cold fit in a fresh process gave other parameters ({diff:.3g})")
    t = interleaved_cpu({"skcrm": ours, "lifetimes": theirs}, repeats=ARGS.repeats)
    cw, cc = cold["lifetimes"][0] / cold["skcrm"][0], cold["lifetimes"][1] / cold["skcrm"][1]
    row.update(
        {
            "lifetimes cold wall / CPU (s)": f"{cold['lifetimes'][0]:.3g} / "
            f"{cold['lifetimes'][1]:.3g}",
            "cold ratio wall / CPU": f"{cw:.1f} / {cc:.1f}",
            "skcrm median wall / CPU (s)": f"{t['skcrm'][0]:.3g} / {t['skcrm'][1]:.3g}",
            "lifetimes median wall / CPU (s)": f"{t['lifetimes'][0]:.3g} / {t['lifetimes'][1]:.3g}",
            "median ratio wall / CPU": f"{t['lifetimes'][0] / t['skcrm'][0]:.1f} / "
            f"{t['lifetimes'][1] / t['skcrm'][1]:.1f}",
            "lifetimes LL": f"{our_ll(p_theirs, rfm):.4f}",
            "max param rel diff": float(np.max(np.abs(p_ours / p_theirs - 1))),
        }
    )
    return row, bgf


def duplicates_section(quick):
    rows = []
    kinds = ["summary"] if quick else ["summary", "master"]
    for kind in kinds:
        if kind == "summary":
            rfm = load_cdnow("summary")
        else:
            tx = transactions_from_log(load_cdnow("master"), "customer_id", "date")
            cal = tx[tx["t"] <= 272 / 7]
            rfm = rfm_summary(cal, "customer_id", "t", observation_end=272 / 7)
        key = ["frequency", "recency", "T"]
        comp = rfm.groupby(key).size().rename("w").reset_index()
        X, Xc, w = rfm[key].to_numpy(), comp[key].to_numpy(), comp["w"].to_numpy()

        def plain(X=X):
            return AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False).fit(X)

        def weighted(Xc=Xc, w=w):
            est = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False)
            return est.fit(Xc, sample_weight=w)

        a, b = plain(), weighted()
        same_answer(
            f"CDNOW {kind}: weighted vs plain LL", b.log_likelihood_, a.log_likelihood_, 1e-9
        )
        t = interleaved_cpu({"plain": plain, "weighted": weighted}, repeats=15)
        rows.append(
            {
                "data": f"CDNOW {kind} (day-level times)",
                "customers": len(rfm),
                "distinct rows": len(comp),
                "plain CPU (s)": t["plain"][1],
                "weighted CPU (s)": t["weighted"][1],
                "gain (CPU)": t["plain"][1] / t["weighted"][1],
                "gain (wall)": t["plain"][0] / t["weighted"][0],
                "LL": f"{a.log_likelihood_:.4f}",
            }
        )
    return rows


def attribute_child(n_customers):
    """Simulate, then time the attribute fit; print JSON with the fit's own peak memory."""
    tx, _ = make_attribute_bgnbd_data(
        n_customers,
        r=1.0,
        alpha=3.0,
        s=1.0,
        b=4.0,
        acquisition_end=26.0,
        calibration_end=52.0,
        observation_end=52.0,
        random_state=1,
    )
    tx = tx.drop(columns="period")
    before = peak_rss_mib()
    est = AttributeBGNBD(
        attribute_cols=["attr", "cont"], first_transaction_effect=True, observation_end=52.0
    )
    t0, c0 = time.perf_counter(), time.process_time()
    est.fit(tx)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    truth = {"first": -0.2, "attr": 0.5, "cont": -0.3}
    print(
        json.dumps(
            {
                "customers": n_customers,
                "transactions": len(tx),
                "fit wall (s)": seconds,
                "fit CPU (s)": cpu,
                "peak RSS before fit (MiB)": before,
                "peak RSS (MiB)": peak_rss_mib(),
                "iterations": est.n_iter_,
                "coef": {k: round(float(est.coef_[k]), 4) for k in truth},
                "truth": truth,
            }
        )
    )


def boot_child(n_customers, seeds=0):
    """Bootstrap DERT (simulated attribute paths) of the attribute model; print JSON timings.

    Runs under whichever skcrm is first on PYTHONPATH (this tree or the baseline's). With
    ``seeds``, prints instead the sums of DERT for random_state = 1..seeds (the Monte Carlo
    reference of the same-answer check).
    """
    import skcrm

    tx, _ = make_attribute_bgnbd_data(n_customers, random_state=11)
    est = AttributeBGNBD(attribute_cols=["attr", "cont"]).fit(tx)
    if seeds:
        sums = []
        for seed in range(1, seeds + 1):
            est.set_params(future_attributes="bootstrap", n_future_sims=BOOT_PATHS)
            est.set_params(random_state=seed)
            sums.append(float(np.sum(est.dert(tx, discount_rate=0.01))))
        print(json.dumps({"sums": sums, "path": skcrm.__file__}))
        return
    est.set_params(future_attributes="bootstrap", n_future_sims=BOOT_PATHS, random_state=0)
    t0, c0 = time.perf_counter(), time.process_time()
    d = est.dert(tx, discount_rate=0.01)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(json.dumps({"wall": wall, "cpu": cpu, "sum": float(np.sum(d)), "path": skcrm.__file__}))


def bootstrap_section(n_customers, baseline, repeats):
    """Bootstrap DERT of this tree vs the baseline revision, child processes interleaved."""
    import os
    import tempfile
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    trees = {"this tree": str(root)}
    tmp = None
    if baseline:
        tmp = tempfile.TemporaryDirectory()
        archive = subprocess.run(
            ["git", "-C", str(root), "archive", baseline, "skcrm"], capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", tmp.name], input=archive.stdout, check=True)
        trees = {f"main at {baseline}": tmp.name, **trees}
    res = {k: [] for k in trees}
    for _ in range(repeats):
        for name, path in trees.items():
            env = {**os.environ, "PYTHONPATH": path}
            out = subprocess.run(
                [sys.executable, __file__, "--boot-child", str(n_customers)],
                capture_output=True,
                text=True,
                check=True,
                env=env,
                cwd=str(root / "benchmarks"),
            )
            res[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
    # same answer within Monte Carlo error: the draws differ between the trees (job-major
    # 32-bit draws, shared draws for the population's pool), so each tree's seed-0 sum of DERT
    # must lie within 4 standard errors of this tree's mean over independent seeds
    n_seeds = 6 if ARGS.quick else 8
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--boot-child",
            str(n_customers),
            "--boot-seeds",
            str(n_seeds),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(root)},
        cwd=str(root / "benchmarks"),
    )
    sums = np.array(json.loads(out.stdout.strip().splitlines()[-1])["sums"])
    ref, sd = float(sums.mean()), float(sums.std(ddof=1))
    tol = 4.0 * sd * np.sqrt(1.0 + 1.0 / n_seeds)
    for name, runs in res.items():
        gap = abs(runs[0]["sum"] - ref)
        status = "OK" if gap <= tol else "DISAGREE"
        print(
            f"same answer? {name}: sum of DERT {runs[0]['sum']:.4f} vs {n_seeds}-seed mean "
            f"{ref:.4f} (sd {sd:.3f}): |gap| {gap:.3f} <= {tol:.3f} [{status}]"
        )
        if gap > tol:
            sys.exit(f"bootstrap DERT of {name} is off by more than 4 Monte Carlo errors")
    BOOT_CHECK.update(ref=ref, sd=sd, n_seeds=n_seeds, tol=tol)
    rows = []
    base_cpu = None
    for name, runs in res.items():
        cpu = float(np.median([r["cpu"] for r in runs]))
        row = {
            "skcrm": name,
            "customers": n_customers,
            "paths": BOOT_PATHS,
            "DERT CPU (s)": cpu,
            "DERT wall (s)": float(np.median([r["wall"] for r in runs])),
            "sum of DERT": runs[0]["sum"],
            "gap to MC reference / MC sd": abs(runs[0]["sum"] - BOOT_CHECK["ref"])
            / BOOT_CHECK["sd"],
        }
        if base_cpu is None and baseline:
            base_cpu = cpu
        row["speed-up vs baseline (CPU)"] = base_cpu / cpu if base_cpu else None
        rows.append(row)
    if tmp is not None:
        tmp.cleanup()
    return rows


def prediction_section(n_customers, lifetimes):
    """E[X(52)] and P(alive) for n customers, and the Pareto/NBD fit on CDNOW, vs lifetimes.

    Same parameters on both sides (the predictions only are timed), warm calls, medians of
    interleaved repeats; each side gets the same data in the same form: the RFM array (skcrm)
    and its three columns (lifetimes), or the summary DataFrame (skcrm) and its three
    Series (lifetimes' documented usage).
    """
    import pandas as pd

    frame = simulate_rfm(n_customers)
    rfm = frame.to_numpy()
    bg = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False)
    bg.fit(rfm[: min(50_000, len(rfm))])
    bg_df = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False)
    bg_df.fit(frame.iloc[: min(50_000, len(rfm))])  # the same fit, with feature names
    np.testing.assert_allclose(bg_df.params_.to_numpy(), bg.params_.to_numpy(), rtol=1e-12)
    rows = []
    f, x, T = rfm[:, 0], rfm[:, 1], rfm[:, 2]
    cols = frame["frequency"], frame["recency"], frame["T"]
    cases = {
        "E[X(52)], arrays": (
            lambda: bg.conditional_expected_transactions(rfm, 52.0),
            "conditional_expected_number_of_purchases_up_to_time",
            (52.0, f, x, T),
        ),
        "P(alive), arrays": (
            lambda: bg.probability_alive(rfm),
            "conditional_probability_alive",
            (f, x, T),
        ),
        "P(alive), DataFrame / Series": (
            lambda: bg_df.probability_alive(frame),
            "conditional_probability_alive",
            cols,
        ),
    }
    theirs_model = None
    if lifetimes is not None:
        theirs_model = lifetimes.BetaGeoFitter()
        theirs_model.params_ = pd.Series(dict(bg.params_))  # same parameters
    for name, (ours, method, args) in cases.items():
        timing = {"ours": ours}
        if theirs_model is not None:
            fn = getattr(theirs_model, method)
            timing["theirs"] = lambda fn=fn, args=args: fn(*args)
        med = interleaved_cpu(timing, 5 if ARGS.quick else 21)  # ms each: many repeats
        cpu = {k: v[1] for k, v in med.items()}
        row = {"quantity": name, "customers": n_customers, "skcrm CPU (s)": cpu["ours"]}
        if "theirs" in cpu:
            got = np.asarray(ours(), dtype=float)
            ref = np.asarray(timing["theirs"](), dtype=float)
            ok = np.isfinite(ref)
            rel = float(np.max(np.abs(got[ok] / ref[ok] - 1)))
            same_answer(f"{name}: max rel diff", 1.0 + rel, 1.0, 1e-10)
            row["lifetimes CPU (s)"] = cpu["theirs"]
            row["ratio (CPU)"] = cpu["theirs"] / cpu["ours"]
            row["max rel diff"] = rel
        rows.append(row)
    summary = load_cdnow("summary")
    from skcrm.clv import ParetoNBD

    timing = {"ours": lambda: ParetoNBD().fit(summary)}
    if lifetimes is not None:
        timing["theirs"] = lambda: lifetimes.ParetoNBDFitter().fit(
            summary["frequency"], summary["recency"], summary["T"]
        )
    cpu = {k: v[1] for k, v in interleaved_cpu(timing, 2).items()}
    row = {"quantity": "ParetoNBD fit (CDNOW)", "customers": len(summary)}
    row["skcrm CPU (s)"] = cpu["ours"]
    if "theirs" in cpu:
        row["lifetimes CPU (s)"] = cpu["theirs"]
        row["ratio (CPU)"] = cpu["theirs"] / cpu["ours"]
    rows.append(row)
    return rows


def _alive_formula(log1p, exp, minimum):
    """P(alive) of the BG/NBD in one expression, for compilers that fuse it (JAX, numba)."""

    def alive(n, R, A, r, alpha, log_a, b):
        f = minimum(n, 1.0)
        g = n - f + b
        return g / (g + f * exp(log_a + (r + n) * log1p((A * f - R) / (R + alpha))))

    return alive


def alive_floor_section(n_customers, lifetimes):
    """Why P(alive) on plain arrays is about 2x lifetimes: the same formula, compiled.

    skcrm's fused numpy kernel against the one-expression formula compiled by JAX (XLA, one
    fused loop, 64-bit) and by numba (an explicit loop, scalar libm calls; with and without
    fastmath), numexpr when it is installed, and the numpy work no formulation can skip (one
    log1p, one exp and two divisions per customer, in the kernel's chunks). All on one
    thread, same parameters, same (n, 3) array, interleaved; compile and import times in
    the row notes.
    """
    import importlib
    import math

    import pandas as pd

    frame = simulate_rfm(n_customers)
    rfm = frame.to_numpy()
    bg = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False)
    bg.fit(rfm[: min(50_000, len(rfm))])
    r, alpha, a, b = (float(v) for v in bg.params_.to_numpy())
    n, R, A = rfm[:, 0], rfm[:, 1], rfm[:, 2]
    cases = {"skcrm probability_alive (numpy, fused chunks)": lambda: bg.probability_alive(rfm)}
    setup_s = {}
    if lifetimes is not None:
        theirs = lifetimes.BetaGeoFitter()
        theirs.params_ = pd.Series(dict(bg.params_))
        cases["lifetimes conditional_probability_alive"] = lambda: (
            theirs.conditional_probability_alive(n, R, A)
        )
    t0 = time.perf_counter()
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    t_import = time.perf_counter() - t0
    cpu = jax.devices("cpu")[0]
    jitted = jax.jit(_alive_formula(jnp.log1p, jnp.exp, jnp.minimum))
    dn, dR, dA = (jax.device_put(c, cpu) for c in (n, R, A))
    t0 = time.perf_counter()
    jitted(dn, dR, dA, r, alpha, math.log(a), b).block_until_ready()
    setup_s["JAX jit (XLA, x64)"] = (t_import, time.perf_counter() - t0)
    cases["JAX jit (XLA, x64)"] = lambda: np.asarray(jitted(dn, dR, dA, r, alpha, math.log(a), b))
    t0 = time.perf_counter()
    try:
        numba = importlib.import_module("numba")
    except ImportError:
        numba = None
        print("numba is not installed (it comes with `make bench`): no numba rows")
    t_numba = time.perf_counter() - t0
    if numba is not None:
        for fastmath in (False, True):

            def loop(n, R, A, r, alpha, log_a, b):
                out = np.empty(n.size)
                for i in range(n.size):
                    f = min(n[i], 1.0)
                    g = n[i] - f + b
                    x = (A[i] * f - R[i]) / (R[i] + alpha)
                    out[i] = g / (g + f * math.exp(log_a + (r + n[i]) * math.log1p(x)))
                return out

            name = f"numba njit loop (fastmath={fastmath})"
            t0 = time.perf_counter()
            fn = numba.njit(fastmath=fastmath, error_model="numpy")(loop)
            fn(n, R, A, r, alpha, math.log(a), b)
            setup_s[name] = (t_numba if not fastmath else 0.0, time.perf_counter() - t0)
            cases[name] = lambda fn=fn: fn(n, R, A, r, alpha, math.log(a), b)
    try:
        numexpr = importlib.import_module("numexpr")
    except ImportError:
        numexpr = None
    if numexpr is not None:
        numexpr.set_num_threads(1)
        expr = "g / (g + f * exp(la + (r + n) * log1p((A * f - R) / (R + alpha))))"

        def ne():
            f = numexpr.evaluate("where(n < 1.0, n, 1.0)", local_dict={"n": n})
            g = numexpr.evaluate("n - f + b", local_dict={"n": n, "f": f, "b": b})
            return numexpr.evaluate(
                expr,
                local_dict={"g": g, "f": f, "n": n, "R": R, "A": A, "r": r, "alpha": alpha},
                global_dict={"la": math.log(a)},
            )

        cases["numexpr (1 thread)"] = ne
    chunk = 32_768
    bufs = np.empty((2, chunk))

    def floor():  # log1p, exp and two divisions per customer, nothing else
        for i in range(0, n.size, chunk):
            j = min(i + chunk, n.size)
            x, y = bufs[0, : j - i], bufs[1, : j - i]
            np.divide(R[i:j], A[i:j], out=x)
            np.log1p(x, out=x)
            np.exp(x, out=y)
            np.divide(x, y, out=y)

    out_buf = np.empty(n.size)

    def unchecked():  # skcrm's chunked kernel without its input checks (not shipped)
        log_a = math.log(a)
        for i in range(0, n.size, chunk):
            j = min(i + chunk, n.size)
            f, L, o = bufs[0, : j - i], bufs[1, : j - i], out_buf[i:j]
            np.minimum(n[i:j], 1.0, out=f)
            np.multiply(A[i:j], f, out=L)
            L -= R[i:j]
            np.add(R[i:j], alpha, out=o)
            L /= o
            np.log1p(L, out=L)
            np.add(n[i:j], r, out=o)
            L *= o
            L += log_a
            np.exp(L, out=L)
            L *= f
            np.subtract(n[i:j], f, out=o)
            o += b
            L += o
            np.divide(o, L, out=o)
        return out_buf

    ref = np.asarray(next(iter(cases.values()))(), dtype=float)
    cases["numpy, skcrm's kernel without its input checks"] = unchecked
    cases["numpy floor: log1p + exp + 2 divisions only"] = floor
    med = interleaved_cpu(cases, 5 if ARGS.quick else 21)
    base = med.get("lifetimes conditional_probability_alive", (None, None))[1]
    rows = []
    for name, func in cases.items():
        row = {"P(alive), (n, 3) array": name, "customers": n_customers}
        row["CPU (ms)"] = 1e3 * med[name][1]
        row["lifetimes / this (CPU)"] = base / med[name][1] if base else None
        if name.startswith("numpy floor"):
            row["max rel diff vs skcrm"] = None
        else:
            got = np.asarray(func(), dtype=float)
            row["max rel diff vs skcrm"] = float(np.max(np.abs(got / ref - 1)))
        imp, comp = setup_s.get(name, (None, None))
        row["import + first call (s)"] = f"{imp:.2f} + {comp:.2f}" if comp is not None else ""
        rows.append(row)
    return rows


def quickstart_section(lifetimes):
    """The lifetimes quick-start workflow on the CDNOW master log, in both libraries (CPU s).

    Summary, calibration/holdout split, BG/NBD fit, holdout predictions and P(alive),
    tracking over the 78 weeks, Gamma-Gamma fit and 12-month CLV in money.
    """
    import pandas as pd

    from skcrm.clv import (
        GammaGammaSpend,
        annual_to_weekly,
        calibration_holdout_split,
        customer_lifetime_value,
    )
    from skcrm.clv.plotting import calibration_holdout_tracking

    log = load_cdnow("master")

    def ours():
        tx = transactions_from_log(log, value_cols=["dollar_value"])
        cal_end, end = 272 / 7, 545 / 7
        cal, hold, length = calibration_holdout_split(tx, cal_end, end)
        summ = rfm_summary(cal, observation_end=cal_end, monetary_col="dollar_value")
        bg = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False).fit(summ)
        bg.conditional_expected_transactions(summ, length)
        bg.probability_alive(summ)
        calibration_holdout_tracking(bg, tx, cal_end, end, n_points=78)
        gg = GammaGammaSpend().fit(summ[summ["frequency"] > 0])
        clv = customer_lifetime_value(
            bg, gg, summ, horizon=52.0, discount_rate=annual_to_weekly(0.1)
        )
        return float(clv.sum())

    timing = {"ours": ours}
    if lifetimes is not None:
        from lifetimes.utils import (
            calibration_and_holdout_data,
            expected_cumulative_transactions,
        )

        def theirs():
            ch = calibration_and_holdout_data(
                log,
                "customer_id",
                "date",
                calibration_period_end="1997-09-30",
                observation_period_end="1998-06-30",
                freq="D",
                monetary_value_col="dollar_value",
            )
            f, r, T = ch["frequency_cal"], ch["recency_cal"] / 7, ch["T_cal"] / 7
            bgf = lifetimes.BetaGeoFitter().fit(f, r, T)
            bgf.conditional_expected_number_of_purchases_up_to_time(39, f, r, T)
            bgf.conditional_probability_alive(f, r, T)
            expected_cumulative_transactions(
                bgf, log, "date", "customer_id", t=78 * 7, freq="D", freq_multiplier=7
            )
            rep = ch[(ch["frequency_cal"] > 0) & (ch["monetary_value_cal"] > 0)]
            ggf = lifetimes.GammaGammaFitter().fit(rep["frequency_cal"], rep["monetary_value_cal"])
            clv = ggf.customer_lifetime_value(
                bgf, f, r, T, ch["monetary_value_cal"], time=12, discount_rate=0.1 / 12, freq="W"
            )
            return float(clv.sum())

        timing["theirs"] = theirs
    cpu, wall = {}, {}
    for name, func in timing.items():
        w0, c0 = time.perf_counter(), time.process_time()
        func()
        wall[name], cpu[name] = time.perf_counter() - w0, time.process_time() - c0
    row = {
        "workflow": "CDNOW master quick-start",
        "skcrm CPU (s)": cpu["ours"],
        "skcrm wall (s)": wall["ours"],
    }
    if "theirs" in cpu:
        row |= {
            "lifetimes CPU (s)": cpu["theirs"],
            "lifetimes wall (s)": wall["theirs"],
            "ratio (CPU)": cpu["theirs"] / cpu["ours"],
        }
    _ = pd
    return [row]


def attribute_row(n_attr):
    out = subprocess.run(
        [sys.executable, __file__, "--attr-child", str(n_attr), "--threads", str(ARGS.threads)],
        capture_output=True,
        text=True,
        check=True,
    )
    attr = json.loads(out.stdout.strip().splitlines()[-1])
    row = {k: v for k, v in attr.items() if k not in ("coef", "truth")}
    row["coef (first, attr, cont)"] = ", ".join(f"{v:+.3f}" for v in attr["coef"].values())
    row["truth"] = ", ".join(f"{v:+.3f}" for v in attr["truth"].values())
    return row


def main():
    if ARGS.attr_child:
        attribute_child(ARGS.attr_child)
        return
    if ARGS.boot_child:
        boot_child(ARGS.boot_child, ARGS.boot_seeds)
        return
    if ARGS.cold_child:
        cold_child(ARGS.cold_child, ARGS.cold_data)
        return
    lifetimes = peer("lifetimes")
    n_classic = 20_000 if ARGS.quick else 1_000_000
    n_attr = 20_000 if ARGS.quick else 1_000_000
    n_boot, boot_repeats = (500, 1) if ARGS.quick else (3000, 3)
    sections = {
        "classic": lambda: [
            classic_section(n, lifetimes)[0]
            for n in ([n_classic] if ARGS.quick else [300_000, n_classic])
        ],
        "predictions": lambda: prediction_section(20_000 if ARGS.quick else 300_000, lifetimes),
        "alive-floor": lambda: alive_floor_section(20_000 if ARGS.quick else 300_000, lifetimes),
        "quickstart": lambda: quickstart_section(lifetimes),
        "bootstrap": lambda: bootstrap_section(n_boot, ARGS.boot_baseline, boot_repeats),
        "duplicates": lambda: duplicates_section(ARGS.quick),
        "attribute": lambda: [attribute_row(n_attr)],
    }
    if ARGS.only:
        print(markdown_table(sections[ARGS.only]()))
        return
    classic = sections["classic"]()
    predictions = sections["predictions"]()
    floor = sections["alive-floor"]()
    quickstart = sections["quickstart"]()
    boot = sections["bootstrap"]()
    dup = sections["duplicates"]()
    attr_row = sections["attribute"]()[0]
    notes = [
        "classic: BG/NBD (dropout_mixing='beta', dropout_after_first=False) on simulated "
        f"customers (r, alpha, a, b = {tuple(BG_TRUTH.values())}) with continuous times; "
        "cold = the first fit in a fresh process (both libraries imported and the data "
        "loaded before timing; scikit-learn's lazy import of its callback support, ~0.05 s, "
        "is inside skcrm's first fit), median over 5 fresh processes per library at 300k and "
        "3 at 1M, interleaved; warm = medians over interleaved repeats in this process",
        "same answer: both parameter sets scored with both libraries' likelihoods (rel 1e-6); "
        "the fresh-process fits give the same parameters as the fits here (rel 1e-9)",
        "predictions: same parameters on both sides, warm calls, medians of 21 interleaved "
        "repeats; arrays = skcrm gets the (n, 3) RFM array, lifetimes its three columns; "
        "DataFrame / Series = skcrm gets the summary DataFrame (int frequency column), "
        "lifetimes its three Series (its documented usage); answers equal to 1e-10",
        "P(alive) compiled: the same (n, 3) array and parameters; JAX = the formula in one "
        "jax.jit (XLA fuses it into one loop; float64; XLA pinned to one thread), numba = an "
        "explicit njit loop (one thread; scalar libm log1p/exp), numpy floor = only the "
        "log1p, exp and two divisions per customer in 32k chunks (no input checks, no "
        "masking): a bound for any numpy formulation; without its input checks = skcrm's "
        "kernel less the reductions that send invalid rows to the raising path (not shipped: "
        "it answers negative counts or recency > T silently); import + first call = what a fresh "
        "process pays before the first answer",
        "duplicates: the same fit on rows compressed to distinct (frequency, recency, T) "
        "with sample_weight = counts",
        "attribute model: 2 attributes + first-job effect, exact gradients, L-BFGS-B on a "
        "subsample then BFGS on all customers, standard errors included; peak RSS of the "
        "child process (data included)",
        "bootstrap DERT: AttributeBGNBD(attribute_cols=['attr', 'cont']) on "
        "make_attribute_bgnbd_data(3000, random_state=11), future_attributes='bootstrap', "
        "n_future_sims=200, random_state=0, dert(discount_rate=0.01); each tree in its own "
        "child process, interleaved, medians of 3. The two trees draw different random "
        "numbers (this tree: job-major 32-bit draws, one draw per group for the customers "
        "who resample the population's jobs), so the same-answer check is Monte Carlo: each "
        "tree's sum of DERT lies within 4 standard errors of this tree's mean over "
        f"random_state = 1..{BOOT_CHECK.get('n_seeds', 8)} (reference "
        f"{BOOT_CHECK.get('ref', float('nan')):.3f}, sd of one 200-path sum "
        f"{BOOT_CHECK.get('sd', float('nan')):.3f})",
        "command: make .venv-bench/.stamp && .venv-bench/bin/python benchmarks/clv.py "
        "(one section: --only classic|predictions|alive-floor|quickstart|bootstrap|duplicates|"
        "attribute)",
    ]
    write_results(
        "clv",
        ARGS,
        {
            "Classic BG/NBD: skcrm vs lifetimes BetaGeoFitter": classic,
            "Predictions (same parameters) and the Pareto/NBD fit": predictions,
            "P(alive) on plain arrays: the same formula compiled (one thread)": floor,
            "The lifetimes quick-start workflow on the CDNOW master log": quickstart,
            "Bootstrap DERT (200 simulated attribute paths) vs main before the speed work": boot,
            "Weighting duplicate rows (CDNOW)": dup,
            "Attribute model on a transaction log (2 attributes + first-job effect)": [attr_row],
        },
        notes=notes,
        libraries=("skcrm", "numpy", "scipy", "lifetimes"),
    )


if __name__ == "__main__":
    main()
