"""cybertools-tracking export: JSON lines and CSV, streamed, read back by
Python's own json and csv readers; query --json streams the same way."""

import csv
import io
import json
import os
import subprocess
import sys

import pytest

from cybertools_tracking.cli import main
from cybertools_tracking.cli.common import printJSON, printJSONStream
from cybertools_tracking.db import Session

AWKWARD = [
    ('quiz.größe', 'zoë', {'answer': 'Zürich, "the" city ✓',
                           'note': 'line one\nline two\r\nthree'}),
    ('quiz.größe', 'bob', {'answer': 'a,b,,c', 'nested': {
        'list': [1, 2.5, None, 'x'], 'map': {'ключ': 'значение'}},
        'flag': True}),
    ('editor', 'bob', {'words': 512, 'id': 'a data key named like a field',
                       'empty': '', 'nothing': None}),
    ('editor', 'carol', {}),
]


@pytest.fixture
def db(tmp_path):
    path = str(tmp_path / 'tracks.fs')

    def fill(storage):
        for taskId, userName, data in AWKWARD:
            storage.saveUserTrack(taskId, 0, userName, data)

    with Session(path) as s:
        s.run(fill)
    return path


def export(capsysbinary, *args):
    assert main(['export', *args]) == 0
    captured = capsysbinary.readouterr()
    assert captured.err == b''
    return captured.out.decode('utf-8')


def test_jsonl_round_trips_through_the_json_reader(db, capsysbinary):
    lines = export(capsysbinary, '--db', db).splitlines()
    rows = [json.loads(line) for line in lines]
    assert [(r['taskId'], r['userName'], r['data']) for r in rows] == \
        [(t, u, d) for t, u, d in AWKWARD]
    assert [r['id'] for r in rows] == ['0000001', '0000002', '0000003',
                                       '0000004']
    assert list(rows[0]) == ['id', 'taskId', 'runId', 'userName',
                             'timeStamp', 'time', 'data']
    assert all(isinstance(r['timeStamp'], int) for r in rows)


def test_csv_round_trips_through_the_csv_reader(db, capsysbinary):
    text = export(capsysbinary, '--db', db, '--format', 'csv')
    reader = csv.reader(io.StringIO(text, newline=''))
    header = next(reader)
    assert header == ['id', 'taskId', 'runId', 'userName', 'timeStamp',
                      'time', 'answer', 'note', 'nested', 'flag', 'words',
                      'data.id', 'empty', 'nothing']
    rows = [dict(zip(header, row)) for row in reader]
    assert len(rows) == 4
    first, second, third, fourth = rows
    assert first['taskId'] == 'quiz.größe' and first['userName'] == 'zoë'
    assert first['answer'] == 'Zürich, "the" city ✓'
    assert first['note'] == 'line one\nline two\r\nthree'
    assert first['nested'] == first['words'] == ''
    assert second['answer'] == 'a,b,,c'
    assert json.loads(second['nested']) == AWKWARD[1][2]['nested']
    assert json.loads(second['flag']) is True
    assert json.loads(third['words']) == 512
    assert third['data.id'] == 'a data key named like a field'
    assert third['id'] == '0000003'
    assert third['empty'] == third['nothing'] == ''
    assert [fourth[k] for k in header[6:]] == [''] * 8


def test_query_options_choose_the_tracks(db, capsysbinary):
    lines = export(capsysbinary, '--db', db, '--task', 'editor',
                   '--reverse', '--limit', '1').splitlines()
    assert [json.loads(line)['userName'] for line in lines] == ['carol']
    text = export(capsysbinary, '--db', db, '--format', 'csv', '--user',
                  'zo*', '--columns', 'note,missing')
    rows = list(csv.reader(io.StringIO(text, newline='')))
    assert rows[0][6:] == ['note', 'missing']
    assert rows[1][6:] == ['line one\nline two\r\nthree', '']
    assert len(rows) == 2


def test_nothing_matches(db, capsysbinary):
    assert export(capsysbinary, '--db', db, '--task', 'none') == ''
    assert export(capsysbinary, '--db', db, '--task', 'none', '--format',
                  'csv') == 'id,taskId,runId,userName,timeStamp,time\n'


def test_out_file_is_put_in_place_when_complete(db, tmp_path, capsysbinary):
    out = tmp_path / 'tracks.jsonl'
    out.write_text('older export')
    assert export(capsysbinary, '--db', db, '--out', str(out)) == ''
    assert len(out.read_text(encoding='utf-8').splitlines()) == 4
    assert sorted(os.listdir(tmp_path)) == ['tracks.fs', 'tracks.fs.index',
                                            'tracks.fs.lock', 'tracks.fs.tmp',
                                            'tracks.jsonl'] \
        or sorted(os.listdir(tmp_path)) == ['tracks.fs', 'tracks.fs.index',
                                            'tracks.jsonl']


@pytest.mark.parametrize('args,message', [
    (['--out', '{tmp}/no/such/folder.csv'], 'no folder'),
    (['--out', '{tmp}'], 'is a folder'),
    (['--out', '{db}'], 'is the database'),
    (['--columns', 'a'], '--columns is for --format csv'),
    (['--format', 'csv', '--columns', 'a,,b'], 'names an empty key'),
])
def test_refused(db, tmp_path, capsys, args, message):
    before = sorted(os.listdir(tmp_path))
    data = open(db, 'rb').read()
    args = [a.format(tmp=tmp_path, db=db) for a in args]
    assert main(['export', '--db', db, *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ''
    assert captured.err.count('\n') == 1 and message in captured.err
    assert sorted(os.listdir(tmp_path)) == before
    assert open(db, 'rb').read() == data


def test_a_reader_that_goes_away_ends_it_quietly(tmp_path):
    path = str(tmp_path / 'many.fs')

    def fill(storage):
        for n in range(3000):
            storage.saveUserTrack('t', 0, f'user{n % 7}', {'n': n,
                                                           'pad': 'x' * 80})

    with Session(path) as s:
        s.run(fill)
    for fmt in ('jsonl', 'csv'):
        # export ... | head -1, with a real pipe between two processes
        exporter = subprocess.Popen(
            [sys.executable, '-m', 'cybertools_tracking', 'export', '--db',
             path, '--format', fmt], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)
        head = subprocess.run(['head', '-1'], stdin=exporter.stdout,
                              capture_output=True, timeout=120)
        exporter.stdout.close()
        err = exporter.stderr.read()
        assert exporter.wait(timeout=120) == 0
        assert err == b''
        assert head.stdout.count(b'\n') == 1


# query --json

@pytest.mark.parametrize('values', [[], [{'a': 1}], [
    {'b': [1, {'c': None}], 'a': 'x\ny'}, 2, 'three', {'d': {}}]])
def test_streamed_json_is_the_json_of_the_whole_list(values, capsys):
    printJSON(values)
    whole = capsys.readouterr().out
    printJSONStream(iter(values))
    assert capsys.readouterr().out == whole
    assert json.loads(whole) == values


def test_query_json_lists_every_track(db, capsys):
    assert main(['query', '--db', db, '--json']) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r['taskId'], r['userName'], r['data']) for r in rows] == \
        [(t, u, d) for t, u, d in AWKWARD]


def test_long_streams_read_every_track_once_in_order(tmp_path, capsysbinary):
    # More tracks than the streams read between two emptyings of the
    # object cache, through an index (--task) and through the track tree.
    path = str(tmp_path / 'many.fs')

    def fill(storage):
        for n in range(3500):
            storage.saveUserTrack('odd' if n % 2 else 'even', 0, 'u',
                                  {'n': n})

    with Session(path) as s:
        s.run(fill)
    rows = [json.loads(line) for line in
            export(capsysbinary, '--db', path, '--task', 'odd').splitlines()]
    assert [r['data']['n'] for r in rows] == list(range(1, 3500, 2))
    rows = [json.loads(line) for line in
            export(capsysbinary, '--db', path).splitlines()]
    assert [r['data']['n'] for r in rows] == list(range(3500))
    assert main(['query', '--db', path, '--json', '--task', 'even']) == 0
    rows = json.loads(capsysbinary.readouterr().out)
    assert [r['data']['n'] for r in rows] == list(range(0, 3500, 2))
