"""The usage layer's errors, all derived from ``AnonymousUsageError``.

The names are the original AnonymousUsage's; each also derives from the
builtin a caller would expect (``ValueError``, ``KeyError`` ...), so code
that catches either keeps working.
"""


class AnonymousUsageError(Exception):
    """Base class for every error of the usage layer."""


class IntervalError(AnonymousUsageError, ValueError):
    """An interval (submit_interval_s, check_interval_s) is not a number of
    seconds >= 0 or a ``datetime.timedelta``."""

    def __init__(self, value, name='interval'):
        self.value = value
        self.name = name
        super().__init__(
            f'{name} must be a number of seconds >= 0 or a '
            f'datetime.timedelta, not {value!r}')


class TableNameError(AnonymousUsageError, ValueError):
    """A trackable name is not a non-empty str, or is reserved."""

    def __init__(self, name, reason=None):
        self.name = name
        super().__init__(reason or (
            f'a trackable name must be a non-empty str, not {name!r}'))


class TableConflictError(AnonymousUsageError, ValueError):
    """A name is already tracked (in this tracker, or in the database as a
    trackable of another kind)."""

    def __init__(self, name, reason=None):
        self.name = name
        super().__init__(reason or (
            f'{name!r} is already tracked by this tracker; use '
            f'tracker[{name!r}] or choose another name'))


class InvalidCheckpointError(AnonymousUsageError, ValueError):
    """A value that is not one of a sequence's checkpoints."""

    def __init__(self, checkpoint, checkpoints=None, reason=None):
        self.checkpoint = checkpoint
        if reason is None:
            reason = f'{checkpoint!r} is not a checkpoint'
            if checkpoints is not None:
                reason += f' of this sequence; the checkpoints are ' \
                          f'{list(checkpoints)!r}'
        super().__init__(reason)


class UnknownTrackableError(AnonymousUsageError, KeyError):
    """``tracker[name] = value`` for a name nobody declared."""

    def __init__(self, name):
        self.name = name
        super().__init__(
            f'no trackable named {name!r}; declare it first with '
            f'track_statistic, track_state, track_time or track_sequence')

    def __str__(self):
        # KeyError would show the message in quotes.
        return self.args[0]


class TrackerClosedError(AnonymousUsageError, RuntimeError):
    """A change after ``close()``."""


class WriteError(AnonymousUsageError, OSError):
    """The background writer could not commit; the changes are kept in
    memory and retried at the next interval."""


class ConfigurationError(AnonymousUsageError, ValueError):
    """A configuration file is missing, lacks a required key or holds a
    value of the wrong kind; the message names the file and the key."""


class ImportFormatError(AnonymousUsageError, ValueError):
    """A file given to the importer is not an AnonymousUsage database."""
