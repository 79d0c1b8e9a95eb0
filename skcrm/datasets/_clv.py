"""Simulators with known ground truth for AttributeBGNBD (issue: make_attribute_bgnbd_data).

numpy, scipy and pandas only: importing skcrm.datasets must stay light.
"""

__all__: list[str] = []
