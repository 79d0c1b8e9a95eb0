"""skcrm: scikit-learn estimators for customer-relationship management.

Each estimator is the implementation of one published marketing-science method:

==============================  ==============================================  ===============
estimator                       what it does                                    module
==============================  ==============================================  ===============
``AttributeBGNBD``              BG/NBD customer base whose dropout depends on   ``skcrm.clv``
                                each transaction's attributes
``SurrogateIndexTransformer``   long-term outcome imputed from surrogates       ``skcrm.surrogate``
``DRPolicyClassifier``          doubly-robust multi-action policy learning      ``skcrm.policy``
``POMDPPolicy``                 hidden relationship states, optimal contact     ``skcrm.pomdp``
``DigitalTwinRegressor``        deep generative survey twin (JAX/flax)          ``skcrm.twin``
``RobustCampaignAllocator``     robust campaign allocation                      ``skcrm.allocation``
==============================  ==============================================  ===============

The names are loaded lazily: ``import skcrm`` imports neither JAX nor cvxpy nor
xgboost; they are imported when an estimator that needs them is first used.
"""

from __future__ import annotations

import importlib

from ._version import __version__

# public name -> submodule that defines it
_LAZY = {
    "AttributeBGNBD": "skcrm.clv",
    "SurrogateIndexTransformer": "skcrm.surrogate",
    "DRPolicyClassifier": "skcrm.policy",
    "POMDPPolicy": "skcrm.pomdp",
    "DigitalTwinRegressor": "skcrm.twin",
    "RobustCampaignAllocator": "skcrm.allocation",
}
_SUBMODULES = (
    "allocation",
    "clv",
    "datasets",
    "design",
    "metrics",
    "policy",
    "pomdp",
    "surrogate",
    "twin",
    "utils",
)

__all__ = [*_LAZY, "__version__"]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"skcrm.{name}")
    raise AttributeError(f"module 'skcrm' has no attribute {name!r}")


def __dir__():
    return sorted([*__all__, *_SUBMODULES])
