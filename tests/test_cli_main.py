"""The command as a whole: --version, output a terminal cannot encode,
and files it must leave alone when it refuses them."""

import importlib.metadata
import os
import platform
import subprocess
import sys

import pytest

from cybertools_tracking.cli import main
from cybertools_tracking.db import DatabaseError, Session
from cybertools_tracking.usage import AnonymousUsageTracker


def run(*args, env=None, cwd=None):
    return subprocess.run(
        [sys.executable, '-m', 'cybertools_tracking', *args],
        capture_output=True, timeout=120, cwd=cwd,
        env=dict(os.environ, **(env or {})))


def test_version_prints_package_python_and_zodb():
    result = run('--version')
    assert result.returncode == 0
    assert result.stderr == b''
    version = importlib.metadata.version
    assert result.stdout.decode().splitlines() == [
        f"cybertools_tracking {version('cybertools_tracking')}",
        f'Python {platform.python_version()}',
        f"ZODB {version('ZODB')}",
    ]


@pytest.fixture
def foreign(tmp_path):
    """A database whose names and data are not ASCII."""
    path = str(tmp_path / 'foreign.fs')
    with Session(path) as s:
        s.run(lambda st: st.saveUserTrack('quiz.größe', 0, 'zoë',
                                          {'answer': 'Zürich ✓'}))
    with AnonymousUsageTracker('zoë', str(tmp_path / 'usage.fs')) as t:
        t.track_state('thème', 'clair', description='couleur préférée')
    return path


@pytest.mark.parametrize('args', [
    ['tasks'], ['tasks', '--json'], ['users', 'quiz.größe'],
    ['query'], ['query', '--json'], ['runs'],
])
def test_an_ascii_terminal_gets_escapes_not_a_crash(foreign, args):
    result = run(*args, '--db', foreign, env={'PYTHONIOENCODING': 'ascii'})
    assert result.returncode == 0, result.stderr
    assert result.stderr == b''
    result.stdout.decode('ascii')           # nothing it cannot show
    # zoë or größe: escaped for people (table) or by JSON
    assert any(escaped in result.stdout for escaped in (
        b'zo\\xeb', b'zo\\u00eb', b'gr\\xf6\\xdfe', b'gr\\u00f6\\u00dfe'))


@pytest.mark.parametrize('extra', [[], ['--csv'], ['--json']])
def test_usage_on_an_ascii_terminal(foreign, tmp_path, extra):
    result = run('usage', '--db', str(tmp_path / 'usage.fs'), *extra,
                 env={'PYTHONIOENCODING': 'ascii'})
    assert result.returncode == 0, result.stderr
    assert b'th\\xe8me' in result.stdout or b'th\\u00e8me' in result.stdout


def test_errors_naming_foreign_files_on_an_ascii_terminal(tmp_path):
    result = run('tasks', '--db', str(tmp_path / 'größe.fs'),
                 env={'PYTHONIOENCODING': 'ascii'})
    assert result.returncode == 2
    assert b'gr\\xf6\\xdfe.fs: no such database file' in result.stderr


# files refused are left as they were

def listing(path):
    return sorted(os.listdir(path))


@pytest.mark.parametrize('command', [['check', '--repair'], ['check'],
                                     ['pack'], ['tasks'], ['demo']])
@pytest.mark.parametrize('content', [b'', b'my notes\n'])
def test_refused_files_stay_as_they_were(tmp_path, capsys, command, content):
    path = tmp_path / 'e.fs'
    path.write_bytes(content)
    if content == b'' and command == ['demo']:
        return      # an empty file is where a new database may go
    assert main([*command, '--db', str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1
    assert 'an empty file, not a database' in err \
        or 'not a FileStorage file' in err
    assert path.read_bytes() == content
    assert listing(tmp_path) == ['e.fs']


def test_a_file_uri_without_a_path_creates_nothing(tmp_path):
    result = run('tasks', '--db', 'file://', cwd=tmp_path)
    assert result.returncode == 2
    assert b'names no file' in result.stderr
    assert listing(tmp_path) == []


def test_a_folder_that_cannot_be_made_is_one_line(tmp_path, capsys):
    (tmp_path / 'file.txt').write_text('x')
    assert main(['demo', '--db', str(tmp_path / 'file.txt' / 'x.fs')]) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'a file is in the way' in err
    assert listing(tmp_path) == ['file.txt']


def test_a_tracker_on_such_a_path_raises_database_error(tmp_path):
    (tmp_path / 'file.txt').write_text('x')
    with pytest.raises(DatabaseError, match='a file is in the way'):
        AnonymousUsageTracker('u', str(tmp_path / 'file.txt' / 'x.fs'))
    with pytest.raises(DatabaseError, match='not a FileStorage file'):
        AnonymousUsageTracker('u', str(tmp_path / 'file.txt'))
    assert listing(tmp_path) == ['file.txt']


def test_a_missing_zeo_server_fails_at_once(capsys):
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    assert main(['tasks', '--db', f'zeo://127.0.0.1:{port}']) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1
    assert f'no ZEO server at 127.0.0.1:{port} (Connection refused)' in err


def test_reading_through_a_file_uri_writes_nothing(foreign, tmp_path):
    os.remove(foreign + '.index')
    data = open(foreign, 'rb').read()
    before = listing(tmp_path)
    for command in (['tasks'], ['query', '--json'], ['check'],
                    ['export']):
        result = run(*command, '--db', f'file://{foreign}')
        assert result.returncode == 0, result.stderr
        assert listing(tmp_path) == before
    assert open(foreign, 'rb').read() == data


def test_reading_through_a_file_uri_while_a_tracker_holds_it(tmp_path):
    path = str(tmp_path / 'usage.fs')
    with AnonymousUsageTracker('u', path) as t:
        t.track_statistic('clicks')
        t['clicks'] += 1
        t.flush()
        result = run('usage', '--db', f'file://{path}', '--csv')
        assert result.returncode == 0, result.stderr
        assert b'clicks,Statistic,1,1,' in result.stdout
