"""Customer-base valuation.

AttributeBGNBD (Braun, Schweidel & Stein 2015), transaction-log summaries, tracking plots.
"""

__all__: list[str] = []
