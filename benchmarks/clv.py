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
    peak_rss_mib,
    peer,
    same_answer,
    setup,
    timed,
    write_results,
)

# main before the issue-12 speed work (the parent of 2c5d2b3, "bootstrap DERT progress and
# cheaper series"): the baseline of the bootstrap DERT goal (>= 5x)
BOOT_BASELINE = "2c5d2b3^"
BOOT_PATHS = 200


def _extra(parser):
    parser.add_argument(
        "--attr-child", type=int, default=0, help="internal: attribute fit of N customers"
    )
    parser.add_argument(
        "--boot-child", type=int, default=0, help="internal: bootstrap DERT of N customers"
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


def classic_section(n_customers, lifetimes):
    rfm = simulate_rfm(n_customers)
    X = rfm.to_numpy()
    distinct = len(np.unique(X, axis=0))

    def ours():
        return AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False).fit(X)

    c0 = time.process_time()
    model, cold = timed(ours)
    cold_cpu = time.process_time() - c0
    row = {
        "customers": n_customers,
        "distinct rows": distinct,
        "skcrm cold wall (s)": cold,
        "skcrm cold CPU (s)": cold_cpu,
        "skcrm LL": f"{model.log_likelihood_:.4f}",
    }
    if lifetimes is None:
        return row, None
    from lifetimes import BetaGeoFitter

    def theirs():
        return BetaGeoFitter().fit(rfm["frequency"], rfm["recency"], rfm["T"])

    c0 = time.process_time()
    bgf, their_cold = timed(theirs)
    their_cold_cpu = time.process_time() - c0
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
    t = interleaved_cpu({"skcrm": ours, "lifetimes": theirs}, repeats=ARGS.repeats)
    row.update(
        {
            "lifetimes cold wall (s)": their_cold,
            "lifetimes cold CPU (s)": their_cold_cpu,
            "cold ratio wall / CPU": f"{their_cold / cold:.1f} / {their_cold_cpu / cold_cpu:.1f}",
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


def boot_child(n_customers):
    """Bootstrap DERT (simulated attribute paths) of the attribute model; print JSON timings.

    Runs under whichever skcrm is first on PYTHONPATH (this tree or the baseline's).
    """
    import skcrm

    tx, _ = make_attribute_bgnbd_data(n_customers, random_state=11)
    est = AttributeBGNBD(attribute_cols=["attr", "cont"]).fit(tx)
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
        }
        if base_cpu is None and baseline:
            base_cpu = cpu
        row["speed-up vs baseline (CPU)"] = base_cpu / cpu if base_cpu else None
        rows.append(row)
    if tmp is not None:
        tmp.cleanup()
    return rows


def prediction_section(n_customers, lifetimes):
    """E[X(52)] and P(alive) for n customers, and the Pareto/NBD fit on CDNOW, vs lifetimes."""
    rfm = simulate_rfm(n_customers).to_numpy()
    bg = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False)
    bg.fit(rfm[: min(50_000, len(rfm))])
    rows = []
    funcs = {
        "E[X(52)]": (
            lambda: bg.conditional_expected_transactions(rfm, 52.0),
            "conditional_expected_number_of_purchases_up_to_time",
        ),
        "P(alive)": (lambda: bg.probability_alive(rfm), "conditional_probability_alive"),
    }
    theirs_model = None
    if lifetimes is not None:
        theirs_model = lifetimes.BetaGeoFitter()
        theirs_model.params_ = dict(bg.params_)  # same parameters: time the predictions only
        theirs_model.params_ = __import__("pandas").Series(theirs_model.params_)
    f, x, T = rfm[:, 0], rfm[:, 1], rfm[:, 2]
    for name, (ours, method) in funcs.items():
        timing = {"ours": ours}
        if theirs_model is not None:
            fn = getattr(theirs_model, method)
            if name == "E[X(52)]":
                timing["theirs"] = lambda fn=fn: fn(52.0, f, x, T)
            else:
                timing["theirs"] = lambda fn=fn: fn(f, x, T)
        med = interleaved_cpu(timing, 9)  # milliseconds each: more repeats, steadier medians
        cpu = {k: v[1] for k, v in med.items()}
        row = {"quantity": name, "customers": n_customers, "skcrm CPU (s)": cpu["ours"]}
        if "theirs" in cpu:
            got = np.asarray(ours(), dtype=float)
            ref = np.asarray(timing["theirs"](), dtype=float)
            ok = np.isfinite(ref)
            row["lifetimes CPU (s)"] = cpu["theirs"]
            row["ratio (CPU)"] = cpu["theirs"] / cpu["ours"]
            row["max rel diff"] = float(np.max(np.abs(got[ok] / ref[ok] - 1)))
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


def main():
    if ARGS.attr_child:
        attribute_child(ARGS.attr_child)
        return
    if ARGS.boot_child:
        boot_child(ARGS.boot_child)
        return
    lifetimes = peer("lifetimes")
    n_classic = 20_000 if ARGS.quick else 1_000_000
    n_attr = 20_000 if ARGS.quick else 1_000_000
    classic = [classic_section(n, lifetimes)[0] for n in ([300_000] if not ARGS.quick else [])]
    classic.append(classic_section(n_classic, lifetimes)[0])
    predictions = prediction_section(20_000 if ARGS.quick else 300_000, lifetimes)
    quickstart = quickstart_section(lifetimes)
    n_boot, boot_repeats = (500, 1) if ARGS.quick else (3000, 3)
    boot = bootstrap_section(n_boot, ARGS.boot_baseline, boot_repeats)
    dup = duplicates_section(ARGS.quick)
    out = subprocess.run(
        [sys.executable, __file__, "--attr-child", str(n_attr), "--threads", str(ARGS.threads)],
        capture_output=True,
        text=True,
        check=True,
    )
    attr = json.loads(out.stdout.strip().splitlines()[-1])
    attr_row = {k: v for k, v in attr.items() if k not in ("coef", "truth")}
    attr_row["coef (first, attr, cont)"] = ", ".join(f"{v:+.3f}" for v in attr["coef"].values())
    attr_row["truth"] = ", ".join(f"{v:+.3f}" for v in attr["truth"].values())
    notes = [
        "classic: BG/NBD (dropout_mixing='beta', dropout_after_first=False) on simulated "
        f"customers (r, alpha, a, b = {tuple(BG_TRUTH.values())}) with continuous times; "
        "cold = first fit in the process; medians over interleaved repeats",
        "same answer: both parameter sets scored with both libraries' likelihoods (rel 1e-6)",
        "duplicates: the same fit on rows compressed to distinct (frequency, recency, T) "
        "with sample_weight = counts",
        "attribute model: 2 attributes + first-job effect, exact gradients, L-BFGS-B on a "
        "subsample then BFGS on all customers, standard errors included; peak RSS of the "
        "child process (data included)",
        "bootstrap DERT: AttributeBGNBD(attribute_cols=['attr', 'cont']) on "
        "make_attribute_bgnbd_data(3000, random_state=11), future_attributes='bootstrap', "
        "n_future_sims=200, random_state=0, dert(discount_rate=0.01); each tree in its own "
        "child process, interleaved, medians of 3; the same sum of DERT = the same answer",
        "command: make .venv-bench/.stamp && .venv-bench/bin/python benchmarks/clv.py",
    ]
    write_results(
        "clv",
        ARGS,
        {
            "Classic BG/NBD: skcrm vs lifetimes BetaGeoFitter": classic,
            "Predictions (same parameters) and the Pareto/NBD fit": predictions,
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
