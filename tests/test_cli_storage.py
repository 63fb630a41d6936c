"""The storage subcommands through the real entry points: ``python -m
cybertools_tracking`` and the installed ``cybertools-tracking`` script."""

import json
import os
import subprocess
import sys
import sysconfig
import time

import pytest
import ZODB
import ZODB.FileStorage
from BTrees.OOBTree import OOBTree
from persistent.mapping import PersistentMapping

from cybertools_tracking.db import Session

SCRIPT = os.path.join(sysconfig.get_path('scripts'), 'cybertools-tracking')
T0 = 1_700_000_000


def cli(*args, cwd, script=False):
    """Run the command; return (exit code, stdout, stderr)."""
    command = [SCRIPT] if script else [sys.executable, '-m',
                                       'cybertools_tracking']
    done = subprocess.run(command + [str(a) for a in args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout, done.stderr


def cliJSON(*args, cwd, script=False):
    code, out, err = cli(*args, '--json', cwd=cwd, script=script)
    assert (code, err) == (0, '')
    return json.loads(out)


def test_console_script_is_installed():
    assert os.access(SCRIPT, os.X_OK), SCRIPT


def test_demo_fills_the_default_file_and_reports(tmp_path):
    code, out, err = cli('demo', cwd=tmp_path)
    assert (code, err) == (0, '')
    assert (tmp_path / 'tracking.fs').exists()
    assert 'This demo session saved 7 tracks in runs 1, 2, 3.' in out
    for heading in ('Tracks per task', "alice's last track in quiz.capitals",
                    'Runs', 'Tracks saved from'):
        assert heading in out
    assert "<Track ['quiz.capitals', 1, 'alice', " in out
    assert "{'question': 'Peru', 'answer': 'Lima', 'correct': True}>" in out
    assert '1 track in run 3' in out            # the draft saved 3 times
    with Session(str(tmp_path / 'tracking.fs'), create=False) as session:
        storage = session.storage
        assert len(storage) == 7
        assert storage.check() == []
        # The table lines say what the storage says.
        for taskId in storage.getTaskIds():
            count = len(storage.query(taskId=taskId))
            users = ', '.join(storage.getUserNames(taskId))
            assert any(line.split() == [taskId, str(count)] + users.split()
                       for line in out.splitlines()), taskId
        states = [(r.id, r.finished, storage.getRun(r.taskId) is r)
                  for r in storage.getRuns()]
    assert states == [(1, True, False), (2, False, True), (3, False, False)]
    runLines = [line.split() for line in out.splitlines()
                if line[:2] in ('1 ', '2 ', '3 ')]
    assert [(words[0], words[-2]) for words in runLines] == [
        ('1', 'finished'), ('2', 'current'), ('3', 'unfinished')]


def test_demo_twice_adds_a_second_session(tmp_path):
    assert cli('demo', cwd=tmp_path)[0] == 0
    code, out, err = cli('demo', cwd=tmp_path, script=True)
    assert (code, err) == (0, '')
    assert ('It already held 7 tracks; this demo session added 7 more in '
            'runs 4, 5, 6.') in out
    tasks = cliJSON('tasks', cwd=tmp_path)
    assert tasks == [
        {'taskId': 'editor.draft', 'tracks': 2, 'users': 1,
         'currentRun': None},
        {'taskId': 'quiz.capitals', 'tracks': 8, 'users': 2,
         'currentRun': None},
        {'taskId': 'quiz.rivers', 'tracks': 4, 'users': 2,
         'currentRun': 5},
    ]
    runs = cliJSON('runs', 'quiz.rivers', cwd=tmp_path)
    assert [(r['id'], r['state'], r['tracks']) for r in runs] == [
        (2, 'unfinished', 2), (5, 'current', 2)]


@pytest.fixture(scope='module')
def demoDir(tmp_path_factory):
    """A database filled by the demo, plus tracks with known times."""
    path = tmp_path_factory.mktemp('cli')
    code, out, err = cli('demo', '--db', 'sub/dir/t.fs', cwd=path,
                         script=True)
    assert (code, err) == (0, '')
    with Session(str(path / 'sub' / 'dir' / 't.fs')) as session:
        session.run(lambda s: [s.saveUserTrack('fixed', 0, 'zed', {'n': n},
                                               timeStamp=T0 + 60 * n)
                               for n in range(3)])
    return path


def test_tasks_users_runs_tables_and_json(demoDir):
    db = ('--db', 'sub/dir/t.fs')
    code, out, err = cli('tasks', *db, cwd=demoDir, script=True)
    assert (code, err) == (0, '')
    lines = out.splitlines()
    assert lines[0].split() == ['task', 'tracks', 'users', 'current', 'run']
    assert [line.split() for line in lines[2:]] == [
        ['editor.draft', '1', '1'], ['fixed', '3', '1', '4'],
        ['quiz.capitals', '4', '2'], ['quiz.rivers', '2', '2', '2']]

    users = cliJSON('users', 'quiz.rivers', *db, cwd=demoDir)
    assert [(u['userName'], u['tracks'], u['newestTrack']) for u in users] \
        == [('alice', 1, '0000006'), ('carol', 1, '0000005')]
    code, out, err = cli('users', 'quiz.capitals', *db, cwd=demoDir)
    assert out.splitlines()[2].split()[:3] == ['alice', '2', '0000003']

    runs = cliJSON('runs', *db, cwd=demoDir, script=True)
    assert [(r['id'], r['taskId'], r['finished'], r['current'])
            for r in runs] == [(1, 'quiz.capitals', True, False),
                               (2, 'quiz.rivers', False, True),
                               (3, 'editor.draft', False, False),
                               (4, 'fixed', False, True)]
    assert all(r['start'] <= r['end'] for r in runs)
    code, out, err = cli('runs', 'quiz.capitals', *db, cwd=demoDir)
    assert [line.split()[0] for line in out.splitlines()[2:]] == ['1']


def test_query_criteria(demoDir):
    db = ('--db', 'sub/dir/t.fs')
    tracks = cliJSON('query', *db, '--task', 'quiz.*', '--user', 'alice',
                     cwd=demoDir)
    assert [(t['id'], t['taskId'], t['userName']) for t in tracks] == [
        ('0000001', 'quiz.capitals', 'alice'),
        ('0000003', 'quiz.capitals', 'alice'),
        ('0000006', 'quiz.rivers', 'alice')]
    assert tracks[0]['data'] == {'question': 'France', 'answer': 'Paris',
                                 'correct': True}
    assert tracks[0]['runId'] == 1 and isinstance(tracks[0]['timeStamp'], int)

    both = cliJSON('query', *db, '--user', 'bob', '--user', 'carol',
                   '--run', 1, '--run', 2, cwd=demoDir)
    assert [t['id'] for t in both] == ['0000002', '0000004', '0000005']

    timed = cliJSON('query', *db, '--from', T0 + 60, '--to', T0 + 120,
                    cwd=demoDir, script=True)
    assert [(t['userName'], t['data']) for t in timed] == [
        ('zed', {'n': 1}), ('zed', {'n': 2})]
    assert timed[0]['time'].startswith('20')

    # a bare date: from its first second, to its last
    day = time.strftime('%Y-%m-%d', time.localtime(T0))
    sameDay = [n for n in range(3) if time.strftime(
        '%Y-%m-%d', time.localtime(T0 + 60 * n)) == day]
    dated = cliJSON('query', *db, '--task', 'fixed', '--from', day,
                    '--to', day, cwd=demoDir)
    assert [t['data']['n'] for t in dated] == sameDay != []

    newest = cliJSON('query', *db, '--task', 'fixed', '--limit', 2,
                     '--reverse', cwd=demoDir)
    assert [t['data']['n'] for t in newest] == [2, 1]

    assert cliJSON('query', *db, '--task', 'nothing', cwd=demoDir) == []
    code, out, err = cli('query', *db, '--task', 'nothing', cwd=demoDir)
    assert (code, out.strip(), err) == (0, 'no tracks match', '')

    code, out, err = cli('query', *db, '--task', 'fixed', cwd=demoDir)
    lines = out.splitlines()
    assert lines[0].split() == ['id', 'task', 'run', 'user', 'saved', 'data']
    assert lines[2].split()[:4] == ['0000008', 'fixed', '4', 'zed']
    assert lines[2].endswith('{"n": 0}')


@pytest.mark.parametrize('args,message', [
    (('tasks',), 'tracking.fs: no such database file'),
    (('users', 'x', '--db', 'missing.fs'), 'missing.fs: no such database'),
    (('runs', '--db', 'deep/missing.fs'), 'no such database file'),
    (('query', '--db', 'nope://x'), "unknown URI scheme 'nope'"),
    (('tasks', '--db', 'file:///nonexistent-dir/t.fs'),
     'no such database file'),
    (('query', '--db', '.'), 'is a directory'),
])
def test_missing_databases_exit_2_and_create_nothing(tmp_path, args,
                                                     message):
    before = sorted(os.listdir(tmp_path))
    code, out, err = cli(*args, cwd=tmp_path)
    assert code == 2 and out == ''
    assert err.count('\n') == 1 and 'Traceback' not in err
    assert message in err
    assert err.startswith(f'cybertools-tracking {args[0]}: ')
    assert sorted(os.listdir(tmp_path)) == before


@pytest.mark.parametrize('args,message', [
    (('users', 'nosuch'), "task 'nosuch' has no tracks; tasks: editor.draft"),
    (('runs', 'nosuch'), "no runs for task 'nosuch'; tasks with runs:"),
    (('query', '--from', 'yesterday'), "--from: cannot read 'yesterday'"),
    (('query', '--to', '2026-13-45'), '--to: cannot read'),
    (('query', '--limit', '-1'),
     '--limit must be an int from 0 to 9,223,372,036,854,775,807, not -1'),
    (('query', '--limit', '99999999999999999999999'),
     '--limit must be an int from 0 to 9,223,372,036,854,775,807, not '
     '99999999999999999999999'),
    (('query', '--to', '9999-12-31'),
     "--to must be a time from 0001-01-02 to 9999-12-30 (epoch seconds "
     "-62135510400 to 253402214399), not '9999-12-31'"),
    (('query', '--from', '0001-01-01'),
     "--from must be a time from 0001-01-02 to 9999-12-30"),
    (('query', '--from', '99999999999999999999'),
     "--from must be a time from 0001-01-02 to 9999-12-30"),
    (('query', '--run', '1', '--task', '*'), None),
    (('tasks', '--key', 'other'), "holds no tracking storage under root "
                                  "key 'other'"),
])
def test_bad_requests_exit_2_with_one_line(demoDir, args, message):
    code, out, err = cli(*args, '--db', 'sub/dir/t.fs', cwd=demoDir,
                         script=True)
    if message is None:                 # a valid request, for contrast
        assert (code, err) == (0, '')
        return
    assert code == 2 and out == ''
    assert err.count('\n') == 1 and 'Traceback' not in err
    assert message in err


def test_argument_errors_are_usage_errors(tmp_path):
    code, out, err = cli('query', '--run', 'one', cwd=tmp_path)
    assert code == 2 and 'invalid int value' in err
    assert 'Traceback' not in err
    assert os.listdir(tmp_path) == []


def test_the_ends_of_the_time_range_are_accepted(demoDir):
    code, out, err = cli('query', '--db', 'sub/dir/t.fs', '--from',
                         '0001-01-02', '--to', '9999-12-30', cwd=demoDir)
    assert (code, err) == (0, '')
    code, everything, err = cli("query", "--db", "sub/dir/t.fs", cwd=demoDir)
    assert out == everything and len(out.splitlines()) == 2 + 10


def plantNonStorage(path, value):
    db = ZODB.DB(ZODB.FileStorage.FileStorage(str(path)))
    try:
        with db.transaction() as conn:
            conn.root()['tracking'] = value
    finally:
        db.close()


NOT_STORAGES = {
    'list': (lambda: [1, 2], 'builtins.list'),
    'int': (lambda: 7, 'builtins.int'),
    'mapping': (PersistentMapping, 'persistent.mapping.PersistentMapping'),
    'tree': (OOBTree, 'BTrees.OOBTree.OOBTree'),
}


@pytest.mark.parametrize('kind', sorted(NOT_STORAGES))
@pytest.mark.parametrize('command', [
    ('tasks',), ('users', 'x'), ('runs',), ('query',), ('demo',),
    ('check',), ('check', '--repair'), ('pack',), ('usage',), ('export',),
    ('report', '--html', 'report.html')])
def test_a_key_holding_no_storage_is_one_line_and_leaves_the_file(
        tmp_path, kind, command):
    make, className = NOT_STORAGES[kind]
    path = tmp_path / 'other.fs'
    plantNonStorage(path, make())
    before = path.read_bytes()
    code, out, err = cli(*command, '--db', path, cwd=tmp_path)
    assert code == 2 and out == ''
    assert err == (f'cybertools-tracking {command[0]}: {path}: root key '
                   f"'tracking' holds a {className}, not a TrackingStorage; "
                   f'give --key of a TrackingStorage\n')
    assert path.read_bytes() == before
    assert not (tmp_path / 'other.fs.old').exists()
    assert not (tmp_path / 'report.html').exists()
