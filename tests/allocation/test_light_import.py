"""cvxpy is imported only when a model is solved (never by importing the packages)."""

import subprocess
import sys


def test_importing_allocation_metrics_and_datasets_does_not_import_cvxpy():
    code = (
        "import sys, skcrm.allocation, skcrm.metrics, skcrm.datasets\n"
        "from skcrm.allocation import RobustCampaignAllocator\n"
        "print('cvxpy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_factored_interior_point_does_not_import_cvxpy():
    # a customer-level ellipsoidal problem large enough for the factored interior point
    # (the cvxpy import alone is ~2.5 s of CPU of a cold solve); a small one builds cvxpy
    code = (
        "import sys, numpy as np\n"
        "from skcrm.allocation import solve_allocation\n"
        "rng = np.random.default_rng(0)\n"
        "n, r = 3000, 5\n"
        "F = rng.normal(size=(r, 3 * n)) * 0.01\n"
        "v = rng.normal(0.03, 0.02, size=(n, 3))\n"
        "res = solve_allocation(v, np.ones(n), method='ellipsoidal', theta=1.0,\n"
        "                       cov_factor=F, budget=0.2 * n)\n"
        "print(res.extras['formulation'].startswith('factored interior'), 'cvxpy' in sys.modules)\n"
        "solve_allocation(v[:5], np.ones(5), method='ellipsoidal', theta=1.0,\n"
        "                 cov_factor=F[:, :15], budget=1.0)\n"
        "print('cvxpy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False", "True"]
