"""What two or more methods share: validation, the treatment contract, messages, statistics."""

from ._messages import compiling, quiet_stdout, warn
from ._progress import progress
from ._stats import dr_scores, normal_ci
from ._treatment import TreatmentInfo, check_propensity, check_treatment, format_labels
from ._validation import (
    EventLog,
    check_columns,
    check_event_log,
    check_event_times,
    to_time_units,
)

__all__ = [
    "EventLog",
    "TreatmentInfo",
    "check_columns",
    "check_event_log",
    "check_event_times",
    "check_propensity",
    "check_treatment",
    "compiling",
    "dr_scores",
    "format_labels",
    "normal_ci",
    "progress",
    "quiet_stdout",
    "to_time_units",
    "warn",
]
