"""The user-track table's str keys keep the order of the tuples they
encode, and the storage's shortcuts through it answer what the indexes
answer."""

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
               rnd.randrange(1, 2 ** 63))
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
            assert storage.getLastUserTrack(taskId, runId, userName) is last
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
