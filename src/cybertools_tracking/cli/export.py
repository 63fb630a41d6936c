"""``export``: tracks out to the tools people analyse them with.

``cybertools-tracking export --db DB [query options] --format jsonl|csv
[--out FILE]`` writes the tracks ``query`` would list, one at a time, so
a million tracks pass through the same memory as a thousand (but
``--reverse`` without ``--limit``, which gathers the matching track
numbers first).

JSON lines: one object per track, the fields ``query --json`` gives
(id, taskId, runId, userName, timeStamp, time, data). CSV: a header, then
one row per track: those fields, then one column per data key (a key
named like a field gets the column ``data.KEY``). Text goes into a cell
as it is; numbers, true/false, lists and mappings as JSON; a missing key
or None as an empty cell. Without ``--columns`` the CSV export reads the
tracks twice: once for the keys, once for the rows. Both formats are
UTF-8, whatever the terminal's encoding.
"""

import contextlib
import csv
import json
import os
import sys

from cybertools_tracking.cli.common import (
    CommandError, addDbArgument, iterTracks, writtenInPlace)
from cybertools_tracking.cli.progress import Progress
from cybertools_tracking.cli.storage import (
    DEFAULT_DB, addQueryArguments, openStorage, queryCriteria, trackDict)
from cybertools_tracking.db import fileStoragePath

FIELDS = ('id', 'taskId', 'runId', 'userName', 'timeStamp', 'time')
FORMATS = ('jsonl', 'csv')


def register(subparsers):
    parser = subparsers.add_parser(
        'export', help='write the tracks matching the query options as '
                       'JSON lines or CSV, streamed',
        description='Write the tracks matching all the criteria given (the '
                    'same as query) as JSON lines (one object per track) or '
                    'CSV (one row per track, a column per data key), one '
                    'track at a time, in UTF-8. Read it with pandas '
                    "(pd.read_json(FILE, lines=True)), DuckDB "
                    "(read_json_auto('FILE')) or a spreadsheet.")
    addQueryArguments(parser)
    addDbArgument(parser, DEFAULT_DB)
    parser.add_argument('--format', choices=FORMATS, default='jsonl',
                        help='jsonl (default) or csv')
    parser.add_argument('--columns', metavar='KEY,KEY',
                        help='CSV: only these data keys, in this order '
                             '(saves reading the tracks twice to find '
                             'them all)')
    parser.add_argument('--out', metavar='FILE',
                        help='write to FILE (put in place when complete, '
                             'replacing an older one) instead of stdout')
    parser.set_defaults(handler=export)


def export(args):
    criteria = queryCriteria(args)
    if args.columns is not None and args.format != 'csv':
        raise CommandError('--columns is for --format csv')
    columns = _columns(args.columns)
    target = _checkOut(args)
    with openStorage(args) as (session, storage):
        try:
            result = storage.query(**criteria)
            with Progress('exporting', 'tracks') as progress:
                if target is None and sys.stdout.isatty():
                    progress.enabled = False    # the rows go there
                total = len(result) if progress.enabled else None
                if args.format == 'csv' and columns is None:
                    progress.what = 'finding the data keys'
                    columns = dataKeys(iterTracks(session, result),
                                       progress, total)
                    progress.what = 'exporting'
                with _output(target) as out:
                    writer = (JSONLinesWriter(out) if args.format == 'jsonl'
                              else CSVWriter(out, columns))
                    for count, track in enumerate(
                            iterTracks(session, result), 1):
                        writer.write(track)
                        progress(count, total)
        except (TypeError, ValueError) as exc:
            raise CommandError(str(exc)) from None
    return 0


def _columns(text):
    if text is None:
        return None
    keys = [key.strip() for key in text.split(',')]
    if not all(keys):
        raise CommandError(f'--columns: {text!r} names an empty key; give '
                           f'data keys separated by commas')
    return keys


def _checkOut(args):
    """The path to write to (None: stdout); never the database itself,
    nor in a folder that is not there."""
    if args.out is None or args.out == '-':
        return None
    out = os.path.abspath(args.out)
    folder = os.path.dirname(out)
    if not os.path.isdir(folder):
        raise CommandError(f'--out {args.out}: no folder {folder}')
    if os.path.isdir(out):
        raise CommandError(f'--out {args.out}: is a folder; give a file '
                           f'name')
    database = fileStoragePath(args.db)
    if database and os.path.abspath(database) == out:
        raise CommandError(f'--out {args.out}: is the database; give '
                           f'another file')
    return out


class _UTF8:
    """Text written as UTF-8 into a binary stream."""

    def __init__(self, raw):
        self.raw = raw

    def write(self, text):
        self.raw.write(text.encode('utf-8'))


@contextlib.contextmanager
def _output(path):
    """A text stream writing UTF-8 to stdout, or to a temporary file put
    in place as path only when everything was written."""
    if path is None:
        sys.stdout.flush()
        raw = getattr(sys.stdout, 'buffer', None)
        if raw is None:             # a text-only stream stands in
            yield sys.stdout
            return
        yield _UTF8(raw)
        raw.flush()
        return
    with writtenInPlace(path) as f:
        yield f


def dataKeys(tracks, progress=None, total=None):
    """The data keys of the tracks, in the order they first appear."""
    keys = {}
    for count, track in enumerate(tracks, 1):
        for key in track.data:
            keys.setdefault(str(key), None)
        if progress is not None:
            progress(count, total)
    return list(keys)


class JSONLinesWriter:
    """One JSON object per track and line."""

    def __init__(self, out):
        self.out = out

    def write(self, track):
        self.out.write(json.dumps(trackDict(track), ensure_ascii=False,
                                  default=str) + '\n')


class CSVWriter:
    """A header, then one row per track: FIELDS, then the data keys."""

    def __init__(self, out, keys):
        self.keys = list(keys)
        self.writer = csv.writer(out, lineterminator='\n')
        self.writer.writerow(
            list(FIELDS) + [f'data.{key}' if key in FIELDS else key
                            for key in self.keys])

    def write(self, track):
        row = trackDict(track)
        data = {str(key): value for key, value in row['data'].items()}
        self.writer.writerow([row[field] for field in FIELDS] +
                             [_cell(data.get(key)) for key in self.keys])


def _cell(value):
    if value is None:
        return ''
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)
