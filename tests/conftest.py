"""Test-wide settings: single-threaded numerics (the runner starts one process per core),
JAX on the CPU, a non-interactive matplotlib backend."""

import os

import pytest

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault(
    "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
)
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="module")
def cluster_client():
    """A distributed Client on a 2-process LocalCluster (one thread each), per test module:
    fits that run on it pickle their work to other processes, as on a real cluster."""
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client
