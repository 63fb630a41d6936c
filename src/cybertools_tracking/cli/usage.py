"""Subcommands of the usage layer: usage, import-anonymoususage.

``usage --db FILE`` lists the trackables a usage database holds (name,
type, value, rows, description), as a table or with ``--csv`` as CSV.
``import-anonymoususage OLD.db [--into PATH]`` converts an original
AnonymousUsage SQLite database (and OLD.part.db beside it).
"""

import csv
import os
import sys

from cybertools_tracking.cli.common import (
    CommandError, addDbArgument, printJSON, printTable)
from cybertools_tracking.cli.progress import Progress
from cybertools_tracking.cli.storage import openStorage
from cybertools_tracking.db import DatabaseError
from cybertools_tracking.usage import NO_STATE, registry, reports
from cybertools_tracking.usage.exceptions import AnonymousUsageError
from cybertools_tracking.usage.importer import importAnonymousUsage
from cybertools_tracking.usage.tracker import isSQLite

CSV_HEADERS = ('Name', 'Type', 'Value', 'Rows', 'Description')


def register(subparsers):
    parser = subparsers.add_parser(
        'usage', help="list a usage tracker's trackables and their values",
        description='List the trackables registered in a usage database '
                    '(name, type, value, rows, description). With several '
                    'users in the database the value is the newest of any '
                    'of them; --uuid shows one user\'s.')
    addDbArgument(parser)
    parser.add_argument('--uuid', help="only this user's values and rows")
    output = parser.add_mutually_exclusive_group()
    output.add_argument('--csv', action='store_true',
                        help='print CSV instead of a table')
    output.add_argument('--json', action='store_true',
                        help='print JSON for scripts: a list of {name, '
                             'type, value, count, rows, average, '
                             'description, checkpoints}, values as the '
                             'tracker holds them')
    parser.set_defaults(handler=showUsage)

    parser = subparsers.add_parser(
        'import-anonymoususage',
        help='convert an original AnonymousUsage SQLite database',
        description='Convert an AnonymousUsage SQLite database (and '
                    'OLD.part.db beside it, if present) into a new '
                    'FileStorage: every row becomes a track, so counts, '
                    'states and their history carry over. Nothing is '
                    'written unless the whole file reads as such a '
                    'database.')
    parser.add_argument('old', metavar='OLD.db',
                        help='the AnonymousUsage database file')
    parser.add_argument('--into', metavar='PATH',
                        help='the new FileStorage, a path or a file:// URI '
                             '(default: OLD.fs); must not exist yet')
    parser.set_defaults(handler=importOld)


def showUsage(args):
    if isSQLite(args.db):
        raise CommandError(
            f'{args.db}: an original AnonymousUsage (SQLite) database; '
            f'convert it first: cybertools-tracking import-anonymoususage '
            f'{args.db}')
    with openStorage(args) as (session, storage):
        summary = reports.summarize(storage, registry.read(storage),
                                    uuid=args.uuid)
    if args.json:
        # A state never set is null: JSON has no "No State" of its own.
        printJSON([dict(s, value=None if s['value'] is NO_STATE
                        else s['value']) for s in summary])
        return 0
    rows = [(s['name'], s['type'], reports.valueText(s['value']), s['rows'],
             s['description']) for s in summary]
    if not args.csv:
        # People read seconds and averages better rounded.
        rows = [(n, t, _short(v), r, d) for n, t, v, r, d in rows]
    if args.csv:
        writer = csv.writer(sys.stdout, lineterminator='\n')
        writer.writerow(CSV_HEADERS)
        writer.writerows(rows)
    elif rows:
        printTable(rows, [h.lower() for h in CSV_HEADERS])
    else:
        print(f'{args.db}: no trackables')
    return 0


def _short(text):
    try:
        number = float(text)
    except ValueError:
        return text
    return text if number.is_integer() else f'{number:.4g}'


def importOld(args):
    try:
        with Progress('importing', 'rows') as progress:
            result = importAnonymousUsage(args.old, args.into, progress)
    except (AnonymousUsageError, DatabaseError) as exc:
        raise CommandError(str(exc)) from None
    users = ', '.join(result['uuids']) or 'none'
    sources = ' and '.join(os.fspath(s) for s in result['sources'])
    print(f"imported {result['tracks']} rows of {result['trackables']} "
          f"trackables (users: {users}) from {sources} into "
          f"{result['into']}")
    return 0
