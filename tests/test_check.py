"""``TrackingStorage.check()`` and ``reindexTracks()``: each kind of damage
one might find is planted in a real FileStorage and must be reported, in
words that name it; a reindex must clear what it can."""

import pytest

from cybertools_tracking import trackkeys
from cybertools_tracking.btree import UserNames
from cybertools_tracking.check import PROGRESS_STEP, Unreadable

from storage_fixtures import T0, changeStored, storeAsObject


@pytest.fixture
def filled(db):
    """Three users' tracks of task 't' in run 1, and run 2 of 'other'
    current; committed, so each test's planting can be aborted."""
    storage = db.storage
    for user in ('u1', 'u2', 'u3'):
        storage.saveUserTrack('t', 0, user, {}, timeStamp=T0)
    storage.startRun('other')
    db.commit()
    assert storage.check() == []
    yield db
    db.tm.abort()


def plantedProblems(db, plant):
    plant(db.storage)
    return db.storage.check()


PLANTS = {
    'the run-user table misses a user': (
        lambda s: s.runUsers.__setitem__(1, UserNames(('u1', 'u3'))),
        ["run-user table for run 1 holds ['u1', 'u3'], tracks say ['u1', "
         "'u2', 'u3']"]),
    'taskId index has a wrong value': (
        lambda s: s.indexes['taskId'].index(1, 'zzz', old='t'),
        ["taskId: track 1 indexed as 'zzz', is 't'"]),
    'a track vanished from the tree': (
        lambda s: s._tracks.pop(3),
        ['track count says 3, storage holds 2',
         'taskId: index holds track 3 which has no such value or does not '
         'exist',
         'timeStamp: index holds track 3 which has no such value or does '
         'not exist',
         "user-track table holds stale ('u3', 1, 't', 1700000000, 3)",
         "task-user table for 't' holds ['u1', 'u2', 'u3'], tracks say "
         "['u1', 'u2']",
         "task-run table holds run 1 of 't' for 'u3'",
         "run-user table for run 1 holds ['u1', 'u2', 'u3'], tracks say "
         "['u1', 'u2']"]),
    'the user-track table misses a key': (
        lambda s: s._userTracks.remove(trackkeys.trackKey(1, s['0000001'])),
        ["user-track table misses ('u1', 1, 't', 1700000000, 1)"]),
    'the task-user table has a ghost': (
        lambda s: s.taskUsers['t'].insert('ghost'),
        ["task-user table for 't' holds ['ghost', 'u1', 'u2', 'u3'], tracks "
         "say ['u1', 'u2', 'u3']"]),
    "a run ends before its newest track": (
        lambda s: setattr(s.getRun(runId=1), 'end', T0 - 1),
        ['run 1 ends 1699999999, before its newest track (1700000000)']),
    'the current run is finished': (
        lambda s: setattr(s.getRun(runId=2), 'finished', True),
        ["current run of 'other' is finished run 2"]),
    'a track names an unknown run': (
        lambda s: changeStored(s, 1, runId=7),
        ['track 1 names unknown run 7',
         "user-track table misses ('u1', 7, 't', 1700000000, 1)",
         "user-track table holds stale ('u1', 1, 't', 1700000000, 1)",
         "task-run table holds run 1 of 't' for 'u1'",
         "task-run table misses run 7 of 't' for 'u1'",
         "run-user table for run 1 holds ['u1', 'u2', 'u3'], tracks say "
         "['u2', 'u3']",
         "run-user table for run 7 holds [], tracks say ['u1']"]),
    # Only a track saved as an object of its own (by generation 2 or
    # older) has a name of its own: a record's is its number.
    'a track has the wrong name': (
        lambda s: storeAsObject(s, 2, __name__='0000009'),
        ["track 2 is named '0000009'"]),
    'the track count is off': (
        lambda s: s._count.change(5),
        ['track count says 8, storage holds 3']),
}


@pytest.mark.parametrize('what', sorted(PLANTS))
def test_check_names_each_planted_inconsistency(filled, what):
    plant, expected = PLANTS[what]
    assert plantedProblems(filled, plant) == expected


@pytest.mark.parametrize('what', sorted(PLANTS))
def test_reindex_clears_what_the_tracks_can_tell(filled, what):
    plant, expected = PLANTS[what]
    storage = filled.storage
    plant(storage)
    storage.reindexTracks()
    # What the tracks themselves or the runs get wrong stays.
    assert storage.check() == [
        problem for problem in expected if problem.startswith(
            ('track 1 names', 'track 2 is named', 'run 1', 'current run'))]
    assert len(storage) == len(list(storage.keys()))


def test_check_reports_a_track_no_key_can_hold_and_does_not_raise(filled):
    # Saved before values were range-checked, or planted: a time stamp
    # beyond 64 bits.
    storage = filled.storage
    storage.getRun(runId=1).end = 2 ** 64
    changeStored(storage, 2, timeStamp=2 ** 64)
    assert storage.check() == [
        'track 2 cannot have a user-track table key (18446744073709551616 '
        'is out of range for a track key (64-bit)); save its values again '
        'or remove it',
        'timeStamp: track 2 indexed as 1700000000, is 18446744073709551616',
        "user-track table holds stale ('u2', 1, 't', 1700000000, 2)"]


def test_check_reports_a_track_whose_values_cannot_be_compared(filled):
    storage = filled.storage
    changeStored(storage, 3, timeStamp='soon')
    problems = storage.check()
    # Nobody can tell what the tables should hold for it: only the track
    # itself is reported.
    assert problems == ["track 3 cannot be checked: TypeError: '>' not "
                        "supported between instances of 'int' and 'str'"]
    assert not isinstance(problems[0], Unreadable)


def test_progress_is_called_every_step_and_at_the_end(db):
    storage = db.storage
    for i in range(PROGRESS_STEP * 2 + 5):
        storage.saveUserTrack('t', 0, f'u{i % 3}', {}, timeStamp=T0 + i)
    calls = []
    assert storage.check(progress=lambda *a: calls.append(a)) == []
    total = PROGRESS_STEP * 2 + 5
    assert calls == [(PROGRESS_STEP, total), (2 * PROGRESS_STEP, total),
                     (total, total)]
    calls.clear()
    storage.reindexTracks(progress=lambda *a: calls.append(a))
    assert calls == [(PROGRESS_STEP, total), (2 * PROGRESS_STEP, total),
                     (total, total)]
    assert storage.check() == []


def plantUnkeyed(storage, num, timeStamp=2 ** 64):
    """Track num as a release that checked less left it: its time stamp
    beyond any key, indexed under it, and no user-track table key."""
    track = storage[num]
    storage._userTracks.remove(storage._keyOf(num, track))
    storage.indexes['timeStamp'].index(num, timeStamp, old=track.timeStamp)
    return changeStored(storage, num, timeStamp=timeStamp)


def test_an_unkeyed_track_can_be_removed_and_the_storage_agrees(filled):
    storage = filled.storage
    track = plantUnkeyed(storage, 2)
    assert storage.check()[0].startswith('track 2 cannot have a user-track '
                                         'table key')
    storage.removeTrack(track)
    assert storage.check() == []
    assert list(storage) == ['0000001', '0000003']


def test_an_unkeyed_track_can_be_saved_again_and_the_storage_agrees(filled):
    storage = filled.storage
    track = plantUnkeyed(storage, 2)
    storage.updateTrack(track, {'fixed': True}, timeStamp=T0 + 1)
    assert storage.check() == []
    assert storage.getLastUserTrack('t', 1, 'u2') == track


def test_reindexing_an_unkeyed_track_names_it_and_changes_nothing(filled):
    storage = filled.storage
    plantUnkeyed(storage, 2)
    tables = (storage.indexes, storage._userTracks, storage.taskUsers,
              storage._taskRuns)
    before = storage.check()
    with pytest.raises(ValueError, match=(
            r'^track 2 cannot be indexed \(18446744073709551616 is out of '
            r'range for a track key \(64-bit\)\); update it with values in '
            r'range or remove it, then reindex$')):
        storage.reindexTracks()
    assert (storage.indexes, storage._userTracks, storage.taskUsers,
            storage._taskRuns) == \
        tables
    assert storage.check() == before
