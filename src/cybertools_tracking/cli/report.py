"""The report subcommand: a usage database as one HTML file of charts.

``report --db usage.fs --html report.html [--open]`` writes every
trackable's value over the days and per session into one self-contained
file (inline CSS and SVG, no script, nothing fetched) and, with
``--open``, shows it in the user's web browser.
"""

import os
import pathlib
import webbrowser

from cybertools_tracking.charts.report import buildReport
from cybertools_tracking.cli.common import (
    CommandError, addDbArgument, writtenInPlace)
from cybertools_tracking.cli.storage import openStorage
from cybertools_tracking.usage.tracker import isSQLite


def register(subparsers):
    parser = subparsers.add_parser(
        'report', help="write a usage database's charts into one HTML file",
        description='Write one self-contained HTML file (inline CSS and '
                    'SVG, no script, nothing fetched) with charts of each '
                    'trackable of a usage database: its value at the end '
                    'of each day and what each session (a run of the '
                    'tracker) added.')
    addDbArgument(parser)
    parser.add_argument('--html', required=True, metavar='FILE',
                        help='the HTML file to write (replaced if it exists)')
    parser.add_argument('--open', action='store_true',
                        help='open the file in the web browser afterwards')
    parser.set_defaults(handler=writeReport)


def writeReport(args):
    target = pathlib.Path(args.html)
    if isSQLite(args.db):
        raise CommandError(
            f'{args.db}: an original AnonymousUsage (SQLite) database; '
            f'convert it first: cybertools-tracking import-anonymoususage '
            f'{args.db}')
    if os.path.exists(args.db) and target.exists() \
            and os.path.samefile(args.db, target):
        raise CommandError(f'{args.html}: is the database itself; name '
                           f'another file for the report')
    if target.is_dir():
        raise CommandError(f'{args.html}: is a directory; name a file')
    if not target.parent.is_dir():
        raise CommandError(f'{args.html}: no such directory '
                           f'{str(target.parent)!r}')
    with openStorage(args) as (session, storage):
        page = buildReport(storage, args.db)
    with writtenInPlace(target) as f:
        f.write(page)
    print(f'wrote {target}')
    if args.open:
        webbrowser.open(target.resolve().as_uri())
    return 0
