"""AnonymousUsage on the TrackingStorage.

Code written for the original AnonymousUsage keeps working with only its
import changed::

    from cybertools_tracking.usage import AnonymousUsageTracker, NO_STATE

Each trackable is a task of a TrackingStorage and each change one track;
the tracker writes behind (changes are committed in batches by a thread of
its own, at least twice a second), see ``tracker`` and ``writer``.
"""

from cybertools_tracking.usage.exceptions import (
    AnonymousUsageError, ConfigurationError, ImportFormatError,
    IntervalError, InvalidCheckpointError, TableConflictError,
    TableNameError, TrackerClosedError, UnknownTrackableError, WriteError)
from cybertools_tracking.usage.rows import MAX_ROWS_PER_TABLE, Row
from cybertools_tracking.usage.sequence import Sequence
from cybertools_tracking.usage.state import NO_STATE, State
from cybertools_tracking.usage.statistic import Statistic
from cybertools_tracking.usage.timer import Timer
from cybertools_tracking.usage.trackable import Trackable
from cybertools_tracking.usage.tracker import AnonymousUsageTracker

__all__ = [
    'AnonymousUsageTracker', 'NO_STATE', 'MAX_ROWS_PER_TABLE',
    'Trackable', 'Statistic', 'State', 'Timer', 'Sequence', 'Row',
    'AnonymousUsageError', 'IntervalError', 'TableNameError',
    'TableConflictError', 'InvalidCheckpointError', 'UnknownTrackableError',
    'ConfigurationError', 'TrackerClosedError', 'WriteError',
    'ImportFormatError',
]
