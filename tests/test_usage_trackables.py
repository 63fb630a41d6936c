"""The four trackables: Statistic, State, Timer, Sequence, and their rows."""

import time

import pytest

from cybertools_tracking.usage import (
    NO_STATE, AnonymousUsageTracker, InvalidCheckpointError, Row)
from cybertools_tracking.usage.rows import TIME_FMT


@pytest.fixture
def tracker(tmp_path):
    t = AnonymousUsageTracker('user-1', str(tmp_path / 'usage.db'))
    yield t
    t.close()


# Statistic

def test_statistic_operations(tracker):
    tracker.track_statistic('n', 'a number')
    n = tracker['n']
    assert (n.name, n.description, n.count, n.current_value) \
        == ('n', 'a number', 0, 0)
    tracker['n'] += 5
    tracker['n'] -= 2
    assert n.increment() == 4
    assert n.increment(by=2.5) == 6.5
    assert n.decrement(0.5) == 6.0
    assert n.set(10) == 10
    tracker['n'] = 3
    assert n.get_count() == 3
    assert [r['Count'] for r in n.get_rows()] == [5, 3, 4, 6.5, 6.0, 10, 3]
    assert repr(n) == 'Statistic (n): 3'


def test_statistic_add_returns_itself(tracker):
    tracker.track_statistic('n')
    assert (tracker['n'] + 1) is tracker['n']
    assert tracker['n'].count == 1


@pytest.mark.parametrize('bad', ['1', None, True, [1]])
def test_statistic_needs_numbers(tracker, bad):
    tracker.track_statistic('n')
    with pytest.raises(TypeError, match='must be a number'):
        tracker['n'] += bad
    with pytest.raises(TypeError, match='must be a number'):
        tracker['n'] = bad
    assert tracker['n'].count == 0
    assert tracker['n'].get_number_of_rows() == 0


def test_statistic_average_and_startup(tmp_path):
    path = str(tmp_path / 'u.db')
    with AnonymousUsageTracker('u', path) as t:
        t.track_statistic('n')
        assert t['n'].get_average() is None
        assert t['n'].get_average(default=-1) == -1
        t['n'] += 2
        t['n'] += 2
        assert t['n'].get_average() == 2.0
    with AnonymousUsageTracker('u', path) as t:
        t.track_statistic('n')
        assert t['n'].startup_value == 4
        t['n'] += 3
        assert t['n'].difference_from_startup == 3


# rows

def test_rows(tracker):
    tracker.track_statistic('n')
    before = int(time.time())
    tracker['n'] += 1
    tracker['n'] += 1
    tracker['n'] += 1
    n = tracker['n']
    rows = n.get_rows()
    assert all(isinstance(r, Row) for r in rows)
    row = rows[0]
    assert list(row) == ['UUID', 'Count', 'Time'] == row.keys()
    assert dict(row)['UUID'] == 'user-1'
    assert (row['UUID'], row['Count'], row[1]) == ('user-1', 1, 1)
    assert row.timeStamp >= before
    assert row['Time'] == time.strftime(TIME_FMT,
                                        time.localtime(row.timeStamp))
    with pytest.raises(KeyError, match='UUID, Count, Time'):
        row['State']
    assert n.get_number_of_rows() == 3
    assert [r['Count'] for r in n.get_first()] == [1]
    assert [r['Count'] for r in n.get_first(2)] == [1, 2]
    assert [r['Count'] for r in n.get_last()] == [3]
    assert [r['Count'] for r in n.get_last(2)] == [2, 3]
    assert n.get_last(0) == [] == n.get_first(0)
    # the same once on disk
    tracker.flush()
    assert [r['Count'] for r in n.get_last(2)] == [2, 3]
    assert [r['Count'] for r in n.get_first(2)] == [1, 2]
    assert [r['Count'] for r in n.get_rows()] == [1, 2, 3]
    # stored and pending together
    tracker['n'] += 1
    assert [r['Count'] for r in n.get_first(2)] == [1, 2]
    assert [r['Count'] for r in n.get_first(9)] == [1, 2, 3, 4]


@pytest.mark.parametrize('flushed', [False, True])
def test_delete_rows(tracker, flushed):
    tracker.track_statistic('n')
    for _ in range(4):
        tracker['n'] += 1
    if flushed:
        tracker.flush()
    n = tracker['n']
    n.delete_first()
    assert [r['Count'] for r in n.get_rows()] == [2, 3, 4]
    assert n.count == 4
    n.delete_last()
    assert [r['Count'] for r in n.get_rows()] == [2, 3]
    assert n.count == 3
    tracker.flush()
    assert [r['Count'] for r in n.get_rows()] == [2, 3]
    n.delete_last()
    n.delete_last()
    assert n.count == 0 and n.get_rows() == []
    n.delete_last()       # nothing left: nothing happens
    n.delete_first()
    tracker['n'] += 1
    assert [r['Count'] for r in n.get_rows()] == [1]


# State

def test_state(tracker):
    tracker.track_state('units', 'Metric', description='unit system')
    s = tracker['units']
    assert s.state == 'Metric' and s.current_value == 'Metric'
    tracker['units'] = 'US Standard'
    s.state = 'Imperial'
    assert s.set('Metric') == 'Metric'
    assert s.count == 4
    rows = s.get_rows()
    assert list(rows[0]) == ['UUID', 'Count', 'State', 'Time']
    assert [(r['Count'], r['State']) for r in rows] == [
        (1, 'Metric'), (2, 'US Standard'), (3, 'Imperial'), (4, 'Metric')]
    assert repr(s) == 'State (units): Metric'


def test_state_redundant(tracker):
    tracker.track_state('a', 'x')
    tracker.track_state('b', 'x', keep_redundant=True)
    for name in 'ab':
        tracker[name] = 'x'
        tracker[name] = 'x'
    assert tracker['a'].get_number_of_rows() == 1
    assert tracker['b'].get_number_of_rows() == 3
    assert tracker['b'].count == 3


def test_state_values_are_text(tmp_path):
    path = str(tmp_path / 'u.db')
    with AnonymousUsageTracker('u', path) as t:
        t.track_state('level', 1)
        t['level'] = 2
        assert t['level'].state == '2'
        t['level'] = '2'      # the same state: no row
        assert t['level'].get_number_of_rows() == 2
    with AnonymousUsageTracker('u', path) as t:
        t.track_state('level', 1)
        assert t['level'].state == '2'


def test_no_state(tracker):
    tracker.track_state('server', NO_STATE)
    s = tracker['server']
    assert s.state is NO_STATE and not NO_STATE
    assert repr(NO_STATE) == 'NO_STATE'
    assert repr(s) == 'State (server): No State'
    assert s.get_rows() == []
    tracker['server'] = 'eu-1'
    assert s.state == 'eu-1' and s.count == 1


def test_state_delete_last_goes_back(tracker):
    tracker.track_state('s', 'a')
    tracker['s'] = 'b'
    tracker['s'].delete_last()
    assert tracker['s'].state == 'a' and tracker['s'].count == 1
    tracker['s'].delete_last()
    assert tracker['s'].state is NO_STATE and tracker['s'].count == 0


# Timer

def test_timer(tracker):
    tracker.track_time('t')
    t = tracker['t']
    assert t.stop_timer() is None            # never started: nothing
    assert t.get_number_of_rows() == 0
    assert t.elapsed_time_s == 0
    t.start_timer()
    time.sleep(0.02)
    t.pause_timer()
    paused = t.elapsed_time_s
    assert paused >= 0.02
    time.sleep(0.02)
    assert t.elapsed_time_s == paused        # the clock stands still
    t.resume_timer()
    seconds = t.stop_timer()
    assert seconds >= paused
    assert t.count == seconds == t.total_seconds
    assert t.get_number_of_rows() == 1
    assert t.elapsed_time_s == 0


def test_timer_pause_resume_without_start(tracker):
    tracker.track_time('t')
    tracker['t'].pause_timer()
    tracker['t'].resume_timer()
    assert tracker['t'].stop_timer() is None


def test_timer_totals_and_formats(tracker):
    tracker.track_time('t')
    t = tracker['t']
    tracker['t'] = 90061            # 1 day 1 hour 1 minute 1 second
    assert t.total_minutes == 90061 / 60
    assert t.total_hours == 90061 / 3600
    assert t.total_days == 90061 / 86400
    assert t.formatted_total_time() == '1 days 1 hours 1 minutes 1 seconds'
    assert t.formatted_total_time(days=False) == '25 hours 1 minutes 1 seconds'
    assert t.formatted_total_time(seconds=False) == '1 days 1 hours 1 minutes'
    assert t.format_time(31536000 + 5) == '1 years 5 seconds'
    assert t.format_time(0) == ''
    tracker['t'] += 90061
    assert t.formatted_average_time() == '1 days 1 hours 1 minutes 1 seconds'
    assert t.strftime('%H:%M:%S') == '02:02:02'
    assert t.strftime('%H:%M:%S', average=True) == '01:01:01'
    assert repr(t) == 'Timer (t): Total 180122 s'


def test_timer_cannot_go_down(tracker):
    tracker.track_time('t')
    tracker['t'] += 10
    with pytest.raises(NotImplementedError, match='cannot subtract'):
        tracker['t'] -= 1
    with pytest.raises(NotImplementedError, match='cannot subtract'):
        tracker['t'].decrement()
    assert tracker['t'].count == 10


# Sequence

def test_sequence(tracker):
    tracker.track_sequence('s', ['A', 'B', 'C'])
    s = tracker['s']
    assert s.checkpoints == ['A', 'B', 'C']
    s.checkpoints.append('D')                 # a copy
    assert s.checkpoints == ['A', 'B', 'C']
    assert s.checkpoint is None and s.sequence == ()
    tracker['s'] = 'A'
    s.checkpoint = 'C'
    s.set('A')
    assert s.sequence == ('A', 'C', 'A') and s.count == 0
    tracker['s'] = 'B'
    tracker['s'] = 'C'
    assert s.count == 1 and s.sequence == ()
    assert s.get_number_of_rows() == 1
    # Out of order: no count.
    for cp in 'CBA':
        tracker['s'] = cp
    assert s.count == 1 and s.checkpoint == 'A'


def test_sequence_window_tools(tracker):
    tracker.track_sequence('s', ['A', 'B', 'C', 'D'])
    s = tracker['s']
    assert s.remove_checkpoint() is None
    assert s.advance_to_checkpoint('B') == 'B'
    assert s.sequence == ('A', 'B')
    # As in the original: the checkpoints, not the window.
    assert s.get_checkpoints() == ['A', 'B', 'C', 'D']
    s.get_checkpoints().append('E')           # a copy
    assert s.get_checkpoints('A') == ['A']
    assert s.get_checkpoints('C') == ['A', 'B', 'C']
    assert s.sequence == ('A', 'B')
    assert s.remove_checkpoint() == 'B'
    s.clear_checkpoints()
    assert s.sequence == ()
    s.advance_to_checkpoint('D')
    assert s.count == 1


def test_sequence_bad_checkpoints(tracker):
    tracker.track_sequence('s', ('A', 'B'))
    with pytest.raises(InvalidCheckpointError,
                       match=r"'X' is not a checkpoint .* \['A', 'B'\]"):
        tracker['s'] = 'X'
    with pytest.raises(InvalidCheckpointError):
        tracker['s'].advance_to_checkpoint('X')
    with pytest.raises(InvalidCheckpointError):
        tracker['s'].get_checkpoints('X')
    for bad in ([], 'ABC', None):
        with pytest.raises(InvalidCheckpointError,
                           match='non-empty list or tuple'):
            tracker.track_sequence('t', bad)
    assert tracker['t'] is None


def test_sequence_numbers_as_checkpoints(tracker):
    tracker.track_sequence('s', [1, 2, 3])
    for cp in (1, 2, 3):
        tracker['s'] = cp
    assert tracker['s'].count == 1
