"""Upkeep subcommands: ``check`` (and ``--repair``) and ``pack``.

``check`` cross-checks every index, the task-user table and the last-track
table against the tracks (``TrackingStorage.check()``) and prints each
difference; it exits 1 when there are any, unless ``--repair`` rebuilt the
indexes and the storage then agrees. ``pack`` drops the history a
FileStorage (or a ZEO server's storage) keeps of every change.
"""

import argparse
import os
import sys

from cybertools_tracking.cli.common import (
    CommandError, addDbArgument, openSession)
from cybertools_tracking.cli.progress import Progress, runWatched
from cybertools_tracking.db import isURI
from cybertools_tracking.db import pack as packDB


def register(subparsers):
    parser = subparsers.add_parser(
        'check', help='cross-check the indexes against the tracks',
        description='Cross-check every index, the task-user table and the '
                    'last-track table against the tracks and print each '
                    'difference. Exit status 0: all agree; 1: differences '
                    '(left as they are unless --repair fixed them).')
    addDbArgument(parser)
    parser.add_argument('--repair', action='store_true',
                        help='when there are differences, rebuild the '
                             'indexes from the tracks, commit and check '
                             'again')
    parser.set_defaults(handler=check)

    parser = subparsers.add_parser(
        'pack', help='drop old history so the file shrinks',
        description='Pack the database: drop the old versions of changed '
                    'objects and the objects no longer reachable. A '
                    "FileStorage keeps the file as it was in PATH.old "
                    '(remove it to get the space back).')
    addDbArgument(parser)
    parser.add_argument('--days', type=_days, default=0.0, metavar='N',
                        help='keep the history of the last N days '
                             '(default: 0, keep only the current state)')
    parser.set_defaults(handler=pack)


def _days(text):
    try:
        days = float(text)
    except ValueError:
        days = -1.0
    if not days >= 0 or days == float('inf'):
        raise argparse.ArgumentTypeError(
            f'{text!r} is not a number of days >= 0 (e.g. 0, 7 or 0.5)')
    return days


def openForWriting(args):
    """A writable Session on an existing database and storage: repairing
    or packing never creates either."""
    return openSession(args, write=True, create=False)


def check(args):
    # Checking only reads (and works while a tracker holds the file);
    # repairing needs the file to itself.
    opener = openForWriting if args.repair else openSession
    with opener(args) as session:
        storage = session.storage
        problems = storage.check()
        if not problems:
            print(f'{args.db}: {len(storage):,} tracks; indexes, task-user '
                  f'and last-track tables agree with them')
            return 0
        for problem in problems:
            print(problem)
        if not args.repair:
            print(f'{args.db}: {len(problems)} difference(s); run check '
                  f'--repair to rebuild the indexes', file=sys.stderr)
            return 1
        session.run(lambda storage: storage.reindexTracks())
        left = storage.check()
        if left:
            for problem in left:
                print(f'after repair: {problem}')
            print(f'{args.db}: reindexed, {len(left)} difference(s) that '
                  f'reindexing cannot fix remain', file=sys.stderr)
            return 1
        print(f'{args.db}: repaired {len(problems)} difference(s) by '
              f'reindexing {len(storage):,} tracks')
        return 0


def pack(args):
    path = None if isURI(args.db) else args.db
    before = _size(path)
    with openForWriting(args) as session:
        try:
            with Progress('packing', 'bytes') as progress:
                # FileStorage writes what it keeps into PATH.pack: its
                # size, of at most the whole file, is how far it got. A
                # server packs out of sight.
                progress.enabled = progress.enabled and path is not None
                runWatched(lambda: packDB(session.db, args.days),
                           lambda: _size(f'{path}.pack') or 0, before,
                           progress)
        except Exception as exc:
            raise CommandError(f'cannot pack ({type(exc).__name__}: '
                               f'{exc})') from None
    kept = f'history of the last {args.days:g} day(s)' if args.days \
        else 'only the current state'
    if path is None:
        print(f'{args.db}: packed, kept {kept}')
    else:
        print(f'{args.db}: packed, kept {kept}: {before:,} -> '
              f'{_size(path):,} bytes (the old file is {path}.old)')
    return 0


def _size(path):
    return os.path.getsize(path) if path and os.path.exists(path) else None
