"""Cold reads over the network: a query result's tracks loaded one by one
against loaded in batches (``Connection.prefetch``), side by side in one
process, on ZEO (a ``runzeo`` server started here on 127.0.0.1) and, with
``--db postgresql://...``, on RelStorage (that database is emptied)::

    python benchmarks/cold_reads.py --tracks 20000
    python benchmarks/cold_reads.py --db postgresql://postgres@127.0.0.1:5432/bench

Each measurement opens the database anew (empty object and client
caches), runs one query and reads every track's data; the best of
``--repeat`` runs is kept. "one by one" is the same code with batches of
one track (results.PREFETCH_BATCH = 1).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

import transaction

# The servers the tests start, started the same way here.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                os.pardir, 'tests'))
from servers import zeoServer  # noqa: E402

from cybertools_tracking import results
from cybertools_tracking.db import ensureStorage, getStorage, openDB

TASKS = 20
USERS = 200
def fill(uri, count):
    db = openDB(uri)
    ensureStorage(db)     # getStorage inside a transaction never commits
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    try:
        storage = getStorage(conn)
        with tm:
            for n in range(count):
                storage.saveUserTrack(f'task{n % TASKS:02d}', 0,
                                      f'user{n * 7 % USERS:03d}',
                                      {'Count': n, 'text': 'x' * 40})
                if n % 5000 == 4999:
                    tm.commit()
        storage.releaseNumbers()
    finally:
        tm.abort()
        conn.close()
        db.close()


QUERIES = (
    ('one task (index)', {'taskId': 'task03'}),
    ('one user (user-track table)', {'userName': 'user007'}),
    ('task + user', {'taskId': 'task01', 'userName': 'user007'}),
    ('newest 500 of all', {'limit': 500, 'reverse': True}),
)


def coldQuery(uri, criteria, batch):
    results.PREFETCH_BATCH = batch
    db = openDB(uri)
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    try:
        storage = conn.root()['tracking']
        start = time.perf_counter()
        rows = [track.data['Count'] for track in storage.query(**criteria)]
        return time.perf_counter() - start, len(rows)
    finally:
        tm.abort()
        conn.close()
        db.close()


def measure(name, uri, repeat, batch):
    print(f'\n{name}: {uri}')
    print(f'{"query":30} {"tracks":>6} {"one by one":>11} '
          f'{"batched":>9} {"ratio":>6}')
    for label, criteria in QUERIES:
        best = {}
        for size in (1, batch):
            times = [coldQuery(uri, criteria, size) for _ in range(repeat)]
            best[size] = min(t for t, _ in times)
            found = times[0][1]
        print(f'{label:30} {found:6} {best[1] * 1e3:8.1f} ms '
              f'{best[batch] * 1e3:6.1f} ms {best[1] / best[batch]:6.2f}')
    sys.stdout.flush()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--tracks', type=int, default=20000)
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--db', default=None, metavar='URI',
                        help='also RelStorage on this postgresql:// URI '
                             '(emptied first)')
    parser.add_argument('--no-zeo', action='store_true')
    args = parser.parse_args(argv)
    batch = results.PREFETCH_BATCH
    print(f'{args.tracks:,} tracks, {TASKS} tasks, {USERS} users; batches '
          f'of {batch}; best of {args.repeat}; ratio = one by one / batched')
    if not args.no_zeo:
        with tempfile.TemporaryDirectory(prefix='cold-reads-') as directory, \
                zeoServer(directory, stderr=subprocess.DEVNULL) as uri:
            fill(uri, args.tracks)
            measure('ZEO (runzeo, FileStorage)', uri, args.repeat, batch)
    if args.db:
        db = openDB(args.db)
        db.storage.zap_all()
        db.close()
        fill(args.db, args.tracks)
        measure('RelStorage', args.db, args.repeat, batch)
    return 0


if __name__ == '__main__':
    sys.exit(main())
