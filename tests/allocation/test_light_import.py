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
