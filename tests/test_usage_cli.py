"""cybertools-tracking usage --db FILE [--csv] [--uuid U]."""

import json
import sqlite3

import pytest

from cybertools_tracking.cli import main
from cybertools_tracking.usage import NO_STATE, AnonymousUsageTracker


@pytest.fixture
def db(tmp_path):
    path = str(tmp_path / 'usage.fs')
    with AnonymousUsageTracker('alice', path) as t:
        t.track_statistic('clicks', 'buttons clicked')
        t.track_state('theme', NO_STATE, description='colour theme')
        t.track_time('session', 'time in app')
        t.track_sequence('signup', ['form', 'mail', 'done'])
        t.track_statistic('__internal__')
        t['clicks'] += 3
        t['theme'] = 'dark'
        t['session'] += 90.125
        t['signup'].advance_to_checkpoint('done')
        t['__internal__'] += 1
    with AnonymousUsageTracker('bob', path) as t:
        t.track_statistic('clicks')
        t['clicks'] += 1
    return path


def test_table(db, capsys):
    assert main(['usage', '--db', db]) == 0
    assert capsys.readouterr().out == '''\
name     type       value  rows  description
-------  ---------  -----  ----  ---------------
clicks   Statistic  1      2     buttons clicked
session  Timer      90.12  1     time in app
signup   Sequence   1      1
theme    State      dark   1     colour theme
'''


def test_csv_for_one_user(db, capsys):
    assert main(['usage', '--db', db, '--csv', '--uuid', 'alice']) == 0
    assert capsys.readouterr().out == '''\
Name,Type,Value,Rows,Description
clicks,Statistic,3,1,buttons clicked
session,Timer,90.125,1,time in app
signup,Sequence,1,1,
theme,State,dark,1,colour theme
'''


def test_json_for_scripts(db, capsys):
    assert main(['usage', '--db', db, '--json', '--uuid', 'alice']) == 0
    summary = json.loads(capsys.readouterr().out)
    byName = {s['name']: s for s in summary}
    assert sorted(byName) == ['clicks', 'session', 'signup', 'theme']
    assert byName['clicks']['value'] == 3 and byName['clicks']['rows'] == 1
    assert byName['session']['value'] == 90.125
    assert byName['theme']['value'] == 'dark'
    assert byName['signup']['checkpoints'] == ['form', 'mail', 'done']
    assert byName['clicks']['description'] == 'buttons clicked'


def test_json_shows_a_state_never_set_as_null(tmp_path, capsys):
    path = str(tmp_path / 'u.fs')
    with AnonymousUsageTracker('u', path) as t:
        t.track_state('theme', NO_STATE)
    assert main(['usage', '--db', path, '--json']) == 0
    assert json.loads(capsys.readouterr().out)[0]['value'] is None


def test_empty_database(tmp_path, capsys):
    path = str(tmp_path / 'empty.fs')
    AnonymousUsageTracker('u', path).close()
    assert main(['usage', '--db', path]) == 0
    assert capsys.readouterr().out == f'{path}: no trackables\n'


def test_missing_file(tmp_path, capsys):
    missing = tmp_path / 'nope.fs'
    assert main(['usage', '--db', str(missing)]) == 2
    err = capsys.readouterr().err
    assert err == f'cybertools-tracking usage: {missing}: no such database ' \
                  f'file\n'
    assert not missing.exists()


def test_sqlite_file(tmp_path, capsys):
    old = tmp_path / 'usage.db'
    sqlite3.connect(old).execute('CREATE TABLE t (a)').connection.close()
    assert main(['usage', '--db', str(old)]) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'import-anonymoususage' in err


def test_db_is_required(capsys):
    with pytest.raises(SystemExit) as info:
        main(['usage'])
    assert info.value.code == 2
    assert '--db' in capsys.readouterr().err
