"""``cybertools-tracking copy``: a FileStorage into RelStorage on
PostgreSQL and back; the copies check clean and answer every query as
the original."""


import pytest

from cybertools_tracking.db import Session
from commandline import cli

T0 = 1_700_000_000


def fill(storage):
    for n in range(60):
        storage.saveUserTrack(f'task{n % 3}', 0, f'user{n % 7}',
                              {'n': n, 'state': 'new' if n % 2 else 'old'},
                              timeStamp=T0 + n * 60)
    storage.stopRun('task1')
    storage.saveUserTrack('task1', 0, 'user1', {'late': True},
                          timeStamp=T0 + 9000)
    storage.saveUserTrack('task2', 0, 'user2', {'n': -1}, update=True,
                          timeStamp=T0 + 9100)


def answers(spec):
    """What the storage answers to a set of questions, comparable."""
    def tracks(result):
        return [(t.__name__, t.taskId, t.runId, t.userName, t.timeStamp,
                 t.data) for t in result]
    with Session(spec, create=False) as session:
        s = session.storage
        return {
            'check': s.check(),
            'len': len(s),
            'all': tracks(s.values()),
            'runs': [(r.id, r.taskId, r.start, r.end, r.finished)
                     for r in s.getRuns()],
            'task1': tracks(s.query(taskId='task1')),
            'user3': tracks(s.query(userName='user3')),
            'pair': tracks(s.query(taskId='task2', userName='user2')),
            'prefix': tracks(s.query(userName='user1*', reverse=True,
                                     limit=5)),
            'time': tracks(s.query(timeFromTo=(T0 + 600, T0 + 1800))),
            'last': tracks([s.getLastUserTrack('task2', 0, 'user2')]),
            'users': s.getUserNames('task0'),
            'tasks': s.getTaskIds(),
        }


@pytest.fixture
def original(tmp_path):
    path = str(tmp_path / 'original.fs')
    with Session(path) as session:
        session.run(fill)
    return path


def test_file_to_postgres_and_back(original, pgspec, tmp_path):
    expected = answers(original)
    assert expected['check'] == [] and expected['len'] == 61
    result = cli('copy', '--from', original, '--to', pgspec)
    assert result.returncode == 0, result.stderr
    assert 'copied' in result.stdout
    assert answers(pgspec) == expected
    back = str(tmp_path / 'back' / 'copy.fs')
    result = cli('copy', '--from', pgspec, '--to', back)
    assert result.returncode == 0, result.stderr
    assert answers(back) == expected
    assert answers(original) == expected      # the source is only read


def test_a_copy_takes_new_tracks(original, pgspec):
    assert cli('copy', '--from', original, '--to', pgspec).returncode == 0
    with Session(pgspec) as session:
        trackId = session.run(
            lambda s: s.saveUserTrack('task0', 0, 'user9', {}))
        assert int(trackId) > 61
        assert session.storage.check() == []


def test_refuses_a_destination_with_data(original, pgspec, tmp_path):
    assert cli('copy', '--from', original, '--to', pgspec).returncode == 0
    before = answers(pgspec)
    result = cli('copy', '--from', original, '--to', pgspec)
    assert result.returncode == 2
    assert result.stderr.count('\n') == 1
    assert 'not empty' in result.stderr
    assert answers(pgspec) == before
    other = str(tmp_path / 'other.fs')
    with Session(other) as session:
        session.run(lambda s: s.saveUserTrack('t', 0, 'u', {}))
    result = cli('copy', '--from', pgspec, '--to', other)
    assert result.returncode == 2
    assert 'not empty' in result.stderr
    with Session(other, create=False) as session:
        assert len(session.storage) == 1


def test_bad_sources_create_nothing(tmp_path, original):
    missing = str(tmp_path / 'missing.fs')
    target = tmp_path / 'target.fs'
    result = cli('copy', '--from', missing, '--to', str(target))
    assert result.returncode == 2
    assert result.stderr.count('\n') == 1
    assert 'no such database file' in result.stderr
    assert not target.exists()
    result = cli('copy', '--from', original, '--to', original)
    assert result.returncode == 2
    assert 'the same database' in result.stderr
