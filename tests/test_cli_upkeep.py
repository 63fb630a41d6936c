"""``cybertools-tracking check [--repair]`` and ``pack``, run for real as
``python -m cybertools_tracking`` in a subprocess."""

import os

import pytest
from ZODB.utils import oid_repr

from cybertools_tracking.db import Session

from storage_fixtures import changeStored
from commandline import cli as run


@pytest.fixture
def dbPath(tmp_path):
    path = str(tmp_path / 'tracking.fs')
    with Session(path) as session:
        def fill(storage):
            for i in range(30):
                storage.saveUserTrack(f'task{i % 3}', 0, f'user{i % 4}',
                                      {'i': i})
        session.run(fill)
    return path


def damage(path):
    """Take one track out of the taskId index and invent a task user."""
    with Session(path) as session:
        def harm(storage):
            storage.indexes['taskId'].unindex(5, storage['0000005'].taskId)
            storage.taskUsers['task0'].insert('ghost')
        session.run(harm)


def test_check_of_a_sound_database_says_so(dbPath):
    result = run('check', '--db', dbPath)
    assert result.returncode == 0, result.stderr
    assert '30 tracks' in result.stdout and 'agree' in result.stdout


def test_check_prints_differences_and_exits_1(dbPath):
    damage(dbPath)
    result = run('check', '--db', dbPath)
    assert result.returncode == 1
    assert 'taskId: track 5 missing from index' in result.stdout
    assert "task-user table for 'task0'" in result.stdout
    assert '--repair' in result.stderr
    # Checking changed nothing.
    assert run('check', '--db', dbPath).returncode == 1


def test_repair_reindexes_and_commits(dbPath):
    damage(dbPath)
    result = run('check', '--db', dbPath, '--repair')
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'repaired 2 difference(s)' in result.stdout
    again = run('check', '--db', dbPath)
    assert again.returncode == 0, again.stdout
    with Session(dbPath, create=False) as session:
        assert len(session.storage.query(userName='user1')) == 8


def test_repair_reports_what_reindexing_cannot_fix(dbPath):
    with Session(dbPath) as session:
        session.run(lambda storage: changeStored(storage, 1, runId=99))
    result = run('check', '--db', dbPath, '--repair')
    assert result.returncode == 1
    assert 'after repair: track 1 names unknown run 99' in result.stdout


def test_pack_shrinks_the_file_and_keeps_the_tracks(dbPath):
    with Session(dbPath) as session:
        for n in range(40):     # history: the same track changed often
            session.run(lambda storage: storage.updateTrack(
                storage['0000001'], {'n': n, 'pad': 'x' * 500}))
    before = os.path.getsize(dbPath)
    result = run('pack', '--db', dbPath)
    assert result.returncode == 0, result.stderr
    after = os.path.getsize(dbPath)
    assert after < before / 2
    assert f'{before:,} -> {after:,} bytes' in result.stdout
    assert os.path.exists(dbPath + '.old')
    with Session(dbPath, create=False) as session:
        assert len(session.storage) == 30
        assert session.storage['0000001'].data['n'] == 39
        assert session.storage.check() == []


def test_pack_keeps_recent_history_with_days(dbPath):
    with Session(dbPath) as session:
        for n in range(20):
            session.run(lambda storage: storage.updateTrack(
                storage['0000002'], {'n': n, 'pad': 'y' * 500}))
    before = os.path.getsize(dbPath)
    result = run('pack', '--db', dbPath, '--days', '1')
    assert result.returncode == 0, result.stderr
    assert 'history of the last 1 day(s)' in result.stdout
    # Everything happened within the last day: nothing could go.
    assert os.path.getsize(dbPath) >= before * 0.9


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    missing = str(tmp_path / 'missing.fs')
    for command in ('check', 'pack'):
        result = run(command, '--db', missing)
        assert result.returncode == 2
        assert 'no such database file' in result.stderr
        assert 'Traceback' not in result.stderr
        assert not os.path.exists(missing)


@pytest.mark.parametrize('days', ['soon', '-1', 'nan', 'inf', '1e308',
                                  '36501'])
def test_bad_days_are_one_line_naming_the_range_before_any_change(
        dbPath, days):
    before = open(dbPath, 'rb').read()
    result = run('pack', '--db', dbPath, '--days', days)
    assert (result.returncode, result.stdout) == (2, '')
    assert result.stderr == (
        f'cybertools-tracking pack: --days must be a number of days from 0 '
        f"to 36,500 (e.g. 0, 7 or 0.5), not '{days}'\n")
    assert open(dbPath, 'rb').read() == before
    assert not os.path.exists(dbPath + '.old')


def test_the_longest_days_allowed_pack(dbPath):
    result = run('pack', '--db', dbPath, '--days', '36500')
    assert (result.returncode, result.stderr) == (0, '')
    assert 'history of the last 36500 day(s)' in result.stdout


def spoilRecord(path, oid):
    """Overwrite 64 bytes in the middle of the stored state of oid, as a
    failing disk would."""
    import ZODB.FileStorage
    storage = ZODB.FileStorage.FileStorage(path, read_only=True)
    try:
        record, serial = storage.load(oid)
    finally:
        storage.close()
    data = bytearray(open(path, 'rb').read())
    at = data.index(record)
    assert len(record) > 80
    data[at + 16:at + 80] = b'\xff' * 64
    open(path, 'wb').write(bytes(data))


def lastBucket(path, tracks=300):
    """Save tracks more (the track tree then has buckets of its own) and
    return the oid of its last bucket."""
    with Session(path) as session:
        def fill(storage):
            for i in range(tracks):
                storage.saveUserTrack('more', 0, 'user0', {'i': i})
        session.run(fill)
        bucket = session.storage._tracks._firstbucket
        while bucket._next is not None:
            bucket = bucket._next
        return bucket._p_oid


def test_check_of_a_damaged_file_names_what_cannot_be_loaded(dbPath):
    oid = lastBucket(dbPath)
    spoilRecord(dbPath, oid)
    for args in ((), ('--repair',)):
        result = run('check', '--db', dbPath, *args)
        assert result.returncode == 1
        assert 'Traceback' not in result.stdout + result.stderr
        line, compared = result.stdout.splitlines()
        # Between the two: what the unpickler said about the bytes. (Walking
        # the tree reads its last bucket first, for the end of the range.)
        assert line.startswith('the track tree cannot be read after its '
                               'start: StateLoadError (')
        assert line.endswith(f'); object {oid_repr(oid)} '
                             f'(cybertools_tracking.btree.TrackBucket) '
                             f'cannot be loaded')
        assert compared == ('the indexes and tables were not compared with '
                            'the tracks: not all tracks could be read')
        assert result.stderr == (
            f'{dbPath}: parts of the storage cannot be read (a damaged '
            f'file); reindexing cannot repair that: restore the file from '
            f'a backup\n')


def test_reading_commands_on_a_damaged_file_are_one_line(dbPath):
    spoilRecord(dbPath, lastBucket(dbPath))
    result = run('query', '--db', dbPath)
    assert (result.returncode, result.stdout) == (2, '')
    assert result.stderr.count('\n') == 1
    assert result.stderr.startswith(
        f'cybertools-tracking query: {dbPath}: cannot read the storage '
        f'(StateLoadError (')
    assert result.stderr.endswith(
        f'); cybertools-tracking check --db {dbPath} names what is '
        f'damaged\n')


def test_check_of_a_damaged_track_tree_compares_nothing_else(dbPath):
    with Session(dbPath, create=False) as session:
        oid = session.storage._tracks._p_oid
    spoilRecord(dbPath, oid)
    result = run('check', '--db', dbPath)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith('the track tree cannot be read after its '
                               'start: StateLoadError (')
    assert lines[0].endswith(f'; object {oid_repr(oid)} '
                             f'(cybertools_tracking.btree.TrackTree) cannot '
                             f'be loaded')
    assert lines[1] == ('the indexes and tables were not compared with the '
                        'tracks: not all tracks could be read')
    assert 'Traceback' not in result.stderr


def test_repair_of_an_unkeyable_track_names_it_and_changes_nothing(dbPath):
    with Session(dbPath) as session:
        def plant(storage):
            # As a release that checked less saved it: unkeyed.
            track = storage['0000007']
            storage._userTracks.remove(storage._keyOf(7, track))
            changeStored(storage, 7, timeStamp=2 ** 64)
        session.run(plant)
    before = open(dbPath, 'rb').read()
    result = run('check', '--db', dbPath, '--repair')
    assert result.returncode == 1
    assert 'Traceback' not in result.stderr
    assert result.stdout.splitlines()[0].startswith(
        'track 7 cannot have a user-track table key')
    assert result.stderr == (
        f'{dbPath}: cannot repair, nothing was changed: track 7 cannot be '
        f'indexed (18446744073709551616 is out of range for a track key '
        f'(64-bit)); update it with values in range or remove it, then '
        f'reindex\n')
    assert open(dbPath, 'rb').read() == before
