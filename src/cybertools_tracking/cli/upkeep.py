"""Upkeep subcommands: ``check`` (and ``--repair``) and ``pack``.

``check`` cross-checks every index, the task-user table and the user-track
table against the tracks (``TrackingStorage.check()``) and prints each
difference; it exits 1 when there are any, unless ``--repair`` rebuilt the
indexes and the storage then agrees. ``--repair`` also stores a storage
of an older schema generation in the current one. ``pack`` drops the
history a FileStorage (or a ZEO server's storage) keeps of every change.
"""

import os
import sys

from cybertools_tracking import generations
from cybertools_tracking.check import (
    Unreadable, capturedLoadErrors, capturedLogRecords)
from cybertools_tracking.cli.common import CommandError, addDbArgument
from cybertools_tracking.cli.progress import Progress, runWatched
from cybertools_tracking.cli.storage import openStorage
from cybertools_tracking.db import isURI
from cybertools_tracking.db import pack as packDB

# A hundred years: ZODB cannot pack to a time before 1900.
MAX_DAYS = 36_500


def register(subparsers):
    parser = subparsers.add_parser(
        'check', help='cross-check the indexes against the tracks',
        description='Cross-check every index, the task-user table and the '
                    'user-track table against the tracks and print each '
                    'difference. Exit status 0: all agree; 1: differences '
                    '(left as they are unless --repair fixed them) or '
                    'parts that cannot be read.')
    addDbArgument(parser)
    parser.add_argument('--repair', action='store_true',
                        help='when there are differences, rebuild the '
                             'indexes from the tracks, commit and check '
                             'again; store a storage of an older schema '
                             'generation in the current one')
    parser.set_defaults(handler=check)

    parser = subparsers.add_parser(
        'pack', help='drop old history so the file shrinks',
        description='Pack the database: drop the old versions of changed '
                    'objects and the objects no longer reachable. A '
                    "FileStorage keeps the file as it was in PATH.old "
                    '(remove it to get the space back).')
    addDbArgument(parser)
    parser.add_argument('--days', default='0', metavar='N',
                        help='keep the history of the last N days, 0 to '
                             f'{MAX_DAYS:,} (default: 0, keep only the '
                             'current state)')
    parser.set_defaults(handler=pack)


def _days(text):
    try:
        days = float(text)
    except ValueError:
        days = -1.0
    if not 0 <= days <= MAX_DAYS:
        raise CommandError(
            f'--days must be a number of days from 0 to {MAX_DAYS:,} '
            f'(e.g. 0, 7 or 0.5), not {text!r}')
    return days


def check(args):
    # Checking only reads (and works while a tracker holds the file);
    # repairing needs the file to itself. Neither creates anything.
    with openStorage(args, write=args.repair, create=False) as (session,
                                                                storage):
        with Progress('checking', 'tracks') as progress:
            problems = storage.check(progress=progress)
        for problem in problems:
            print(problem)
        if any(isinstance(problem, Unreadable) for problem in problems):
            print(f'{args.db}: parts of the storage cannot be read (a '
                  f'damaged file); reindexing cannot repair that: restore '
                  f'the file from a backup', file=sys.stderr)
            return 1
        _generation(args, session, storage)
        if not problems:
            print(f'{args.db}: {len(storage):,} tracks; indexes, task-user '
                  f'and user-track tables agree with them')
            return 0
        if not args.repair:
            print(f'{args.db}: {len(problems)} difference(s); run check '
                  f'--repair to rebuild the indexes', file=sys.stderr)
            return 1
        return _repair(args, session, storage, problems)


def _generation(args, session, storage):
    """Say when the storage is saved in an older schema generation; with
    --repair, store it in the current one."""
    stored = generations.storedGeneration(storage)
    if stored == generations.GENERATION:
        return
    if args.repair:
        session.run(generations.evolve)
        print(f'{args.db}: stored schema generation {stored} as '
              f'generation {generations.GENERATION}')
    else:
        print(f'{args.db}: saved in schema generation {stored}, read as '
              f'{generations.GENERATION}; check --repair stores it so')


def _repair(args, session, storage, problems):
    try:
        with Progress('reindexing', 'tracks') as progress:
            session.run(lambda storage: storage.reindexTracks(
                progress=progress))
    except ValueError as exc:
        # session.run aborted the transaction: nothing was changed.
        print(f'{args.db}: cannot repair, nothing was changed: {exc}',
              file=sys.stderr)
        return 1
    with Progress('checking again', 'tracks') as progress:
        left = storage.check(progress=progress)
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
    days = _days(args.days)
    path = None if isURI(args.db) else args.db
    before = _size(path)
    # What the key holds is checked before the file is touched.
    with openStorage(args, write=True, create=False) as (session, storage):
        try:
            with capturedLoadErrors(), capturedLogRecords(
                    'ZODB.DB', 'packing'), \
                    Progress('packing', 'bytes') as progress:
                # FileStorage writes what it keeps into PATH.pack: its
                # size, of at most the whole file, is how far it got. A
                # server packs out of sight.
                progress.enabled = progress.enabled and path is not None
                runWatched(lambda: packDB(session.db, days),
                           lambda: _size(f'{path}.pack') or 0, before,
                           progress)
        except Exception as exc:
            raise CommandError(f'cannot pack ({type(exc).__name__}: '
                               f'{exc})') from None
    kept = f'history of the last {days:g} day(s)' if days \
        else 'only the current state'
    if path is None:
        print(f'{args.db}: packed, kept {kept}')
    else:
        print(f'{args.db}: packed, kept {kept}: {before:,} -> '
              f'{_size(path):,} bytes (the old file is {path}.old)')
    return 0


def _size(path):
    return os.path.getsize(path) if path and os.path.exists(path) else None
