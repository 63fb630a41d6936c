"""Writer processes saving tracks into one database, a commit per track,
through ``Session.run`` (its default attempts): retries per track, the
longest wait for one track, and tracks whose save gave up, with the
retry pauses as they are and without them, side by side::

    python benchmarks/writers.py --db postgresql://postgres@127.0.0.1:5432/bench
    python benchmarks/writers.py --db zeo://127.0.0.1:8100 --writers 4

The database is emptied first for postgresql:// URIs (RelStorage's
zap_all) and must be empty otherwise; ``--prefill`` tracks are saved
before the writers start, so trees have their working depth.
"""

import argparse
import json
import subprocess
import sys
import time

from cybertools_tracking.db import Session, openDB

WRITER = r'''
import json, sys, time
from cybertools_tracking import retries
from cybertools_tracking.db import Session
uri, writer, count, pauses = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
if pauses == 'off':
    retries.FIRST_PAUSE = retries.MAX_PAUSE = 0
saved, calls, gaveUp, waits = 0, [], [], []
with Session(uri) as session:
    for i in range(count):
        mine = []
        def save(storage):
            mine.append(time.perf_counter())
            return storage.saveUserTrack('task%d' % (i % 4), 0,
                                         'user%d' % (writer * 100 + i % 50),
                                         {'writer': writer, 'i': i})
        try:
            session.run(save)
            saved += 1
        except Exception as exc:
            gaveUp.append(type(exc).__name__)
        if len(mine) > 1:
            waits.append(time.perf_counter() - mine[0])
        calls.append(len(mine))
print(json.dumps({'saved': saved, 'retries': sum(calls) - count,
                  'gaveUp': gaveUp, 'longest': max(waits, default=0)}))
'''


def prepare(uri, prefill):
    if uri.startswith(('postgresql://', 'postgres://')):
        db = openDB(uri)
        db.storage.zap_all()
        db.close()
    with Session(uri) as session:
        if len(session.storage):
            raise SystemExit(f'{uri}: not empty')

        def fill(storage):
            for n in range(prefill):
                storage.saveUserTrack(f'task{n % 4}', 0, f'user{n % 300}',
                                      {'n': n})
        session.run(fill)


def run(uri, writers, tracks, pauses):
    procs = [subprocess.Popen(
        [sys.executable, '-c', WRITER, uri, str(n), str(tracks), pauses],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for n in range(writers)]
    results = []
    start = time.perf_counter()
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode:
            raise SystemExit(f'a writer failed:\n{err}')
        results.append(json.loads(out))
    elapsed = time.perf_counter() - start
    with Session(uri) as session:
        problems = session.storage.check()
        held = len(session.storage)
    return results, elapsed, problems, held


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--db', required=True, metavar='URI')
    parser.add_argument('--writers', type=int, default=3)
    parser.add_argument('--tracks', type=int, default=300,
                        help='per writer (default: %(default)s)')
    parser.add_argument('--prefill', type=int, default=5000)
    args = parser.parse_args(argv)
    print(f'{args.writers} writer processes x {args.tracks} tracks, a '
          f'commit each, Session.run; {args.prefill:,} tracks before; '
          f'{args.db}')
    for pauses in ('on', 'off'):
        prepare(args.db, args.prefill)
        results, elapsed, problems, held = run(args.db, args.writers,
                                               args.tracks, pauses)
        saved = sum(r['saved'] for r in results)
        retries = sum(r['retries'] for r in results)
        gaveUp = [name for r in results for name in r['gaveUp']]
        longest = max(r['longest'] for r in results)
        print(f'pauses {pauses:3}: {saved:,} saved in {elapsed:.1f} s, '
              f'{retries / (saved + len(gaveUp)):.3f} retries per track, '
              f'longest wait {longest:.2f} s, {len(gaveUp)} gave up '
              f'({", ".join(sorted(set(gaveUp))) or "-"}); storage holds '
              f'{held - args.prefill:,} new; check(): '
              f'{"clean" if not problems else problems[:2]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
