"""Real data shipped with skcrm and simulators with known ground truth.

Loaders read compressed copies inside the package (never the network):

- :func:`load_cdnow` — CDNOW transaction log, sample and calibration summary.
- :func:`load_hillstrom` — the MineThatData three-arm e-mail experiment.

Simulators (``make_*``) return data together with the truth that generated it (true
parameters, optimal policies or allocations), so tests and examples can score themselves.
Each method's simulators live in their own private module here and use only numpy,
scipy and pandas, so that importing ``skcrm.datasets`` stays light.
"""

from ._allocation import *  # noqa: F403
from ._allocation import __all__ as _allocation_all
from ._clv import *  # noqa: F403
from ._clv import __all__ as _clv_all
from ._loaders import load_cdnow, load_hillstrom
from ._pomdp import *  # noqa: F403
from ._pomdp import __all__ as _pomdp_all
from ._surrogate import *  # noqa: F403
from ._surrogate import __all__ as _surrogate_all
from ._twin import *  # noqa: F403
from ._twin import __all__ as _twin_all

__all__ = [
    "load_cdnow",
    "load_hillstrom",
    *_clv_all,
    *_surrogate_all,
    *_pomdp_all,
    *_twin_all,
    *_allocation_all,
]
