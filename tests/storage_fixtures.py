"""What the storage tests share: a database on every engine with one
connection (``db``), its storage (``storage``), one whose tracks index
``state`` from their data (``stateStorage``), and ``snapshot``, everything
a failed call must leave as it was."""

import pytest
import transaction

from cybertools_tracking.btree import Track
from cybertools_tracking.db import ensureStorage, getStorage, openDB

T0 = 1_700_000_000      # a fixed time, so tests do not depend on the clock


class StateTrack(Track):
    """Like the original's notifications: ``state`` indexed from data."""

    index_attributes = Track.index_attributes + ('state',)
    typeName = 'Notification'


class Db:
    """A database (a FileStorage path or any URI openDB takes) with one
    connection."""

    def __init__(self, path, trackFactory=None):
        self.db = openDB(str(path))
        ensureStorage(self.db, trackFactory=trackFactory)
        self.tm = transaction.TransactionManager()
        self.conn = self.db.open(transaction_manager=self.tm)
        self.storage = getStorage(self.conn, trackFactory=trackFactory)

    def commit(self):
        self.tm.commit()

    def close(self):
        self.tm.abort()
        self.conn.close()
        self.db.close()


@pytest.fixture
def db(dbspec):
    opened = Db(dbspec)     # FileStorage, then RelStorage
    yield opened
    opened.close()


@pytest.fixture
def storage(db):
    return db.storage


@pytest.fixture
def stateStorage(tmp_path):
    opened = Db(tmp_path / 'state.fs', trackFactory=StateTrack)
    yield opened.storage
    opened.close()


def snapshot(storage):
    """Everything a failed call must leave as it was."""
    return {
        'len': len(storage),
        'tracks': [(tid, t.timeStamp, dict(t.data))
                   for tid, t in storage.items()],
        'indexes': {attr: list(index.items())
                    for attr, index in storage.indexes.items()},
        'last': list(storage._userTracks),
        'taskUsers': {task: list(users)
                      for task, users in storage.taskUsers.items()},
        'taskRuns': list(storage._taskRuns),
        'runs': [(r.id, r.taskId, r.start, r.end, r.finished)
                 for r in storage.getRuns()],
        'currentRuns': dict(storage.currentRuns),
        'check': storage.check(),
    }


def changeStored(storage, num, **values):
    """Change what is saved for track number num behind the storage's
    back (damage, or what a release that checked less left): its record
    is written with values; returns the track as it now reads."""
    track = storage[num]
    for name, value in values.items():
        setattr(track, name, value)
    storage._tracks[num] = storage._recordOf(track)
    return storage[num]


def storeAsObject(storage, num, **values):
    """Save track number num as an object of its own, as schema
    generation 2 and older saved every track, with values changed."""
    track = storage[num]
    for name, value in values.items():
        setattr(track, name, value)
    storage._tracks[num] = track
    return track
