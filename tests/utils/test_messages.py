"""Warnings at the user's line, quiet solvers, normal intervals."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, _fit_context

from skcrm.utils import normal_ci, quiet_stdout, warn


class _Warns(BaseEstimator):
    _parameter_constraints: dict = {}

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        warn("look here")
        return self


def test_warning_points_at_the_users_line_through_fit_context():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _Warns().fit([[0.0]])
    assert caught[0].filename == __file__


def test_quiet_stdout_silences_c_level_output(capfd):
    code = (
        "import os\nfrom skcrm.utils import quiet_stdout\n"
        "with quiet_stdout():\n    os.write(1, b'banner\\n')\n    print('py')\n"
        "print('after')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert out == "after\n"


def test_quiet_stdout_verbose_lets_output_through(capsys):
    with quiet_stdout(verbose=1):
        print("shown")
    assert capsys.readouterr().out == "shown\n"


def test_normal_ci_vectorised_and_exact():
    lo, hi = normal_ci(np.array([0.0, 1.0]), np.array([1.0, 2.0]), alpha=0.1)
    np.testing.assert_allclose(hi, [1.6448536269514722, 1 + 2 * 1.6448536269514722])
    np.testing.assert_allclose(lo, -hi + np.array([0.0, 2.0]))
    with pytest.raises(ValueError, match="alpha must be in"):
        normal_ci(0.0, 1.0, alpha=95)


def test_quiet_stdout_silences_c_output_when_sys_stdout_is_a_capture_object():
    code = (
        "import io, os, sys\nfrom skcrm.utils import quiet_stdout\n"
        "real = sys.stdout\nsys.stdout = io.StringIO()  # as in Jupyter or sphinx-gallery\n"
        "with quiet_stdout():\n    os.write(1, b'banner\\n')\n"
        "sys.stdout = real\nprint('after')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert out == "after\n"
