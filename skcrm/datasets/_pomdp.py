"""Simulators with known ground truth for POMDPPolicy (crm3, fan2015_like, Tiger, Three-doors).

numpy, scipy and pandas only: importing skcrm.datasets must stay light.
"""

__all__: list[str] = []
