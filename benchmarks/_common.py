"""Shared plumbing for the benchmark scripts (see ../shared BENCHMARKS.md conventions).

Every script:

1. calls :func:`setup` first (parses ``--quick``/``--results-dir``/``--repeats`` and pins
   thread counts *before* numpy, JAX or xgboost are imported);
2. checks that skcrm and the peer give the same answer before timing (:func:`same_answer`);
3. times them interleaved with :func:`interleaved` (A B A B ..., warm-up first, medians);
4. writes a Markdown table with :func:`write_results`, headed by the machine, versions,
   sizes, thread settings and the date.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def setup(description: str, threads: int = 1, extra_args=None) -> argparse.Namespace:
    """Parse the common arguments and pin BLAS/OpenMP/XLA threads to ``threads``.

    ``extra_args`` is a callable receiving the parser, to add script-specific options.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS)
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats per side")
    parser.add_argument("--threads", type=int, default=threads)
    if extra_args is not None:
        extra_args(parser)
    args = parser.parse_args()
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    for var in _THREAD_VARS:
        os.environ[var] = str(args.threads)
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    if args.threads == 1:
        os.environ.setdefault(
            "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        )
    return args


def peer(module: str):
    """Import a peer library, or return None (printed) when it is not installed."""
    try:
        return importlib.import_module(module)
    except ImportError:
        print(f"peer {module!r} is not installed (it comes with `make bench`); skipping its side")
        return None


def interleaved(funcs: dict, repeats: int = 3, warmup: bool = True) -> dict:
    """Time callables interleaved (A B A B ...); return per-name dict of timings.

    The first call of each (the warm-up) is reported as ``cold`` and excluded from the
    median ``warm``; with ``warmup=False`` every call counts.
    """
    cold, times = {}, {name: [] for name in funcs}
    if warmup:
        for name, func in funcs.items():
            t0 = time.perf_counter()
            func()
            cold[name] = time.perf_counter() - t0
    for _ in range(repeats):
        for name, func in funcs.items():
            t0 = time.perf_counter()
            func()
            times[name].append(time.perf_counter() - t0)
    return {
        name: {"cold": cold.get(name), "median": statistics.median(ts), "all": ts}
        for name, ts in times.items()
    }


def timed(func):
    """Run ``func()`` once; return (result, seconds)."""
    t0 = time.perf_counter()
    out = func()
    return out, time.perf_counter() - t0


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def same_answer(name: str, ours: float, theirs: float, rtol: float) -> None:
    """Fail the script (exit 1) when skcrm and the peer disagree beyond ``rtol``."""
    denom = max(abs(theirs), 1e-300)
    rel = abs(ours - theirs) / denom
    status = "OK" if rel <= rtol else "DISAGREE"
    print(f"same answer? {name}: skcrm={ours:.10g} peer={theirs:.10g} rel={rel:.2e} [{status}]")
    if rel > rtol:
        sys.exit(f"{name}: answers disagree (relative difference {rel:.3g} > {rtol:g})")


def machine_info() -> dict:
    info = {
        "date": _dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "python": platform.python_version(),
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory_gib": _memory_gib(),
        "threads": {v: os.environ.get(v) for v in (*_THREAD_VARS, "XLA_FLAGS")},
    }
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if var in os.environ:
            info[var] = f"{os.environ[var]} (set by the environment, left as it is)"
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def versions(*modules: str) -> dict:
    out = {}
    for name in modules:
        try:
            out[name] = getattr(importlib.import_module(name), "__version__", "?")
        except ImportError:
            out[name] = "not installed"
    return out


def markdown_table(rows: list[dict]) -> str:
    cols = list(dict.fromkeys(k for row in rows for k in row))

    def fmt(v):
        if isinstance(v, float):
            return f"{v:.4g}"
        return "" if v is None else str(v)

    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(row.get(c)) for c in cols) + " |" for row in rows]
    return "\n".join(lines)


def write_results(
    method: str,
    args,
    tables: dict,
    notes: list[str] | None = None,
    libraries=("skcrm", "numpy", "scipy", "sklearn", "jax"),
) -> Path:
    """Print and write ``<results_dir>/<method>.md``: header, then one table per entry."""
    info = machine_info()
    head = [
        f"# {method} benchmark{' (--quick)' if args.quick else ''}",
        "",
        f"- date: {info['date']}; machine: {info['cores']} cores, {info['memory_gib']} GiB, "
        f"{info['cpu']}; Python {info['python']}",
        f"- threads: {info['threads']}",
        f"- versions: {versions(*libraries)}",
    ]
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if var in info:
            head.append(f"- {var}: {info[var]}")
    body = []
    for title, rows in tables.items():
        body += ["", f"## {title}", "", markdown_table(rows)]
    if notes:
        body += ["", *[f"- {n}" for n in notes]]
    text = "\n".join(head + body) + "\n"
    print(text)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / f"{method}.md"
    path.write_text(text)
    return path
