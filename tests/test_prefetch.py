"""Query results load their tracks in batches through
``Connection.prefetch`` (one round trip per batch on ZEO and RelStorage):
the buckets of the track tree that hold a batch's track records are asked
for together, and the tracks are the same as read one by one."""

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
        self.batches.append(sorted(getattr(ob, '_p_oid', ob) for ob in obs))
        self.prefetch(obs)
        # ZODB replaces prefetch by a no-op when the storage has none.
        self.conn.prefetch = self


def coldConnection(spec):
    db = openDB(spec)
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    conn.prefetch = Recorder(conn)
    return db, conn, conn.root()['tracking']


def bucketOids(tree):
    """{track number: oid of the bucket holding it}, walking the tree's
    buckets one after the other."""
    where, bucket = {}, tree._firstbucket
    while bucket is not None:
        where.update((num, bucket._p_oid) for num in bucket.keys())
        bucket = bucket._next
    return where


def expectedBatches(storage, tracks):
    """The prefetch requests reading tracks in a row should make: per
    batch of PREFETCH_BATCH tracks, the oids of the buckets holding them
    (sorted), when they are more than one (one is just loaded)."""
    where = bucketOids(storage._tracks)
    nums = [int(track.__name__) for track in tracks]
    batches = []
    for start in range(0, len(nums), PREFETCH_BATCH):
        batch = nums[start:start + PREFETCH_BATCH]
        if len(batch) < 2:
            continue
        oids = sorted({where[num] for num in batch})
        if len(oids) > 1:
            batches.append(oids)
    return batches


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
        if not hasattr(db.storage, 'prefetch'):
            # A FileStorage has no prefetch: nothing to save by asking.
            assert batches == []
        elif criteria:
            assert batches == expectedBatches(storage, tracks)
            assert batches      # the tracks lie in more than one bucket
        else:
            # All tracks: the numbers come from the track tree itself,
            # whose buckets are loaded as they are walked.
            assert batches == []
        assert [t.data['n'] for t in tracks] == sorted(
            t.data['n'] for t in tracks)
        for track in tracks:
            assert track.__name__ == '%07i' % (track.data['n'] + 1)
    finally:
        conn.close()
        db.close()


def test_slices_and_reverse_results_prefetch_what_they_read(filled):
    db, conn, storage = coldConnection(filled)
    if hasattr(db.storage, 'prefetch'):
        expected = expectedBatches
    else:
        # A FileStorage has no prefetch: nothing is asked of it.
        def expected(storage, tracks):
            return []
    try:
        first = storage.query(taskId='task0')[:PREFETCH_BATCH + 5]
        assert len(first) == PREFETCH_BATCH + 5
        assert conn.prefetch.batches == expected(storage, first)
        count = len(conn.prefetch.batches)
        conn.cacheMinimize()
        newest = list(storage.query(userName='user1', reverse=True,
                                    limit=60))
        assert [t.data['n'] for t in newest] == sorted(
            (n for n in range(TRACKS) if n % 3 == 1), reverse=True)[:60]
        assert conn.prefetch.batches[count:] == expected(storage, newest)
        # One track alone is just read.
        count = len(conn.prefetch.batches)
        assert storage.query(taskId='task1')[0].data == {'n': 1}
        assert len(conn.prefetch.batches) == count
    finally:
        conn.close()
        db.close()
