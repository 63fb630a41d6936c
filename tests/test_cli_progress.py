"""Progress lines: on stderr when it is a terminal (a real pseudo-terminal
here), never in captured output."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from cybertools_tracking.cli.progress import Progress
from cybertools_tracking.db import Session

ROWS = 2500


def command(*args):
    return [sys.executable, '-m', 'cybertools_tracking', *args]


def onTerminal(args, tmp_path):
    """Run the command with stderr on a pseudo-terminal; return its exit
    status, stdout and what the terminal received."""
    master, slave = os.openpty()
    with open(tmp_path / 'stdout', 'wb') as out:
        proc = subprocess.Popen(command(*args), stdout=out, stderr=slave,
                                stdin=subprocess.DEVNULL)
    os.close(slave)
    received = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:         # EIO: the command closed the terminal
            break
        if not data:
            break
        received.append(data)
    os.close(master)
    status = proc.wait(timeout=120)
    return status, (tmp_path / 'stdout').read_bytes(), b''.join(received)


def captured(args):
    result = subprocess.run(command(*args), capture_output=True, timeout=120)
    return result.returncode, result.stdout, result.stderr


def writeOld(path, rows):
    """An original AnonymousUsage database at path: one Statistic 'n'
    with rows rows."""
    conn = sqlite3.connect(path)
    conn.execute('CREATE TABLE __tableinfo__ '
                 '(TableName TEXT, Type TEXT, Description TEXT)')
    conn.execute("INSERT INTO __tableinfo__ VALUES ('n', 'Statistic', '')")
    conn.execute('CREATE TABLE n (UUID TEXT, Count INT, Time TEXT)')
    conn.executemany('INSERT INTO n VALUES (?, ?, ?)',
                     [('u', n, '01/03/2016 12:00:00')
                      for n in range(1, rows + 1)])
    conn.commit()
    conn.close()
    return path


@pytest.fixture
def old(tmp_path):
    return writeOld(tmp_path / 'usage.db', ROWS)


@pytest.fixture
def db(tmp_path):
    path = str(tmp_path / 'tracks.fs')

    def fill(storage):
        for n in range(ROWS):
            storage.saveUserTrack('t', 0, 'u', {'n': n})

    with Session(path) as s:
        s.run(fill)
        s.run(lambda storage: storage.saveUserTrack('t', 0, 'u', {'n': -1},
                                                    update=True))
    return path


def test_import_shows_rows_done_of_all(old, tmp_path):
    args = ['import-anonymoususage', str(old), '--into',
            str(tmp_path / 'new.fs')]
    status, out, terminal = onTerminal(args, tmp_path)
    assert status == 0
    assert b'importing: 0 of 2,500 rows (0%)' in terminal
    assert b'importing: 2,500 of 2,500 rows (100%)' in terminal
    assert b'rows/s' in terminal
    assert b'importing' not in out and out.startswith(b'imported 2500 rows')
    args[-1] = str(tmp_path / 'again.fs')
    status, out, err = captured(args)
    assert status == 0 and err == b''
    assert b'importing' not in out


@pytest.mark.parametrize('fmt,first', [('jsonl', b'exporting: '),
                                       ('csv', b'finding the data keys: ')])
def test_export_shows_tracks_done_of_all(db, tmp_path, fmt, first):
    args = ['export', '--db', db, '--format', fmt]
    status, out, terminal = onTerminal(args + ['--out',
                                               str(tmp_path / 'x')], tmp_path)
    assert status == 0 and out == b''
    assert first in terminal
    assert f'exporting: {ROWS:,} of {ROWS:,} tracks (100%)'.encode() \
        in terminal
    # exported to stdout, captured: the data and nothing else
    status, out, err = captured(args)
    assert status == 0 and err == b''
    assert len(out.splitlines()) == ROWS + (fmt == 'csv')
    assert b'exporting' not in out


def test_pack_shows_bytes_written(db, tmp_path):
    status, out, terminal = onTerminal(['pack', '--db', db], tmp_path)
    assert status == 0, terminal
    assert b'packing: ' in terminal and b'(100%)' in terminal
    assert b'packing:' not in out and b'packed' in out
    status, out, err = captured(['pack', '--db', db])
    assert status == 0 and err == b''


def readAll(master):
    """All a pty's other end wrote and closed: one read may return only
    part of it on a loaded machine."""
    shown = b''
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:         # EIO: the other end is closed, all read
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    return shown


def test_a_line_on_a_real_terminal(tmp_path):
    master, slave = os.openpty()
    now = [100.0]
    with open(slave, 'w', closefd=True) as terminal:
        progress = Progress('copying', 'tracks', stream=terminal,
                            clock=lambda: now[0])
        assert progress.enabled
        progress(0, 1000)
        now[0] += 4
        progress(400, 1000)
        assert progress.line() == \
            'copying: 400 of 1,000 tracks (40%), 100 tracks/s, 0:06 left'
        now[0] += 6
        progress(1000, 1000)
        progress.close()
    shown = readAll(master)
    assert shown.endswith(b'copying: 1,000 of 1,000 tracks (100%), '
                          b'100 tracks/s, done in 0:10\r\n')


def test_nothing_on_a_file(tmp_path):
    with open(tmp_path / 'log', 'w') as f:
        progress = Progress('copying', stream=f)
        assert not progress.enabled
        progress(1, 2)
        progress.close()
    assert (tmp_path / 'log').read_text() == ''


def test_ctrl_c_during_an_import_removes_its_file_and_says_so(tmp_path):
    path = writeOld(tmp_path / 'big.db', 60_000)
    (tmp_path / 'new.fs.old').write_bytes(b'an older pack')
    before = sorted(os.listdir(tmp_path))
    proc = subprocess.Popen(
        command('import-anonymoususage', str(path), '--into',
                str(tmp_path / 'new.fs')),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Interrupt once the import has committed rows into its new file.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        fs = tmp_path / 'new.fs'
        if fs.exists() and fs.stat().st_size > 500_000:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.fail('the import finished before it could be interrupted')
    assert proc.returncode == 130
    assert err == b'cybertools-tracking import-anonymoususage: ' \
                  b'interrupted\n'
    assert sorted(os.listdir(tmp_path)) == before
    assert (tmp_path / 'new.fs.old').read_bytes() == b'an older pack'
