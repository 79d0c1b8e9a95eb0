"""Scaling out on Dask: the attribute BG/NBD fitted from Parquet by a 2-worker LocalCluster.

For each log size: simulate the attribute model's transaction log in chunks of customers,
written to Parquet sorted by customer (one file per chunk, so the log is never whole in the
client's memory); fit ``AttributeBGNBD`` on the Parquet path with a ``LocalCluster`` of two
single-threaded worker processes, each limited to ``--worker-memory``; report the fit time,
the peak resident memory of each worker and of the client. The smallest size is also fitted
in memory (pandas) and the parameters are compared (same answer first). Last, the time to
score ``--score-customers`` customers' P(alive) from an RFM table on the cluster.

With ``--pomdp``: the same for ``POMDPPolicy`` (tabular EM) on a customer-period panel of
``--pomdp-periods`` periods simulated from the CRM3 POMDP (``skcrm.datasets``), written to
Parquet sorted by customer; fit time, EM iterations, peak memory per worker and of the
client against the in-memory fit (same answer first), results in ``scale_pomdp.md``.

Usage: python benchmarks/scale.py [--quick] [--sizes 500000,1000000,2000000]
       python benchmarks/scale.py --pomdp [--pomdp-sizes 250000,1000000]
"""

from __future__ import annotations

import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import same_answer, setup, write_results  # noqa: E402


def _args(parser):
    parser.add_argument("--sizes", default="500000,1000000,2000000", help="customers per log")
    parser.add_argument("--chunk", type=int, default=100_000, help="customers per Parquet file")
    parser.add_argument("--worker-memory", default="2GiB")
    parser.add_argument("--score-customers", type=int, default=10_000_000)
    parser.add_argument("--in-memory-max", type=int, default=500_000)
    parser.add_argument("--pomdp", action="store_true", help="the POMDPPolicy case instead")
    parser.add_argument("--pomdp-sizes", default="250000,1000000", help="customers per panel")
    parser.add_argument("--pomdp-periods", type=int, default=24)


ARGS = setup(__doc__.splitlines()[0], extra_args=_args)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

COEF = {"attr": 0.4, "cont": -0.3}
SIM = {"r": 2.75, "alpha": 6.0, "s": 0.6, "b": 8.0, "coef": COEF, "observation_end": 104.0}


def _model():
    from skcrm.clv import AttributeBGNBD

    return AttributeBGNBD(attribute_cols=["attr", "cont"], observation_end=104.0)


def write_log(folder: Path, n_customers: int, chunk: int) -> int:
    """Simulated log in Parquet files of ``chunk`` customers each; returns its row count."""
    from skcrm.datasets import make_attribute_bgnbd_data

    rows = 0
    for i, start in enumerate(range(0, n_customers, chunk)):
        n = min(chunk, n_customers - start)
        tx, _ = make_attribute_bgnbd_data(n, random_state=1000 + i, **SIM)
        tx = tx[["customer_id", "t", "attr", "cont"]].assign(
            customer_id=lambda d, s=start: d["customer_id"].astype(np.int64) + s
        )
        tx.set_index("customer_id").sort_index().to_parquet(folder / f"part-{i:04d}.parquet")
        rows += len(tx)
    return rows


def _cluster():
    """Two single-threaded worker processes, each limited to ``--worker-memory``."""
    import distributed

    return distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        memory_limit=ARGS.worker_memory,
        dashboard_address=None,
    )


def peak_mib() -> float:
    """This process's peak resident memory (VmHWM: per address space, so a worker started
    by fork + exec does not inherit its parent's peak as ``ru_maxrss`` does)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _worker_peak_mib(client):
    return list(client.run(peak_mib).values())


def _fit_on_cluster(estimator, folder):
    """Fit ``estimator`` on the Parquet ``folder`` with a fresh 2-worker cluster.

    Returns the fitted estimator, the fit's seconds, each worker's peak MiB and the
    client's peak MiB.
    """
    import distributed

    with _cluster() as cluster, distributed.Client(cluster) as client:
        t0 = time.perf_counter()
        fitted = estimator.fit(str(folder))
        fit_s = time.perf_counter() - t0
        workers = _worker_peak_mib(client)
    return fitted, fit_s, workers, peak_mib()


def _compare_in_memory(row, log_likelihood, params, in_memory):
    """Add the in-memory fit's time and peak to ``row``; stop unless the answers agree."""
    theta, ll, secs, mem = in_memory
    row["in-memory fit (s)"] = round(secs, 1)
    row["in-memory peak (MiB)"] = round(mem)
    same_answer("log-likelihood", log_likelihood, ll, rtol=1e-8)
    worst = float(np.max(np.abs(params - theta) / np.abs(theta)))
    if worst > 1e-6:
        raise SystemExit(f"Dask and in-memory parameters differ by {worst:.1e}")
    row["max rel. diff. vs in-memory"] = f"{worst:.1e}"


def _in_subprocess(func, *args):
    """Run ``func(*args)`` in a fresh process, so the client's memory stays that of the fit."""
    import multiprocessing as mp

    with mp.get_context("spawn").Pool(1) as pool:
        return pool.apply(func, args)


def fit_in_memory(folder):
    """The pandas fit of the same log: parameters, seconds, peak MiB of that process."""
    log = pd.read_parquet(folder).reset_index()
    t0 = time.perf_counter()
    ref = _model().fit(log)
    return ref._theta_, ref.log_likelihood_, time.perf_counter() - t0, peak_mib()


POMDP = {"action_costs": [0, 2, 10], "outcome_values": [0, 10, 40], "n_init": 2}


def _policy():
    from skcrm.pomdp import POMDPPolicy

    return POMDPPolicy(**POMDP, random_state=0)


def write_panel(folder: Path, n_customers: int, n_periods: int, chunk: int) -> int:
    """Simulated CRM3 panel in Parquet files of ``chunk`` customers; returns its row count."""
    from skcrm.datasets import make_pomdp_crm

    rows = 0
    for i, start in enumerate(range(0, n_customers, chunk)):
        n = min(chunk, n_customers - start)
        X, y, _ = make_pomdp_crm(n_customers=n, n_periods=n_periods, random_state=2000 + i)
        X = X.assign(customer_id=X["customer_id"].astype(np.int64) + start, outcome=y)
        X.set_index("customer_id").to_parquet(folder / f"part-{i:04d}.parquet")
        rows += len(X)
    return rows


def _pomdp_params(est):
    return np.concatenate(
        [est.startprob_.ravel(), est.transmat_.ravel(), est.emissionprob_.ravel()]
    )


def fit_policy_in_memory(folder):
    """The pandas fit of the same panel: parameters, log-lik, seconds, peak MiB."""
    X = pd.read_parquet(folder).reset_index()
    t0 = time.perf_counter()
    ref = _policy().fit(X)
    return _pomdp_params(ref), ref.log_likelihood_, time.perf_counter() - t0, peak_mib()


def main_pomdp():

    sizes = [2_000, 4_000] if ARGS.quick else [int(s) for s in ARGS.pomdp_sizes.split(",")]
    chunk = 1_000 if ARGS.quick else ARGS.chunk
    rows_out = []
    tmp = Path(tempfile.mkdtemp(prefix="skcrm-scale-pomdp-"))
    try:
        for n in sizes:
            folder = tmp / f"panel-{n}"
            folder.mkdir()
            n_rows = _in_subprocess(write_panel, folder, n, ARGS.pomdp_periods, chunk)
            fitted, fit_s, workers, client_mib = _fit_on_cluster(_policy(), folder)
            row = {
                "customers": f"{n:,}",
                "customer-periods": f"{n_rows:,}",
                "Dask fit (s)": round(fit_s, 1),
                "EM iterations": fitted.n_iter_,
                "peak per worker (MiB)": " / ".join(f"{w:.0f}" for w in workers),
                "client peak (MiB)": round(client_mib),
                "VOL at start": round(fitted.vol_at_start_, 3),
            }
            if n <= ARGS.in_memory_max:
                ref = _in_subprocess(fit_policy_in_memory, folder)
                _compare_in_memory(row, fitted.log_likelihood_, _pomdp_params(fitted), ref)
            rows_out.append(row)
            shutil.rmtree(folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    notes = [
        f"POMDPPolicy(n_states=2, n_init={POMDP['n_init']}, tol=1e-6), tabular EM on the CRM3 "
        f"simulator, {ARGS.pomdp_periods} periods per customer, {chunk:,} customers per "
        "Parquet file; every E-step is one map-reduce over the persisted partitions.",
        f"LocalCluster: 2 worker processes x 1 thread, memory_limit={ARGS.worker_memory} each; "
        "peak memory is each process's VmHWM; the in-memory fit runs in a separate process "
        "(numpy E-step below 200,000 customer-periods, JAX above).",
    ]
    write_results(
        "scale_pomdp",
        ARGS,
        {"POMDPPolicy from Parquet on Dask": rows_out},
        notes,
        libraries=("skcrm", "numpy", "pandas", "dask", "distributed", "pyarrow", "jax"),
    )


def main():
    import distributed

    sizes = [2_000, 4_000] if ARGS.quick else [int(s) for s in ARGS.sizes.split(",")]
    chunk = 1_000 if ARGS.quick else ARGS.chunk
    score_n = 20_000 if ARGS.quick else ARGS.score_customers
    rows_out, notes = [], []
    tmp = Path(tempfile.mkdtemp(prefix="skcrm-scale-"))
    try:
        for n in sizes:
            folder = tmp / f"log-{n}"
            folder.mkdir()
            n_rows = _in_subprocess(write_log, folder, n, chunk)
            fitted, fit_s, workers, client_mib = _fit_on_cluster(_model(), folder)
            row = {
                "customers": f"{n:,}",
                "transactions": f"{n_rows:,}",
                "Dask fit (s)": round(fit_s, 1),
                "iterations": fitted.n_iter_,
                "peak per worker (MiB)": " / ".join(f"{w:.0f}" for w in workers),
                "client peak (MiB)": round(client_mib),
                "coef attr / cont": " / ".join(f"{c:+.3f}" for c in fitted.coef_),
            }
            if n <= ARGS.in_memory_max:
                ref = _in_subprocess(fit_in_memory, folder)
                _compare_in_memory(row, fitted.log_likelihood_, fitted._theta_, ref)
            rows_out.append(row)
            shutil.rmtree(folder)

        # scoring: P(alive) of score_n customers from an RFM table, partition by partition
        import dask.dataframe as dd

        from skcrm.clv import AttributeBGNBD
        from skcrm.datasets import load_cdnow

        rng = np.random.default_rng(0)
        T = rng.uniform(1, 104, score_n)
        rfm = pd.DataFrame({"frequency": rng.poisson(3, score_n).astype(float), "T": T}).assign(
            recency=lambda d: np.where(d["frequency"] > 0, rng.uniform(0, 1, score_n) * T, 0)
        )
        # the scoring model is the BG/NBD of the CDNOW summary (a real fit); the table scored
        # is synthetic RFM rows (any valid frequency <= ..., recency <= T)
        bgnbd = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False)
        bgnbd.fit(load_cdnow("summary"))
        path = tmp / "rfm.parquet"
        rfm[["frequency", "recency", "T"]].to_parquet(path)
        del rfm
        with (
            _cluster() as cluster,
            distributed.Client(cluster) as client,
        ):
            ddf = dd.read_parquet(path).repartition(npartitions=max(2, score_n // 500_000))
            t0 = time.perf_counter()
            total = float(bgnbd.probability_alive(ddf).sum().compute())
            score_s = time.perf_counter() - t0
            workers = _worker_peak_mib(client)
        rfm_rows = score_n
        notes.append(
            f"scoring P(alive) of {rfm_rows:,} customers from Parquet on the cluster: "
            f"{score_s:.1f} s (mean P(alive) {total / score_n:.3f}), peak per worker "
            + " / ".join(f"{w:.0f}" for w in workers)
            + " MiB"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    notes.append(
        f"LocalCluster: 2 worker processes x 1 thread, memory_limit={ARGS.worker_memory} each; "
        "peak memory is each process's VmHWM; the logs are simulated and the in-memory fits run "
        "in separate processes, so the client's peak is that of the Dask fit."
    )
    write_results(
        "scale",
        ARGS,
        {"AttributeBGNBD from Parquet on Dask": rows_out},
        notes,
        libraries=("skcrm", "numpy", "pandas", "dask", "distributed", "pyarrow"),
    )


if __name__ == "__main__":
    main_pomdp() if ARGS.pomdp else main()
