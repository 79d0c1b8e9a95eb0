"""``import skcrm`` is light: heavy frameworks load only when an estimator needs them."""

import subprocess
import sys

HEAVY = ("jax", "flax", "optax", "numpyro", "xgboost", "cvxpy", "torch", "dask", "distributed")
# pandas itself imports pyarrow when it is installed, so only `import skcrm` (no pandas) is
# checked for it.
ARROW = ("pyarrow",)


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return set(out.split())


def test_import_skcrm_loads_no_heavy_framework():
    loaded = _modules_after("import skcrm")
    assert not loaded & set(HEAVY + ARROW), sorted(loaded & set(HEAVY + ARROW))


def test_import_datasets_loads_no_heavy_framework():
    loaded = _modules_after("import skcrm.datasets, skcrm.utils")
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_public_names_and_version():
    import skcrm

    assert set(skcrm.__all__) == {
        "AttributeBGNBD",
        "SurrogateIndexTransformer",
        "DRPolicyClassifier",
        "POMDPPolicy",
        "DigitalTwinRegressor",
        "RobustCampaignAllocator",
        "__version__",
    }
    assert skcrm.__version__.count(".") >= 2
    assert "datasets" in dir(skcrm)


def test_unknown_attribute_raises_attribute_error():
    import pytest

    import skcrm

    with pytest.raises(AttributeError, match="no attribute 'NotAnEstimator'"):
        skcrm.NotAnEstimator  # noqa: B018


def test_every_lazy_name_resolves_to_an_estimator_class():
    import importlib

    from sklearn.base import BaseEstimator

    import skcrm

    for name, module in skcrm._LAZY.items():
        cls = getattr(skcrm, name)
        assert cls is getattr(importlib.import_module(module), name)
        assert isinstance(cls, type) and issubclass(cls, BaseEstimator), name
