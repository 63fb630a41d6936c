"""Many writers on one TrackingStorage in a FileStorage (and RelStorage):
threads, each with its own connection and TransactionManager, retrying
with db.retry.

Conflict retries are counted, not timed: the bar (< 0.25 retries per
committed track with four writers committing every track) holds because
the storage object is never written, track numbers come from
per-connection blocks and everything else resolves.
"""

import threading

import pytest
import transaction
from ZODB.POSException import ConflictError

from cybertools_tracking.db import ensureStorage, getStorage, openDB, retry

WRITERS = 4
TRACKS = 100      # per writer


@pytest.fixture
def db(dbspec):
    # Writers, their number reservations and the test's own connection.
    db = openDB(dbspec, pool_size=4 * WRITERS)
    yield db
    db.close()


def newStorage(db, runTask='shared'):
    ensureStorage(db)
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    storage = getStorage(conn)
    with tm:
        runId = storage.startRun(runTask)
    return tm, conn, storage, runId


def saveMany(db, writer, runId, count, retries, saved, errors, barrier):
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    try:
        storage = conn.root()['tracking']
        barrier.wait()
        for i in range(count):
            tries = []

            def save():
                tries.append(1)
                # Writers share tasks and users: the same index entries,
                # the same run.
                return storage.saveUserTrack(
                    f'task{i % 5}', runId, f'user{(writer + i) % 3}',
                    {'writer': writer, 'i': i})
            trackId = retry(tm, save, attempts=50)
            retries[writer] += len(tries) - 1
            saved[writer].append((trackId, i))
        storage.releaseNumbers()
    except Exception as exc:
        import traceback; traceback.print_exc()
        errors.append(exc)
    finally:
        tm.abort()
        conn.close()


def test_four_writers_lose_nothing_and_rarely_retry(db):
    tm, conn, storage, runId = newStorage(db)
    retries = [0] * WRITERS
    saved = [[] for _ in range(WRITERS)]
    errors = []
    barrier = threading.Barrier(WRITERS)
    threads = [threading.Thread(
        target=saveMany,
        args=(db, n, runId, TRACKS, retries, saved, errors, barrier))
        for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    tm.abort()                 # see what the writers committed
    ids = [trackId for mine in saved for trackId, i in mine]
    assert len(ids) == WRITERS * TRACKS
    assert len(set(ids)) == len(ids), 'track ids must be unique'
    assert len(storage) == len(ids)
    for writer, mine in enumerate(saved):
        for trackId, i in mine:
            assert storage[trackId].data == {'writer': writer, 'i': i}
    assert storage.check() == []
    assert len(storage.query(runId=runId)) == len(ids)
    assert storage.getRun(runId=runId).end == max(
        track.timeStamp for track in storage.values())
    rate = sum(retries) / len(ids)
    assert rate < 0.25, f'{sum(retries)} retries for {len(ids)} tracks'
    conn.close()


def test_a_single_writer_gets_ids_one_two_three(db):
    tm, conn, storage, runId = newStorage(db)
    ids = []
    for i in range(5):                      # a commit each
        with tm:
            ids.append(storage.saveUserTrack('t', runId, 'u', {'i': i}))
    with tm:                                # several in one commit
        ids += [storage.saveUserTrack('t', runId, 'u', {}) for _ in range(3)]
    assert ids == ['%07i' % n for n in range(1, 9)]
    tm.abort()
    # Blocks double (1, 2, 4, 8 numbers): the fourth, of 8, gave one.
    assert storage.releaseNumbers() == 7
    conn.close()
    # The next connection (or process) goes on where this one stopped.
    tm, conn, storage, runId = newStorage(db)
    with tm:
        assert storage.saveUserTrack('t', runId, 'u', {}) == '0000009'
    conn.close()


def twoConnections(db):
    pairs = []
    for _ in range(2):
        tm = transaction.TransactionManager()
        conn = db.open(transaction_manager=tm)
        pairs.append((tm, conn, conn.root()['tracking']))
        tm.begin()
    return pairs


def test_concurrent_saves_moving_a_run_end_resolve_to_the_latest(db):
    tm, conn, storage, runId = newStorage(db)
    start = storage.getRun(runId=runId).start
    with tm:   # the task and user exist: only the run end is contended
        storage.saveUserTrack('t', runId, 'u', {}, timeStamp=start + 10)
    conn.close()
    (tm1, conn1, s1), (tm2, conn2, s2) = twoConnections(db)
    s1.saveUserTrack('t', runId, 'u', {'who': 1}, timeStamp=start + 300)
    s2.saveUserTrack('t', runId, 'u', {'who': 2}, timeStamp=start + 200)
    assert s1.getRun(runId=runId).end == start + 300
    assert s2.getRun(runId=runId).end == start + 200
    tm1.commit()
    tm2.commit()               # no ConflictError: the run merges
    tm1.begin()
    assert s1.getRun(runId=runId).end == start + 300
    assert len(s1) == 3
    assert s1.getLastUserTrack('t', runId, 'u').data == {'who': 1}
    assert s1.check() == []
    conn1.close()
    conn2.close()


def test_run_end_and_finish_merge_but_other_changes_conflict(db):
    tm, conn, storage, runId = newStorage(db)
    conn.close()
    (tm1, conn1, s1), (tm2, conn2, s2) = twoConnections(db)
    run1, run2 = s1.getRun(runId=runId), s2.getRun(runId=runId)
    run1.end = run1.start + 50
    run2.end = run2.start + 20
    run2.finished = True
    tm1.commit()
    tm2.commit()
    tm1.begin()
    tm2.begin()
    assert (run1.end, run1.finished) == (run1.start + 50, True)
    # Two different task ids for one run cannot be merged.
    run1.taskId, run2.taskId = 'x', 'y'
    tm1.commit()
    with pytest.raises(ConflictError):
        tm2.commit()
    tm2.abort()
    conn1.close()
    conn2.close()
