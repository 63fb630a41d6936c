"""PostgreSQL peers for compare.py (``--db postgresql://...``).

* the project on RelStorage in the database the URI names (emptied first:
  use a database of its own);
* ``postgres``: the SQLite peer's table, with the same indexes, in the
  same database on the same server, through psycopg2: one INSERT per
  track, a commit every 1,000 (the work the other peers do);
* ``commitCost``: what one single-track commit costs on RelStorage next to
  a plain INSERT + COMMIT of a row: time, objects written, and the bytes
  PostgreSQL writes to its log (WAL) and adds to the tables.
"""

import json
import time

import psycopg2
import transaction

from cybertools_tracking import postgres
from cybertools_tracking.db import ensureStorage, getStorage, openDB

TABLE = 'compare_tracks'
COMMIT_EVERY = 1000
# RelStorage's tables in both modes (those that exist are counted).
RELSTORAGE_TABLES = ('object_state', 'current_object', 'transaction',
                     'object_ref', 'object_refs_added', 'pack_object',
                     'blob_chunk')


def connect(uri):
    connection, _, _ = postgres.parseURI(uri)
    return psycopg2.connect(postgres.makeDSN(connection))


def tableBytes(cursor, tables):
    total = 0
    for table in tables:
        cursor.execute('SELECT to_regclass(%s)', (table,))
        if cursor.fetchone()[0] is not None:
            cursor.execute('SELECT pg_total_relation_size(%s)', (table,))
            total += cursor.fetchone()[0]
    return total


def walPosition(cursor):
    cursor.execute('SELECT pg_current_wal_lsn()')
    return cursor.fetchone()[0]


def walBytes(cursor, start):
    cursor.execute('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)',
                   (start,))
    return int(cursor.fetchone()[0])


def wipeRelStorage(uri):
    db = openDB(uri)
    try:
        db.storage.zap_all()
    finally:
        db.close()


def relStoragePeer(projectPeer, uri):
    """The compare.py project peer, on RelStorage at uri."""

    class RelStoragePeer(projectPeer):
        def __init__(self, directory):
            self.path = uri
            wipeRelStorage(uri)

        def files(self):
            return []

        def dbSize(self):
            conn = connect(uri)
            try:
                with conn.cursor() as cursor:
                    return tableBytes(cursor, RELSTORAGE_TABLES)
            finally:
                conn.close()

    return RelStoragePeer


class PostgresPeer:
    """The SQLite peer's table and indexes in PostgreSQL."""

    name = 'postgres'
    uri = None

    def __init__(self, directory):
        conn = connect(self.uri)
        try:
            with conn, conn.cursor() as cursor:
                cursor.execute(f'DROP TABLE IF EXISTS {TABLE}')
        finally:
            conn.close()

    def open(self):
        self.conn = connect(self.uri)
        with self.conn, self.conn.cursor() as cursor:
            cursor.execute(f"""
                CREATE TABLE IF NOT EXISTS {TABLE} (
                    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    taskId TEXT NOT NULL, runId BIGINT NOT NULL,
                    userName TEXT NOT NULL, timeStamp BIGINT NOT NULL,
                    data TEXT NOT NULL);
                CREATE INDEX IF NOT EXISTS {TABLE}_task ON {TABLE} (taskId);
                CREATE INDEX IF NOT EXISTS {TABLE}_run ON {TABLE} (runId);
                CREATE INDEX IF NOT EXISTS {TABLE}_user ON {TABLE} (userName);
                CREATE INDEX IF NOT EXISTS {TABLE}_time ON {TABLE} (timeStamp);
                CREATE INDEX IF NOT EXISTS {TABLE}_last
                    ON {TABLE} (taskId, runId, userName, id);
            """)

    def close(self):
        self.conn.close()

    INSERT = (f'INSERT INTO {TABLE} (taskId, runId, userName, timeStamp, '
              f'data) VALUES (%s, %s, %s, %s, %s)')

    def ingest(self, tracks):
        conn = self.conn
        dumps = json.dumps
        count = 0
        with conn.cursor() as cursor:
            for taskId, runId, userName, ts, data in tracks:
                cursor.execute(self.INSERT,
                               (taskId, runId, userName, ts, dumps(data)))
                count += 1
                if count % COMMIT_EVERY == 0:
                    conn.commit()
        conn.commit()

    COLUMNS = 'id, taskId, runId, userName, timeStamp, data'

    def _rows(self, query, args):
        loads = json.loads
        with self.conn.cursor() as cursor:
            cursor.execute(query, args)
            # Ids as the project names its tracks, so rows compare equal.
            rows = [('%07i' % row[0],) + row[1:5] + (loads(row[5]),)
                    for row in cursor]
        self.conn.rollback()        # end the read transaction, as SQLite
        return rows

    def selective(self, taskId, userName):
        return self._rows(
            f'SELECT {self.COLUMNS} FROM {TABLE} WHERE taskId = %s '
            'AND userName = %s ORDER BY id', (taskId, userName))

    def timerange(self, low, high):
        return self._rows(
            f'SELECT {self.COLUMNS} FROM {TABLE} WHERE timeStamp '
            'BETWEEN %s AND %s ORDER BY id', (low, high))

    def last(self, taskId, runId, userName):
        rows = self._rows(
            f'SELECT {self.COLUMNS} FROM {TABLE} WHERE taskId = %s '
            'AND runId = %s AND userName = %s ORDER BY id DESC LIMIT 1',
            (taskId, runId, userName))
        return rows[0] if rows else None

    def files(self):
        return []

    def dbSize(self):
        with self.conn.cursor() as cursor:
            size = tableBytes(cursor, (TABLE,))
        self.conn.rollback()
        return size


def _timedCommits(cursor, tables, commits, commitOne):
    """Make commits commits (commitOne(n)); per commit: milliseconds
    ('ms'), WAL bytes ('wal') and the tables' growth ('tables')."""
    size, wal = tableBytes(cursor, tables), walPosition(cursor)
    began = time.perf_counter()
    for n in range(commits):
        commitOne(n)
    elapsed = time.perf_counter() - began
    return {'ms': elapsed / commits * 1e3,
            'wal': walBytes(cursor, wal) / commits,
            'tables': (tableBytes(cursor, tables) - size) / commits}


def _vacuumedGrowth(cursor, tables, commits, commitOne):
    """VACUUM the tables, make commits more commits (commitOne(n)), and
    return the tables' growth per commit."""
    for table in tables:
        cursor.execute('SELECT to_regclass(%s)', (table,))
        if cursor.fetchone()[0] is not None:
            cursor.execute(f'VACUUM {table}')
    size = tableBytes(cursor, tables)
    for n in range(commits):
        commitOne(n)
    return (tableBytes(cursor, tables) - size) / commits


def commitCost(uri, commits=500, start=2000):
    """Single-track commits on RelStorage at uri (emptied, then holding
    start tracks) against INSERT + COMMIT of one row into the peer table
    (emptied, holding start rows). Returns {peer: {measure: value}};
    'vacuumed' is the tables' growth per commit of as many commits more
    after a VACUUM: what stays once dead row versions are free for
    reuse, as autovacuum makes them."""
    out = {}
    wipeRelStorage(uri)
    db = openDB(uri)
    ensureStorage(db)     # getStorage inside a transaction never commits
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    pg = connect(uri)
    pg.autocommit = True
    cursor = pg.cursor()
    try:
        storage = getStorage(conn)
        with tm:
            for n in range(start):
                storage.saveUserTrack(f'task{n % 50:02d}', 0,
                                      f'user{n % 1000:04d}', {'Count': n})

        def saveOne(n):
            with tm:
                storage.saveUserTrack(f'task{n % 50:02d}', 0,
                                      f'user{n * 7 % 1000:04d}', {'Count': n})
        conn.getTransferCounts(clear=True)
        cost = out['RelStorage'] = _timedCommits(
            cursor, RELSTORAGE_TABLES, commits, saveOne)
        cost['objects'] = conn.getTransferCounts()[1] / commits
        cost['vacuumed'] = _vacuumedGrowth(
            cursor, RELSTORAGE_TABLES, commits, saveOne)
        storage.releaseNumbers()
    finally:
        tm.abort()
        conn.close()
        db.close()
    try:
        peer = PostgresPeer(None)
        peer.open()
        peer.ingest((f'task{n % 50:02d}', 1, f'user{n % 1000:04d}', n,
                     {'Count': n}) for n in range(start))

        def insertOne(n):
            with peer.conn.cursor() as insert:
                insert.execute(PostgresPeer.INSERT, (
                    f'task{n % 50:02d}', 1, f'user{n * 7 % 1000:04d}', n,
                    json.dumps({'Count': n})))
            peer.conn.commit()
        cost = out['INSERT'] = _timedCommits(cursor, (TABLE,), commits,
                                             insertOne)
        cost['objects'] = 1.0
        cost['vacuumed'] = _vacuumedGrowth(cursor, (TABLE,), commits,
                                           insertOne)
        peer.close()
    finally:
        cursor.close()
        pg.close()
    return out
