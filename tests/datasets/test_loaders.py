"""The shipped real data sets load offline with the documented sizes, types and values."""

import numpy as np
import pandas as pd
import pytest

from skcrm.datasets import load_cdnow, load_hillstrom


@pytest.fixture(scope="module")
def master():
    return load_cdnow("master")


def test_cdnow_master_counts_and_dtypes(master):
    assert master.shape == (69_659, 4)
    assert list(master.columns) == ["customer_id", "date", "number_of_cds", "dollar_value"]
    assert master["customer_id"].nunique() == 23_570
    assert master["customer_id"].dtype == np.int64
    assert pd.api.types.is_datetime64_any_dtype(master["date"])
    assert master["number_of_cds"].dtype == np.int64
    assert master["dollar_value"].dtype == np.float64
    assert master["date"].min() == pd.Timestamp("1997-01-01")
    assert master["date"].max() == pd.Timestamp("1998-06-30")


def test_cdnow_master_known_rows(master):
    first = master.iloc[0]
    assert (first["customer_id"], first["date"], first["number_of_cds"]) == (
        1,
        pd.Timestamp("1997-01-01"),
        1,
    )
    assert first["dollar_value"] == pytest.approx(11.77)
    # every customer of the cohort made a first purchase in the first quarter of 1997
    firsts = master.groupby("customer_id")["date"].min()
    assert firsts.max() <= pd.Timestamp("1997-03-31")


def test_cdnow_sample_is_a_subset_of_master(master):
    sample = load_cdnow("sample")
    assert sample.shape == (6_919, 4)
    assert sample["customer_id"].nunique() == 2_357
    assert list(sample.columns) == list(master.columns)
    merged = sample.merge(master, how="left", indicator=True)
    assert (merged["_merge"] == "both").all()


def test_cdnow_summary_matches_the_sample_log():
    summary = load_cdnow("summary")
    sample = load_cdnow("sample")
    assert summary.shape == (2_357, 3)
    assert summary.index.name == "customer_id"
    assert list(summary.columns) == ["frequency", "recency", "T"]
    assert summary["frequency"].dtype == np.int64
    assert int(summary["frequency"].sum()) == 2_457
    # customer 4 (sample id 1): repeats on 1997-01-18 and 1997-08-02 within 39 weeks
    assert summary.loc[4, "frequency"] == 2
    assert summary.loc[4, "recency"] == pytest.approx(213 / 7, abs=0.01)
    assert summary.loc[4, "T"] == pytest.approx(38.86)
    # recompute frequency from the log: distinct repeat purchase days before week 39
    end = pd.Timestamp("1997-09-30")
    cal = sample[sample["date"] <= end]
    days = cal.groupby("customer_id")["date"].nunique() - 1
    np.testing.assert_array_equal(days.loc[summary.index].to_numpy(), summary["frequency"])


def test_cdnow_rejects_unknown_kind():
    with pytest.raises(ValueError, match="kind must be one of"):
        load_cdnow("weekly")


def test_hillstrom_shape_types_and_means():
    data = load_hillstrom()
    assert data.shape == (64_000, 12)
    assert list(data.columns) == [
        "recency", "history_segment", "history", "mens", "womens", "zip_code",
        "newbie", "channel", "segment", "visit", "conversion", "spend",
    ]  # fmt: skip
    for col in ("history_segment", "zip_code", "channel", "segment"):
        assert isinstance(data[col].dtype, pd.CategoricalDtype), col
        assert not data[col].isna().any()
    assert data["history_segment"].cat.ordered
    assert list(data["segment"].cat.categories) == ["No E-Mail", "Mens E-Mail", "Womens E-Mail"]
    assert data["segment"].value_counts()["Womens E-Mail"] == 21_387
    assert data["visit"].mean() == pytest.approx(0.1468, abs=1e-4)
    assert data["conversion"].mean() == pytest.approx(0.00903, abs=1e-5)
    assert data["spend"].mean() == pytest.approx(1.0509, abs=1e-4)
    assert data["recency"].between(1, 12).all()
