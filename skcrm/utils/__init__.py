"""What two or more methods share: validation, event logs, JAX scoping, progress."""

from ._progress import progress
from ._validation import (
    EventLog,
    check_columns,
    check_event_log,
    check_event_times,
    to_time_units,
)

__all__ = [
    "EventLog",
    "check_columns",
    "check_event_log",
    "check_event_times",
    "progress",
    "to_time_units",
]
