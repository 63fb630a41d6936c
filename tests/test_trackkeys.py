"""The user-track table's str keys keep the order of the tuples they
encode, and the storage's shortcuts through it answer what the indexes
answer."""

import collections
import itertools
import random

import pytest

from cybertools_tracking import trackkeys
from cybertools_tracking.btree import Track, TrackingStorage

NAMES = ['', 'a', 'a\x00', 'a\x00\x01', 'a\x01', 'ab', 'b', 'u\xe9',
         '\x00', '\x00\x02', 'z' * 3, '\U0001f600']


def test_keys_sort_like_the_tuples_they_encode():
    rnd = random.Random(5)
    tuples = [(rnd.choice(NAMES), rnd.choice([0, 1, 2, 2 ** 40]),
               rnd.choice(NAMES), rnd.choice([-2 ** 40, -1, 0, 1, 10 ** 10]),
               rnd.choice([1, 15, 16, 255, 256, 2 ** 32,
                           rnd.randrange(1, 2 ** 63)]))
              for _ in range(2000)]
    keys = [trackkeys.makeKey(*t) for t in tuples]
    assert sorted(keys) == [trackkeys.makeKey(*t) for t in sorted(tuples)]
    for t, key in zip(tuples, keys):
        assert trackkeys.split(key) == t
        assert trackkeys.numOf(key) == t[4]


def test_prefixes_select_exactly_their_keys():
    table = trackkeys.KeyTable()
    tuples = list(itertools.product(NAMES[:6], [1, 2], NAMES[:6], [5], [7]))
    for t in tuples:
        table.insert(trackkeys.makeKey(*t))
    for user, run, task in itertools.product(NAMES[:6], [1, 2], NAMES[:6]):
        start = trackkeys.prefix(user, run, task)
        assert [trackkeys.split(k) for k in trackkeys.keysWith(table, start)] \
            == [(user, run, task, 5, 7)]
        assert trackkeys.split(trackkeys.lastWith(table, start)) \
            == (user, run, task, 5, 7)
    for user in NAMES[:6]:
        assert len(trackkeys.keysWith(table, trackkeys.prefix(user))) == 12
        assert list(trackkeys.runsOf(table, user)) == [1, 2]
    assert list(trackkeys.runsOf(table, 'nobody')) == []
    assert trackkeys.lastWith(table, trackkeys.prefix('nobody')) is None
    assert trackkeys.lastWith(trackkeys.KeyTable(), 'x\x00\x01') is None


def test_out_of_range_numbers_are_refused():
    with pytest.raises(ValueError, match='out of range'):
        trackkeys.makeKey('u', -1, 't', 0, 1)
    with pytest.raises(ValueError, match='out of range'):
        trackkeys.makeKey('u', 1, 't', 2 ** 63, 1)


def fill(storage, rnd, count=400):
    for i in range(count):
        runId = rnd.choice([0, 0, 0] + list(storage.runs.keys()))
        storage.saveUserTrack(rnd.choice(['t1', 't2', 't3*x']), runId,
                              rnd.choice(['u1', 'u2', 'u3']), {'i': i},
                              timeStamp=1_700_000_000 + rnd.randrange(50))
        if i % 97 == 0:
            storage.startRun(rnd.choice(['t1', 't2']))


def test_task_and_user_queries_agree_with_the_indexes():
    rnd = random.Random(3)
    storage = TrackingStorage()
    fill(storage, rnd)
    for track in list(storage.values())[::7]:
        storage.removeTrack(track)
    for taskId, userName in itertools.product(['t1', 't2', 't3*x', 'none'],
                                              ['u1', 'u2', 'u3', 'none']):
        expected = [t for t in storage.values()
                    if t.taskId == taskId and t.userName == userName]
        assert list(storage.query(taskId=taskId, userName=userName)) \
            == expected
        assert list(storage.query(taskId=taskId, userName=userName,
                                  limit=2, reverse=True)) \
            == expected[::-1][:2]
        for runId in storage.runs.keys():
            mine = [t for t in expected if t.runId == runId]
            assert list(storage.query(taskId=taskId, userName=userName,
                                      runId=runId)) == mine
            assert storage.getUserTracks(taskId, runId, userName) == mine
            last = max(mine, key=lambda t: (t.timeStamp, t.__name__),
                       default=None)
            assert storage.getLastUserTrack(taskId, runId, userName) == last
        if expected:
            assert userName in storage.getUserNames(taskId)
        else:
            assert userName not in storage.getUserNames(taskId)
    assert storage.check() == []


def test_track_state_round_trips_with_subclass_attributes(tmp_path):
    from cybertools_tracking.db import Session

    class Tagged(Track):
        pass

    track = Tagged('t', 1, 'u', {'x': 1})
    track.extra = 'kept'
    state = track.__getstate__()
    assert isinstance(state, tuple) and state[1] == {'extra': 'kept'}
    copy = Tagged.__new__(Tagged)
    copy.__setstate__(state)
    assert (copy.taskId, copy.runId, copy.userName, copy.data, copy.extra) \
        == ('t', 1, 'u', {'x': 1}, 'kept')
    # The attribute dict persistent writes by default loads too.
    old = Track.__new__(Track)
    old.__setstate__({'taskId': 'a', 'runId': 2, 'userName': 'b',
                      'timeStamp': 5, 'data': {}})
    assert (old.taskId, old.timeStamp, old.__name__) == ('a', 5, None)
    path = str(tmp_path / 't.fs')
    with Session(path) as session:
        trackId = session.run(
            lambda s: s.saveUserTrack('t', 0, 'u', {'k': 'v'}))
    with Session(path) as session:
        loaded = session.storage[trackId]
        assert (loaded.data, loaded.__name__, loaded.__parent__) \
            == ({'k': 'v'}, trackId, session.storage)


# the oid at the end of a key

def test_the_oid_never_changes_the_order_or_what_a_key_names():
    low = trackkeys.makeKey('u', 1, 't', 5, 7, oid=2 ** 60)
    high = trackkeys.makeKey('u', 1, 't', 5, 8, oid=1)
    assert low < high
    assert trackkeys.split(low) == ('u', 1, 't', 5, 7)
    assert (trackkeys.numOf(low), trackkeys.oidOf(low)) == (7, 2 ** 60)
    table = trackkeys.KeyTable()
    for key in (low, high):
        table.insert(key)
    assert trackkeys.find(table, trackkeys.stem(low)) == low
    assert trackkeys.find(table, trackkeys.stem(
        trackkeys.makeKey('u', 1, 't', 5, 9))) is None
    assert trackkeys.stem(low) + '0' == trackkeys.makeKey('u', 1, 't', 5, 7)
    assert sorted(trackkeys.pairsOf(table, trackkeys.prefix('u'))) \
        == [(7, 2 ** 60), (8, 1)]


def saved(path, count, task, user):
    """A FileStorage at path holding count tracks, track i saved for
    task(i) by user(i) with data {'i': i}, in a run of the task's own."""
    from cybertools_tracking.db import Session

    def fill(storage):
        for i in range(count):
            storage.saveUserTrack(task(i), 0, user(i), {'i': i})
    with Session(path) as session:
        session.run(fill)
    return path


def test_tracks_of_a_task_and_user_load_only_the_buckets_holding_them(
        tmp_path):
    from ZODB.utils import get_pickle_metadata

    from cybertools_tracking.db import Session
    path = saved(str(tmp_path / 'oids.fs'), 6000, lambda i: f't{i % 40}',
                 lambda i: f'u{i % 7}')
    with Session(path, create=False) as session:
        storage, conn = session.storage, session.conn
        # Tracks are records in the track tree's buckets: their keys name
        # no object of their own.
        assert {trackkeys.oidOf(key) for key in storage._userTracks.keys()} \
            == {0}
        conn.cacheMinimize()
        # Count what the storage reads, by class (ZODB's own counter misses
        # the load Connection.get makes to learn an object's class).
        mvcc, loaded = conn._storage, collections.Counter()

        def load(oid, load=mvcc.load):
            data, serial = load(oid)
            loaded[get_pickle_metadata(data)[1]] += 1
            return data, serial

        mvcc.load = load
        try:
            tracks = list(storage.query(taskId='t2', userName='u3'))
        finally:
            del mvcc.load
        assert [t.data['i'] for t in tracks] \
            == [i for i in range(6000) if i % 40 == 2 and i % 7 == 3]
        # The tracks lie 280 apart, each in a bucket of the track tree of
        # its own: a bucket is read per track, and nothing else of the
        # track tree.
        assert loaded['TrackBucket'] == len(tracks), loaded
        assert loaded['Track'] == 0, loaded
        assert all(t == storage[t.__name__] for t in tracks)


def test_keys_saved_outside_a_database_still_find_their_tracks(tmp_path):
    from cybertools_tracking.db import Session
    storage = TrackingStorage()
    ids = [storage.saveUserTrack('t', 0, 'u', {'i': i}) for i in range(3)]
    assert {trackkeys.oidOf(k) for k in storage._userTracks.keys()} == {0}
    path = str(tmp_path / 'later.fs')
    with Session(path) as session:
        session.run(lambda root: None)
        session.conn.root()['tracking'] = storage
        session.tm.commit()
    with Session(path, create=False) as session:
        stored = session.storage
        assert [t.__name__ for t in stored.query(taskId='t', userName='u')] \
            == ids
        assert stored.getLastUserTrack('t', 1, 'u').data == {'i': 2}
        assert stored.check() == []
        stored.removeTrack(stored[ids[0]])
        stored.updateTrack(stored[ids[1]], {'j': 1})
        assert stored.check() == []


def test_a_key_pointing_at_the_wrong_object_is_reported_not_followed(
        tmp_path):
    from ZODB.utils import u64

    from cybertools_tracking.db import Session
    path = saved(str(tmp_path / 'bent.fs'), 3, lambda i: 't', lambda i: 'u')
    with Session(path, create=False) as session:
        storage = session.storage
        table = storage._userTracks
        first = min(table.keys(), key=trackkeys.numOf)
        # An oid in a key (where generation 2 and older saved the track's
        # own) that names another object.
        wrong = u64(storage._p_oid)
        table.remove(first)
        table.insert(trackkeys.withOid(trackkeys.stem(first), wrong))
        assert any('points track 1 to oid' in p for p in storage.check())
        tracks = storage.getUserTracks('t', 1, 'u')
        assert [t.__name__ for t in tracks] \
            == ['0000001', '0000002', '0000003']
        session.tm.abort()


# userName from the table

def test_user_names_are_queried_from_the_table():
    storage = TrackingStorage()
    for i, user in enumerate(['ann', 'anna', 'bob', 'a\x00b', 'ann']):
        storage.saveUserTrack('t' if i % 2 else 's', 0, user, {'i': i})
    assert 'userName' not in storage.indexes
    assert 'userName' in storage.indexAttributes

    def users(**criteria):
        return [t.data['i'] for t in storage.query(**criteria)]

    assert users(userName='ann') == [0, 4]
    assert users(userName=['bob', 'anna']) == [1, 2]
    assert users(userName='ann*') == [0, 1, 4]
    assert users(userName='a\x00*') == [3]
    assert users(userName='*') == [0, 1, 2, 3, 4]
    assert users(userName='nobody') == []
    assert users(userName='ann', taskId='s') == [0, 4]
    assert users(userName='ann*', taskId='t') == [1]
    with pytest.raises(TypeError, match="query on 'userName': 5 \\(int\\)"):
        storage.query(userName=5)
