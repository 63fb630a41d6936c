"""Reports: database_to_csv and to_file."""

import csv

import pytest

from cybertools_tracking.usage import NO_STATE, AnonymousUsageTracker


@pytest.fixture
def tracker(tmp_path):
    t = AnonymousUsageTracker('u', str(tmp_path / 'usage.db'),
                              flush_interval_s=3600)
    t.track_statistic('kills', 'monsters killed')
    t.track_statistic('quests', 'quests done')
    t.track_state('server', NO_STATE, description='server joined')
    t.track_state('units', 'Metric')
    t.track_time('play', 'time played')
    t.track_sequence('tutorial', ['intro', 'move', 'fight'], 'tutorial done')
    t.track_statistic('__internal__')
    for _ in range(3):
        t['kills'] += 2
    t['quests'] += 1
    t['units'] = 'US'
    t['play'] += 3725
    t['play'] += 1
    t['tutorial'].advance_to_checkpoint('fight')
    t['__internal__'] += 1
    yield t
    t.close()


def readCSV(path):
    with open(path, newline='') as f:
        return list(csv.reader(f))


def test_csv_by_type(tracker, tmp_path):
    path = tmp_path / 'report.csv'
    tracker.database_to_csv(str(path))
    assert readCSV(path) == [
        ['Name', 'Type', 'Value', 'Description'],
        ['server', 'State', 'No State', 'server joined'],
        ['units', 'State', 'US', ''],
        ['kills', 'Statistic', '6', 'monsters killed'],
        ['quests', 'Statistic', '1', 'quests done'],
        ['play', 'Timer', '3726', 'time played'],
        ['tutorial', 'Sequence', '1', 'tutorial done'],
    ]


@pytest.mark.parametrize('orderby, names', [
    ('name', ['kills', 'play', 'quests', 'server', 'tutorial', 'units']),
    ('Value', ['quests', 'tutorial', 'kills', 'play', 'server', 'units']),
    ('description', ['units', 'kills', 'quests', 'server', 'play',
                     'tutorial']),
])
def test_csv_orders(tracker, tmp_path, orderby, names):
    path = tmp_path / 'report.csv'
    tracker.database_to_csv(str(path), orderby=orderby)
    assert [row[0] for row in readCSV(path)[1:]] == names


def test_csv_bad_order(tracker, tmp_path):
    with pytest.raises(ValueError, match="orderby must be one of 'name'"):
        tracker.database_to_csv(str(tmp_path / 'r.csv'), orderby='size')
    assert not (tmp_path / 'r.csv').exists()


def test_reports_include_earlier_sessions(tmp_path):
    path = str(tmp_path / 'usage.db')
    with AnonymousUsageTracker('u', path) as t:
        t.track_statistic('old')
        t['old'] += 7
    with AnonymousUsageTracker('u', path) as t:
        t.database_to_csv(str(tmp_path / 'r.csv'))
    assert readCSV(tmp_path / 'r.csv')[1] == ['old', 'Statistic', '7', '']


def test_to_file(tracker, tmp_path):
    """The original's report: CSV sections with its columns."""
    path = tmp_path / 'report.csv'
    tracker.to_file(str(path))
    assert readCSV(path) == [
        ['States'],
        ['Name', 'Description', 'State', 'Number of Changes'],
        ['server', 'server joined', 'No State', '0'],
        ['units', '', 'US', '2'],
        [],
        ['Statistics'],
        ['Name', 'Description', 'Total', 'Average'],
        ['kills', 'monsters killed', '6', '2'],
        ['quests', 'quests done', '1', '1'],
        [],
        ['Timers'],
        ['Name', 'Description', 'Average Seconds', 'Total Seconds',
         'Total Minutes', 'Total Hours', 'Total Days'],
        ['play', 'time played', '1.9e+03', '3.7e+03', '62', '1', '0.043'],
        [],
        ['Sequences'],
        ['Name', 'Description', 'Sequence', 'Number of Completions'],
        ['tutorial', 'tutorial done', 'intro-->move-->fight', '1'],
        [],
    ]


def test_to_file_precision(tracker, tmp_path):
    path = tmp_path / 'report.csv'
    tracker['kills'] += 1
    tracker.to_file(str(path), precision='%.3f')
    rows = readCSV(path)
    assert ['kills', 'monsters killed', '7', '1.750'] in rows
    assert ['play', 'time played', '1863.000', '3726.000', '62.100',
            '1.035', '0.043'] in rows
    with pytest.raises(ValueError, match='precision must be a %-format'):
        tracker.to_file(str(path), precision='{:.2f}')


def test_empty_sections(tmp_path):
    with AnonymousUsageTracker('u', str(tmp_path / 'u.db')) as t:
        t.to_file(str(tmp_path / 'r.csv'))
    assert readCSV(tmp_path / 'r.csv') == [
        ['States'], ['Name', 'Description', 'State', 'Number of Changes'],
        [],
        ['Statistics'], ['Name', 'Description', 'Total', 'Average'], [],
        ['Timers'], ['Name', 'Description', 'Average Seconds',
                     'Total Seconds', 'Total Minutes', 'Total Hours',
                     'Total Days'], [],
        ['Sequences'], ['Name', 'Description', 'Sequence',
                        'Number of Completions'], [],
    ]
