"""Hidden relationship states and optimal contact policies (Fan 2015).

- :class:`POMDPPolicy` — estimator: IO-HMM by EM, POMDP policy, DCV, value of learning;
- :class:`POMDPModel` — solve your own POMDP (point-based value iteration, open loop);
- :func:`read_pomdp`, :func:`write_pomdp` — Cassandra's ``.POMDP`` file format;
- :func:`strategic_quadrants`, :func:`learning_effect`, :func:`learning_effect_argmax`.
"""

from ._estimator import POMDPPolicy
from ._io import read_pomdp, write_pomdp
from ._model import POMDPModel, POMDPSolution
from ._strategy import learning_effect, learning_effect_argmax, strategic_quadrants

__all__ = [
    "POMDPPolicy",
    "POMDPModel",
    "POMDPSolution",
    "learning_effect",
    "learning_effect_argmax",
    "strategic_quadrants",
    "read_pomdp",
    "write_pomdp",
]
