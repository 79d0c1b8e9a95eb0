"""Hidden relationship states and optimal contact policies (Fan 2015).

POMDPPolicy, POMDPModel, value of learning.
"""

__all__: list[str] = []
