"""summary_statistics and worst_case_loss and the paper's Table 2/3."""

import numpy as np
import pytest

from skcrm.datasets import PAPER_LPG
from skcrm.metrics import summary_statistics, worst_case_loss


def test_summary_statistics_of_one_to_two_hundred():
    s = summary_statistics(np.arange(1, 201))
    expected = {
        "Mean": 100.5, "Min": 1, "5th Per": 10.95, "25th Per": 50.75, "Median": 100.5,
        "75th Per": 150.25, "95th Per": 190.05, "Max": 200, "StDev": 57.879185, "IQR": 99.5,
        "Range": 199, "Coeff of Var": 57.591228,
    }  # fmt: skip
    assert list(s.index) == list(expected)
    np.testing.assert_allclose(s.to_numpy(), list(expected.values()), atol=1e-6)


def test_worst_case_loss_of_one_to_two_hundred():
    assert worst_case_loss(np.arange(1, 201)) == pytest.approx(99.004975, abs=1e-6)


def test_worst_case_loss_of_zero_mean_is_nan():
    assert np.isnan(worst_case_loss([-1.0, 1.0]))


def test_table2_columns_satisfy_their_own_identities():
    t = PAPER_LPG["TABLE2"]
    assert np.all(np.abs(t.loc["IQR"] - (t.loc["75th Per"] - t.loc["25th Per"])) <= 1.5e-4)
    assert np.all(np.abs(t.loc["Range"] - (t.loc["Max"] - t.loc["Min"])) <= 1.5e-4)
    assert np.all(np.abs(t.loc["Coeff of Var"] - 100 * t.loc["StDev"] / t.loc["Mean"]) <= 5e-5)


def test_table3_does_not_follow_from_table2_under_the_stated_definition():
    t = PAPER_LPG["TABLE2"]
    recomputed = [100 * (t.loc["Mean", c] - t.loc["Min", c]) / t.loc["Mean", c] for c in t.columns]
    np.testing.assert_allclose(
        recomputed, [14.2783, 13.5341, 14.4576, 14.6774, 15.2201, 12.1814], atol=5e-5
    )
    np.testing.assert_allclose(
        PAPER_LPG["TABLE3_WCL"], [14.3305, 13.5748, 14.7212, 15.2410, 12.2000, 14.5038]
    )
    assert PAPER_LPG["TABLE3_CONSISTENT_WITH_TABLE2"] is False
    assert np.max(np.abs(np.array(recomputed) - PAPER_LPG["TABLE3_WCL"].to_numpy())) > 2.0


def test_paper_constants():
    sizes = PAPER_LPG["TABLE1_CLUSTER_SIZES"]
    assert sizes.tolist() == [4180, 5650, 60220, 12370, 8940, 29240, 28070, 4100, 37080]
    assert sizes.sum() == 189850
    assert sum(PAPER_LPG["NOMINAL_ALLOCATION"].values()) == 60000 == PAPER_LPG["BUDGET"]


def test_metrics_reject_nan():
    with pytest.raises(ValueError, match="finite"):
        summary_statistics([1.0, np.nan])
