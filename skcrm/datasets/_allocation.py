"""Simulators with known ground truth for RobustCampaignAllocator.

make_campaign_data and the ER-8 design.

numpy, scipy and pandas only: importing skcrm.datasets must stay light.
"""

__all__: list[str] = []
