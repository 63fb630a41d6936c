"""What each commit writes: objects and bytes per transaction, by class.

    python benchmarks/commitcost.py [--tracks 100000] [--users 2000]
                                    [--profile]

Saves --tracks tracks into a new FileStorage the way a batch writer does
(a random user of --users for each track, 50 tasks whose popularity falls
off like 1/rank, one run per user, time stamps a second apart, a commit
every 1,000), then one track alone in a commit of its own. Reads back
from the file what every transaction stored and prints:

* per batch commit (the mean over the batches): objects and bytes by
  class, and the ingest time;
* the single-track commit: every object it stored, and how much the file
  grew;
* the same single-track commit in SQLite (WAL mode and the default
  rollback journal): how much its files grew.

With --profile, the ingest runs under cProfile and the top functions by
own time follow. Not a test: numbers depend on the machine.
"""

import argparse
import collections
import cProfile
import os
import pstats
import random
import sqlite3
import sys
import tempfile
import time

import transaction
import ZODB
import ZODB.FileStorage
from ZODB.utils import get_pickle_metadata

from cybertools_tracking.db import getStorage, openDB

TASKS = 50
COMMIT_EVERY = 1000
START = 1735689600


def scattered(count, users, seed=1):
    """(taskId, userName, timeStamp, data) of count tracks: a random user
    each, tasks weighted 1/rank."""
    rnd = random.Random(seed)
    tasks = [f'task{i:02d}' for i in range(TASKS)]
    cum, total = [], 0.0
    for rank in range(TASKS):
        total += 1 / (rank + 1)
        cum.append(total)
    names = [f'user{i:04d}' for i in range(users)]
    for i in range(count):
        yield (rnd.choices(tasks, cum_weights=cum)[0], rnd.choice(names),
               START + i, {'Count': rnd.randrange(1000)})


def sessions(count, seed=1):
    """The tracks of compare.py's default workload (1,000 users, 20
    sessions open at a time, a run per session), in the same form plus
    the run."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from compare import Workload
    for taskId, runId, userName, ts, data in Workload(
            count, seed=seed, queries=1).tracks():
        yield taskId, userName, ts, data, runId


def ingest(storage, tm, tracks):
    runs = {}
    save, startRun = storage.saveUserTrack, storage.startRun
    lastRun = 0
    for n, (taskId, userName, ts, data, *given) in enumerate(tracks, 1):
        if given:
            runId = runs[userName] = given[0]
            while runId > lastRun:
                lastRun = startRun()
        else:
            runId = runs.get(userName)
            if runId is None:
                runId = runs[userName] = startRun()
        save(taskId, runId, userName, data, timeStamp=ts)
        if n % COMMIT_EVERY == 0:
            tm.commit()
    tm.commit()
    return runs


def transactions(path):
    """[{class path: [objects, bytes]}] of each transaction in the file."""
    fs = ZODB.FileStorage.FileStorage(path, read_only=True)
    out = []
    try:
        for txn in fs.iterator():
            byClass = collections.defaultdict(lambda: [0, 0])
            for record in txn:
                if record.data is None:
                    continue
                module, name = get_pickle_metadata(record.data)
                entry = byClass[f'{module}.{name}']
                entry[0] += 1
                entry[1] += len(record.data)
            out.append(dict(byClass))
    finally:
        fs.close()
    return out


def sqliteGrowth(directory, journal):
    """Bytes SQLite's files grow by for one track committed alone, in a
    table of 1,000 rows with the compare benchmark's five indexes."""
    path = os.path.join(directory, f'single-{journal}.db')
    conn = sqlite3.connect(path)
    conn.execute(f'PRAGMA journal_mode={journal}')
    conn.executescript("""
        CREATE TABLE tracks (id INTEGER PRIMARY KEY, taskId TEXT,
            runId INTEGER, userName TEXT, timeStamp INTEGER, data TEXT);
        CREATE INDEX tracks_task ON tracks (taskId);
        CREATE INDEX tracks_run ON tracks (runId);
        CREATE INDEX tracks_user ON tracks (userName);
        CREATE INDEX tracks_time ON tracks (timeStamp);
        CREATE INDEX tracks_last ON tracks (taskId, runId, userName, id);
    """)
    insert = ('INSERT INTO tracks (taskId, runId, userName, timeStamp, '
              'data) VALUES (?, ?, ?, ?, ?)')
    rnd = random.Random(2)
    for i in range(1000):
        conn.execute(insert, (f'task{i % TASKS:02d}', i // 50,
                              f'user{rnd.randrange(2000):04d}', START + i,
                              '{"Count": 1}'))
    conn.commit()

    def size():
        return sum(os.path.getsize(path + suffix)
                   for suffix in ('', '-wal', '-journal')
                   if os.path.exists(path + suffix))
    before = size()
    conn.execute(insert, ('task00', 1, 'user0001', START + 5000,
                          '{"Count": 1}'))
    conn.commit()
    grown = size() - before
    conn.close()
    return grown


def short(name):
    return name.rsplit('.', 1)[-1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--tracks', type=int, default=100_000)
    parser.add_argument('--users', type=int, default=2000)
    parser.add_argument('--workload', choices=('scattered', 'sessions'),
                        default='scattered',
                        help="scattered: a random user for each track; "
                             "sessions: compare.py's default workload")
    parser.add_argument('--profile', action='store_true')
    parser.add_argument('--top', type=int, default=25)
    args = parser.parse_args(argv)
    if args.tracks < COMMIT_EVERY or args.users < 1:
        parser.error(f'--tracks must be >= {COMMIT_EVERY}, --users >= 1')
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, 'cost.fs')
        db = openDB(path)
        tm = transaction.TransactionManager()
        conn = db.open(transaction_manager=tm)
        storage = getStorage(conn)
        tm.commit()
        setup = len(transactions(path))
        tracks = list(scattered(args.tracks, args.users)
                      if args.workload == 'scattered'
                      else sessions(args.tracks))
        profile = cProfile.Profile() if args.profile else None
        started = time.perf_counter()
        if profile:
            profile.enable()
        runs = ingest(storage, tm, tracks)
        if profile:
            profile.disable()
        elapsed = time.perf_counter() - started
        before = os.path.getsize(path)
        user = next(iter(runs))
        storage.saveUserTrack('task00', runs[user], user, {'Count': 1},
                              timeStamp=START + args.tracks)
        tm.commit()
        grown = os.path.getsize(path) - before
        conn.close()
        db.close()
        txns = transactions(path)
        # Batches only: number reservations and run starts commit on their
        # own, and the last transaction is the single track.
        # A batch writes tracks: records in the track tree's buckets (or
        # in the tree itself while it has one bucket; generation 3), Track
        # objects before.
        module = type(storage).__module__
        trackClasses = {f'{module}.{name}' for name in (
            'Track', 'TrackBucket', 'TrackTree')}
        batchTxns = [txn for txn in txns[setup:-1]
                     if trackClasses & set(txn)]
        batches = len(batchTxns)
        wal = sqliteGrowth(directory, 'wal')
        rollback = sqliteGrowth(directory, 'delete')
    batch = collections.defaultdict(lambda: [0, 0])
    for txn in batchTxns:
        for name, (objects, size) in txn.items():
            batch[name][0] += objects
            batch[name][1] += size
    what = (f'random users over {args.users:,}'
            if args.workload == 'scattered' else "compare.py's sessions")
    print(f'{args.tracks:,} tracks, {what}, a commit every '
          f'{COMMIT_EVERY:,}: ingest {elapsed:.2f} s '
          f'({elapsed / args.tracks * 1e6:.1f} us/track)')
    print(f'\nper batch commit (mean of {batches}):')
    total = [0, 0]
    for name, (objects, size) in sorted(batch.items(),
                                        key=lambda item: -item[1][1]):
        total[0] += objects
        total[1] += size
        print(f'  {short(name):18} {objects / batches:8.1f} objects '
              f'{size / batches / 1e3:9.1f} KB')
    print(f'  {"total":18} {total[0] / batches:8.1f} objects '
          f'{total[1] / batches / 1e3:9.1f} KB')
    print('\na single-track commit:')
    single = txns[-1]
    for name, (objects, size) in sorted(single.items(),
                                        key=lambda item: -item[1][1]):
        print(f'  {short(name):18} {objects:8d} objects '
              f'{size / 1e3:9.2f} KB')
    print(f'  {"total":18} {sum(o for o, _ in single.values()):8d} objects '
          f'{sum(s for _, s in single.values()) / 1e3:9.2f} KB of pickles;'
          f' the file grew {grown / 1e3:.2f} KB')
    print(f'  SQLite, the same track committed alone: WAL file grew '
          f'{wal / 1e3:.2f} KB, rollback journal mode {rollback / 1e3:.2f} '
          f'KB')
    if profile:
        print()
        stats = pstats.Stats(profile, stream=sys.stdout)
        stats.sort_stats('tottime').print_stats(args.top)


if __name__ == '__main__':
    main()
