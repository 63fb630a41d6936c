"""Peak memory of ``cybertools-tracking export`` as the storage grows.

Fills a FileStorage with N tracks for each size (saveUserTrack, a commit
every 1,000), then runs each command below in a child process of its own,
stdout to /dev/null, under ``/usr/bin/time -f %M`` for its peak RSS (a
child forked straight from this process would count this process's pages
too):

* ``export --format jsonl`` and ``export --format csv --columns ...``
  (the streamed export; csv with its keys named, one pass),
* ``export --format csv`` (two passes: the keys, then the rows),
* ``query --json`` (streamed too),
* ``query --limit 1``: opening the database and reading one track, the
  floor every command pays (ZODB keeps the file's index in memory),
* the peer: the same tracks gathered into one list and dumped as JSON,
  which is what ``query --json`` did before it streamed (run only up to
  ``--peer-max`` tracks: it needs memory in proportion).

It prints, per size, each command's peak RSS (MB) and seconds, the ratio
of peak RSS at the largest size to the smallest (1.0: independent of the
count), each command's peak against the peer's, and how far above the
floor it is at the smallest and the largest size (what the command itself
holds, without ZODB's index of the file). Run from the checkout::

    python benchmarks/export_memory.py                       # 100k and 1M
    python benchmarks/export_memory.py --sizes 20000 100000
    python benchmarks/export_memory.py --dir /var/tmp --keep

It always exits 0.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

from cybertools_tracking.db import Session

COMMIT_EVERY = 1000
TIME = '/usr/bin/time'      # GNU time (Debian: apt-get install time)
TASKS = 50
USERS = 1000

PEER_NAME = 'peer: one list, dumped'
FLOOR_NAME = 'query --limit 1 (floor)'
PEER = '''
import json, sys
from cybertools_tracking.cli.storage import trackDict
from cybertools_tracking.db import Session
with Session(sys.argv[1], read_only=True, create=False) as s:
    rows = [trackDict(t) for t in s.storage.query()]
    sys.stdout.write(json.dumps(rows, indent=2, sort_keys=True, default=str))
'''


def commands(path):
    cli = [sys.executable, '-m', 'cybertools_tracking']
    return [
        ('export jsonl', cli + ['export', '--db', path]),
        ('export csv, --columns', cli + ['export', '--db', path, '--format',
                                         'csv', '--columns', 'Count,note']),
        ('export csv (2 passes)', cli + ['export', '--db', path,
                                         '--format', 'csv']),
        ('query --json', cli + ['query', '--db', path, '--json']),
        ('query --limit 1 (floor)', cli + ['query', '--db', path,
                                           '--limit', '1']),
        ('peer: one list, dumped', [sys.executable, '-c', PEER, path]),
    ]


def fill(path, size):
    def batch(storage, start):
        for n in range(start, min(start + COMMIT_EVERY, size)):
            storage.saveUserTrack(f'task{n % TASKS:02d}', 0,
                                  f'user{n % USERS:04d}',
                                  {'Count': n, 'note': f'track {n}, "ok"'},
                                  timeStamp=1_700_000_000 + n)

    with Session(path) as s:
        for start in range(0, size, COMMIT_EVERY):
            s.run(batch, start)


def peak(argv):
    """(peak RSS in MB, seconds) of a child running argv."""
    with tempfile.NamedTemporaryFile('r') as report:
        started = time.perf_counter()
        proc = subprocess.run([TIME, '-o', report.name, '-f', '%M'] + argv,
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
        seconds = time.perf_counter() - started
        if proc.returncode:
            print(f'  {argv[3:5]} failed ({proc.returncode}): '
                  f'{proc.stderr.decode(errors="replace").strip()}')
        kilobytes = int(report.read().split()[-1])
    return kilobytes / 1024, seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--sizes', type=int, nargs='+',
                        default=[100_000, 1_000_000])
    parser.add_argument('--dir', default=None,
                        help='where the databases go (default: a temporary '
                             'folder)')
    parser.add_argument('--keep', action='store_true',
                        help='keep the databases (and reuse them next time)')
    parser.add_argument('--peer-max', type=int, default=100_000,
                        help='the largest size the peer runs at (default: '
                             '%(default)s)')
    parser.add_argument('--fill', nargs=2, metavar=('PATH', 'N'),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fill:
        fill(args.fill[0], int(args.fill[1]))
        return 0
    folder = args.dir or tempfile.mkdtemp(prefix='export-memory-')
    os.makedirs(folder, exist_ok=True)
    results = {}
    try:
        for size in args.sizes:
            path = os.path.join(folder, f'export-{size}.fs')
            if not os.path.exists(path):
                started = time.perf_counter()
                # In a child: this process stays small.
                subprocess.run([sys.executable, __file__, '--fill', path,
                                str(size)], check=True)
                print(f'{size:,} tracks filled in '
                      f'{time.perf_counter() - started:.0f} s '
                      f'({os.path.getsize(path) / 1e6:.0f} MB)', flush=True)
            for name, argv in commands(path):
                if name == PEER_NAME and size > args.peer_max:
                    continue
                results[name, size] = peak(argv)
                rss, seconds = results[name, size]
                print(f'  {size:>9,}  {name:<24} {rss:8.1f} MB '
                      f'{seconds:8.1f} s  ({size / seconds:,.0f} tracks/s)',
                      flush=True)
    finally:
        if not args.keep and not args.dir:
            shutil.rmtree(folder, ignore_errors=True)
    small, large = min(args.sizes), max(args.sizes)
    peered = max(size for size in args.sizes
                 if (PEER_NAME, size) in results)
    print(f'\npeak RSS, MB: {small:,} and {large:,} tracks, ratio '
          f'{large:,}/{small:,}; at {peered:,} against the peer and the '
          f'floor')
    for name, _ in commands(''):
        a = results[name, small][0]
        b = results.get((name, large), (float('nan'),))[0]
        here = results[name, peered][0]
        above = [results[name, size][0] - results[FLOOR_NAME, size][0]
                 if (name, size) in results else float('nan')
                 for size in (small, large)]
        print(f'  {name:<24} {a:8.1f} {b:8.1f}   x{b / a:.2f}   '
              f'{here / results[PEER_NAME, peered][0]:.2f} of the peer; '
              f'above the floor {above[0]:+.1f} and {above[1]:+.1f} MB')
    return 0


if __name__ == '__main__':
    sys.exit(main())
