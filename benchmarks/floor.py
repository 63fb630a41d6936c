"""The floor: the least ZODB itself costs per track when every track is a
record of its own, against SQLite doing the same work, in one process.

The bars against SQLite (ingest <= 2.0, selective and time-range queries
<= 1.0 on the first pass after ingest, ZODB's object cache no longer
holding most tracks) are out of reach while each track is its own
``persistent.Persistent`` record, as schema generation 2 and older saved
them; since generation 3 tracks are records inside the track tree's
buckets, which (c) bounds. This measures those floors with
every advantage on ZODB's side: no index at all, a bare ``LOBTree`` keyed
by track number, reads by key or straight by oid. SQLite keeps the stdlib
defaults (rollback journal, synchronous=FULL). Both commit every 1,000
tracks and fsync each commit. Run from the project checkout::

    python benchmarks/floor.py --sizes 100000
    python benchmarks/floor.py                   # N = 100,000 and 1,000,000
    python benchmarks/floor.py --sizes 20000 --reads 500 --dir /var/tmp --keep

The tracks are compare.py's (50 tasks, 1,000 users, data {'Count': n}),
generated before any clock starts. For each N:

* write: SQLite with compare.py's five indexes and with none; ZODB (a) a
  ``Track`` per row as generation 2 saved them, (b) a bare ``Persistent``
  holding one tuple, (c) plain tuples as the tree's values: no record per
  track, the bound of the project's layout since generation 3 (its
  buckets also pack the tuples into one value);
* cold read of K random tracks and of K consecutive ones (a time range),
  each read whole, after ``conn.cacheMinimize()`` (SQLite: a new
  connection), the OS file cache warm for both. ZODB reads through the tree
  (bucket + record loads), by oid with ``conn.get`` (no bucket; but
  ``conn.get`` loads a record twice, once for its class, once for its
  state) and by oid as a raw ``load`` + unpickle, below anything ZODB's
  objects do. SQLite by id runs one statement per track, each its own read
  transaction: dearer per row than its real queries, again ZODB's gain.

It prints microseconds per track, ratios to SQLite (writes: to SQLite with
five indexes and with none; reads: to SQLite by id) and storage loads per
track read, best of ``--repeat`` cold passes. It always exits 0.
"""

import argparse
import gc
import importlib.metadata
import json
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time

import transaction
import ZODB.FileStorage
from BTrees.LOBTree import LOBTree
from persistent import Persistent

from cybertools_tracking.btree import Track
from cybertools_tracking.db import DEFAULT_CACHE_SIZE

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import BARS, COMMIT_EVERY, Workload  # noqa: E402

TABLE = """CREATE TABLE tracks (id INTEGER PRIMARY KEY, taskId TEXT NOT NULL,
    runId INTEGER NOT NULL, userName TEXT NOT NULL,
    timeStamp INTEGER NOT NULL, data TEXT NOT NULL);
"""
INDEXES = """  -- compare.py's SQLite peer: what AnonymousUsage had
CREATE INDEX tracks_task ON tracks (taskId);
CREATE INDEX tracks_run ON tracks (runId);
CREATE INDEX tracks_user ON tracks (userName);
CREATE INDEX tracks_time ON tracks (timeStamp);
CREATE INDEX tracks_last ON tracks (taskId, runId, userName, id);
"""
SELECT = 'SELECT id, taskId, runId, userName, timeStamp, data FROM tracks '


class Holder(Persistent):
    """root -> holder -> tree; the Tracks' __parent__, as the storage is."""

    def __init__(self):
        self.tree = LOBTree()


class Row(Persistent):
    """The smallest record a track can be: one object, one tuple."""

    def __init__(self, row):
        self.row = row


def makeTrack(n, row, holder):
    taskId, runId, userName, ts, data = row
    track = Track(taskId, runId, userName, data)
    track.timeStamp = ts
    track.__name__, track.__parent__ = '%07i' % n, holder
    return track


STORES = (   # label, value for the tree, read it whole, a record per track
    ('zodb (a) Track per row', makeTrack, lambda t: (
        t.__name__, t.taskId, t.runId, t.userName, t.timeStamp, t.data),
     True),
    ('zodb (b) Persistent(tuple)', lambda n, row, h: Row(row),
     lambda r: r.row, True),
    ('zodb (c) tuples, no record', lambda n, row, h: row, lambda t: t, False),
)


def startClock():
    # Collect first: the garbage an earlier step left (a closed store's
    # million objects) would otherwise be collected in whichever timed
    # pass happens to trigger the collector.
    gc.collect()
    return time.perf_counter()


def writeSQLite(path, rows, indexes):
    conn = sqlite3.connect(path)
    conn.executescript(TABLE + (INDEXES if indexes else ''))
    insert = ('INSERT INTO tracks (taskId, runId, userName, timeStamp, data)'
              ' VALUES (?, ?, ?, ?, ?)')
    dumps, start = json.dumps, startClock()
    for n, (taskId, runId, userName, ts, data) in enumerate(rows, 1):
        conn.execute(insert, (taskId, runId, userName, ts, dumps(data)))
        if n % COMMIT_EVERY == 0:
            conn.commit()
    conn.commit()
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def readSQLite(path, keys, repeat):
    """Best seconds of (each random key by id, the consecutive id range)."""
    loads, lo, hi = json.loads, keys[1][0], keys[1][-1]
    reads = (lambda conn: [r[:5] + (loads(r[5]),) for k in keys[0] for r in
                           conn.execute(SELECT + 'WHERE id = ?', (k,))],
             lambda conn: [r[:5] + (loads(r[5]),) for r in conn.execute(
                 SELECT + 'WHERE id BETWEEN ? AND ?', (lo, hi))])
    best = [float('inf')] * 2
    for _ in range(repeat):
        for i, read in enumerate(reads):
            conn = sqlite3.connect(path)   # a new connection: no page cache
            start = startClock()
            assert len(read(conn)) == len(keys[i])
            best[i] = min(best[i], time.perf_counter() - start)
            conn.close()
    return best


def writeZODB(path, rows, make, records):
    """Write the rows; return (seconds, db, conn, tree, oids)."""
    db = ZODB.DB(ZODB.FileStorage.FileStorage(path),
                 cache_size=DEFAULT_CACHE_SIZE)
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    holder = conn.root()['holder'] = Holder()
    tm.commit()
    tree, oids, pending = holder.tree, [], []
    start = startClock()
    for n, row in enumerate(rows, 1):
        tree[n] = value = make(n, row, holder)
        if records:
            pending.append(value)
        if n % COMMIT_EVERY == 0:
            tm.commit()
            oids.extend(v._p_oid for v in pending)   # assigned by commit
            pending.clear()
    tm.commit()
    oids.extend(v._p_oid for v in pending)
    return time.perf_counter() - start, db, conn, tree, oids


def readZODB(conn, fetch, repeat):
    """(best seconds, storage loads) of fetch() from an emptied cache.

    Loads are counted at the storage, in a pass of their own so the count
    costs the timed passes nothing; the connection's own count misses the
    load conn.get() makes for an object's class."""
    storage, loads = conn._storage, [0]

    def counted(oid, load=storage.load):
        loads[0] += 1
        return load(oid)
    conn.cacheMinimize()
    storage.load = counted
    try:
        fetch()
    finally:
        del storage.load
    best = float('inf')
    for _ in range(repeat):
        conn.cacheMinimize()
        start = startClock()
        fetch()
        best = min(best, time.perf_counter() - start)
    return best, loads[0]


def zodbReads(label, whole, conn, tree, oids, keys, repeat):
    """([(label, seconds, loads)] random, [...] consecutive)."""
    kind = label[:8]
    ways = [('via LOBTree', lambda k: whole(tree[k]), lambda lo, hi: [
        whole(v) for v in tree.values(lo, hi)])]
    if oids:
        state = conn._reader.getState
        ways += [('by oid, conn.get', lambda k: whole(conn.get(oids[k - 1])),
                  None),
                 ('by oid, raw load', lambda k: state(
                     conn._storage.load(oids[k - 1])[0]), None)]
    out = ([], [])
    lo, hi = keys[1][0], keys[1][-1]
    for name, one, many in ways:
        many = many or (lambda lo, hi: [one(k) for k in range(lo, hi + 1)])
        for section, fetch in zip(out, (lambda: [one(k) for k in keys[0]],
                                        lambda: many(lo, hi))):
            section.append((f'{kind} {name}', *readZODB(conn, fetch, repeat)))
    return out


def log(text):
    print(text, file=sys.stderr, flush=True)


def floor(size, args):
    """Write every store and read it cold; return (writes, reads, K)."""
    rows = list(Workload(size, seed=args.seed, queries=0).tracks())
    k = min(args.reads, size)
    rnd = random.Random(args.seed)
    first = rnd.randint(1, size - k + 1)
    keys = (rnd.sample(range(1, size + 1), k), list(range(first, first + k)))
    directory = tempfile.mkdtemp(prefix=f'floor-{size}-', dir=args.dir)
    writes, reads = [], ([], [])
    try:
        for label, indexes in (('sqlite, 5 indexes', True),
                               ('sqlite, no index', False)):
            log(f'  {label}')
            path = os.path.join(directory, f'sqlite{5 * indexes}.db')
            writes.append((label, writeSQLite(path, rows, indexes),
                           os.path.getsize(path)))
            if indexes:           # reads by id never touch an index
                byId, byRange = readSQLite(path, keys, args.repeat)
                reads[0].append(('sqlite, id = ?', byId, None))
                reads[1].append(('sqlite, id BETWEEN', byRange, None))
        for label, make, whole, records in STORES:
            log(f'  {label}')
            path = os.path.join(tempfile.mkdtemp(dir=directory), 'zodb.fs')
            seconds, db, conn, tree, oids = writeZODB(path, rows, make,
                                                      records)
            writes.append((label, seconds, os.path.getsize(path)))
            for mine, theirs in zip(reads, zodbReads(
                    label, whole, conn, tree, oids, keys, args.repeat)):
                mine.extend(theirs)
            conn.close()
            db.close()
            if not args.keep:     # the next store needs the disk space
                shutil.rmtree(os.path.dirname(path))
    finally:
        if not args.keep:
            shutil.rmtree(directory, ignore_errors=True)
    return writes, reads, k


def report(size, writes, reads, k, repeat):
    print(f'\nN = {size:,} tracks')
    print(f'{"write, commit every 1,000":32}{"us/track":>10}'
          f'{"/sqlite5":>10}{"/sqlite0":>10}{"file MB":>10}')
    base5, base0 = writes[0][1], writes[1][1]
    for label, seconds, nbytes in writes:
        ratios = '' if label.startswith('sqlite') else \
            f'{seconds / base5:10.2f}{seconds / base0:10.2f}'
        print(f'{label:32}{seconds * 1e6 / size:10.2f}{ratios:>20}'
              f'{nbytes / 1e6:10.1f}')
    for what, section in zip(('random', 'consecutive'), reads):
        print(f'{f"cold read, {k:,} {what}":32}{"us/track":>10}'
              f'{"/sqlite":>10}{"loads/tr":>10}')
        base = section[0][1]
        for label, seconds, loads in section:
            extra = '' if loads is None else \
                f'{seconds / base:10.2f}{loads / k:10.2f}'
            print(f'{label:32}{seconds * 1e6 / k:10.2f}{extra:>20}')
    print(f'(reads: best of {repeat}, ZODB object cache emptied, SQLite on a '
          f'new connection, OS file cache warm; loads/tr: storage loads per '
          f'track; bars: ingest <= {BARS["ingest"]}, queries <= '
          f'{BARS["selective"]})')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--sizes', default='100000,1000000',
                        help='comma-separated track counts (%(default)s)')
    parser.add_argument('--reads', type=int, default=2000, metavar='K',
                        help='tracks per cold read (%(default)s)')
    parser.add_argument('--repeat', type=int, default=3,
                        help='cold read passes, best kept (%(default)s)')
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--dir', help='where the files go (default: a '
                        'temporary directory, removed after)')
    parser.add_argument('--keep', action='store_true', help='keep the files')
    args = parser.parse_args(argv)
    try:
        sizes = [int(s.replace('_', '')) for s in args.sizes.split(',') if s]
    except ValueError:
        parser.error(f'--sizes: {args.sizes!r} is not a list of ints')
    if not sizes or min(sizes) < 1 or args.reads < 1 or args.repeat < 1:
        parser.error('--sizes, --reads and --repeat must be >= 1')
    print(f'python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version} '
          f'(rollback journal, synchronous=FULL), ZODB '
          f'{importlib.metadata.version("ZODB")} FileStorage, object cache '
          f'{DEFAULT_CACHE_SIZE:,} objects', flush=True)
    for size in sizes:
        log(f'N = {size:,}')
        writes, reads, k = floor(size, args)
        report(size, writes, reads, k, args.repeat)
        sys.stdout.flush()
    return 0


if __name__ == '__main__':
    sys.exit(main())
