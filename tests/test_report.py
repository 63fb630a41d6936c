"""cybertools-tracking report --db FILE --html OUT [--open]: one
self-contained HTML file whose charts carry what the tracker recorded."""

import datetime
import html.parser
import os
import sqlite3
import subprocess
import sys

import pytest

from cybertools_tracking.charts.page import CONTENT_SECURITY_POLICY
from cybertools_tracking.cli import main
from cybertools_tracking.db import Session
from cybertools_tracking.usage import NO_STATE, AnonymousUsageTracker
from cybertools_tracking.usage import registry

NASTY_NAME = '<img src=x onerror="window.__x=1">'
NASTY_STATE = '"><script>window.__x=1</script>'
CLICKS = [3, 5, 2]
SECONDS = [90.125, 180.25, 270.375]
THEMES = ['dark', 'light', NASTY_STATE]


class Charts(html.parser.HTMLParser):
    """The report's charts: {title: [(series?, label, value)]}, and every
    tag and attribute seen."""

    def __init__(self, text):
        super().__init__()
        self.charts, self.tags, self.attributes, self.texts = {}, [], [], []
        self._current = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        self.attributes.extend(attrs.items())
        if tag == 'svg':
            self._current = self.charts.setdefault(attrs['data-title'], [])
        elif attrs.get('class') == 'value':
            value = float(attrs['data-value'])
            key = (attrs['data-label'], value)
            if 'data-series' in attrs:
                key = (attrs['data-series'],) + key
            self._current.append(key)

    def handle_data(self, data):
        self.texts.append(data)


def record(path):
    """Three sessions of a tracker, as an application would run it;
    returns the run id of each."""
    runs = []
    for clicks, seconds, theme in zip(CLICKS, SECONDS, THEMES):
        with AnonymousUsageTracker('alice', path) as t:
            t.track_statistic('clicks', 'buttons clicked')
            t.track_time('time in app')
            t.track_state('theme', NO_STATE, description='colour theme')
            t.track_statistic(NASTY_NAME)
            t['clicks'] += clicks
            t['time in app'] += seconds
            t['theme'] = theme
            t[NASTY_NAME] += 1
            runs.append(t.run_id)
    return runs


@pytest.fixture
def recorded(tmp_path):
    path = str(tmp_path / 'usage.fs')
    return path, record(path)


def report(db, out, *more):
    assert main(['report', '--db', db, '--html', str(out), *more]) == 0
    return Charts(out.read_text(encoding='utf-8'))



def test_charts_carry_what_the_tracker_recorded(recorded, tmp_path, capsys):
    db, runs = recorded
    out = tmp_path / 'report.html'
    charts = report(db, out).charts
    assert capsys.readouterr().out == f'wrote {out}\n'
    today = datetime.date.today().isoformat()
    assert charts['clicks: value at the end of each day'] == [
        (today, sum(CLICKS))]
    perSession = charts['clicks: value added in each session']
    assert [value for _, value in perSession] == CLICKS
    assert [label.split()[0] for label, _ in perSession] == \
        [f'#{run}' for run in runs]
    assert charts['time in app: time added in each session'] == [
        (label, seconds) for (label, _), seconds in zip(perSession, SECONDS)]
    assert charts['time in app: time at the end of each day'] == [
        (today, sum(SECONDS))]
    assert sorted(charts['theme: times each state was chosen']) == sorted(
        (theme, 1) for theme in THEMES)
    ends = charts['theme: state at the end of each session']
    assert ends == [(theme, label, 1) for (label, _), theme
                    in zip(perSession, THEMES)]
    assert charts['theme: state at the end of each day'] == [
        (NASTY_STATE, today, 1)]
    assert charts[f'{NASTY_NAME}: value added in each session'] == [
        (label, 1) for label, _ in perSession]


def test_the_file_is_self_contained_and_escaped(recorded, tmp_path):
    db, _ = recorded
    out = tmp_path / 'report.html'
    page = report(db, out)
    text = out.read_text(encoding='utf-8')
    assert 'script' not in page.tags and 'img' not in page.tags
    assert 'link' not in page.tags and 'iframe' not in page.tags
    for name, value in page.attributes:
        assert not name.startswith('on'), (name, value)
        assert name not in ('src', 'srcset', 'action'), (name, value)
        if name == 'href':
            assert value.startswith('#'), value
    assert 'url(' not in text and '@import' not in text
    assert ('content', CONTENT_SECURITY_POLICY) in page.attributes
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY
    # The names show as the text they are.
    assert NASTY_NAME in page.texts and NASTY_STATE in ''.join(page.texts)


def test_days_carry_forward_and_users_add_up(tmp_path):
    """Two users' rows over several days (written with the storage's
    public API in the tracker's row format, since a tracker writes now)."""
    db = str(tmp_path / 'days.fs')
    noon = datetime.datetime.combine(datetime.date(2026, 3, 1),
                                     datetime.time(12)).timestamp()
    def write(storage):
        registry.write(storage, 'saves', registry.makeEntry('Statistic'))
        registry.write(storage, 'mode', registry.makeEntry('State'))
        runA, runB = storage.startRun(None), storage.startRun(None)
        rows = [('a', runA, 0, 2, 'x'), ('b', runB, 1, 1, 'y'),
                ('a', runA, 3, 5, 'y'), ('b', runB, 3, 4, 'x')]
        for user, run, dayNo, count, mode in rows:
            stamp = noon + dayNo * 86400
            storage.saveUserTrack('saves', run, user, {'Count': count},
                                  timeStamp=stamp)
            storage.saveUserTrack('mode', run, user,
                                  {'Count': 1, 'State': mode},
                                  timeStamp=stamp)

    with Session(db, create=True) as session:
        session.run(write)
    charts = report(db, tmp_path / 'days.html').charts
    assert charts['saves: value at the end of each day'] == [
        ('2026-03-01', 2), ('2026-03-02', 3), ('2026-03-03', 3),
        ('2026-03-04', 9)]
    assert [v for _, v in charts['saves: value added in each session']] \
        == [5, 4]
    assert charts['mode: state at the end of each day'] == [
        ('x', '2026-03-01', 1), ('x', '2026-03-02', 1),
        ('x', '2026-03-03', 1), ('x', '2026-03-04', 1),
        ('y', '2026-03-02', 1), ('y', '2026-03-03', 1),
        ('y', '2026-03-04', 1)]
    assert sorted(charts['mode: users per state now']) == [('x', 1),
                                                           ('y', 1)]
    heading = Charts((tmp_path / 'days.html').read_text()).texts
    assert any('2 sessions' in t and 'users: a, b' in t for t in heading)


def test_a_long_history_is_a_line(tmp_path):
    db = str(tmp_path / 'year.fs')
    start = datetime.datetime(2025, 1, 1, 9).timestamp()
    def write(storage):
        registry.write(storage, 'opens', registry.makeEntry('Statistic'))
        registry.write(storage, 'mode', registry.makeEntry('State'))
        run = storage.startRun(None)
        for dayNo in range(0, 365, 2):
            storage.saveUserTrack('opens', run, 'u', {'Count': dayNo},
                                  timeStamp=start + dayNo * 86400)
        for dayNo, count, mode in [(0, 1, 'a'), (10, 2, 'b'), (364, 3, 'b')]:
            storage.saveUserTrack('mode', run, 'u',
                                  {'Count': count, 'State': mode},
                                  timeStamp=start + dayNo * 86400)

    with Session(db, create=True) as session:
        session.run(write)
    out = tmp_path / 'year.html'
    page = report(db, out)
    daily = page.charts['opens: value at the end of each day']
    assert len(daily) == 365
    assert daily[:3] == [('2025-01-01', 0), ('2025-01-02', 0),
                         ('2025-01-03', 2)]
    assert 'data-kind="line"' in out.read_text(encoding='utf-8')
    # States over a year: a column a week, the state at its end.
    weekly = page.charts['mode: state at the end of each week (starting '
                         'on the day shown)']
    assert weekly[:3] == [('a', '2025-01-01', 1), ('b', '2025-01-08', 1),
                          ('b', '2025-01-15', 1)]
    assert len(weekly) == 53 and weekly[-1] == ('b', '2025-12-31', 1)


def test_open_shows_it_in_the_browser(recorded, tmp_path):
    db, _ = recorded
    out = tmp_path / 'report.html'
    seen = tmp_path / 'seen.txt'
    opener = tmp_path / 'opener.py'
    opener.write_text('import sys, pathlib\n'
                      f'pathlib.Path({str(seen)!r}).write_text(sys.argv[1])\n')
    # webbrowser runs $BROWSER (a command, %s the URL) before any other.
    env = dict(os.environ, BROWSER=f'{sys.executable} {opener} %s')
    subprocess.run([sys.executable, '-m', 'cybertools_tracking', 'report',
                    '--db', db, '--html', str(out), '--open'], env=env,
                   check=True, capture_output=True, timeout=120)
    assert seen.read_text() == out.resolve().as_uri()


def test_an_empty_database(tmp_path):
    db = str(tmp_path / 'empty.fs')
    AnonymousUsageTracker('u', db).close()
    out = tmp_path / 'empty.html'
    page = report(db, out)
    assert page.charts == {}
    assert any('0 trackables' in t for t in page.texts)


def _refused(args, capsys, out):
    assert main(['report', *args]) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and err.startswith('cybertools-tracking '
                                                   'report: ')
    assert not out.exists()
    return err


def test_missing_database(tmp_path, capsys):
    out = tmp_path / 'r.html'
    missing = tmp_path / 'nope.fs'
    err = _refused(['--db', str(missing), '--html', str(out)], capsys, out)
    assert 'no such database file' in err
    assert not missing.exists()


def test_sqlite_database(tmp_path, capsys):
    old = tmp_path / 'usage.db'
    sqlite3.connect(old).execute('CREATE TABLE t (a)').connection.close()
    out = tmp_path / 'r.html'
    err = _refused(['--db', str(old), '--html', str(out)], capsys, out)
    assert 'import-anonymoususage' in err


def test_bad_output(recorded, tmp_path, capsys):
    db, _ = recorded
    before = os.path.getsize(db)
    out = tmp_path / 'nodir' / 'r.html'
    assert 'no such directory' in _refused(
        ['--db', db, '--html', str(out)], capsys, out)
    assert 'is the database itself' in _refused(
        ['--db', db, '--html', db], capsys, tmp_path / 'none')
    assert os.path.getsize(db) == before
    assert 'is a directory' in _refused(
        ['--db', db, '--html', str(tmp_path)], capsys, tmp_path / 'none')


def test_a_report_while_the_tracker_runs(recorded, tmp_path):
    """Reading opens the file read-only: the running tracker keeps its
    lock and keeps writing."""
    db, _ = recorded
    with AnonymousUsageTracker('alice', db) as t:
        t.track_statistic('clicks')
        t['clicks'] += 7
        t.flush()
        charts = report(db, tmp_path / 'live.html').charts
        t['clicks'] += 1
    assert [v for _, v in charts['clicks: value added in each session']] \
        == CLICKS + [7]
