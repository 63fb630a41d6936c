"""A trackable's rows: the stored tracks plus the changes still pending.

A row is what the original kept in a trackable's SQLite table (``UUID``,
``Count``, ``Time`` and, for states, ``State``). Here each row is a track;
changes not yet committed by the write-behind writer are *ops*, and
``replay`` tells what they do to the stored rows, the same way for the
writer (which applies them) and for readers (who must see them at once).
"""

import time
from collections import deque
from collections.abc import Mapping

# The newest rows kept per trackable unless it is declared with max_rows.
MAX_ROWS_PER_TABLE = 1000

# The original's time column format (local time).
TIME_FMT = '%d/%m/%Y %H:%M:%S'

# Op kinds: (SAVE, name, data, timeStamp), (DELETE_FIRST, name),
# (DELETE_LAST, name), (REGISTER, name, entry).
SAVE = 'save'
DELETE_FIRST = 'delete_first'
DELETE_LAST = 'delete_last'
REGISTER = 'register'

COLUMNS = ('UUID', 'Count', 'Time')
STATE_COLUMNS = ('UUID', 'Count', 'State', 'Time')


def formatTime(timeStamp):
    """The original's ``Time`` text for epoch seconds."""
    return time.strftime(TIME_FMT, time.localtime(timeStamp))


class Row(Mapping):
    """One row, read like ``sqlite3.Row``: by column name or position.

    ``row['Count']``, ``row[1]``, ``dict(row)``; ``timeStamp`` holds the
    epoch seconds behind ``Time``.
    """

    __slots__ = ('_columns', '_values', 'timeStamp')

    def __init__(self, uuid, count, timeStamp, state=None, withState=False):
        self.timeStamp = timeStamp
        if withState:
            self._columns = STATE_COLUMNS
            self._values = (uuid, count, state, formatTime(timeStamp))
        else:
            self._columns = COLUMNS
            self._values = (uuid, count, formatTime(timeStamp))

    def __getitem__(self, key):
        if isinstance(key, int):
            return self._values[key]
        try:
            return self._values[self._columns.index(key)]
        except ValueError:
            raise KeyError(f'{key!r}: a row has the columns '
                           f'{", ".join(self._columns)}') from None

    def __iter__(self):
        return iter(self._columns)

    def __len__(self):
        return len(self._columns)

    def keys(self):
        return list(self._columns)

    def __repr__(self):
        return '<Row %s>' % ', '.join(
            f'{c}={v!r}' for c, v in zip(self._columns, self._values))


def replay(storedCount, ops, maxRows):
    """What ``ops`` (one trackable's, in order) do to its stored rows.

    storedCount: how many rows are stored; maxRows: the newest rows to
    keep after each save (older ones go first). Returns
    ``(dropFront, dropBack, saves)``: how many of the oldest and of the
    newest stored rows go, and the SAVE ops whose rows remain.
    """
    kept = storedCount
    dropFront = dropBack = 0
    saves = deque()
    for op in ops:
        kind = op[0]
        if kind == SAVE:
            saves.append(op)
            while kept + len(saves) > maxRows:
                if kept:
                    kept -= 1
                    dropFront += 1
                else:
                    saves.popleft()
        elif kind == DELETE_FIRST:
            if kept:
                kept -= 1
                dropFront += 1
            elif saves:
                saves.popleft()
        elif kind == DELETE_LAST:
            if saves:
                saves.pop()
            elif kept:
                kept -= 1
                dropBack += 1
    return dropFront, dropBack, list(saves)


def view(stored, ops, maxRows):
    """The rows a reader sees: ``stored`` (a list of row values, oldest
    first) with ``ops`` replayed on it; SAVE ops appear as their
    ``(data, timeStamp)``."""
    dropFront, dropBack, saves = replay(len(stored), ops, maxRows)
    rows = stored[dropFront:len(stored) - dropBack]
    rows.extend((op[2], op[3]) for op in saves)
    return rows
