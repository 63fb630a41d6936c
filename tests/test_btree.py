"""The storage layer (cybertools_tracking.btree): every method of
ITrackingStorage, its edge cases and its bad input, on a storage kept in
a real FileStorage. Cross-checking is tested in test_check.py."""

import datetime
import math
import re

import pytest
from zope.interface.verify import verifyClass, verifyObject

from cybertools_tracking import trackkeys
from cybertools_tracking.btree import Run, Track, TrackingStorage
from cybertools_tracking.interfaces import IRun, ITrack, ITrackingStorage
from cybertools_tracking.timestamps import (
    TIME_MAX, TIME_MIN, getTimeStamp, timeStamp2LocalMinute)

from storage_fixtures import T0, StateTrack, snapshot


# interfaces

def test_classes_declare_and_provide_their_interfaces(storage):
    storage.saveUserTrack('a001', 0, 'u1', {'k': 'v'})
    assert verifyClass(ITrackingStorage, TrackingStorage)
    assert verifyClass(ITrack, Track)
    assert verifyClass(IRun, Run)
    assert verifyObject(ITrackingStorage, storage)
    assert verifyObject(ITrack, storage['0000001'])
    assert verifyObject(IRun, storage.getRun(runId=1))
    assert verifyObject(ITrack, StateTrack('t', 1, 'u', {}))


# Track

def test_track_attributes(storage):
    data = {'somekey': 'somevalue'}
    before = getTimeStamp()
    trackId = storage.saveUserTrack('a001', 0, 'u1', data)
    track = storage[trackId]
    assert (track.taskId, track.runId, track.userName) == ('a001', 1, 'u1')
    assert isinstance(track.timeStamp, int)
    assert before <= track.timeStamp <= getTimeStamp()
    assert track.data == data and track.data is not data
    data['somekey'] = 'changed'         # the track keeps its own copy
    assert track.data == {'somekey': 'somevalue'}
    assert track.metadata == {'taskId': 'a001', 'runId': 1,
                              'userName': 'u1',
                              'timeStamp': track.timeStamp}
    assert track.indexdata == track.metadata
    assert track.typeName == 'Track'
    assert track.metadata_attributes == ('taskId', 'runId', 'userName',
                                         'timeStamp')
    assert track.index_attributes == track.metadata_attributes
    assert track.__name__ == '0000001'
    assert track.__parent__ is storage


def test_track_without_data_has_an_empty_mapping():
    assert Track('t', 1, 'u').data == {}


def test_track_repr(storage):
    storage.saveUserTrack('a001', 0, 'u1', {'somekey': 'somevalue'},
                          timeStamp=T0)
    stamp = timeStamp2LocalMinute(T0)
    assert re.fullmatch(r'\d{4}-\d\d-\d\d \d\d:\d\d', stamp)
    assert repr(storage['0000001']) == (
        f"<Track ['a001', 1, 'u1', '{stamp}']: {{'somekey': 'somevalue'}}>")


def test_custom_track_repr_uses_its_type_name(stateStorage):
    stateStorage.saveUserTrack('n', 0, 'u', {'state': 'new'}, timeStamp=T0)
    assert repr(stateStorage['0000001']).startswith(
        "<Notification ['n', 1, 'u', ")


def test_track_update_merges_or_overwrites_and_sets_time():
    track = Track('t', 1, 'u', {'a': 1, 'b': 2})
    track.timeStamp = T0
    old = track.data
    track.update({'b': 3, 'c': 4})
    assert track.data == {'a': 1, 'b': 3, 'c': 4}
    assert old == {'a': 1, 'b': 2}      # a new dict, so ZODB stores it
    assert track.timeStamp >= getTimeStamp() - 1
    track.update({'z': 0}, overwrite=True)
    assert track.data == {'z': 0}


def test_track_update_refuses_a_non_mapping():
    track = Track('t', 1, 'u', {'a': 1})
    track.timeStamp = T0
    with pytest.raises(TypeError, match='mapping'):
        track.update([('a', 2)])
    assert track.data == {'a': 1} and track.timeStamp == T0


def test_indexdata_takes_extra_attributes_from_data():
    track = StateTrack('t', 1, 'u', {'state': 'new', 'other': 1})
    assert track.indexdata['state'] == 'new'
    assert 'other' not in track.indexdata
    assert StateTrack('t', 1, 'u', {}).indexdata['state'] is None


# Run

def test_run_repr_and_attributes(storage):
    storage.startRun('a')
    storage.startRun('b')
    runId = storage.startRun('a001')
    run = storage.getRun(runId=runId)
    assert (run.id, run.taskId, run.finished) == (3, 'a001', False)
    assert run.start == run.end
    stamp = timeStamp2LocalMinute(run.start)
    assert repr(run) == f'<Run 3, {stamp}, {stamp}, False>'
    storage.stopRun('a001')
    assert repr(run).endswith(', True>')


# container protocol

def saveThree(storage):
    for i in range(3):
        storage.saveUserTrack('t', 0, f'u{i}', {'i': i})


def test_the_container_iterates_in_number_order(storage):
    saveThree(storage)
    assert len(storage) == 3
    assert list(storage) == ['0000001', '0000002', '0000003']
    assert storage.keys() == ['0000001', '0000002', '0000003']
    assert [t.data['i'] for t in storage.values()] == [0, 1, 2]
    assert [(k, t.userName) for k, t in storage.items()] == [
        ('0000001', 'u0'), ('0000002', 'u1'), ('0000003', 'u2')]


def test_the_container_finds_tracks_by_id_or_number(storage):
    saveThree(storage)
    assert storage['0000002'].userName == 'u1'
    assert storage[2] == storage['0000002']
    assert '0000003' in storage and 3 in storage
    assert '0000004' not in storage
    assert storage.get('0000001').userName == 'u0'
    assert storage.get('0000009') is None
    assert storage.get('0000009', 'nope') == 'nope'
    assert storage.idFromNum(42) == '0000042'


@pytest.mark.parametrize('other', [
    '1', '00000001', ' 0000001', '０００００01', 'x', None, 1.0, True, 0, -1,
    2 ** 64])
def test_only_the_canonical_id_names_a_track(storage, other):
    # As in a container keyed by those strings.
    saveThree(storage)
    assert other not in storage
    assert storage.get(other) is None
    with pytest.raises(KeyError):
        storage[other]


def test_single_writer_gets_1_2_3_across_commits(db):
    ids = []
    for i in range(6):
        ids.append(db.storage.saveUserTrack('t', 0, 'u', {'i': i}))
        db.commit()
    assert ids == ['%07i' % n for n in range(1, 7)]


def test_ids_past_9999999_keep_numeric_order(db):
    storage = db.storage
    storage.saveUserTrack('t', 0, 'u', {'i': 0})
    db.commit()
    storage._numbers.next = 9_999_998       # the allocator's next number
    db.commit()
    for i in range(1, 5):
        storage.saveUserTrack('t', 0, 'u', {'i': i})
    db.commit()
    expected = ['0000001', '9999998', '9999999', '10000000', '10000001']
    assert list(storage) == expected
    assert sorted(expected) != expected      # string order would be wrong
    assert [t.data['i'] for t in storage.values()] == [0, 1, 2, 3, 4]
    assert storage['10000000'].data == {'i': 3}
    assert [t.__name__ for t in storage.query(taskId='t')] == expected
    assert [t.__name__ for t in storage.query(taskId='t', reverse=True,
                                              limit=3)] == expected[:1:-1]
    assert storage.getLastUserTrack('t', 0, 'u').__name__ == '10000001'
    assert storage.check() == []


# runs

def test_runs_start_stop_get(storage):
    assert storage.startRun('a') == 1
    assert storage.startRun('b') == 2
    assert storage.startRun() == 3          # a run for no task
    assert storage.getRun('a').id == 1
    assert storage.getRun(runId=3).taskId is None
    assert storage.getRun() is None
    assert storage.getRun('unknown') is None
    assert storage.getRun(runId=99) is None
    assert storage.startRun('a') == 4       # replaces a's current run
    assert storage.getRun('a').id == 4
    assert storage.getRun(runId=1).finished is False
    assert [r.id for r in storage.getRuns('a')] == [1, 4]
    assert [r.id for r in storage.getRuns()] == [1, 2, 3, 4]


def test_stop_run_finishes_and_stays_retrievable(storage):
    runId = storage.startRun('a')
    run = storage.getRun(runId=runId)
    run.end = run.start - 100               # so stopping must move it
    assert storage.stopRun('a') == runId
    assert run.finished is True
    assert run.end >= run.start
    assert storage.getRun('a') is None      # no longer current
    assert storage.getRun(runId=runId) is run
    assert storage.stopRun('a') == 0        # nothing to stop
    assert storage.stopRun(runId=99) == 0
    assert storage.stopRun() == 0


def test_stop_run_without_finish_stops_but_does_not_finish(storage):
    runId = storage.startRun('a')
    assert storage.stopRun('a', finish=False) == runId
    assert storage.getRun(runId=runId).finished is False
    assert storage.getRun('a') is None
    # The next track of the task starts a new run.
    storage.saveUserTrack('a', 0, 'u', {})
    assert storage.getRun('a').id == runId + 1


def test_stop_run_by_id_leaves_its_task(storage):
    storage.startRun('a')
    runB = storage.startRun('b')
    assert storage.stopRun('a', runB) == runB
    assert storage.getRun('a').id == 1      # a's current run untouched
    assert storage.getRun('b') is None      # b's current run was stopped
    assert storage.getRun(runId=runB).finished


def test_finished_run_still_takes_tracks_by_id(storage):
    storage.saveUserTrack('a', 0, 'u', {}, timeStamp=T0)
    storage.stopRun('a')
    end = storage.getRun(runId=1).end
    storage.saveUserTrack('a', 1, 'u', {'late': True}, timeStamp=end + 50)
    assert storage.getRun(runId=1).end == end + 50
    assert storage.getLastUserTrack('a', 1, 'u').data == {'late': True}


def test_run_end_moves_forward_to_newest_track(storage):
    runId = storage.startRun('a')
    run = storage.getRun(runId=runId)
    start = run.end
    storage.saveUserTrack('a', 0, 'u', {}, timeStamp=start + 100)
    assert run.end == start + 100
    storage.saveUserTrack('a', 0, 'u', {}, timeStamp=start + 50)
    assert run.end == start + 100           # never backwards
    track = storage.getUserTracks('a', 0, 'u')[1]
    storage.updateTrack(track, {'x': 1}, timeStamp=start + 200)
    assert run.end == start + 200


# saveUserTrack

def test_save_uses_the_current_run_or_starts_one(storage):
    storage.saveUserTrack('a', 0, 'u', {})
    storage.saveUserTrack('a', 0, 'v', {})
    storage.saveUserTrack('b', 0, 'u', {})
    assert [t.runId for t in storage.values()] == [1, 1, 2]
    runId = storage.startRun('a')
    storage.saveUserTrack('a', 0, 'u', {})
    assert storage['0000004'].runId == runId == 3
    storage.saveUserTrack('a', 1, 'u', {})     # an older run, by id
    assert storage['0000005'].runId == 1


def test_save_with_update_merges_into_the_last_track(storage):
    first = storage.saveUserTrack('a', 0, 'u', {'n': 1}, timeStamp=T0)
    second = storage.saveUserTrack('a', 0, 'u', {'n': 2, 'k': 'x'},
                                   timeStamp=T0 + 1)
    same = storage.saveUserTrack('a', 0, 'u', {'n': 3}, update=True,
                                 timeStamp=T0 + 5)
    assert same == second and len(storage) == 2
    assert storage[second].data == {'n': 3, 'k': 'x'}
    assert storage[second].timeStamp == T0 + 5
    assert storage[first].data == {'n': 1}
    # reindexed: the old time finds nothing, the new one finds it
    assert storage.query(timeStamp=T0 + 1) == []
    assert storage.query(timeStamp=T0 + 5) == [storage[second]]
    assert storage.check() == []


def test_save_with_update_and_overwrite_replaces_data(storage):
    trackId = storage.saveUserTrack('a', 0, 'u', {'n': 1, 'k': 'x'})
    assert storage.saveUserTrack('a', 0, 'u', {'n': 2}, update=True,
                                 overwrite=True) == trackId
    assert storage[trackId].data == {'n': 2}


def test_save_with_update_and_nothing_to_update_saves_a_new_track(storage):
    storage.saveUserTrack('a', 0, 'u', {'n': 1})
    other = storage.saveUserTrack('a', 0, 'v', {'n': 2}, update=True)
    fresh = storage.saveUserTrack('b', 0, 'u', {'n': 3}, update=True)
    assert (other, fresh) == ('0000002', '0000003')
    assert len(storage) == 3


def test_save_with_explicit_time_stamps(storage):
    moment = datetime.datetime(2024, 5, 6, 7, 8, 9,
                               tzinfo=datetime.timezone.utc)
    storage.saveUserTrack('a', 0, 'u', {}, timeStamp=T0)
    storage.saveUserTrack('a', 0, 'u', {}, timeStamp=T0 + 0.9)
    storage.saveUserTrack('a', 0, 'u', {}, timeStamp=moment)
    stamps = [t.timeStamp for t in storage.values()]
    assert stamps == [T0, T0, int(moment.timestamp())]
    assert all(type(s) is int for s in stamps)


# updateTrack, setTrackData

def test_update_track_reindexes_and_returns_its_id(stateStorage):
    storage = stateStorage
    trackId = storage.saveUserTrack('n', 0, 'u', {'state': 'new', 'k': 1},
                                    timeStamp=T0)
    track = storage[trackId]
    assert storage.updateTrack(track, {'state': 'read'}) == trackId
    assert track.data == {'state': 'read', 'k': 1}
    assert track.timeStamp > T0
    assert storage.query(state='new') == []
    assert storage.query(state='read') == [track]
    assert storage.query(timeStamp=T0) == []
    storage.updateTrack(track, {'state': 'done'}, overwrite=True,
                        timeStamp=T0 + 7)
    assert track.data == {'state': 'done'} and track.timeStamp == T0 + 7
    assert storage.query(timeFromTo=(T0 + 7, T0 + 7)) == [track]
    assert storage.check() == []


def test_set_track_data_keeps_the_time_stamp(stateStorage):
    storage = stateStorage
    trackId = storage.saveUserTrack('n', 0, 'u', {'state': 'new'},
                                    timeStamp=T0)
    track = storage[trackId]
    assert storage.setTrackData(track, {'state': 'read'}) == trackId
    assert track.data == {'state': 'read'} and track.timeStamp == T0
    assert storage.query(state='read') == [track]
    storage.setTrackData(track, {})         # no state: out of that index
    assert storage.query(state='read') == []
    assert len(storage.indexes['state']) == 0
    assert storage.check() == []


# removeTrack

def test_remove_track_takes_it_out_of_everything(stateStorage):
    storage = stateStorage
    storage.saveUserTrack('n', 0, 'u', {'state': 'new'}, timeStamp=T0)
    doomedId = storage.saveUserTrack('n', 0, 'u', {'state': 'old'},
                                     timeStamp=T0 + 1)
    lonelyId = storage.saveUserTrack('m', 0, 'w', {'state': 'new'},
                                     timeStamp=T0 + 2)
    doomed = storage[doomedId]
    storage.removeTrack(doomed)
    num = int(doomedId)
    assert len(storage) == 2 and doomedId not in storage
    for attr, index in storage.indexes.items():
        assert num not in dict(index.items()), attr
        assert all(num not in index.lookup(value)
                   for value in index.values()), attr
    assert storage.query(state='old') == []
    assert storage.query(timeStamp=T0 + 1) == []
    assert storage.getLastUserTrack('n', 0, 'u').data == {'state': 'new'}
    assert storage.getUserNames('n') == ['u']   # u still has a track
    storage.removeTrack(storage[lonelyId])
    assert storage.getUserNames('m') == []
    assert storage.getTaskIds() == ['n']
    assert storage.check() == []
    with pytest.raises(KeyError):
        storage.removeTrack(doomed)              # already gone


def test_remove_track_with_a_factory_lacking_user_indexes(storage):
    class Minimal(Track):
        index_attributes = ('taskId', 'timeStamp')

    bare = TrackingStorage(trackFactory=Minimal)
    first = bare.saveUserTrack('t', 0, 'u', {})
    bare.saveUserTrack('t', 0, 'v', {})
    bare.removeTrack(bare[first])
    assert bare.getUserNames('t') == ['v']
    assert bare.check() == []


# reindexTracks, setupIndexes

def test_reindex_repairs_damaged_indexes(storage):
    for user in ('u', 'v', 'w'):
        storage.saveUserTrack('t', 0, user, {}, timeStamp=T0)
    storage.indexes['taskId'].unindex(2, 't')
    storage._userTracks.clear()
    storage.taskUsers.clear()
    assert storage.check() == [
        'taskId: track 2 missing from index',
        "user-track table misses ('u', 1, 't', 1700000000, 1)",
        "user-track table misses ('v', 1, 't', 1700000000, 2)",
        "user-track table misses ('w', 1, 't', 1700000000, 3)",
        "task-user table for 't' holds [], tracks say ['u', 'v', 'w']"]
    storage.reindexTracks()
    assert storage.check() == []
    assert storage.query(userName='v') == [storage['0000002']]
    assert storage.getUserNames('t') == ['u', 'v', 'w']


def test_setup_indexes_for_a_new_track_factory(db):
    storage = db.storage
    storage.saveUserTrack('n', 0, 'u', {'state': 'new'})
    storage.saveUserTrack('n', 0, 'v', {'state': 'read'})
    storage.saveUserTrack('n', 0, 'w', {})
    db.commit()
    with pytest.raises(ValueError, match='state'):
        storage.query(state='new')
    storage.trackFactory = StateTrack
    storage.setupIndexes()
    db.commit()
    assert 'state' in storage.indexAttributes
    # tracks saved before the change are indexed from their data too
    assert [t.userName for t in storage.query(state='new')] == ['u']
    assert [t.userName for t in storage.query(state=['new', 'read'])] == [
        'u', 'v']
    trackId = storage.saveUserTrack('n', 0, 'x', {'state': 'new'})
    assert type(storage[trackId]) is StateTrack
    assert [t.userName for t in storage.query(state='new')] == ['u', 'x']
    assert storage.check() == []


def test_custom_track_factory_end_to_end(stateStorage):
    storage = stateStorage
    assert storage.trackFactory is StateTrack
    assert set(storage.indexAttributes) == {
        'taskId', 'runId', 'userName', 'timeStamp', 'state'}
    storage.saveUserTrack('inbox', 0, 'u1', {'state': 'new', 'text': 'a'})
    storage.saveUserTrack('inbox', 0, 'u2', {'state': 'new-urgent'})
    storage.saveUserTrack('inbox', 0, 'u1', {'state': 'read'})
    storage.saveUserTrack('inbox', 0, 'u3', {'text': 'no state'})
    assert [t.userName for t in storage.query(state='new')] == ['u1']
    assert [t.userName for t in storage.query(state='new*')] == ['u1', 'u2']
    assert [t.userName for t in storage.query(
        state=('read', 'new-urgent'))] == ['u2', 'u1']
    assert [t.userName for t in storage.query(state='new*',
                                              userName='u2')] == ['u2']
    assert len(storage.indexes['state']) == 3   # u3's track is left out
    last = storage.getLastUserTrack('inbox', 0, 'u1')
    assert storage.saveUserTrack('inbox', 0, 'u1', {'state': 'archived'},
                                 update=True) == last.__name__
    assert storage.query(state='read') == []
    # A track read is a copy of its record: the save changed the stored
    # track, not the copy held since.
    assert last.data == {'state': 'read'}
    assert storage.query(state='archived') == [storage[last.__name__]]
    assert storage[last.__name__].data == {'state': 'archived'}
    assert storage.check() == []


# query

@pytest.fixture
def filled(storage):
    """Five tracks with times T0, T0+10 ... and a second run."""
    storage.saveUserTrack('a001', 0, 'u1', {'k': 1}, timeStamp=T0)
    storage.saveUserTrack('a002', 0, 'u1', {'k': 2}, timeStamp=T0 + 10)
    storage.saveUserTrack('a001', 0, 'u2', {'k': 3}, timeStamp=T0 + 20)
    storage.startRun('a001')
    storage.saveUserTrack('b001', 0, 'u3', {'k': 4}, timeStamp=T0 + 30)
    storage.saveUserTrack('a001', 0, 'u1', {'k': 5}, timeStamp=T0 + 40)
    return storage


def ks(result):
    return [t.data['k'] for t in result]


def test_query_by_single_values(filled):
    assert ks(filled.query(taskId='a001')) == [1, 3, 5]
    assert ks(filled.query(userName='u1')) == [1, 2, 5]
    assert ks(filled.query(runId=3)) == [5]
    assert ks(filled.query(timeStamp=T0 + 30)) == [4]
    assert ks(filled.query(taskId='zzz')) == []
    assert ks(filled.query()) == [1, 2, 3, 4, 5]


def test_query_with_lists_tuples_and_sets_means_any(filled):
    assert ks(filled.query(taskId=['a002', 'b001'])) == [2, 4]
    assert ks(filled.query(userName=('u2', 'u3'))) == [3, 4]
    assert ks(filled.query(runId={1, 3})) == [1, 3, 5]
    assert ks(filled.query(taskId=[])) == []


def test_query_with_prefixes(filled):
    assert ks(filled.query(taskId='a*')) == [1, 2, 3, 5]
    assert ks(filled.query(taskId='a00*', userName='u1')) == [1, 2, 5]
    assert ks(filled.query(taskId=['b*', 'a002'])) == [2, 4]
    assert ks(filled.query(taskId='*')) == [1, 2, 3, 4, 5]
    assert ks(filled.query(taskId='c*')) == []


def test_query_time_ranges_are_inclusive(filled):
    assert ks(filled.query(timeFrom=T0 + 20)) == [3, 4, 5]
    assert ks(filled.query(timeTo=T0 + 20)) == [1, 2, 3]
    assert ks(filled.query(timeFromTo=(T0 + 10, T0 + 30))) == [2, 3, 4]
    assert ks(filled.query(timeFromTo=[T0 + 10, T0 + 10])) == [2]
    assert ks(filled.query(timeFromTo=(T0 + 30, T0 + 10))) == []
    # given together, all apply
    assert ks(filled.query(timeFrom=T0 + 20,
                           timeFromTo=(T0, T0 + 30))) == [3, 4]
    assert ks(filled.query(timeTo=T0 + 10, timeFrom=T0 + 10)) == [2]
    # a fraction of a second: from T0+9.5 starts at T0+10, to T0+20.5
    # ends at T0+20
    assert ks(filled.query(timeFromTo=(T0 + 9.5, T0 + 20.5))) == [2, 3]
    moment = datetime.datetime.fromtimestamp(T0 + 30, datetime.timezone.utc)
    assert ks(filled.query(timeFrom=moment)) == [4, 5]
    assert ks(filled.query(timeFrom=T0 + 10, taskId='a*',
                           userName='u1')) == [2, 5]


def test_query_ignores_none_values(filled):
    assert ks(filled.query(runId=None)) == [1, 2, 3, 4, 5]
    assert ks(filled.query(taskId='a001', runId=None)) == [1, 3, 5]
    assert ks(filled.query(timeFrom=None, timeTo=T0)) == [1]


def test_query_unknown_criterion_names_the_valid_ones(filled):
    with pytest.raises(ValueError) as info:
        filled.query(user='u1')
    message = str(info.value)
    assert 'user' in message
    for name in ('taskId', 'runId', 'userName', 'timeStamp', 'timeFrom',
                 'timeTo', 'timeFromTo', 'limit', 'reverse'):
        assert name in message
    with pytest.raises(ValueError, match='timefrom'):
        filled.query(timefrom=T0)


def test_query_limit_and_reverse(filled):
    assert ks(filled.query(limit=2)) == [1, 2]
    assert ks(filled.query(reverse=True)) == [5, 4, 3, 2, 1]
    assert ks(filled.query(taskId='a001', limit=2, reverse=True)) == [5, 3]
    assert ks(filled.query(limit=0)) == []
    assert ks(filled.query(limit=99)) == [1, 2, 3, 4, 5]
    for bad in (-1, 1.5, '2', True):
        with pytest.raises(ValueError, match='limit'):
            filled.query(limit=bad)


def test_query_results_are_a_lazy_sequence(filled):
    result = filled.query(taskId='a001')
    assert len(result) == 3 and bool(result)
    assert result[0].data['k'] == 1 and result[-1].data['k'] == 5
    assert ks(result[1:]) == [3, 5]
    assert result == [filled['0000001'], filled['0000003'],
                      filled['0000005']]
    assert not filled.query(taskId='none')


def test_query_results_are_in_track_number_order(storage):
    storage.saveUserTrack('t', 0, 'u', {'k': 1}, timeStamp=T0 + 50)
    storage.saveUserTrack('t', 0, 'u', {'k': 2}, timeStamp=T0)
    storage.saveUserTrack('t', 0, 'u', {'k': 3}, timeStamp=T0 + 20)
    assert ks(storage.query(taskId='t')) == [1, 2, 3]
    assert ks(storage.query(timeFrom=T0)) == [1, 2, 3]


def test_query_bad_values_raise(filled):
    with pytest.raises(TypeError, match="'runId'"):
        filled.query(runId='1')
    with pytest.raises(TypeError, match="'runId'"):
        filled.query(runId='1*')
    with pytest.raises(ValueError, match='pair'):
        filled.query(timeFromTo=T0)
    with pytest.raises(TypeError, match='timeFrom'):
        filled.query(timeFrom='yesterday')


# getUserTracks, getLastUserTrack, getUserNames, getTaskIds

def test_user_tracks_and_last_track(filled):
    assert ks(filled.getUserTracks('a001', 1, 'u1')) == [1]
    assert ks(filled.getUserTracks('a001', 0, 'u1')) == [5]   # current run
    assert filled.getUserTracks('a002', 0, 'u2') == []
    assert filled.getUserTracks('nothing', 0, 'u1') == []
    assert filled.getLastUserTrack('a001', 1, 'u2').data == {'k': 3}
    assert filled.getLastUserTrack('a001', 1, 'u3') is None
    assert filled.getLastUserTrack('nothing', 0, 'u1') is None


def test_last_user_track_newest_time_then_saved_last(storage):
    storage.saveUserTrack('t', 0, 'u', {'k': 'newest'}, timeStamp=T0 + 9)
    storage.saveUserTrack('t', 0, 'u', {'k': 'older'}, timeStamp=T0)
    assert storage.getLastUserTrack('t', 0, 'u').data == {'k': 'newest'}
    storage.saveUserTrack('t', 0, 'u', {'k': 'tie'}, timeStamp=T0 + 9)
    assert storage.getLastUserTrack('t', 0, 'u').data == {'k': 'tie'}
    storage.saveUserTrack('t', 0, 'u', {'k': 'tie2'}, timeStamp=T0 + 9)
    assert storage.getLastUserTrack('t', 0, 'u').data == {'k': 'tie2'}
    older = storage['0000002']
    storage.updateTrack(older, {'k': 'updated'}, timeStamp=T0 + 20)
    # updateTrack brings the caller's copy up to date with the record.
    assert older.data == {'k': 'updated'} and older.timeStamp == T0 + 20
    assert storage.getLastUserTrack('t', 0, 'u') == older


def test_user_names_and_task_ids_are_sorted(storage):
    for task, user in (('zeta', 'mia'), ('alpha', 'zoe'), ('zeta', 'adam'),
                       ('mid', 'bo'), ('zeta', 'mia')):
        storage.saveUserTrack(task, 0, user, {})
    assert storage.getUserNames('zeta') == ['adam', 'mia']
    assert storage.getUserNames('none') == []
    assert storage.getTaskIds() == ['alpha', 'mid', 'zeta']


# bad input raises and changes nothing

BAD_SAVES = [
    (('', 0, 'u', {}), ValueError, 'taskId must be a non-empty str'),
    ((None, 0, 'u', {}), TypeError, 'taskId must be a non-empty str'),
    ((5, 0, 'u', {}), TypeError, 'taskId must be a non-empty str'),
    (('a001', 0, '', {}), ValueError, 'userName must be a non-empty str'),
    (('a001', 0, b'u', {}), TypeError, 'userName must be a non-empty str'),
    (('a001', 0, 'u', [('k', 1)]), TypeError, 'must be a mapping'),
    (('a001', 0, 'u', 'text'), TypeError, 'must be a mapping'),
    (('a001', 0, 'u', None), TypeError, 'must be a mapping'),
    (('a001', 99, 'u', {}), ValueError,
     r'invalid run: 99; runs known: 1\.\.2'),
    (('a001', -1, 'u', {}), TypeError, 'runId must be an int >= 0'),
    (('a001', '1', 'u', {}), TypeError, 'runId must be an int >= 0'),
    (('newtask', 0, 'u', {'state': 5}), TypeError,
     r"index 'state'.*cannot be ordered.*use str values"),
    (('newtask', 0, 'u', {'state': ['a']}), TypeError,
     r"index 'state'.*list.*use str, bytes, int, float"),
    (('newtask', 0, 'u', {'state': {'a': 1}}), TypeError,
     r"index 'state'.*dict"),
    (('newtask', 0, 'u', {'state': object()}), TypeError,
     r"index 'state'.*object"),
    (('newtask', 0, 'u', {'state': float('nan')}), ValueError, 'NaN'),
    (('newtask', 0, 'u', {'state': ('a', [1])}), TypeError,
     r"index 'state'.*list"),
]


@pytest.mark.parametrize('args,error,message', BAD_SAVES)
def test_bad_save_raises_and_changes_nothing(stateStorage, args, error,
                                             message):
    storage = stateStorage
    storage.saveUserTrack('a001', 0, 'u1', {'state': 'new'}, timeStamp=T0)
    storage.startRun('a002')
    before = snapshot(storage)
    with pytest.raises(error, match=message):
        storage.saveUserTrack(*args)
    assert snapshot(storage) == before
    assert before['check'] == []


@pytest.mark.parametrize('kw,error,message', [
    ({'timeStamp': 'yesterday'}, TypeError, 'timeStamp must be epoch'),
    ({'timeStamp': math.nan}, ValueError, 'finite'),
    ({'timeStamp': True}, TypeError, 'bool'),
    ({'update': True, 'data': {'state': 7}}, TypeError, "index 'state'"),
    ({'update': True, 'data': 'x'}, TypeError, 'mapping'),
    ({'update': True, 'timeStamp': 'x'}, TypeError, 'timeStamp'),
])
def test_bad_save_options_raise_and_change_nothing(stateStorage, kw, error,
                                                   message):
    storage = stateStorage
    storage.saveUserTrack('a001', 0, 'u1', {'state': 'new'}, timeStamp=T0)
    before = snapshot(storage)
    data = kw.pop('data', {'state': 'ok'})
    with pytest.raises(error, match=message):
        storage.saveUserTrack('a001', 0, 'u1', data, **kw)
    assert snapshot(storage) == before


OUT_OF_RANGE = [2 ** 63, -2 ** 63 - 1, 2 ** 64, 10 ** 30, 1e308, -1e308,
                TIME_MAX + 1, TIME_MIN - 1,
                datetime.datetime(9999, 12, 31, 23, 59,
                                  tzinfo=datetime.timezone.utc),
                datetime.date(1, 1, 1)]


@pytest.mark.parametrize('update', [False, True])
@pytest.mark.parametrize('when', OUT_OF_RANGE)
def test_a_time_out_of_range_raises_and_a_commit_stores_nothing(db, when,
                                                                update):
    storage = db.storage
    storage.saveUserTrack('a001', 0, 'u1', {'k': 1}, timeStamp=T0)
    db.commit()
    before = snapshot(storage)
    with pytest.raises(ValueError, match=re.escape(
            'timeStamp must be a time from 0001-01-02 to 9999-12-30 (epoch '
            'seconds -62135510400 to 253402214399), not ')):
        storage.saveUserTrack('a001', 0, 'u1', {'k': 2}, update=update,
                              timeStamp=when)
    db.commit()         # what a caller that catches the error may do
    assert snapshot(storage) == before
    assert before['check'] == []


@pytest.mark.parametrize('when', [TIME_MIN, TIME_MAX])
def test_the_ends_of_the_time_range_are_saved_and_shown(storage, when):
    trackId = storage.saveUserTrack('a001', 0, 'u1', {}, timeStamp=when)
    track = storage[trackId]
    assert track.timeStamp == when
    assert repr(track).startswith(
        f"<Track ['a001', 1, 'u1', '{timeStamp2LocalMinute(when)}']")
    assert storage.query(timeFromTo=(when, when)) == [track]
    assert storage.check() == []


def test_update_track_checks_its_time_before_any_change(stateStorage):
    storage = stateStorage
    storage.saveUserTrack('a001', 0, 'u1', {'state': 'new'}, timeStamp=T0)
    before = snapshot(storage)
    with pytest.raises(ValueError, match='timeStamp must be a time from'):
        storage.updateTrack(storage['0000001'], {'state': 'x'},
                            timeStamp=2 ** 63)
    assert snapshot(storage) == before


@pytest.mark.parametrize('taskId', [7, b'task', ''])
def test_runs_refuse_a_task_that_is_not_a_name(storage, taskId):
    error = ValueError if taskId == '' else TypeError
    for call in (storage.startRun, storage.stopRun, storage.getRun):
        with pytest.raises(error, match='taskId must be a non-empty str'):
            call(taskId)
    assert storage.getRuns() == [] and list(storage.currentRuns) == []


def test_query_limits_beyond_a_count_name_the_range(storage):
    for limit in (2 ** 70, -1, 1.5, True):
        with pytest.raises(ValueError, match=re.escape(
                'limit must be an int from 0 to 9,223,372,036,854,775,807 '
                f'or None, not {limit!r}')):
            storage.query(limit=limit)
    storage.saveUserTrack('a001', 0, 'u1', {}, timeStamp=T0)
    assert len(storage.query(limit=2 ** 63 - 1)) == 1


def test_bad_updates_raise_and_change_nothing(stateStorage):
    storage = stateStorage
    storage.saveUserTrack('a001', 0, 'u1', {'state': 'new'}, timeStamp=T0)
    track = storage['0000001']
    before = snapshot(storage)
    with pytest.raises(TypeError, match='mapping'):
        storage.updateTrack(track, ['state'])
    with pytest.raises(TypeError, match="index 'state'"):
        storage.updateTrack(track, {'state': 1})
    with pytest.raises(TypeError, match='timeStamp'):
        storage.updateTrack(track, {'state': 'x'}, timeStamp='now')
    with pytest.raises(TypeError, match="index 'state'"):
        storage.setTrackData(track, {'state': [1]})
    with pytest.raises(TypeError, match='mapping'):
        storage.setTrackData(track, 42)
    stranger = StateTrack('a001', 1, 'u1', {})
    stranger.__name__ = '0000001'
    for call in (storage.updateTrack, storage.setTrackData):
        with pytest.raises(KeyError, match='not a track of this storage'):
            call(stranger, {})
    with pytest.raises(KeyError):
        storage.removeTrack(stranger)
    assert snapshot(storage) == before


def test_bad_run_ids_raise(storage):
    for bad in ('1', -2, 1.0, True, 2 ** 63, 2 ** 70):
        with pytest.raises(TypeError, match='runId must be an int'):
            storage.getRun(runId=bad)
        with pytest.raises(TypeError, match='runId must be an int'):
            storage.stopRun('a', bad)
        with pytest.raises(TypeError, match='runId must be an int'):
            storage.getUserTracks('a', bad, 'u')


# indexes without a reverse map

def test_an_index_without_reverse_map_takes_the_old_value_from_its_caller():
    from cybertools_tracking.index import FieldIndex
    index = FieldIndex('taskId', reverse=False)
    assert not index.reverse and FieldIndex('state').reverse
    index.index(1, 'a')
    index.index(2, 'a')
    index.index(1, 'b', old='a')
    assert sorted(index.items()) == [(1, 'b'), (2, 'a')]
    assert len(index) == 2
    index.index(1, 'b', old='b')        # unchanged: nothing happens
    index.index(2, 'a')                 # already there: not counted twice
    assert len(index) == 2 and index.check({1: 'b', 2: 'a'}) == []
    index.unindex(2)                    # old unknown: nothing to take out
    assert len(index) == 2
    index.unindex(2, 'a')
    assert list(index.items()) == [(1, 'b')] and len(index) == 1
    index.index(3, 'b')
    index._fwd['c'] = type(index._fwd['b'])([3])  # planted: 3 under b and c
    assert any('track 3 indexed under' in p for p in index.check({1: 'b',
                                                                   3: 'b'}))


def test_metadata_indexes_skip_the_reverse_map_data_indexes_keep_it(db):
    storage = db.storage
    storage.trackFactory = StateTrack
    storage.setupIndexes()
    assert {attr: index.reverse for attr, index in storage.indexes.items()} \
        == {'taskId': False, 'timeStamp': False, 'state': True}
    trackId = storage.saveUserTrack('n', 0, 'u', {'state': 'new'},
                                    timeStamp=T0)
    track = storage[trackId]
    storage.updateTrack(track, {'state': 'read'}, timeStamp=T0 + 5)
    track.data['state'] = 'changed in place'    # behind the storage's back
    storage.setTrackData(track, {'state': 'done'})
    db.commit()
    assert storage.check() == []
    assert storage.query(timeFromTo=(T0, T0 + 4)) == []
    assert storage.query(timeFromTo=(T0 + 5, T0 + 5)) == [track]
    assert storage.query(state='done') == [track]
    assert storage.query(state=['new', 'read']) == []
    storage.removeTrack(track)
    assert storage.check() == []
    assert all(len(index) == 0 for index in storage.indexes.values())


def test_run_queries_follow_the_users_of_each_run(db):
    storage = db.storage
    runId = storage.startRun('t')
    ids = [storage.saveUserTrack('t', runId, user, {}, timeStamp=T0 + i)
           for i, user in enumerate(('u1', 'u2', 'u1'))]
    other = storage.saveUserTrack('t', storage.startRun('t'), 'u1', {},
                                  timeStamp=T0)
    db.commit()
    assert [t.__name__ for t in storage.query(runId=runId)] == ids
    assert [t.__name__ for t in storage.query(runId=[runId, runId + 1])] \
        == ids + [other]
    assert storage.query(runId=runId, userName='u2') == [storage[ids[1]]]
    assert storage.query(runId=999) == []
    assert storage.getRunUserNames(runId) == ['u1', 'u2']
    assert storage.getRunUserNames(999) == []
    storage.removeTrack(storage[ids[0]])
    assert sorted(storage.runUsers[runId]) == ['u1', 'u2']
    storage.removeTrack(storage[ids[2]])
    assert list(storage.runUsers[runId]) == ['u2']
    storage.removeTrack(storage[ids[1]])
    assert runId not in storage.runUsers
    assert storage.query(runId=runId) == []
    db.commit()
    assert storage.check() == []


def test_one_task_one_user_queries_read_only_the_runs_with_the_task(db):
    storage = db.storage
    # A run per task, as a tracker opening a run per trackable would.
    runs = {task: storage.startRun(task) for task in ('a', 'b', 'c')}
    for i in range(12):
        task = 'abc'[i % 3]
        storage.saveUserTrack(task, runs[task], 'u', {'i': i},
                              timeStamp=T0 + i)
    storage.saveUserTrack('b', runs['b'], 'v', {}, timeStamp=T0)
    db.commit()
    assert [t.data['i'] for t in storage.query(taskId='b', userName='u')] \
        == [1, 4, 7, 10]
    assert storage.getUserNames('b') == ['u', 'v']
    assert storage.getUserNames('a') == ['u']
    assert storage.getTaskIds() == ['a', 'b', 'c']
    assert [trackkeys.splitTaskKey(key) for key in storage._taskRuns] == [
        ('a', 'u', runs['a']), ('b', 'u', runs['b']), ('c', 'u', runs['c']),
        ('b', 'v', runs['b'])]
    storage.removeTrack(storage.query(taskId='b', userName='v')[0])
    assert storage.getUserNames('b') == ['u']
    db.commit()
    assert storage.check() == []


def test_a_run_of_one_user_keeps_the_name_alone(storage):
    # The run-user table holds a run's only user as the name itself (no
    # set to write per new run); a second user makes it a set.
    storage.saveUserTrack('t', 0, 'u1', {}, timeStamp=T0)
    runId = storage.getRun('t').id
    assert storage.runUsers[runId] == 'u1'
    storage.saveUserTrack('t', 0, 'u1', {}, timeStamp=T0 + 1)
    assert storage.runUsers[runId] == 'u1'
    assert [t.userName for t in storage.query(runId=runId)] == ['u1', 'u1']
    storage.saveUserTrack('t', 0, 'u2', {}, timeStamp=T0 + 2)
    assert list(storage.runUsers[runId]) == ['u1', 'u2']
    assert storage.getRunUserNames(runId) == ['u1', 'u2']
    assert storage.check() == []
    other = storage.startRun('t')
    trackId = storage.saveUserTrack('t', 0, 'u3', {}, timeStamp=T0 + 3)
    assert storage.runUsers[other] == 'u3'
    storage.removeTrack(storage[trackId])
    assert other not in storage.runUsers
    assert storage.query(runId=other) == []
    assert storage.check() == []
