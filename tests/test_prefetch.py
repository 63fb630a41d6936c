"""Query results load their tracks in batches through
``Connection.prefetch`` (one round trip per batch on ZEO and RelStorage)
and give the same tracks as reading them one by one."""

import pytest
import transaction

from cybertools_tracking.db import Session, openDB
from cybertools_tracking.results import PREFETCH_BATCH

TRACKS = 2 * PREFETCH_BATCH + 30


@pytest.fixture
def filled(dbspec):
    def fill(storage):
        for n in range(TRACKS):
            storage.saveUserTrack(f'task{n % 2}', 0, f'user{n % 3}', {'n': n})
    with Session(dbspec) as session:
        session.run(fill)
    return dbspec


class Recorder:
    """Stands in for a connection's prefetch and keeps the oids it was
    asked for, a list per call."""

    def __init__(self, conn):
        self.conn = conn
        self.prefetch = conn.prefetch
        self.batches = []

    def __call__(self, *args):
        obs = list(args[0])
        self.batches.append([getattr(ob, '_p_oid', ob) for ob in obs])
        self.prefetch(obs)
        # ZODB replaces prefetch by a no-op when the storage has none.
        self.conn.prefetch = self


def coldConnection(spec):
    db = openDB(spec)
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    conn.prefetch = Recorder(conn)
    return db, conn, conn.root()['tracking']


@pytest.mark.parametrize('criteria, expected', [
    ({}, TRACKS),                                     # the track tree
    ({'taskId': 'task1'}, TRACKS // 2),               # an index
    ({'userName': 'user2'}, TRACKS // 3),             # the user-track table
    ({'taskId': 'task0', 'userName': 'user0'}, (TRACKS + 5) // 6),
])
def test_reading_a_result_prefetches_it_in_batches(filled, criteria,
                                                   expected):
    db, conn, storage = coldConnection(filled)
    try:
        tracks = list(storage.query(**criteria))
        assert len(tracks) == expected
        batches = conn.prefetch.batches
        assert all(0 < len(batch) <= PREFETCH_BATCH for batch in batches)
        asked = [oid for batch in batches for oid in batch]
        assert asked == [track._p_oid for track in tracks]
        assert [t.data['n'] for t in tracks] == sorted(
            t.data['n'] for t in tracks)
        for track in tracks:
            assert track.__name__ == '%07i' % (track.data['n'] + 1)
    finally:
        conn.close()
        db.close()


def test_slices_and_reverse_results_prefetch_what_they_read(filled):
    db, conn, storage = coldConnection(filled)
    try:
        first = storage.query(taskId='task0')[:PREFETCH_BATCH + 5]
        assert len(first) == PREFETCH_BATCH + 5
        assert [len(b) for b in conn.prefetch.batches] == [PREFETCH_BATCH, 5]
        newest = list(storage.query(userName='user1', reverse=True, limit=7))
        assert [t.data['n'] for t in newest] == sorted(
            (n for n in range(TRACKS) if n % 3 == 1), reverse=True)[:7]
        assert conn.prefetch.batches[-1] == [t._p_oid for t in newest]
        # One track alone is just read.
        count = len(conn.prefetch.batches)
        assert storage.query(taskId='task1')[0].data == {'n': 1}
        assert len(conn.prefetch.batches) == count
    finally:
        conn.close()
        db.close()
