"""Side by side: cybertools_tracking against SQLite and souper, one process.

Run from the project checkout (souper is optional, from the ``bench``
extra; without it that column is left out)::

    python benchmarks/compare.py                  # N = 100,000 and 1,000,000
    python benchmarks/compare.py --sizes 100000 --peers project,sqlite
    python benchmarks/compare.py --writers 4 --tracker-growth 1000000

Every peer gets the same tracks, generated from one seed: 50 tasks whose
popularity falls off like 1/rank (the way a few trackables get most
events), 1,000 users, one run per user session (about 200 tracks each, 20
sessions interleaved at any time) and time stamps rising over 30 days.
Each peer writes to a file of its own in a temporary directory (or
``--dir``) and, for every size, does:

* ingest: save the tracks one call at a time, commit every 1,000;
* selective query: the tracks of one taskId and one userName, 200
  different pairs (``--queries``), each record read whole;
* time range: the tracks of a one-hour window, each record read whole;
* getLastUserTrack: the newest track of (taskId, runId, userName);
* each kind of query twice: first right after ingesting (the project
  holds what its object cache kept, ``--cache-size``), then the same
  queries again (what each peer keeps of what it just read);
* reopen + first query: close, open the file again, one selective query;
* file size on disk and peak memory: the RSS high-water mark above the RSS
  at the start of the peer's turn, read from /proc/self/status after
  resetting it through /proc/self/clear_refs (where that is not possible,
  the process's lifetime ru_maxrss from the resource module, marked so).

It prints a table per size with times and ratios project / peer and marks
the bars of issue 5 against SQLite: ingest <= 2.0, selective <= 1.0, time
range <= 1.0, getLastUserTrack <= 1.0 and flat from the smallest to the
largest size (per-call time grows at most 2x). Then:

* ``tracker['clicks'] += 1`` (the usage tracker, writing behind) against
  SQLite inserting and committing a row per event, as AnonymousUsage did:
  bar <= 0.02 (``--tracker-events``);
* with ``--writers 4``: the conflict retry rate of four threads saving
  into one storage, each with its own connection and transaction manager,
  committing every track (bar < 0.25 retries per committed track);
* with ``--tracker-growth N``: the file size after N increments and after
  packing;
* with ``--db postgresql://...``: the project on RelStorage in that
  database (emptied first) side by side with the same table and indexes
  in PostgreSQL itself (the ``postgres`` peer, psycopg2), on the same
  server; sizes are the tables' (pg_total_relation_size); then what a
  single-track commit costs on each (benchmarks/pgpeers.py).

``--workload scattered`` gives each track a random user of 2,000,
``--workload taskruns`` a run per user and task (about 45 runs a user);
every run also measures what one track committed alone adds to the
project's FileStorage next to SQLite's write-ahead log (bar <= 5 KB,
``--single-commits``).

The exit status is 1 when a bar is missed. The SQLite peer is what
AnonymousUsage stored in: one table, an index on each of the four columns
and one on (taskId, runId, userName, id), the stdlib module's defaults
(rollback journal, synchronous=FULL).
"""

import argparse
import gc
import itertools
import json
import os
import random
import resource
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
import warnings

import transaction
import ZODB
import ZODB.FileStorage

from cybertools_tracking.db import (
    DEFAULT_CACHE_SIZE, ensureStorage, getStorage, openDB)

TASKS = 50
USERS = 1000
SESSION_TRACKS = 200
OPEN_SESSIONS = 20
DAYS = 30
START = 1735689600           # 2025-01-01 00:00 UTC
COMMIT_EVERY = 1000
WINDOW = 3600                # time-range queries ask for one hour

BARS = {                     # work: highest allowed ratio project / SQLite
    'ingest': 2.0,
    'selective': 1.0,
    'timerange': 1.0,
    'last': 1.0,
}
FLAT_GROWTH = 2.0            # getLastUserTrack per call, largest / smallest N


# the work

class Workload:
    """The tracks and the query arguments, the same for every peer."""

    def __init__(self, size, seed=1, queries=200):
        self.size = size
        self.seed = seed
        self.queries = queries
        rnd = random.Random(seed)
        self.tasks = [f'task{i:02d}' for i in range(TASKS)]
        self.weights = [1 / (rank + 1) for rank in range(TASKS)]
        self.cumWeights = list(itertools.accumulate(self.weights))
        self.users = [f'user{i:04d}' for i in range(USERS)]
        picks = sorted(rnd.sample(range(size), min(queries, size)))
        self._picked = set(picks)
        self.picks = []          # (taskId, runId, userName, timeStamp)
        for _ in self.tracks(record=True):
            pass
        self.span = DAYS * 86400

    def tracks(self, record=False):
        """Yield (taskId, runId, userName, timeStamp, data) in time order.

        runId numbers sessions 1, 2, 3... in the order they start.
        """
        rnd = random.Random(self.seed * 7919 + self.size)
        step = DAYS * 86400 / self.size
        sessions = []            # [runId, userName, tracks left]
        nextRun = 1
        tasks, cum, users = self.tasks, self.cumWeights, self.users
        for i in range(self.size):
            while len(sessions) < OPEN_SESSIONS:
                sessions.append([nextRun, rnd.choice(users),
                                 rnd.randint(SESSION_TRACKS // 2,
                                             SESSION_TRACKS * 3 // 2)])
                nextRun += 1
            slot = rnd.randrange(len(sessions))
            session = sessions[slot]
            taskId = rnd.choices(tasks, cum_weights=cum)[0]
            ts = START + int(i * step)
            data = {'Count': rnd.randrange(1000)}
            if record and i in self._picked:
                self.picks.append((taskId, session[0], session[1], ts))
            yield taskId, session[0], session[1], ts, data
            session[2] -= 1
            if session[2] <= 0:
                sessions.pop(slot)


class ScatteredWorkload(Workload):
    """Each track of a random user of 2,000 (``--workload scattered``):
    a batch of 1,000 touches about 800 users, the worst case for what a
    commit writes. A user's tracks share one run, numbered in the order
    the users first appear; tasks and time stamps as in Workload."""

    USERS = 2000

    def tracks(self, record=False):
        rnd = random.Random(self.seed * 7919 + self.size)
        step = DAYS * 86400 / self.size
        users = [f'user{i:04d}' for i in range(self.USERS)]
        runs = {}
        cum = self.cumWeights
        for i in range(self.size):
            userName = rnd.choice(users)
            runId = runs.get(userName)
            if runId is None:
                runId = runs[userName] = len(runs) + 1
            taskId = rnd.choices(self.tasks, cum_weights=cum)[0]
            ts = START + int(i * step)
            if record and i in self._picked:
                self.picks.append((taskId, runId, userName, ts))
            yield taskId, runId, userName, ts, {'Count': rnd.randrange(1000)}


class TaskRunsWorkload(Workload):
    """A run per user and task (``--workload taskruns``), as a tracker
    opening a run per trackable: at 100,000 tracks over 400 users a user
    has about 45 runs, where in the sessions workload one or two. A
    one-task-one-user query should cost no more here than there."""

    USERS = 400

    def tracks(self, record=False):
        self.users = self.users[:self.USERS]
        rnd = random.Random(self.seed * 7919 + self.size)
        step = DAYS * 86400 / self.size
        runs = {}
        cum = self.cumWeights
        for i in range(self.size):
            userName = rnd.choice(self.users)
            taskId = rnd.choices(self.tasks, cum_weights=cum)[0]
            runId = runs.get((userName, taskId))
            if runId is None:
                runId = runs[userName, taskId] = len(runs) + 1
            ts = START + int(i * step)
            if record and i in self._picked:
                self.picks.append((taskId, runId, userName, ts))
            yield taskId, runId, userName, ts, {'Count': rnd.randrange(1000)}


WORKLOADS = {'sessions': Workload, 'scattered': ScatteredWorkload,
             'taskruns': TaskRunsWorkload}


# what one track committed alone adds to the file

SINGLE_BAR = 5000           # bytes a single-track commit may add


def singleCommits(directory, base=10_000, commits=20):
    """Bytes one track committed alone adds to the project's FileStorage
    and to SQLite's write-ahead log (WAL mode; the same table and
    indexes), each holding base tracks of the scattered workload first.
    Returns {name: mean bytes per commit}."""
    work = ScatteredWorkload(base, queries=1)
    # Tracks like the last ones saved: users and runs already known.
    last = list(work.tracks())[-commits:]
    extra = [(taskId, runId, userName, START + DAYS * 86400 + i,
              {'Count': i})
             for i, (taskId, runId, userName, ts, data) in enumerate(last)]
    out = {}
    project = ProjectPeer(directory)
    project.open()
    try:
        project.ingest(work.tracks())
        before = os.path.getsize(project.path)
        for taskId, runId, userName, ts, data in extra:
            project.storage.saveUserTrack(taskId, runId, userName, data,
                                          timeStamp=ts)
            project.tm.commit()
        out['project'] = (os.path.getsize(project.path) - before) / commits
    finally:
        project.close()
    sqlite = SQLitePeer(directory)
    sqlite.open()
    try:
        sqlite.conn.execute('PRAGMA journal_mode=WAL')
        # Checkpoints now and then reset the log; none may fall inside.
        sqlite.conn.execute('PRAGMA wal_autocheckpoint=0')
        sqlite.ingest(work.tracks())
        sqlite.conn.execute('PRAGMA wal_checkpoint(TRUNCATE)')
        wal = sqlite.path + '-wal'
        before = os.path.getsize(wal) if os.path.exists(wal) else 0
        insert = ('INSERT INTO tracks (taskId, runId, userName, timeStamp, '
                  'data) VALUES (?, ?, ?, ?, ?)')
        for taskId, runId, userName, ts, data in extra:
            sqlite.conn.execute(insert, (taskId, runId, userName, ts,
                                         json.dumps(data)))
            sqlite.conn.commit()
        out['sqlite WAL'] = (os.path.getsize(wal) - before) / commits
    finally:
        sqlite.close()
    return out


# peak memory


# peak memory

class PeakMemory:
    """The RSS high-water mark of this process above a starting point."""

    def __init__(self):
        self.method = 'rss'
        try:
            self._reset()
            self._read('VmHWM')
        except OSError:
            self.method = 'ru_maxrss'

    @staticmethod
    def _read(field):
        with open('/proc/self/status') as status:
            for line in status:
                if line.startswith(field + ':'):
                    return int(line.split()[1]) * 1024
        raise OSError(f'no {field} in /proc/self/status')

    @staticmethod
    def _reset():
        with open('/proc/self/clear_refs', 'w') as refs:
            refs.write('5')

    def start(self):
        if self.method == 'rss':
            self._reset()
            self._base = self._read('VmRSS')
        else:
            self._base = 0

    def peak(self):
        if self.method == 'rss':
            # Memory freed during the turn can leave RSS below where it
            # started; the turn then needed nothing more.
            return max(self._read('VmHWM') - self._base, 0)
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# the peers

def touch(record):
    """Read a whole record, as a caller showing it would."""
    return record


class ProjectPeer:
    name = 'project'

    def __init__(self, directory):
        self.path = os.path.join(directory, 'project.fs')

    dbOptions = {}

    @classmethod
    def cacheSize(cls):
        return cls.dbOptions.get('cache_size', DEFAULT_CACHE_SIZE)

    def open(self):
        self.db = openDB(self.path, **self.dbOptions)
        ensureStorage(self.db)
        self.tm = transaction.TransactionManager()
        self.conn = self.db.open(transaction_manager=self.tm)
        self.storage = getStorage(self.conn)

    def close(self):
        self.tm.abort()
        self.conn.close()
        self.db.close()

    def ingest(self, tracks):
        storage, tm = self.storage, self.tm
        save, startRun = storage.saveUserTrack, storage.startRun
        lastRun = storage.runs.maxKey() if storage.runs else 0
        count = 0
        for taskId, runId, userName, ts, data in tracks:
            while runId > lastRun:
                lastRun = startRun()
            save(taskId, runId, userName, data, timeStamp=ts)
            count += 1
            if count % COMMIT_EVERY == 0:
                tm.commit()
        tm.commit()

    @staticmethod
    def _row(track):
        return (track.__name__, track.taskId, track.runId, track.userName,
                track.timeStamp, track.data)

    def selective(self, taskId, userName):
        return [self._row(t) for t in
                self.storage.query(taskId=taskId, userName=userName)]

    def timerange(self, low, high):
        return [self._row(t) for t in
                self.storage.query(timeFromTo=(low, high))]

    def last(self, taskId, runId, userName):
        track = self.storage.getLastUserTrack(taskId, runId, userName)
        return None if track is None else self._row(track)

    def files(self):
        return [self.path]

    def newest(self, picks, limit=10):
        """Cost of query(..., limit=10, reverse=True) from a cold cache:
        (seconds, objects loaded) for all tracks and for one busy task."""
        out = {}
        busiest = picks[0][0]
        for name, criteria in (('all', {}), ('task', {'taskId': busiest})):
            self.conn.cacheMinimize()
            loads = self.conn.getTransferCounts()[0]
            start = time.perf_counter()
            tracks = self.storage.query(limit=limit, reverse=True,
                                        **criteria)
            rows = [self._row(t) for t in tracks]
            out[name] = (time.perf_counter() - start,
                         self.conn.getTransferCounts()[0] - loads,
                         len(rows))
        return out


class SQLitePeer:
    name = 'sqlite'

    def __init__(self, directory):
        self.path = os.path.join(directory, 'sqlite.db')

    def open(self):
        self.conn = sqlite3.connect(self.path)
        self.conn.executescript("""
            CREATE TABLE IF NOT EXISTS tracks (
                id INTEGER PRIMARY KEY, taskId TEXT NOT NULL,
                runId INTEGER NOT NULL, userName TEXT NOT NULL,
                timeStamp INTEGER NOT NULL, data TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS tracks_task ON tracks (taskId);
            CREATE INDEX IF NOT EXISTS tracks_run ON tracks (runId);
            CREATE INDEX IF NOT EXISTS tracks_user ON tracks (userName);
            CREATE INDEX IF NOT EXISTS tracks_time ON tracks (timeStamp);
            CREATE INDEX IF NOT EXISTS tracks_last
                ON tracks (taskId, runId, userName, id);
        """)

    def close(self):
        self.conn.close()

    def ingest(self, tracks):
        conn = self.conn
        insert = ('INSERT INTO tracks (taskId, runId, userName, timeStamp, '
                  'data) VALUES (?, ?, ?, ?, ?)')
        dumps = json.dumps
        count = 0
        for taskId, runId, userName, ts, data in tracks:
            conn.execute(insert, (taskId, runId, userName, ts, dumps(data)))
            count += 1
            if count % COMMIT_EVERY == 0:
                conn.commit()
        conn.commit()

    @staticmethod
    def _rows(cursor):
        loads = json.loads
        return [row[:5] + (loads(row[5]),) for row in cursor]

    COLUMNS = 'id, taskId, runId, userName, timeStamp, data'

    def selective(self, taskId, userName):
        return self._rows(self.conn.execute(
            f'SELECT {self.COLUMNS} FROM tracks WHERE taskId = ? '
            'AND userName = ? ORDER BY id', (taskId, userName)))

    def timerange(self, low, high):
        return self._rows(self.conn.execute(
            f'SELECT {self.COLUMNS} FROM tracks WHERE timeStamp '
            'BETWEEN ? AND ? ORDER BY id', (low, high)))

    def last(self, taskId, runId, userName):
        rows = self._rows(self.conn.execute(
            f'SELECT {self.COLUMNS} FROM tracks WHERE taskId = ? '
            'AND runId = ? AND userName = ? ORDER BY id DESC LIMIT 1',
            (taskId, runId, userName)))
        return rows[0] if rows else None

    def files(self):
        return [self.path]


class SouperPeer:
    """souper's Soup (records in an IOBTree, a repoze.catalog of field
    indexes) on a FileStorage of its own."""

    name = 'souper'
    _registered = False

    def __init__(self, directory):
        self.path = os.path.join(directory, 'souper.fs')
        self._register()

    @classmethod
    def available(cls):
        try:
            import souper.soup   # noqa: F401
        except ImportError:
            return False
        return True

    @classmethod
    def _register(cls):
        if cls._registered:
            return
        # odict, under souper, warns about its own deprecated names.
        warnings.filterwarnings('ignore', category=UserWarning,
                                module=r'odict\.')
        from repoze.catalog.catalog import Catalog
        from repoze.catalog.indexes.field import CatalogFieldIndex
        from souper.interfaces import ICatalogFactory, IStorageLocator
        from souper.soup import NodeAttributeIndexer, SoupData
        from zope.component import provideAdapter, provideUtility
        from zope.interface import Interface, implementer

        @implementer(IStorageLocator)
        class RootLocator:
            def __init__(self, context):
                self.context = context

            def storage(self, soupName):
                if soupName not in self.context:
                    self.context[soupName] = SoupData()
                return self.context[soupName]

        @implementer(ICatalogFactory)
        class TrackCatalog:
            def __call__(self, context=None):
                catalog = Catalog()
                for attr in ('taskId', 'runId', 'userName', 'timeStamp'):
                    catalog[attr] = CatalogFieldIndex(
                        NodeAttributeIndexer(attr))
                return catalog

        provideAdapter(RootLocator, adapts=[Interface])
        provideUtility(TrackCatalog(), name='tracks')
        cls._registered = True

    def open(self):
        from souper.soup import get_soup
        self.db = ZODB.DB(ZODB.FileStorage.FileStorage(self.path))
        self.tm = transaction.TransactionManager()
        self.conn = self.db.open(transaction_manager=self.tm)
        self.soup = get_soup('tracks', self.conn.root())
        self.soup.catalog     # created on first use
        self.tm.commit()

    def close(self):
        self.tm.abort()
        self.conn.close()
        self.db.close()

    def ingest(self, tracks):
        from souper.soup import Record
        soup, tm = self.soup, self.tm
        count = 0
        for taskId, runId, userName, ts, data in tracks:
            record = Record()
            attrs = record.attrs
            attrs['taskId'] = taskId
            attrs['runId'] = runId
            attrs['userName'] = userName
            attrs['timeStamp'] = ts
            attrs['data'] = data
            soup.add(record)
            count += 1
            if count % COMMIT_EVERY == 0:
                tm.commit()
        tm.commit()

    @staticmethod
    def _row(record):
        attrs = record.attrs
        return (record.intid, attrs['taskId'], attrs['runId'],
                attrs['userName'], attrs['timeStamp'], attrs['data'])

    def selective(self, taskId, userName):
        from repoze.catalog.query import Eq
        return [self._row(r) for r in self.soup.query(
            Eq('taskId', taskId) & Eq('userName', userName),
            sort_index='timeStamp')]

    def timerange(self, low, high):
        from repoze.catalog.query import InRange
        return [self._row(r) for r in self.soup.query(
            InRange('timeStamp', low, high), sort_index='timeStamp')]

    def last(self, taskId, runId, userName):
        from repoze.catalog.query import Eq
        rows = [self._row(r) for r in self.soup.query(
            Eq('taskId', taskId) & Eq('runId', runId)
            & Eq('userName', userName),
            sort_index='timeStamp', reverse=True, limit=1)]
        return rows[0] if rows else None

    def files(self):
        return [self.path]


PEERS = {'project': ProjectPeer, 'sqlite': SQLitePeer, 'souper': SouperPeer}
try:
    import pgpeers
    PEERS['postgres'] = pgpeers.PostgresPeer
except ImportError:         # no psycopg2: no PostgreSQL peers
    pgpeers = None


# measuring

def timed(fn, *args):
    # Start clean: without this, a full collection of the garbage an
    # earlier step left (the project's ingest leaves millions of objects
    # behind for the cyclic collector to visit) lands in whichever query
    # pass happens to trigger it, and flips a bar from run to run.
    gc.collect()
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


QUERIES = (
    # key, how to call it on a peer with a pick (taskId, runId, user, ts)
    ('selective', lambda peer, t, r, u, ts: peer.selective(t, u)),
    ('timerange', lambda peer, t, r, u, ts: peer.timerange(ts, ts + WINDOW - 1)),
    ('last', lambda peer, t, r, u, ts: peer.last(t, r, u)),
)


def measure(peer, work, memory, log):
    """Run the work on one peer; return {measure: value} (seconds, bytes).

    Each kind of query runs twice over the same picks: 'first' right after
    ingesting (whatever the peer still holds in memory), 'again' at once
    after (what a peer keeps of what it just read: ZODB's object cache,
    SQLite's page cache and the operating system's file cache).
    """
    out = {}
    memory.start()
    peer.open()
    log(f'  {peer.name}: ingest {work.size:,} tracks...')
    out['ingest'], _ = timed(peer.ingest, work.tracks())
    picks = work.picks
    for key, call in QUERIES:
        for rnd in ('first', 'again'):
            out[f'{key} {rnd}'], found = timed(
                lambda: [call(peer, *pick) for pick in picks])
        out[f'{key} rows'] = sum(len(rows) if isinstance(rows, list) else 1
                                for rows in found if rows is not None)
        if key == 'last':
            # Each pick is a track, so every (task, run, user) has a last
            # one; peers must agree on which.
            assert all(row is not None for row in found), peer.name
            out['last check'] = [row[1:5] for row in found]
    if hasattr(peer, 'newest'):
        out['newest'] = peer.newest(picks)
    peer.close()
    taskId, runId, userName, ts = picks[len(picks) // 2]
    start = time.perf_counter()
    peer.open()
    peer.selective(taskId, userName)
    out['reopen'] = time.perf_counter() - start
    peer.close()
    out['memory'] = memory.peak()
    out['size'] = sum(os.path.getsize(f) for f in peer.files()
                      if os.path.exists(f))
    if hasattr(peer, 'dbSize'):
        peer.open()
        out['size'] = peer.dbSize()
        peer.close()
    return out


def compareSize(size, peers, args, memory, log):
    work = WORKLOADS[getattr(args, 'workload', 'sessions')](
        size, seed=args.seed, queries=args.queries)
    results = {}
    directory = tempfile.mkdtemp(prefix=f'compare-{size}-', dir=args.dir)
    try:
        for name in peers:
            peer = PEERS[name](directory)
            results[name] = measure(peer, work, memory, log)
            if name != 'project':
                # Peers see the same tracks: same rows, same last tracks.
                mine, theirs = results['project'], results[name]
                for key in ('selective rows', 'timerange rows',
                            'last check'):
                    if mine[key] != theirs[key]:
                        log(f'  WARNING: {name} disagrees on {key}')
            for suffix in ('', '.index', '.lock', '.tmp', '-journal'):
                for path in peer.files()[:1]:
                    if os.path.exists(path + suffix):
                        os.remove(path + suffix)
    finally:
        if not args.keep:
            shutil.rmtree(directory, ignore_errors=True)
    return work, results


# the table

ROWS = (
    # key, label, unit, scale, bar key
    ('ingest', 'ingest, commit every 1,000', 's total', 1, 'ingest'),
    ('selective first', 'selective query (task+user)', 'ms/query', 1000,
     'selective'),
    ('selective again', '... the same again', 'ms/query', 1000,
     'selective'),
    ('timerange first', 'time range (1 hour)', 'ms/query', 1000,
     'timerange'),
    ('timerange again', '... the same again', 'ms/query', 1000,
     'timerange'),
    ('last first', 'getLastUserTrack', 'us/call', 1e6, 'last'),
    ('last again', '... the same again', 'us/call', 1e6, 'last'),
    ('reopen', 'reopen + first query', 'ms', 1000, None),
    ('size', 'file size', 'MB', 1 / 1e6, None),
    ('memory', 'peak memory (RSS)', 'MB', 1 / 1e6, None),
)
PER_CALL = ('selective', 'timerange', 'last')


def fmt(value):
    if value is None:
        return '-'
    if value >= 100:
        return f'{value:,.0f}'
    if value >= 10:
        return f'{value:.1f}'
    return f'{value:.3g}'


def table(work, results, peers):
    """The table text and {row key: bar met} for the bars against SQLite."""
    queries = len(work.picks)
    others = [p for p in peers if p != 'project']
    header = ['work', 'unit'] + list(peers)
    header += [f'project/{p}' for p in others]
    if 'sqlite' in others:
        header += ['bar', 'result']
    lines = [header]
    verdicts = {}
    for key, label, unit, scale, bar in ROWS:
        values = {}
        for name in peers:
            value = results[name][key]
            if key.split()[0] in PER_CALL:
                value /= queries
            values[name] = value * scale
        # A peer that needed (next to) nothing has no meaningful ratio.
        ratios = {p: values['project'] / values[p]
                  if values[p] > 1e-9 and (key != 'memory' or values[p] >= 1)
                  else None for p in others}
        line = [label, unit] + [fmt(values[p]) for p in peers]
        line += [fmt(ratios[p]) for p in others]
        if 'sqlite' in others:
            if bar is None:
                line += ['', '']
            else:
                limit = BARS[bar]
                ok = ratios['sqlite'] is not None \
                    and ratios['sqlite'] <= limit
                verdicts[key] = ok
                line += [f'<= {limit}', 'pass' if ok else 'FAIL']
        lines.append(line)
    widths = [max(len(str(row[i])) for row in lines)
              for i in range(len(header))]
    text = []
    for n, row in enumerate(lines):
        text.append('  '.join(str(c).ljust(w) if i < 2 else str(c).rjust(w)
                              for i, (c, w) in enumerate(zip(row, widths))))
        if n == 0:
            text.append('  '.join('-' * w for w in widths))
    mine = results['project']
    text.append(f'rows read per pass: selective {mine["selective rows"]:,}, '
                f'time range {mine["timerange rows"]:,}, getLastUserTrack '
                f'{mine["last rows"]:,}, over {queries} queries each')
    return '\n'.join(text), verdicts


# many writers

def writers(directory, threads=4, perThread=500):
    """Threads saving tracks into one storage, each with its own connection
    and transaction manager, committing every track and retrying with
    attempts(). Return (tracks saved, retries, seconds, check() result)."""
    db = openDB(os.path.join(directory, 'writers.fs'), pool_size=4 * threads)
    ensureStorage(db)
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    storage = getStorage(conn)
    with tm:
        runId = storage.startRun('bench')
    retries = [0] * threads
    saved = [[] for _ in range(threads)]
    errors = []
    barrier = threading.Barrier(threads)

    def write(n):
        mytm = transaction.TransactionManager()
        myconn = db.open(transaction_manager=mytm)
        try:
            mine = myconn.root()['tracking']
            barrier.wait()
            for i in range(perThread):
                tries = 0
                for attempt in mytm.attempts(50):
                    with attempt:
                        tries += 1
                        trackId = mine.saveUserTrack(
                            f'task{i % TASKS:02d}', runId,
                            f'user{(n * 7 + i) % 50:02d}', {'Count': i})
                retries[n] += tries - 1
                saved[n].append(trackId)
            mytm.abort()
            mine.releaseNumbers()
        except Exception as exc:    # re-raised in the main thread
            errors.append(exc)
        finally:
            mytm.abort()
            myconn.close()

    pool = [threading.Thread(target=write, args=(n,))
            for n in range(threads)]
    start = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - start
    try:
        if errors:
            raise errors[0]
        tm.abort()          # see the writers' commits
        ids = [i for mine in saved for i in mine]
        problems = storage.check()
        if len(set(ids)) != len(ids):
            problems.append('duplicate track ids')
        if len(storage) != len(ids):
            problems.append(f'{len(ids)} saved, storage holds '
                            f'{len(storage)}')
    finally:
        conn.close()
        db.close()
    return len(ids), sum(retries), elapsed, problems


# the usage tracker

TRACKER_BAR = 0.02     # tracker += 1 / SQLite committing each event


def trackerIncrements(directory, count=2000):
    """The tracker's ``tracker['clicks'] += 1`` against what AnonymousUsage
    did in SQLite: a row per change in the trackable's table, committed at
    once. Returns {name: seconds} for count events."""
    from cybertools_tracking.usage import AnonymousUsageTracker
    out = {}
    tracker = AnonymousUsageTracker(
        uuid='bench-user', filepath=os.path.join(directory, 'tracker.fs'))
    try:
        tracker.track_statistic('clicks')
        tracker.flush()
        start = time.perf_counter()
        for _ in range(count):
            tracker['clicks'] += 1
        out['project returns'] = time.perf_counter() - start
        tracker.flush()
        out['project on disk'] = time.perf_counter() - start
    finally:
        tracker.close()
    conn = sqlite3.connect(os.path.join(directory, 'tracker.db'))
    try:
        conn.execute('CREATE TABLE clicks (UUID TEXT, Count INTEGER, '
                     'Time TEXT)')
        conn.commit()
        insert = 'INSERT INTO clicks (UUID, Count, Time) VALUES (?, ?, ?)'
        start = time.perf_counter()
        for n in range(1, count + 1):
            conn.execute(insert, ('bench-user', n,
                                  time.strftime('%d/%m/%Y %H:%M:%S')))
            conn.commit()
        out['sqlite'] = time.perf_counter() - start
    finally:
        conn.close()
    return out


def trackerGrowth(directory, count):
    """File size after count increments of one statistic (the tracker
    keeps its newest max_rows = 1,000 rows), then after packing.
    Returns (seconds, bytes before pack, bytes after pack, tracks kept)."""
    from cybertools_tracking.db import pack
    from cybertools_tracking.usage import AnonymousUsageTracker
    path = os.path.join(directory, 'growth.fs')
    tracker = AnonymousUsageTracker(uuid='bench-user', filepath=path)
    try:
        tracker.track_statistic('clicks')
        start = time.perf_counter()
        for _ in range(count):
            tracker['clicks'] += 1
        tracker.flush()
        elapsed = time.perf_counter() - start
        before = os.path.getsize(path)
        pack(tracker.db)
        after = os.path.getsize(path)
        conn = tracker.db.open()
        try:
            kept = len(conn.root()['tracking'])
        finally:
            conn.close()
    finally:
        tracker.close()
    return elapsed, before, after, kept


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--sizes', default='100000,1000000',
                        help='comma-separated track counts '
                             '(default: %(default)s)')
    parser.add_argument('--peers', default='project,sqlite,souper',
                        help='which of project, sqlite, souper '
                             '(default: %(default)s)')
    parser.add_argument('--queries', type=int, default=200,
                        help='queries of each kind (default: %(default)s)')
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--workload', choices=sorted(WORKLOADS),
                        default='sessions',
                        help='sessions: 1,000 users, 20 sessions at a time '
                             '(default); scattered: a random user of 2,000 '
                             'for each track; taskruns: a run per user and '
                             'task')
    parser.add_argument('--single-commits', type=int, default=20,
                        metavar='N',
                        help='single-track commits whose file growth to '
                             'measure (default: %(default)s; 0 leaves it '
                             'out)')
    parser.add_argument('--writers', type=int, default=0, metavar='THREADS',
                        help='also measure the conflict retry rate of '
                             'this many writer threads')
    parser.add_argument('--writer-tracks', type=int, default=500,
                        help='tracks each writer thread saves '
                             '(default: %(default)s)')
    parser.add_argument('--tracker-events', type=int, default=2000,
                        metavar='N',
                        help='tracker += 1 events to time against SQLite '
                             '(default: %(default)s; 0 leaves it out)')
    parser.add_argument('--tracker-growth', type=int, default=0,
                        metavar='N',
                        help='also measure the file size after N tracker '
                             'increments, before and after packing')
    parser.add_argument('--cache-size', type=int, default=0, metavar='N',
                        help="the project's ZODB connection cache, in "
                             "objects (default: the project's default)")
    parser.add_argument('--dir', default=None,
                        help='where the files go (default: a temporary '
                             'directory, removed after)')
    parser.add_argument('--keep', action='store_true',
                        help='keep the files')
    parser.add_argument('--db', default=None, metavar='URI',
                        help='postgresql://user@host:port/db: run the '
                             'project on RelStorage there (the database is '
                             'emptied) beside the postgres peer (default '
                             'peers then: project,postgres)')
    parser.add_argument('--commits', type=int, default=500, metavar='N',
                        help='with --db: single-track commits to time '
                             '(default: %(default)s)')
    args = parser.parse_args(argv)
    if args.db:
        if pgpeers is None:
            parser.error('--db needs psycopg2 (the relstorage extra)')
        pgpeers.PostgresPeer.uri = args.db
        PEERS['project'] = pgpeers.relStoragePeer(ProjectPeer, args.db)
        if args.peers == parser.get_default('peers'):
            args.peers = 'project,postgres'
        if args.tracker_events == parser.get_default('tracker_events'):
            args.tracker_events = 0     # a FileStorage figure; not here
    try:
        sizes = [int(s.replace('_', '')) for s in args.sizes.split(',') if s]
    except ValueError:
        parser.error(f'--sizes: {args.sizes!r} is not a comma-separated '
                     f'list of ints, e.g. 100000,1000000')
    if not sizes or min(sizes) < 1:
        parser.error('--sizes: give at least one size >= 1')
    peers = [p.strip() for p in args.peers.split(',') if p.strip()]
    unknown = [p for p in peers if p not in PEERS]
    if unknown:
        parser.error(f'--peers: unknown {", ".join(unknown)}; choose from '
                     f'{", ".join(PEERS)}')
    if 'project' not in peers:
        peers.insert(0, 'project')
    if 'souper' in peers and not SouperPeer.available():
        print('souper is not installed (pip install souper, or the '
              "project's bench extra); leaving it out", file=sys.stderr)
        peers.remove('souper')

    def log(text):
        print(text, file=sys.stderr, flush=True)

    memory = PeakMemory()
    print(f'python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version},'
          f' ZODB FileStorage; peak memory by '
          f'{"RSS high-water mark" if memory.method == "rss" else "ru_maxrss"}')
    if args.cache_size:
        ProjectPeer.dbOptions = {'cache_size': args.cache_size}
    print(f'project: ZODB connection cache {ProjectPeer.cacheSize():,} '
          f'objects')
    if args.db:
        print(f'project: RelStorage on {args.db}; postgres: one table in '
              f'the same database (sizes: tables, not files)')
    perCall = {}
    verdictsAll = []
    for size in sizes:
        log(f'N = {size:,}')
        work, results = compareSize(size, peers, args, memory, log)
        text, verdicts = table(work, results, peers)
        print(f'\nN = {size:,} tracks ({TASKS} tasks, {args.workload} '
              f'workload, {DAYS} days)')
        print(text)
        for name, (seconds, loads, rows) in \
                results['project']['newest'].items():
            what = 'all tracks' if name == 'all' else 'one task'
            print(f'project: query({what}, limit=10, reverse=True) from a '
                  f'cold cache: {seconds * 1e3:.2f} ms, {loads} objects '
                  f'loaded for {rows} tracks')
        sys.stdout.flush()
        verdictsAll.append(verdicts)
        perCall[size] = {rnd: results['project'][f'last {rnd}']
                         / len(work.picks) for rnd in ('first', 'again')}
    if len(sizes) > 1:
        small, large = min(sizes), max(sizes)
        for rnd in ('first', 'again'):
            growth = perCall[large][rnd] / perCall[small][rnd]
            ok = growth <= FLAT_GROWTH
            print(f'getLastUserTrack ({rnd}) {small:,} -> {large:,} tracks: '
                  f'{perCall[small][rnd] * 1e6:.1f} -> '
                  f'{perCall[large][rnd] * 1e6:.1f} us/call (x{growth:.2f},'
                  f' flat means <= x{FLAT_GROWTH}): '
                  f'{"pass" if ok else "FAIL"}')
            verdictsAll.append({f'flat {rnd}': ok})
    if args.writers:
        directory = tempfile.mkdtemp(prefix='compare-writers-', dir=args.dir)
        try:
            total, retries, elapsed, problems = writers(
                directory, args.writers, args.writer_tracks)
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        rate = retries / total
        print(f'\n{args.writers} writer threads, one commit per track: '
              f'{total:,} tracks in {elapsed:.1f} s, {retries} conflict '
              f'retries = {rate:.3f} per committed track (bar < 0.25: '
              f'{"pass" if rate < 0.25 else "FAIL"}); check(): '
              f'{"clean" if not problems else problems[:3]}')
        verdictsAll.append({'writers': rate < 0.25 and not problems})
    if args.single_commits:
        directory = tempfile.mkdtemp(prefix='compare-single-', dir=args.dir)
        try:
            grown = singleCommits(directory, commits=args.single_commits)
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        ok = grown['project'] <= SINGLE_BAR
        print(f'\na track committed alone ({args.single_commits} commits '
              f'into 10,000 tracks): the FileStorage grows '
              f'{grown["project"] / 1e3:.2f} KB per commit (bar <= '
              f'{SINGLE_BAR / 1e3:g} KB: {"pass" if ok else "FAIL"}); '
              f'SQLite in WAL mode appends {grown["sqlite WAL"] / 1e3:.2f} '
              f'KB to its log (reused after a checkpoint)')
        verdictsAll.append({'single commit': ok})
    if args.tracker_events:
        directory = tempfile.mkdtemp(prefix='compare-tracker-', dir=args.dir)
        try:
            times = trackerIncrements(directory, args.tracker_events)
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        n = args.tracker_events
        perEvent = {k: v / n * 1e6 for k, v in times.items()}
        ratio = times['project returns'] / times['sqlite']
        ok = ratio <= TRACKER_BAR
        print(f"\ntracker['clicks'] += 1, {n:,} events: returns after "
              f"{perEvent['project returns']:.1f} us (on disk after flush: "
              f"{perEvent['project on disk']:.1f} us/event); SQLite "
              f"committing each: {perEvent['sqlite']:.0f} us/event; ratio "
              f"{ratio:.4f} (on disk {times['project on disk'] / times['sqlite']:.3f}),"
              f" bar <= {TRACKER_BAR}: {'pass' if ok else 'FAIL'}")
        verdictsAll.append({'tracker': ok})
    if args.tracker_growth:
        directory = tempfile.mkdtemp(prefix='compare-growth-', dir=args.dir)
        try:
            elapsed, before, after, kept = trackerGrowth(
                directory, args.tracker_growth)
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        print(f'\n{args.tracker_growth:,} tracker increments in '
              f'{elapsed:.1f} s ({args.tracker_growth / elapsed:,.0f}/s); '
              f'{kept:,} tracks kept (max_rows); file '
              f'{before / 1e6:,.1f} MB, after pack {after / 1e6:,.2f} MB')
    if args.db and args.commits:
        costs = pgpeers.commitCost(args.db, args.commits)
        print(f'\nsingle-track commit, {args.commits} in a row, on '
              f'{args.db}:')
        for name, cost in costs.items():
            print(f'  {name:10} {cost["ms"]:6.2f} ms/commit  '
                  f'{cost["objects"]:5.1f} objects  '
                  f'{cost["wal"] / 1e3:6.1f} KB WAL  '
                  f'{cost["tables"] / 1e3:6.1f} KB table growth, '
                  f'{cost["vacuumed"] / 1e3:6.1f} KB once vacuumed')
        ratio = costs['RelStorage']['ms'] / costs['INSERT']['ms']
        wal = costs['RelStorage']['wal'] / costs['INSERT']['wal']
        print(f'  RelStorage / INSERT: time x{ratio:.1f}, WAL x{wal:.1f}')
    failed = [k for v in verdictsAll for k, ok in v.items() if not ok]
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
