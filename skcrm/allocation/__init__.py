"""Campaign allocation under response-rate uncertainty (Lo, Pachamanova & Gulpinar).

RobustCampaignAllocator.
"""

__all__: list[str] = []
