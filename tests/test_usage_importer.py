"""Importing an original AnonymousUsage SQLite database (and its
NAME.part.db) with import-anonymoususage and importAnonymousUsage."""

import datetime
import os
import signal
import sqlite3
import subprocess
import sys

import pytest

from cybertools_tracking.cli import main
from cybertools_tracking.usage import (
    NO_STATE, AnonymousUsageTracker, ImportFormatError)
from cybertools_tracking.usage.importer import importAnonymousUsage

UUID = '6f1c2d4e-aaaa-bbbb-cccc-000000000001'


def when(day, hour=12, minute=0, second=0):
    return datetime.datetime(2016, 3, day, hour, minute, second)


def text(moment):
    return moment.strftime('%d/%m/%Y %H:%M:%S')


def makeDatabase(path, tableinfo, tables):
    """An SQLite file with the original's schema: tables is {name: (type,
    rows)}; rows are (uuid, count, time[, state])."""
    conn = sqlite3.connect(path)
    if tableinfo is not None:
        conn.execute('CREATE TABLE __tableinfo__ '
                     '(TableName TEXT, Type TEXT, Description TEXT)')
        conn.executemany('INSERT INTO __tableinfo__ VALUES (?, ?, ?)',
                         tableinfo)
    for name, (type, rows) in tables.items():
        if type == 'State':
            conn.execute(f'CREATE TABLE "{name}" (UUID INT, Count INT, '
                         f'State TEXT, Time TEXT)')
            conn.executemany(f'INSERT INTO "{name}" VALUES (?, ?, ?, ?)',
                             [(u, c, s, t) for u, c, t, s in rows])
        else:
            conn.execute(f'CREATE TABLE "{name}" (UUID INT, Count REAL, '
                         f'Time TEXT)')
            conn.executemany(f'INSERT INTO "{name}" VALUES (?, ?, ?)', rows)
    conn.commit()
    conn.close()


TABLEINFO = [
    ('__submissions__', 'Statistic',
     'The number of statistic submissions to the server.'),
    ('Grids', 'Statistic', 'Grids opened'),
    ('Unit System', 'State', 'the units in use'),
    ('play_time', 'Timer', 'time played'),
    ('tutorial', 'Sequence', 'tutorial completed'),
]


@pytest.fixture
def old(tmp_path):
    """usage.db (uploaded rows) and usage.part.db (newer ones)."""
    master = tmp_path / 'usage.db'
    makeDatabase(master, TABLEINFO, {
        '__submissions__': ('Statistic', [(UUID, 1, text(when(2)))]),
        'Grids': ('Statistic', [(UUID, 1, text(when(1))),
                                (UUID, 2, text(when(1, 13)))]),
        'Unit System': ('State', [(UUID, 1, text(when(1)), 'Metric')]),
        'play_time': ('Timer', [(UUID, 61.5, text(when(1, 14)))]),
        'tutorial': ('Sequence', [(UUID, 1, text(when(1, 15)))]),
    })
    makeDatabase(tmp_path / 'usage.part.db', None, {
        'Grids': ('Statistic', [(UUID, 3, text(when(3)))]),
        'Unit System': ('State', [(UUID, 2, text(when(3)), 'US Standard')]),
        'play_time': ('Timer', [(UUID, 100.25, text(when(3, 9)))]),
        'tutorial': ('Sequence', []),
    })
    return master


def test_import(old, tmp_path):
    result = importAnonymousUsage(old)
    into = str(tmp_path / 'usage.fs')
    assert result == {'into': into,
                      'sources': [str(old), str(tmp_path / 'usage.part.db')],
                      'trackables': 5, 'tracks': 9, 'uuids': [UUID]}
    with AnonymousUsageTracker(UUID, into) as t:
        t.track_statistic('Grids')
        t.track_state('Unit System', NO_STATE)
        t.track_time('play_time')
        t.track_sequence('tutorial', ['a', 'b'])
        assert t['Grids'].count == 3
        assert t['Unit System'].state == 'US Standard'
        assert t['play_time'].total_seconds == 100.25
        assert t['tutorial'].count == 1
        # The history, with the original times.
        rows = t['Grids'].get_rows()
        assert [(r['Count'], r['Time']) for r in rows] == [
            (1, '01/03/2016 12:00:00'), (2, '01/03/2016 13:00:00'),
            (3, '03/03/2016 12:00:00')]
        assert rows[0].timeStamp == int(when(1).timestamp())
        assert [r['State'] for r in t['Unit System'].get_rows()] == \
            ['Metric', 'US Standard']
        assert t.get_table_info() == {
            'Grids': {'type': 'Statistic', 'description': 'Grids opened'},
            'Unit System': {'type': 'State',
                            'description': 'the units in use'},
            'play_time': {'type': 'Timer', 'description': 'time played'},
            'tutorial': {'type': 'Sequence',
                         'description': 'tutorial completed'}}
        # Declaring with checkpoints completes the imported entry.
        assert t.registry()['tutorial']['checkpoints'] == ['a', 'b']
        # The submissions carry over as the internal task.
        assert t.registry(internal=True)['__submissions__']['type'] == \
            'Statistic'
        t['Grids'] += 1
        assert t['Grids'].count == 4


def test_import_without_part(tmp_path):
    makeDatabase(tmp_path / 'solo.db', [('n', 'Statistic', '')],
                 {'n': ('Statistic', [('42', 7, text(when(5)))])})
    into = tmp_path / 'elsewhere' / 'new.fs'
    result = importAnonymousUsage(tmp_path / 'solo.db', into)
    assert result['sources'] == [str(tmp_path / 'solo.db')]
    assert result['uuids'] == ['42']
    with AnonymousUsageTracker(42, str(into)) as t:
        t.track_statistic('n')
        assert t['n'].count == 7 and isinstance(t['n'].count, int)


def uploadAfterImport(into, hq):
    with AnonymousUsageTracker(UUID, str(into), application_name='App',
                               application_version='2.0') as t:
        t.setup_hq(hq.url, 'KEY')
        assert t.submit_statistics() is True
        submissions = t.uploader.submissions
    upload, = hq.uploads
    tracks = {name: [e.get('State', e['Count']) for e in entries]
              for name, entries in upload.json['Tracks'].items()}
    return tracks, sorted(upload.json['Data']), submissions


def test_upload_after_import_sends_only_the_part_files_rows(old, tmp_path,
                                                            hq):
    """The original moved rows into NAME.db after uploading them; only
    NAME.part.db held rows not uploaded yet."""
    into = tmp_path / 'usage.fs'
    importAnonymousUsage(old, into)
    tracks, names, submissions = uploadAfterImport(into, hq)
    assert tracks == {'Grids': [3], 'Unit System': ['US Standard'],
                      'play_time': [100.25]}
    assert names == ['Grids', 'Unit System', 'play_time']
    # The old submission count carries on.
    assert submissions == 2


def test_upload_after_import_without_submissions_sends_everything(
        tmp_path, hq):
    makeDatabase(tmp_path / 'never.db', TABLEINFO[1:3], {
        'Grids': ('Statistic', [(UUID, 1, text(when(1))),
                                (UUID, 2, text(when(2)))]),
        'Unit System': ('State', [(UUID, 1, text(when(1)), 'Metric')])})
    into = tmp_path / 'never.fs'
    importAnonymousUsage(tmp_path / 'never.db', into)
    tracks, names, submissions = uploadAfterImport(into, hq)
    assert tracks == {'Grids': [1, 2], 'Unit System': ['Metric']}
    assert submissions == 1


def test_cli_import(old, tmp_path, capsys):
    into = tmp_path / 'new.fs'
    assert main(['import-anonymoususage', str(old), '--into',
                 str(into)]) == 0
    out = capsys.readouterr().out
    assert out == (f'imported 9 rows of 5 trackables (users: {UUID}) from '
                   f'{old} and {tmp_path / "usage.part.db"} into {into}\n')
    assert main(['usage', '--db', str(into)]) == 0
    assert 'Unit System  State      US Standard  2' in \
        capsys.readouterr().out


def assertRefused(args, capsys, message, tmp_path, before):
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ''
    lines = captured.err.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith('cybertools-tracking import-anonymoususage: ')
    assert message in lines[0]
    assert sorted(os.listdir(tmp_path)) == before     # nothing written


@pytest.mark.parametrize('build, message', [
    (lambda p: p.write_text('not a database'), 'not an SQLite database'),
    (lambda p: p.write_bytes(b''), 'not an SQLite database'),
    (lambda p: makeDatabase(p, None, {'n': ('Statistic', [])}),
     'no __tableinfo__ table'),
    (lambda p: makeDatabase(p, [('n', 'Counter', '')], {}),
     "table 'n' has type 'Counter'"),
    (lambda p: makeDatabase(p, [('n', 'Statistic', '')], {
        'n': ('Statistic', [('u', 1, '2016-03-01 12:00')])}),
     "table 'n' row 1: Time '2016-03-01 12:00' is not"),
    (lambda p: makeDatabase(p, [('n', 'Statistic', '')], {
        'n': ('Statistic', [('u', 'many', text(when(1)))])}),
     "Count 'many' is not a number"),
    (lambda p: makeDatabase(p, [('n', 'State', '')], {
        'n': ('Statistic', [('u', 1, text(when(1)))])}),
     "table 'n' (State) lacks the column(s) State"),
    (lambda p: makeDatabase(p, [('n', 'Statistic', '')], {
        'n': ('Statistic', [(None, 1, text(when(1)))])}),
     'UUID is empty'),
    (lambda p: makeDatabase(p, [('n', 'Statistic', '')], {
        'n': ('Statistic', [('u', 1, text(when(1))),
                            ('u', 2, '01/01/0001 00:00:00')])}),
     "table 'n' row 2: Time '01/01/0001 00:00:00' cannot be a time stamp"),
    (lambda p: makeDatabase(p, [('__registry__', 'Statistic', '')], {}),
     "names a table '__registry__', a name reserved for the registry"),
    (lambda p: makeDatabase(p, [('__upload__', 'State', '')], {}),
     "names a table '__upload__', a name reserved for the batch"),
    (lambda p: makeDatabase(p, [('__submissions__', 'State', '')], {}),
     'gives __submissions__ the type'),
])
def test_bad_files(tmp_path, capsys, build, message):
    bad = tmp_path / 'bad.db'
    build(bad)
    before = sorted(os.listdir(tmp_path))
    assertRefused(['import-anonymoususage', str(bad)], capsys, message,
                  tmp_path, before)
    with pytest.raises(ImportFormatError):
        importAnonymousUsage(bad)
    assert sorted(os.listdir(tmp_path)) == before


def test_foreign_sqlite_tableinfo(tmp_path, capsys):
    bad = tmp_path / 'other.db'
    conn = sqlite3.connect(bad)
    conn.execute('CREATE TABLE __tableinfo__ (a, b)')
    conn.commit()
    conn.close()
    before = sorted(os.listdir(tmp_path))
    assertRefused(['import-anonymoususage', str(bad)], capsys,
                  '__tableinfo__ lacks the column(s) TableName, Type, '
                  'Description', tmp_path, before)


def test_bad_part_file(old, tmp_path, capsys):
    (tmp_path / 'usage.part.db').write_text('garbage')
    before = sorted(os.listdir(tmp_path))
    assertRefused(['import-anonymoususage', str(old)], capsys,
                  'usage.part.db: not an SQLite database', tmp_path, before)


def test_missing_file_and_existing_target(old, tmp_path, capsys):
    before = sorted(os.listdir(tmp_path))
    assertRefused(['import-anonymoususage', str(tmp_path / 'nope.db')],
                  capsys, 'nope.db: no such file', tmp_path, before)
    (tmp_path / 'taken.fs').write_text('mine')
    before = sorted(os.listdir(tmp_path))
    assertRefused(['import-anonymoususage', str(old), '--into',
                   str(tmp_path / 'taken.fs')], capsys,
                  'taken.fs: already exists', tmp_path, before)
    assert (tmp_path / 'taken.fs').read_text() == 'mine'


def test_command_exit_status(tmp_path):
    bad = tmp_path / 'bad.db'
    bad.write_text('hello')
    result = subprocess.run(
        [sys.executable, '-m', 'cybertools_tracking',
         'import-anonymoususage', str(bad)],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.count('\n') == 1
    assert 'not an SQLite database' in result.stderr
    assert not (tmp_path / 'bad.fs').exists()


def test_existing_target_named_by_a_file_uri(old, tmp_path, capsys):
    taken = tmp_path / 'taken.fs'
    assert main(['import-anonymoususage', str(old), '--into',
                 str(taken)]) == 0
    capsys.readouterr()
    data = taken.read_bytes()
    before = sorted(os.listdir(tmp_path))
    assertRefused(['import-anonymoususage', str(old), '--into',
                   f'file://{taken}'], capsys, 'already exists', tmp_path,
                  before)
    assert taken.read_bytes() == data


def test_into_a_file_uri(old, tmp_path, capsys):
    into = tmp_path / 'sub' / 'new.fs'
    assert main(['import-anonymoususage', str(old), '--into',
                 f'file://{into}']) == 0
    capsys.readouterr()
    assert main(['usage', '--db', str(into), '--csv']) == 0
    assert 'Unit System,State,US Standard,2' in capsys.readouterr().out


@pytest.mark.parametrize('into', ['memory://', 'zeo://127.0.0.1:1',
                                  'file://'])
def test_targets_that_are_not_a_new_file_are_refused(old, tmp_path, capsys,
                                                      into, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = sorted(os.listdir(tmp_path))
    assertRefused(['import-anonymoususage', str(old), '--into', into],
                  capsys, 'the import writes a new FileStorage file',
                  tmp_path, before)


def test_an_interrupted_import_removes_only_what_it_made(old, tmp_path):
    into = tmp_path / 'new.fs'
    (tmp_path / 'new.fs.old').write_bytes(b'an older pack')

    def interrupt(done, total):
        if done:
            # A real SIGINT, as Ctrl-C sends, once rows are written.
            os.kill(os.getpid(), signal.SIGINT)

    rows = [(UUID, n, text(when(1))) for n in range(1, 2500)]
    big = tmp_path / 'big.db'
    makeDatabase(big, [('n', 'Statistic', '')], {'n': ('Statistic', rows)})
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(KeyboardInterrupt):
        importAnonymousUsage(big, into, progress=interrupt)
    assert sorted(os.listdir(tmp_path)) == before
    assert (tmp_path / 'new.fs.old').read_bytes() == b'an older pack'


def test_progress_is_called_with_rows_done_of_all(old, tmp_path):
    seen = []
    result = importAnonymousUsage(old, tmp_path / 'new.fs',
                                  progress=lambda d, t: seen.append((d, t)))
    assert seen[0] == (0, 9) and seen[-1] == (9, 9)
    assert result['tracks'] == 9


def test_a_target_folder_that_cannot_be_made(old, tmp_path, capsys):
    (tmp_path / 'file.txt').write_text('x')
    before = sorted(os.listdir(tmp_path))
    assertRefused(['import-anonymoususage', str(old), '--into',
                   str(tmp_path / 'file.txt' / 'sub' / 'x.fs')], capsys,
                  'a file is in the way', tmp_path, before)
