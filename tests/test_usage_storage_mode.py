"""A tracker writing into a TrackingStorage its caller already opened
(a server-side application): synchronous writes in the caller's
transaction, no file of its own."""

import pytest
import ZODB
import ZODB.FileStorage
from persistent.mapping import PersistentMapping
import transaction

from cybertools_tracking.btree import TrackingStorage
from cybertools_tracking.db import Session
from cybertools_tracking.usage import (
    AnonymousUsageError, AnonymousUsageTracker, TrackerClosedError)


@pytest.fixture
def session(tmp_path):
    s = Session(str(tmp_path / 'app.fs'))
    yield s
    s.close()


def committed(session, name):
    tm = transaction.TransactionManager()
    conn = session.db.open(transaction_manager=tm)
    try:
        return [dict(t.data)
                for t in conn.root()['tracking'].query(taskId=name)]
    finally:
        conn.close()


def test_changes_go_into_the_callers_transaction(session):
    t = AnonymousUsageTracker('server', storage=session.storage)
    assert t.filepath is None and t.db is session.db
    t.track_statistic('requests')
    t['requests'] += 1
    t['requests'] += 1
    # At once in the caller's storage ...
    assert [tr.data for tr in session.storage.query(taskId='requests')] \
        == [{'Count': 1}, {'Count': 2}]
    # ... committed when the caller commits.
    assert committed(session, 'requests') == []
    t.flush()                       # no transaction manager given: nothing
    assert committed(session, 'requests') == []
    session.tm.commit()
    assert committed(session, 'requests') == [{'Count': 1}, {'Count': 2}]
    t.close()
    session.tm.commit()
    assert session.storage.getRun(runId=t.run_id).finished
    with pytest.raises(TrackerClosedError):
        t['requests'] += 1


def test_transaction_manager_commits_on_flush(session):
    t = AnonymousUsageTracker('server', storage=session.storage,
                              transaction_manager=session.tm)
    t.track_state('mode', 'light')
    t.flush()
    assert committed(session, 'mode') == [{'Count': 1, 'State': 'light'}]
    t['mode'] = 'dark'
    t.close()                       # flushes
    assert [d['State'] for d in committed(session, 'mode')] == \
        ['light', 'dark']


def test_given_run_is_used_and_left_open(session):
    runId = session.storage.startRun('requests-run')
    t = AnonymousUsageTracker('server', storage=session.storage,
                              run_id=runId)
    assert t.run_id == runId
    t.track_statistic('hits')
    t['hits'] += 1
    assert session.storage.query(taskId='hits')[0].runId == runId
    t.close()
    assert not session.storage.getRun(runId=runId).finished
    with pytest.raises(ValueError, match='run_id 999 is not a run'):
        AnonymousUsageTracker('server', storage=session.storage, run_id=999)


def test_restores_like_a_file_tracker(session):
    with AnonymousUsageTracker('a', storage=session.storage) as t:
        t.track_statistic('n', max_rows=3)
        for _ in range(5):
            t['n'] += 1
        assert len(session.storage.query(taskId='n')) == 3
    with AnonymousUsageTracker('a', storage=session.storage) as t:
        t.track_statistic('n', max_rows=3)
        assert t['n'].count == 5
        assert [r['Count'] for r in t['n'].get_rows()] == [3, 4, 5]
        assert t.registry()['n']['max_rows'] == 3
        t['n'].delete_first()
        assert [r['Count'] for r in t['n'].get_rows()] == [4, 5]


def test_storage_without_database():
    storage = TrackingStorage()
    with AnonymousUsageTracker('u', storage=storage) as t:
        assert t.db is None
        t.track_sequence('q', ['a', 'b'])
        t['q'].advance_to_checkpoint('b')
        assert [tr.data for tr in storage.query(taskId='q')] == [{'Count': 1}]
        assert t.summary()[0]['value'] == 1


def test_not_a_tracking_storage():
    with pytest.raises(AnonymousUsageError, match='not a TrackingStorage'):
        AnonymousUsageTracker('u', storage={})


def test_a_file_whose_key_holds_something_else_is_refused(tmp_path):
    path = tmp_path / 'other.fs'
    db = ZODB.DB(ZODB.FileStorage.FileStorage(str(path)))
    with db.transaction() as conn:
        conn.root()['tracking'] = PersistentMapping(kept=1)
    db.close()
    before = path.read_bytes()
    with pytest.raises(AnonymousUsageError,
                       match="root key 'tracking' holds a persistent.mapping"
                             ".PersistentMapping, not a TrackingStorage"):
        AnonymousUsageTracker('u', filepath=str(path))
    assert path.read_bytes() == before
