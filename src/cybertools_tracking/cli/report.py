"""The report subcommand: a usage database as one HTML file of charts.

``report --db usage.fs --html report.html [--open]`` writes every
trackable's value over the days and per session into one self-contained
file (inline CSS and SVG, no script, nothing fetched) and, with
``--open``, shows it in the user's web browser.
"""

import os
import pathlib
import tempfile
import webbrowser

from cybertools_tracking.cli.common import (
    CommandError, addDbArgument, openSession)


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
    from cybertools_tracking.charts.report import buildReport
    from cybertools_tracking.usage.tracker import isSQLite

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
    with openSession(args) as session:
        page = buildReport(session.storage, args.db)
    _writeWhole(target, page)
    print(f'wrote {target}')
    if args.open:
        webbrowser.open(target.resolve().as_uri())
    return 0


def _writeWhole(target, text):
    # A reader never sees half a report: write beside it, then rename.
    try:
        fd, temporary = tempfile.mkstemp(dir=target.parent,
                                         prefix=f'.{target.name}.')
    except OSError as exc:
        raise CommandError(f'{target}: cannot write: {exc.strerror}') \
            from None
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            f.write(text)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(temporary, 0o666 & ~mask)
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise
