"""What ``tracker['x'] += 1`` costs the caller, side by side with SQLite
committing each event as the original AnonymousUsage did.

    python benchmarks/usage_increment.py [--events N]

Reports, in microseconds per increment:

* sqlite, commit per event: INSERT + commit, the original's way;
* tracker, burst: N increments in a tight loop (the writer may make the
  loop wait once too many changes are uncommitted);
* tracker, paced: increments in bursts of 100 with pauses between, the
  time spent inside the increments only (what an application feels);
* tracker, sustained: 5 x N increments of a trackable keeping every row:
  bounded by how fast the writer commits tracks (the storage's
  saveUserTrack and ZODB pickling one Track each, not the writer's own
  code: under 1% of a batch's time in a profile);
* tracker, sustained, max_rows 1000 (the default): the same, but a batch
  only saves the rows that survive trimming and removes the stored rows
  they push out once per batch.

Not a test: numbers depend on the machine and its load.
"""

import argparse
import datetime
import os
import sqlite3
import tempfile
import time

from cybertools_tracking.usage import AnonymousUsageTracker


def sqlitePerEvent(directory, events):
    conn = sqlite3.connect(os.path.join(directory, 'original.db'))
    conn.execute('CREATE TABLE x (UUID INT, Count INT, Time TEXT)')
    conn.commit()
    count = 0
    started = time.perf_counter()
    for _ in range(events):
        count += 1
        stamp = datetime.datetime.now().strftime('%d/%m/%Y %H:%M:%S')
        conn.execute('INSERT INTO x VALUES (?, ?, ?)', ('u', count, stamp))
        conn.commit()
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed / events


def trackerBurst(directory, events):
    with AnonymousUsageTracker('u', os.path.join(directory, 'burst.fs')) as t:
        t.track_statistic('x')
        started = time.perf_counter()
        for _ in range(events):
            t['x'] += 1
        elapsed = time.perf_counter() - started
        flushStarted = time.perf_counter()
        t.flush()
        flush = time.perf_counter() - flushStarted
        assert t['x'].count == events
    return elapsed / events, flush


def trackerPaced(directory, events, burst=100, pause=0.01):
    with AnonymousUsageTracker('u', os.path.join(directory, 'paced.fs')) as t:
        t.track_statistic('x')
        inside = 0.0
        for _ in range(events // burst):
            started = time.perf_counter()
            for _ in range(burst):
                t['x'] += 1
            inside += time.perf_counter() - started
            time.sleep(pause)
    return inside / (events // burst * burst)


def trackerSustained(directory, events, maxRows=None, name='sustained'):
    path = os.path.join(directory, f'{name}.fs')
    keep = events if maxRows is None else min(events, maxRows)
    with AnonymousUsageTracker('u', path) as t:
        t.track_statistic('x', max_rows=maxRows or events + 1)
        started = time.perf_counter()
        for _ in range(events):
            t['x'] += 1
        t.flush()
        elapsed = time.perf_counter() - started
        assert t['x'].get_number_of_rows() == keep
        assert t['x'].count == events
    return elapsed / events


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--events', type=int, default=10_000)
    parser.add_argument('--burst-only', action='store_true',
                        help='only the burst against SQLite: N increments '
                             'as fast as a thread can, then flush')
    args = parser.parse_args()
    if args.burst_only:
        with tempfile.TemporaryDirectory() as directory:
            sqlite = sqlitePerEvent(directory, min(args.events, 2000))
            burst, flush = trackerBurst(directory, args.events)
        total = burst + flush / args.events
        print(f'sqlite, commit per event: {sqlite * 1e6:.0f} us; tracker, '
              f'burst of {args.events}: {burst * 1e6:.1f} us per increment '
              f'({burst / sqlite:.4f} of sqlite), with the flush after it '
              f'{total * 1e6:.1f} us ({total / sqlite:.4f})')
        return
    with tempfile.TemporaryDirectory() as directory:
        sqlite = sqlitePerEvent(directory, min(args.events, 2000))
        burst, flush = trackerBurst(directory, args.events)
        paced = trackerPaced(directory, args.events)
        sustained = trackerSustained(directory, 5 * args.events)
        trimmed = trackerSustained(directory, 5 * args.events,
                                   maxRows=1000, name='trimmed')
    rows = [
        ('sqlite, commit per event (the original)', sqlite),
        (f'tracker, burst of {args.events}', burst),
        (f'tracker, paced ({args.events} in bursts of 100)', paced),
        (f'tracker, sustained ({5 * args.events}, every row kept, '
         f'incl. flush)', sustained),
        (f'tracker, sustained ({5 * args.events}, max_rows 1000, '
         f'incl. flush)', trimmed),
    ]
    width = max(len(name) for name, _ in rows)
    print(f'{"":{width}}  us/increment  % of sqlite')
    for name, seconds in rows:
        print(f'{name:{width}}  {seconds * 1e6:12.1f}  '
              f'{seconds / sqlite * 100:10.1f}%')
    print(f'flush after the burst: {flush * 1000:.1f} ms')


if __name__ == '__main__':
    main()
