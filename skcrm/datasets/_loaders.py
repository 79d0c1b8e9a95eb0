"""Loaders for the real data sets shipped inside the package (never read from the network)."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd

__all__ = ["load_cdnow", "load_hillstrom"]

_CDNOW_KINDS = ("master", "sample", "summary")


def _data_path(name: str):
    return resources.files("skcrm.datasets").joinpath("data", name)


def _read_cdnow_log(name: str, columns: list[str]) -> pd.DataFrame:
    with resources.as_file(_data_path(name)) as path:
        frame = pd.read_csv(
            path,
            sep=r"\s+",
            header=None,
            names=columns,
            skiprows=1 if name.startswith("CDNOW_master") else 0,
            dtype={"customer_id": np.int64, "date": str},
            compression="gzip",
        )
    frame["date"] = pd.to_datetime(frame["date"], format="%Y%m%d")
    frame["number_of_cds"] = frame["number_of_cds"].astype(np.int64)
    frame["dollar_value"] = frame["dollar_value"].astype(np.float64)
    return frame


def load_cdnow(kind: str = "master") -> pd.DataFrame:
    """Load the CDNOW transaction data of Fader, Hardie & Lee (2005).

    The 1/1997 cohort of the online music retailer CDNOW: every customer made a first
    purchase in the first quarter of 1997 and was followed to the end of June 1998
    (78 weeks). The copies are those redistributed with the MIT-licensed ``lifetimes``
    package, as used in the R ``BTYD`` walkthrough.

    Parameters
    ----------
    kind : {"master", "sample", "summary"}, default="master"
        - ``"master"``: the full transaction log, 69,659 transactions of 23,570 customers,
          1997-01-01 to 1998-06-30.
        - ``"sample"``: the 1/10th systematic sample, 6,919 transactions of 2,357
          customers, in the same columns (``customer_id`` is the master id).
        - ``"summary"``: the sample summarised over the 39-week calibration period
          (1997-01-01 to 1997-09-30), one row per customer, time in weeks.

    Returns
    -------
    pandas.DataFrame
        For ``"master"`` and ``"sample"``, one row per transaction (several purchases on
        one day appear as separate rows, as in the source) with columns

        - ``customer_id`` (int64): customer identifier of the master file,
        - ``date`` (datetime64): the day of the transaction,
        - ``number_of_cds`` (int64): CDs bought,
        - ``dollar_value`` (float64): amount spent in US dollars.

        For ``"summary"``, indexed by ``customer_id`` (the master id, in the sample's
        order) with columns

        - ``frequency`` (int64): number of repeat transactions in the calibration period
          (distinct purchase days after the first),
        - ``recency`` (float64): time of the last repeat purchase since the first
          purchase (t_x, weeks; 0 without a repeat),
        - ``T`` (float64): time from the first purchase to the end of calibration (weeks).

    References
    ----------
    Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). "Counting your customers" the
    easy way: An alternative to the Pareto/NBD model. Marketing Science, 24(2), 275-284.

    Examples
    --------
    >>> from skcrm.datasets import load_cdnow
    >>> summary = load_cdnow(kind="summary")
    >>> summary.shape
    (2357, 3)
    >>> int(summary["frequency"].sum())
    2457
    """
    if kind not in _CDNOW_KINDS:
        raise ValueError(f"kind must be one of {_CDNOW_KINDS}, got {kind!r}")
    columns = ["customer_id", "date", "number_of_cds", "dollar_value"]
    if kind == "master":
        return _read_cdnow_log("CDNOW_master.txt.gz", columns)
    sample = _read_cdnow_log("CDNOW_sample.txt.gz", ["customer_id", "sample_id", *columns[1:]])
    if kind == "sample":
        return sample.drop(columns="sample_id")
    with resources.as_file(_data_path("cdnow_customers_summary.csv.gz")) as path:
        summary = pd.read_csv(path, compression="gzip")
    ids = sample.drop_duplicates("sample_id").set_index("sample_id")["customer_id"]
    summary.index = pd.Index(ids.loc[summary["ID"]].to_numpy(), name="customer_id")
    summary = summary.drop(columns="ID")
    summary["frequency"] = summary["frequency"].astype(np.int64)
    summary["recency"] = summary["recency"].astype(np.float64)
    summary["T"] = summary["T"].astype(np.float64)
    return summary


_HILLSTROM_SEGMENTS = ["No E-Mail", "Mens E-Mail", "Womens E-Mail"]
_HISTORY_SEGMENTS = [
    "1) $0 - $100",
    "2) $100 - $200",
    "3) $200 - $350",
    "4) $350 - $500",
    "5) $500 - $750",
    "6) $750 - $1,000",
    "7) $1,000 +",
]


def load_hillstrom() -> pd.DataFrame:
    """Load the MineThatData e-mail experiment of Kevin Hillstrom (2008).

    64,000 customers who purchased within the last twelve months were randomised in
    thirds to a Mens merchandise e-mail, a Womens merchandise e-mail, or no e-mail; their
    visits, conversions and spend were tracked for the following two weeks. A real
    three-arm randomised experiment (propensity 1/3 per arm).

    Returns
    -------
    pandas.DataFrame
        64,000 rows, the original column names:

        - ``recency`` (int64): months since the last purchase,
        - ``history_segment`` (ordered category): bin of ``history``,
        - ``history`` (float64): dollars spent in the past year,
        - ``mens``, ``womens`` (int64, 0/1): bought Mens / Womens merchandise last year,
        - ``zip_code`` (category): ``Rural``, ``Surburban`` (sic), ``Urban``,
        - ``newbie`` (int64, 0/1): new customer in the past twelve months,
        - ``channel`` (category): ``Phone``, ``Web``, ``Multichannel``,
        - ``segment`` (category): the treatment, ``No E-Mail``, ``Mens E-Mail``,
          ``Womens E-Mail`` (control first),
        - ``visit``, ``conversion`` (int64, 0/1): outcomes over the two weeks,
        - ``spend`` (float64): dollars spent over the two weeks.

    References
    ----------
    Hillstrom, K. (2008). The MineThatData E-Mail Analytics and Data Mining Challenge.

    Examples
    --------
    >>> from skcrm.datasets import load_hillstrom
    >>> data = load_hillstrom()
    >>> data.shape
    (64000, 12)
    >>> data["segment"].value_counts().sort_index().to_dict()
    {'No E-Mail': 21306, 'Mens E-Mail': 21307, 'Womens E-Mail': 21387}
    """
    with resources.as_file(_data_path("hillstrom.csv.gz")) as path:
        frame = pd.read_csv(path, compression="gzip")
    frame["history_segment"] = pd.Categorical(
        frame["history_segment"], categories=_HISTORY_SEGMENTS, ordered=True
    )
    frame["zip_code"] = pd.Categorical(
        frame["zip_code"], categories=["Rural", "Surburban", "Urban"]
    )
    frame["channel"] = pd.Categorical(frame["channel"], categories=["Phone", "Web", "Multichannel"])
    frame["segment"] = pd.Categorical(frame["segment"], categories=_HILLSTROM_SEGMENTS)
    for col in ("recency", "mens", "womens", "newbie", "visit", "conversion"):
        frame[col] = frame[col].astype(np.int64)
    for col in ("history", "spend"):
        frame[col] = frame[col].astype(np.float64)
    for col in ("history_segment", "zip_code", "channel", "segment"):
        if frame[col].isna().any():
            raise RuntimeError(f"unexpected label in Hillstrom column {col!r}")  # pragma: no cover
    return frame
