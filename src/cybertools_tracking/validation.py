"""The input checks the storage, the tracker and the command line share.

Each check raises before its caller changes anything, with a message
that names the value, says what was wrong and what is allowed.
"""

import sys
from collections.abc import Mapping

from cybertools_tracking.interfaces import ITrackingStorage

# islice, range and list slicing take counts up to this; a limit beyond
# it cannot be honoured, so it is refused rather than cut silently.
MAX_COUNT = sys.maxsize


def isInt(value):
    """True for an int that is not a bool (True is an int to Python, but
    never a count, an id or a number of seconds to us)."""
    return isinstance(value, int) and not isinstance(value, bool)


def checkName(what, value):
    """Raise unless value is a non-empty str (TypeError for other types,
    ValueError for '')."""
    if not isinstance(value, str):
        raise TypeError(f'{what} must be a non-empty str, not '
                        f'{type(value).__name__}: {value!r}')
    if not value:
        raise ValueError(f'{what} must be a non-empty str, got {value!r}')


def checkTaskId(taskId):
    """Raise unless taskId is None or a non-empty str."""
    if taskId is not None:
        checkName('taskId', taskId)


# Run ids and track numbers are keys of 64-bit signed BTrees.
MAX_ID = 2 ** 63 - 1


def checkRunId(runId):
    """The run id as an int (None read as 0, the current run); TypeError
    unless it is an int from 0 to MAX_ID."""
    # The common case first: a plain int in range is its own answer.
    if type(runId) is int and 0 <= runId <= MAX_ID:
        return runId
    if runId is None:
        return 0
    if not isInt(runId) or not 0 <= runId <= MAX_ID:
        raise TypeError(f'runId must be an int >= 0 (0: the current run) '
                        f'and at most {MAX_ID:,}, not {runId!r}')
    return runId


def checkData(data):
    """Raise TypeError unless data is a mapping."""
    # A plain dict, the common case, skips the slower ABC check.
    if type(data) is not dict and not isinstance(data, Mapping):
        raise TypeError(f'track data must be a mapping (e.g. a dict), not '
                        f'{type(data).__name__}: {data!r}')


def checkCount(value, name='limit', allowNone=True):
    """The value if it is an int from 0 to MAX_COUNT (or None when
    allowNone); else a ValueError naming name and the allowed range."""
    if value is None and allowNone:
        return None
    if not isInt(value) or not 0 <= value <= MAX_COUNT:
        none = ' or None' if allowNone else ''
        raise ValueError(f'{name} must be an int from 0 to {MAX_COUNT:,}'
                         f'{none}, not {value!r}')
    return value


def isTrackingStorage(obj):
    """True if obj provides ITrackingStorage. Asked of its class, so a
    ghost stays a ghost: loading it (and refusing a schema generation
    this code cannot read) is the caller's business."""
    return ITrackingStorage.implementedBy(type(obj))


def checkTrackingStorage(obj, where='the storage'):
    """Return obj if it provides ITrackingStorage, else raise TypeError
    saying what where holds instead."""
    if not isTrackingStorage(obj):
        raise TypeError(f'{where} holds a {type(obj).__module__}.'
                        f'{type(obj).__qualname__}, not a TrackingStorage')
    return obj
