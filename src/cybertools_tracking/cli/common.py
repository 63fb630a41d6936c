"""What every subcommand shares: opening the database, printing tables."""

import contextlib
import json
import os
import sys
import tempfile

from cybertools_tracking.db import (
    DEFAULT_KEY, DatabaseError, Session, fileStoragePath, isURI)


class CommandError(Exception):
    """Printed as one line; the command exits with status 2."""


def addDbArgument(parser, default=None):
    parser.add_argument(
        '--db', default=default, metavar='PATH|URI', required=default is None,
        help='a FileStorage file, memory://, or a URI such as '
             'zeo://127.0.0.1:8100 or postgresql://user@host/db' + (f' (default: {default})'
                                       if default else ''))
    parser.add_argument('--key', default=DEFAULT_KEY,
                        help='root key of the storage (default: %(default)s)')


@contextlib.contextmanager
def openSession(args, write=False, create=None):
    """A Session on args.db; a missing file or bad URI is a CommandError.

    write: open for writing (reads open read-only, so they work while a
    tracker holds the file). create: make the file and the storage when
    missing (default: the same as write); repairing or packing writes but
    never creates.
    """
    if create is None:
        create = write
    spec = args.db
    if not isURI(spec) and not create and not os.path.exists(spec):
        raise CommandError(f'{spec}: no such database file')
    # A file, named by a path or a file:// URI, is read read-only: nothing
    # is written beside it, and it reads while a tracker holds it.
    try:
        session = Session(spec, key=args.key, create=create,
                          read_only=not write and bool(fileStoragePath(spec)))
    except DatabaseError as exc:
        raise CommandError(str(exc)) from None
    except TypeError as exc:
        # Something else under the key: refused before anything is done.
        raise CommandError(f'{spec}: {exc}; give --key of a '
                           f'TrackingStorage') from None
    except KeyError:
        raise CommandError(f'{spec}: holds no tracking storage under root '
                           f'key {args.key!r}') from None
    try:
        yield session
    finally:
        session.close()


@contextlib.contextmanager
def writtenInPlace(path):
    """A text stream (UTF-8) into a file beside path that becomes path
    only when the block ends without an error: a reader never sees half
    a file, and a failure leaves an older path as it was."""
    folder, name = os.path.split(os.path.abspath(path))
    try:
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=f'.{name}.',
                                         suffix='.part')
    except OSError as exc:
        raise CommandError(f'{path}: cannot write: {exc.strerror}') \
            from None
    try:
        with open(fd, 'w', encoding='utf-8', newline='') as f:
            yield f
        # mkstemp makes the file private; what we write is an ordinary
        # file, readable as the user's umask allows.
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(temporary, 0o666 & ~mask)
        os.replace(temporary, path)
    except BaseException:
        os.remove(temporary)
        raise


def printTable(rows, headers, out=None):
    """Print rows (sequences of values) under headers, columns aligned.
    Text the output's encoding cannot show is escaped (\\xe9) before
    the columns are measured."""
    encoding = getattr(out or sys.stdout, 'encoding', None) or 'utf-8'
    cells = [[_shown(str(h), encoding) for h in headers]] + [
        [_shown(_cell(v), encoding) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ['  '.join(c.ljust(w) for c, w in zip(row, widths)).rstrip()
             for row in cells]
    lines.insert(1, '  '.join('-' * w for w in widths))
    print('\n'.join(lines), file=out)


def printJSON(value, out=None):
    print(json.dumps(value, indent=2, sort_keys=True, default=str), file=out)


def printJSONStream(values, out=None):
    """Print the values as one JSON list, as printJSON(list(values))
    would, one value at a time: the list is never held in memory."""
    out = sys.stdout if out is None else out
    first = True
    for value in values:
        # Indented one level deeper, as inside the list (JSON text has
        # no blank lines, its strings no raw line breaks).
        text = json.dumps(value, indent=2, sort_keys=True, default=str)
        out.write(('[\n  ' if first else ',\n  ') +
                  text.replace('\n', '\n  '))
        first = False
    out.write('[]\n' if first else '\n]\n')


# Tracks read between two emptyings of the object cache while streaming.
SHED_EVERY = 1000


def iterTracks(session, tracks):
    """Yield the tracks, emptying the session connection's object cache
    every SHED_EVERY tracks: ZODB shrinks a cache only when asked (or
    between transactions), so a long read would otherwise keep every
    track it loaded, and a stream reads each track once. What the
    iteration still needs (the tree nodes it is in) loads again."""
    minimize = session.conn.cacheMinimize
    for count, track in enumerate(tracks, 1):
        yield track
        if not count % SHED_EVERY:
            minimize()


def _shown(text, encoding):
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return text.encode(encoding, 'backslashreplace').decode(encoding)
    except LookupError:
        pass
    return text


def _cell(value):
    if value is None:
        return ''
    if isinstance(value, float):
        return f'{value:g}'
    return str(value)
