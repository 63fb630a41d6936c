"""Write behind: reads see pending changes, batches reach the disk (on
their own, on flush, close and exit), threads, max_rows, restarts, and
what a SIGKILL can lose."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest
import transaction

from cybertools_tracking.usage import NO_STATE, AnonymousUsageTracker


def storedTracks(db, name):
    """The data of the committed tracks of a task, through a connection of
    our own (what a crash would leave)."""
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    try:
        storage = conn.root()['tracking']
        return [dict(t.data) for t in storage.query(taskId=name)]
    finally:
        tm.abort()
        conn.close()


def runPython(code, *args, **kw):
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code),
                           *args], capture_output=True, text=True,
                          timeout=60, **kw)


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / 'usage.fs')


def test_reads_see_pending_changes(path):
    with AnonymousUsageTracker('u', path, flush_interval_s=3600) as t:
        t.track_statistic('x')
        t.track_state('s', 'a')
        for _ in range(5):
            t['x'] += 1
        t['s'] = 'b'
        # Nothing committed yet, everything readable.
        assert storedTracks(t.db, 'x') == []
        assert t._writer.uncommitted > 0
        assert [r['Count'] for r in t['x'].get_rows()] == [1, 2, 3, 4, 5]
        assert [r['State'] for r in t['s'].get_rows()] == ['a', 'b']
        assert t.registry()['x']['type'] == 'Statistic'
        t.flush()
        assert t._writer.uncommitted == 0
        assert storedTracks(t.db, 'x') == [{'Count': n} for n in range(1, 6)]
        assert storedTracks(t.db, 's') == [{'Count': 1, 'State': 'a'},
                                           {'Count': 2, 'State': 'b'}]
        # Stored and pending rows together, once each.
        t['x'] += 1
        assert [r['Count'] for r in t['x'].get_rows()] == [1, 2, 3, 4, 5, 6]


def test_writer_commits_by_itself(path):
    with AnonymousUsageTracker('u', path, flush_interval_s=0.05) as t:
        t.track_statistic('x')
        for _ in range(20):
            t['x'] += 1
        deadline = time.monotonic() + 20
        while len(storedTracks(t.db, 'x')) < 20 \
                and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(storedTracks(t.db, 'x')) == 20


def test_close_writes_everything(path):
    t = AnonymousUsageTracker('u', path, flush_interval_s=3600)
    t.track_statistic('x')
    for _ in range(50):
        t['x'] += 1
    t.close()
    with AnonymousUsageTracker('u', path) as t:
        t.track_statistic('x')
        assert t['x'].count == 50
        assert t['x'].get_number_of_rows() == 50


def test_track_layout(path):
    """The contract with the uploader: what each change saves."""
    before = int(time.time())
    with AnonymousUsageTracker('uuid-7', path) as t:
        t.track_statistic('stat')
        t.track_state('state', 'on')
        t['stat'] += 2
        t.flush()
        conn = t.db.open()
        storage = conn.root()['tracking']
        stat, = storage.query(taskId='stat')
        state, = storage.query(taskId='state')
        assert (stat.taskId, stat.userName, stat.runId, stat.data) \
            == ('stat', 'uuid-7', t.run_id, {'Count': 2})
        assert state.data == {'Count': 1, 'State': 'on'}
        assert isinstance(stat.timeStamp, int) and stat.timeStamp >= before
        # The registry is an internal task.
        assert '__registry__' in storage.getTaskIds()
        conn.close()


def test_threads_count_exactly(path):
    with AnonymousUsageTracker('u', path) as t:
        t.track_statistic('x', max_rows=5000)
        # Small enough that the threads also wait for the writer.
        t._writer.maxPending = 50
        start = threading.Barrier(4)

        def work():
            start.wait()
            for _ in range(500):
                t['x'] += 1

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert t['x'].count == 2000
        # Every change is one row, in the order of the values.
        assert [r['Count'] for r in t['x'].get_rows()] == \
            list(range(1, 2001))
    with AnonymousUsageTracker('u', path) as t:
        t.track_statistic('x', max_rows=5000)
        assert t['x'].count == 2000
        assert t['x'].get_number_of_rows() == 2000


def test_threads_on_all_kinds(path):
    with AnonymousUsageTracker('u', path) as t:
        t.track_statistic('n')
        t.track_state('s', NO_STATE, keep_redundant=True)
        t.track_sequence('q', ['a', 'b'])

        def work(i):
            for _ in range(200):
                t['n'] += 1
                t['s'] = str(i)
            t.track_time(f'timer{i}')
            t[f'timer{i}'] += 1.5

        threads = [threading.Thread(target=work, args=(i,))
                   for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert t['n'].count == 800 and t['s'].count == 800
        assert [t[f'timer{i}'].count for i in range(4)] == [1.5] * 4


def test_max_rows_keeps_newest(path):
    with AnonymousUsageTracker('u', path, flush_interval_s=3600) as t:
        t.track_statistic('x', max_rows=5)
        for _ in range(12):
            t['x'] += 1
        assert [r['Count'] for r in t['x'].get_rows()] == [8, 9, 10, 11, 12]
        t.flush()
        assert storedTracks(t.db, 'x') == [{'Count': n}
                                           for n in range(8, 13)]
        for _ in range(3):
            t['x'] += 1
        assert [r['Count'] for r in t['x'].get_rows()] == \
            [11, 12, 13, 14, 15]
        assert t['x'].count == 15
    with AnonymousUsageTracker('u', path) as t:
        # A smaller max_rows trims at the next change.
        t.track_statistic('x', max_rows=2)
        assert t['x'].count == 15
        assert t['x'].get_number_of_rows() == 5
        t['x'] += 1
        assert [r['Count'] for r in t['x'].get_rows()] == [15, 16]
        t.flush()
        assert storedTracks(t.db, 'x') == [{'Count': 15}, {'Count': 16}]


def test_max_rows_of_states_and_sequences(path):
    with AnonymousUsageTracker('u', path) as t:
        t.track_state('s', 'a', max_rows=2)
        t.track_sequence('q', ['a'], max_rows=3)
        for value in 'bcde':
            t['s'] = value
            t['q'] = 'a'
        t.flush()
        assert [d['State'] for d in storedTracks(t.db, 's')] == ['d', 'e']
        assert [d['Count'] for d in storedTracks(t.db, 'q')] == [2, 3, 4]
        assert t['s'].count == 5 and t['q'].count == 4


def test_reopen_restores_everything(path):
    with AnonymousUsageTracker('u', path) as t:
        t.track_statistic('stat')
        t.track_state('state', 'Metric')
        t.track_time('timer')
        t.track_sequence('seq', ['a', 'b'])
        t.track_statistic('forgotten')
        t['stat'] += 41
        t['stat'] += 1
        t['state'] = 'US'
        t['timer'] += 12.5
        t['timer'].start_timer()
        t['timer'].stop_timer()
        t['seq'].advance_to_checkpoint('b')
        t['seq'].advance_to_checkpoint('b')
        t['seq'] = 'a'           # a window is not kept
        t['forgotten'] += 3
        timer = t['timer'].count
    with AnonymousUsageTracker('u', path) as t:
        t.track_statistic('stat')
        t.track_state('state', 'Metric')     # the stored state wins
        t.track_time('timer')
        t.track_sequence('seq', ['a', 'b'])
        assert t['stat'].count == 42
        assert t['state'].state == 'US' and t['state'].count == 2
        assert t['timer'].total_seconds == timer >= 12.5
        assert t['timer'].get_number_of_rows() == 2
        assert t['seq'].count == 2 and t['seq'].sequence == ()
        # Not declared this time, still registered and stored.
        assert 'forgotten' in t.registry()
        t.track_statistic('forgotten')
        assert t['forgotten'].count == 3


def test_other_users_are_separate(path):
    with AnonymousUsageTracker('alice', path) as t:
        t.track_statistic('x')
        t['x'] += 5
    with AnonymousUsageTracker('bob', path) as t:
        t.track_statistic('x')
        assert t['x'].count == 0
        t['x'] += 1
        assert [r['UUID'] for r in t['x'].get_rows()] == ['bob']


def test_exit_without_close_flushes(path):
    # atexit closes trackers left open; a long interval means only that
    # can have written the changes.
    result = runPython('''
        import sys
        from cybertools_tracking.usage import AnonymousUsageTracker
        t = AnonymousUsageTracker('u', sys.argv[1], flush_interval_s=3600)
        t.track_statistic('x')
        for _ in range(300):
            t['x'] += 1
        ''', path)
    assert result.returncode == 0, result.stderr
    with AnonymousUsageTracker('u', path) as t:
        t.track_statistic('x')
        assert t['x'].count == 300
        conn = t.db.open()
        runs = conn.root()['tracking'].getRuns()
        assert runs[0].finished       # closed properly: its run stopped
        conn.close()


CHILD = '''
    import sys, time
    from cybertools_tracking.usage import AnonymousUsageTracker
    t = AnonymousUsageTracker('u', sys.argv[1])
    t.track_statistic('x', max_rows=100)
    print('ready', flush=True)
    report = time.monotonic()
    while True:
        t['x'] += 1
        now = time.monotonic()
        if now >= report:
            print(t['x'].count, flush=True)
            report = now + 0.05
        time.sleep(0.0002)
'''


def test_sigkill_loses_at_most_the_last_second(path, tmp_path):
    """The child prints its count as it goes; we kill it with SIGKILL
    after it has incremented for more than 1.5 s. Every count it printed a
    second or more before the kill must be on disk."""
    errors = open(tmp_path / 'child.err', 'w')
    child = subprocess.Popen(
        [sys.executable, '-c', textwrap.dedent(CHILD), path],
        stdout=subprocess.PIPE, stderr=errors, text=True)
    received = []            # (when we read it, count)
    try:
        assert child.stdout.readline() == 'ready\n', \
            (tmp_path / 'child.err').read_text()
        started = time.monotonic()
        while True:
            line = child.stdout.readline()
            assert line, (tmp_path / 'child.err').read_text()
            received.append((time.monotonic(), int(line)))
            # Kill right after a fresh line: the child is running.
            if received[-1][0] - started > 1.6:
                break
        killedAt = time.monotonic()
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
        errors.close()
    assert child.returncode == -signal.SIGKILL
    # A line read at r was printed at or before r.
    promised = max(count for when, count in received
                   if when <= killedAt - 1.0)
    with AnonymousUsageTracker('u', path) as t:
        t.track_statistic('x', max_rows=100)
        assert t['x'].count >= promised > 0
        assert t['x'].count <= received[-1][1] + 10000


def test_failed_commit_keeps_changes(path, monkeypatch):
    from cybertools_tracking.usage import WriteError
    from cybertools_tracking.usage import writer

    real = writer.applyOps

    def diskFull(*args):
        raise OSError('No space left on device')

    with AnonymousUsageTracker('u', path, flush_interval_s=3600) as t:
        t.track_statistic('x')
        t['x'] += 1
        monkeypatch.setattr(writer, 'applyOps', diskFull)
        with pytest.raises(WriteError, match='No space left on device'):
            t.flush()
        # Nothing lost: still readable, still uncommitted, still counting.
        t['x'] += 1
        assert [r['Count'] for r in t['x'].get_rows()] == [1, 2]
        assert storedTracks(t.db, 'x') == []
        monkeypatch.setattr(writer, 'applyOps', real)
        t.flush()
        assert storedTracks(t.db, 'x') == [{'Count': 1}, {'Count': 2}]
