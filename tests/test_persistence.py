"""What a TrackingStorage keeps when its FileStorage is closed and opened
again: tracks, runs with their end and finished flag, indexes, user names.
"""

import threading

import pytest
import transaction

from cybertools_tracking.btree import Track
from cybertools_tracking.db import Session, getStorage, openDB

T0 = 1_700_000_000


class PersistedStateTrack(Track):
    """A custom track class stored by reference in the database."""

    index_attributes = Track.index_attributes + ('state',)
    typeName = 'Notification'


@pytest.fixture
def path(dbspec):
    # A FileStorage path or a RelStorage URI: every test runs on each.
    return dbspec


def fill(storage):
    """A few tasks, users and runs, some of them stopped."""
    storage.saveUserTrack('a001', 0, 'u1', {'k': 1}, timeStamp=T0)
    storage.saveUserTrack('a001', 0, 'u2', {'k': 2}, timeStamp=T0 + 10)
    storage.saveUserTrack('a002', 0, 'u1', {'k': 3}, timeStamp=T0 + 20)
    storage.startRun('a001')
    storage.saveUserTrack('a001', 0, 'u1', {'k': 4}, timeStamp=T0 + 30)
    storage.saveUserTrack('a001', 0, 'u1', {'k': 5, 'x': 'y'}, update=True,
                          timeStamp=T0 + 40)
    storage.stopRun('a002')                         # run 2: finished
    storage.stopRun(runId=1, finish=False)          # run 1: stopped only


@pytest.fixture
def reopened(path):
    """(the storage reopened from the file fill() wrote, the session, what
    was seen before closing: runs and track reprs)."""
    with Session(path) as session:
        session.run(fill)
        before = {
            'runs': [(r.id, r.taskId, r.start, r.end, r.finished)
                     for r in session.storage.getRuns()],
            'reprs': [repr(t) for t in session.storage.values()]}
    with Session(path, create=False) as session:
        yield session.storage, session, before


def test_reopened_tracks_keep_ids_data_times_and_parent(reopened):
    storage, session, before = reopened
    assert len(storage) == 4
    assert list(storage) == ['0000001', '0000002', '0000003', '0000004']
    assert [repr(t) for t in storage.values()] == before['reprs']
    track = storage['0000004']
    assert (track.data, track.timeStamp) == ({'k': 5, 'x': 'y'}, T0 + 40)
    assert track.__parent__ is storage


def test_reopened_runs_keep_end_finished_and_current(reopened):
    storage, session, before = reopened
    assert [(r.id, r.taskId, r.start, r.end, r.finished)
            for r in storage.getRuns()] == before['runs']
    assert [r.finished for r in storage.getRuns()] == [False, True, False]
    assert storage.getRun('a001').id == 3           # still current
    assert storage.getRun('a002') is None


def test_reopened_indexes_answer_queries(reopened):
    storage, session, before = reopened
    assert [t.data['k'] for t in storage.query(taskId='a001')] == [1, 2, 5]
    assert [t.data['k'] for t in storage.query(userName='u1',
                                               runId=[1, 2])] == [1, 3]
    assert [t.data['k'] for t in storage.query(timeFrom=T0 + 10,
                                               timeTo=T0 + 20)] == [2, 3]
    assert [t.data['k'] for t in storage.query(taskId='a00*', reverse=True,
                                               limit=2)] == [5, 3]
    assert storage.check() == []


def test_reopened_tables_know_users_tasks_and_last_tracks(reopened):
    storage, session, before = reopened
    assert storage.getUserNames('a001') == ['u1', 'u2']
    assert storage.getUserNames('a002') == ['u1']
    assert storage.getTaskIds() == ['a001', 'a002']
    assert storage.getLastUserTrack('a001', 0, 'u1').data['k'] == 5


def test_reopened_storage_numbers_on_without_a_gap(reopened):
    storage, session, before = reopened
    assert session.run(lambda s: s.saveUserTrack('a003', 0, 'u9', {})) \
        == '0000005'


def test_run_end_and_finished_changes_are_stored(path):
    # The original kept runs as plain objects in a BTree, so changing a
    # run in a later transaction was lost on reload.
    with Session(path) as session:
        runId = session.run(lambda s: s.startRun('a001'))
        start = session.storage.getRun(runId=runId).start
    with Session(path) as session:
        session.run(lambda s: s.saveUserTrack('a001', runId, 'u', {},
                                              timeStamp=start + 500))
    with Session(path) as session:
        assert session.storage.getRun(runId=runId).end == start + 500
        assert session.run(lambda s: s.stopRun('a001')) == runId
    with Session(path) as session:
        run = session.storage.getRun(runId=runId)
        assert run.finished is True
        assert run.end == start + 500           # stopping never moves it back
        assert session.storage.getRun('a001') is None
        session.run(lambda s: s.stopRun(runId=runId, finish=False))
    with Session(path) as session:
        assert session.storage.getRun(runId=runId).finished is False


def test_custom_track_factory_survives_reopening(path):
    with Session(path, trackFactory=PersistedStateTrack) as session:
        session.run(lambda s: s.saveUserTrack('n', 0, 'u', {'state': 'new'}))
        session.run(lambda s: s.saveUserTrack('n', 0, 'v', {'state': 'read'}))
    with Session(path) as session:
        storage = session.storage
        assert storage.trackFactory is PersistedStateTrack
        assert [t.userName for t in storage.query(state='new')] == ['u']
        track = storage.query(state='read')[0]
        assert type(track) is PersistedStateTrack
        session.run(lambda s: s.updateTrack(track, {'state': 'new'}))
    with Session(path) as session:
        assert [t.userName for t in session.storage.query(state='new')] == [
            'u', 'v']
        assert session.storage.check() == []


def test_concurrent_stop_and_save_on_one_run_merge(path):
    # Two connections change the same run: one saves a track (moving the
    # end), the other finishes it. The run's conflict resolution keeps both.
    db = openDB(path)
    try:
        tm1, tm2 = transaction.TransactionManager(), \
            transaction.TransactionManager()
        conn1 = db.open(transaction_manager=tm1)
        storage1 = getStorage(conn1)
        runId = storage1.startRun('a')
        storage1.saveUserTrack('a', runId, 'u', {}, timeStamp=T0)
        tm1.commit()
        conn2 = db.open(transaction_manager=tm2)
        storage2 = getStorage(conn2)
        future = storage2.getRun(runId=runId).end + 10_000
        storage1.saveUserTrack('a', runId, 'u', {'n': 1}, timeStamp=future)
        storage2.stopRun('a')
        tm2.commit()
        tm1.commit()                    # resolves instead of conflicting
        conn1.close()
        conn2.close()
    finally:
        db.close()
    with Session(path, create=False) as session:
        run = session.storage.getRun(runId=runId)
        assert run.finished is True
        assert run.end == future
        assert session.storage.getRun('a') is None
        assert session.storage.check() == []


def test_writers_in_threads_get_distinct_ids(path):
    # Each thread has its own connection and transaction manager, as ZODB
    # requires; numbers come from per-connection blocks.
    with Session(path) as session:
        session.run(lambda s: s.saveUserTrack('t', 0, 'u0', {}))
    db = openDB(path)
    errors, saved = [], []

    def write(user):
        try:
            tm = transaction.TransactionManager()
            conn = db.open(transaction_manager=tm)
            storage = getStorage(conn)
            for i in range(5):
                for attempt in tm.attempts(10):
                    with attempt:
                        saved.append(storage.saveUserTrack('t', 1, user,
                                                           {'i': i}))
            tm.abort()
            storage.releaseNumbers()
            conn.close()
        except Exception as exc:    # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(f'u{n}',))
               for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    db.close()
    assert errors == []
    with Session(path, create=False) as session:
        storage = session.storage
        assert len(storage) == 11
        assert sorted(storage.getUserNames('t')) == ['u0', 'u1', 'u2']
        assert len(storage.query(userName='u1')) == 5
        assert storage.check() == []
        assert len(set(storage)) == 11
