"""The alternative layout, for measuring only: tracks stored inside the
buckets of the track tree as tuples, materialised as Track objects on
read, everything else (indexes, user-track, task-user and run-user
tables) as the project keeps it.

    python benchmarks/compare.py --peers project,packed,sqlite ...

``compare.py`` runs it as the peer ``packed``, side by side with the
project's layout (a persistent record per track) on every figure. It is
not the project's storage: a materialised track is a copy, so changing
it changes nothing stored, and only what the benchmark calls is covered
(saveUserTrack, query, getLastUserTrack).
"""

import transaction

from cybertools_tracking.btree import Track, TrackingStorage, TrackTree
from cybertools_tracking.db import openDB

KEY = 'packed-tracking'


class TupleTree(TrackTree):
    """Track number -> (taskId, runId, userName, timeStamp, data)."""

    def __setitem__(self, num, track):
        super().__setitem__(num, (track.taskId, track.runId, track.userName,
                                  track.timeStamp, track.data))

    def __getitem__(self, num):
        return materialise(num, super().__getitem__(num))


def materialise(num, values):
    track = Track.__new__(Track)
    (track.taskId, track.runId, track.userName, track.timeStamp,
     track.data) = values
    track.__name__ = '%07i' % num
    return track


class PackedTrackingStorage(TrackingStorage):

    def __init__(self):
        super().__init__()
        self._tracks = TupleTree()

    def _adopt(self, track):
        pass            # not a record: its key carries oid 0


class PackedPeer:
    """A compare.py peer: the project's peer on the layout above."""

    name = 'packed'

    def __init__(self, directory, projectPeer):
        self._peer = projectPeer(directory)
        self._peer.path = self._peer.path.replace('project', 'packed')

    def open(self):
        peer = self._peer
        peer.db = openDB(peer.path, **peer.dbOptions)
        peer.tm = transaction.TransactionManager()
        peer.conn = peer.db.open(transaction_manager=peer.tm)
        root = peer.conn.root()
        if KEY not in root:
            root[KEY] = PackedTrackingStorage()
            peer.tm.commit()
        peer.storage = root[KEY]

    def __getattr__(self, name):
        return getattr(self._peer, name)
