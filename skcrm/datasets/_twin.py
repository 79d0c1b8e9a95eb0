"""Simulators with known ground truth for DigitalTwinRegressor (make_digital_twin_survey).

numpy, scipy and pandas only: importing skcrm.datasets must stay light.
"""

__all__: list[str] = []
