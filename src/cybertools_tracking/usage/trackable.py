"""What every trackable shares: a name, a count, rows read through the
tracker (stored tracks plus pending changes) and row deletion."""

import numbers
import time

from zope.interface import implementer

from cybertools_tracking.usage.interfaces import ITrackable
from cybertools_tracking.usage.rows import (
    DELETE_FIRST, DELETE_LAST, MAX_ROWS_PER_TABLE, SAVE, Row)

_time = time.time


def checkNumber(value, what='value'):
    """value as an int or float; TypeError for anything else (bools too)."""
    cls = value.__class__
    if cls is int or cls is float:
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f'{what} must be a number (int or float), not '
                        f'{type(value).__name__}: {value!r}')
    return value if isinstance(value, int) else float(value)


@implementer(ITrackable)
class Trackable:
    """See ITrackable. Subclasses set ``type`` and implement ``insert``."""

    type = None
    withState = False

    def __init__(self, name, tracker, description='',
                 max_rows=MAX_ROWS_PER_TABLE):
        self.name = name
        self.description = description
        self.max_rows = max_rows
        self._tracker = tracker
        self.count = 0

    def _restore(self, last):
        """Take up the stored value when declared; last is the newest row,
        (data, timeStamp), or None."""
        self._setFrom(last)

    def _setFrom(self, last):
        """Take the value of row last (or none, None) as the current one."""
        self.count = last[0].get('Count', 0) if last else 0

    def _save(self, data):
        # Called with the tracker's lock held.
        self._tracker._writer.record((SAVE, self.name, data, int(_time())))

    @property
    def current_value(self):
        return self.count

    def insert(self, value):
        raise NotImplementedError

    # rows

    def get_rows(self):
        return self._tracker._rowsOf(self)

    def get_number_of_rows(self):
        return self._tracker._numberOfRows(self)

    def get_first(self, n=1):
        if n <= 0:
            return []
        return self._tracker._rowsOf(self, first=n)

    def get_last(self, n=1):
        if n <= 0:
            return []
        return self._tracker._rowsOf(self, last=n)

    def get_count(self):
        return self.count

    def delete_first(self):
        self._tracker._deleteRow(self, DELETE_FIRST)

    def delete_last(self):
        self._tracker._deleteRow(self, DELETE_LAST)

    def _row(self, data, timeStamp):
        return Row(self._tracker.uuid, data.get('Count'), timeStamp,
                   data.get('State'), self.withState)

    def __repr__(self):
        return f'{self.type} ({self.name}): {self.current_value}'
