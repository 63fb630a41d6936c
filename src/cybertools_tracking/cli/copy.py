"""The ``copy`` subcommand: a whole database into an empty one.

``copy --from SRC --to DST`` copies every transaction of SRC (a
FileStorage file, a ``postgresql://`` RelStorage, a ``zeo://`` server...)
into DST with ZODB's ``copyTransactionsFrom``, the way ``zodbconvert``
does, so objects keep their oids and a copy answers every query as the
original. DST must be empty (a missing file, or a database no one wrote
to): copying into a database that has data would mix two histories. A
history-free RelStorage keeps only the last state of each object, so
copying from it copies that.
"""

import os

import ZODB.FileStorage
import zc.lockfile
from ZODB.utils import z64

from cybertools_tracking import postgres
from cybertools_tracking.cli.common import CommandError
from cybertools_tracking.db import isURI


def register(subparsers):
    parser = subparsers.add_parser(
        'copy', help='copy a whole database into an empty one',
        description='Copy every transaction of one database into another, '
                    'empty one (FileStorage to RelStorage on PostgreSQL and '
                    'back, or between any two); object ids stay the same. '
                    'The source is only read.')
    parser.add_argument('--from', dest='source', required=True,
                        metavar='PATH|URI',
                        help='the database to copy: a FileStorage file, '
                             'postgresql://user@host:port/db or another '
                             'zodburi URI')
    parser.add_argument('--to', dest='destination', required=True,
                        metavar='PATH|URI',
                        help='an empty database (or a new file) to copy into')
    parser.set_defaults(handler=copy)


def copy(args):
    if _same(args.source, args.destination):
        raise CommandError(f'{args.source}: source and destination are the '
                           f'same database')
    source = openStorage(args.source, read_only=True)
    try:
        created = not isURI(args.destination) \
            and not os.path.exists(args.destination)
        destination = openStorage(args.destination, read_only=False)
        try:
            if len(destination) or destination.lastTransaction() != z64:
                raise CommandError(
                    f'{_name(args.destination)}: not empty ({len(destination):,} '
                    f'objects); copy into a new file or an empty database')
            try:
                destination.copyTransactionsFrom(source)
            except Exception as exc:
                _undo(destination, args.destination, created)
                raise CommandError(
                    f'copying failed, {_name(args.destination)} left empty '
                    f'({type(exc).__name__}: {exc})') from None
            copied = len(destination)
        finally:
            destination.close()
    except CommandError:
        if created and os.path.exists(args.destination):
            _removeFileStorage(args.destination)
        raise
    finally:
        source.close()
    print(f'{_name(args.source)} -> {_name(args.destination)}: copied '
          f'{copied:,} objects')
    return 0


def openStorage(spec, read_only):
    """The storage (not a database) spec names; CommandError if it cannot
    be opened. Files are not created when read_only."""
    try:
        if postgres.isPostgresURI(spec):
            storage, _ = postgres.openStorage(spec, read_only=read_only)
            return storage
        if isURI(spec):
            return _openZodburi(spec, read_only)
        if os.path.isdir(spec):
            raise CommandError(f'{spec}: is a directory; give the path of a '
                               f'FileStorage file')
        if read_only and not os.path.exists(spec):
            raise CommandError(f'{spec}: no such database file')
        folder = os.path.dirname(os.path.abspath(spec))
        os.makedirs(folder, exist_ok=True)
        return ZODB.FileStorage.FileStorage(spec, read_only=read_only)
    except CommandError:
        raise
    except zc.lockfile.LockError:
        raise CommandError(f'{spec}: in use by another process (locked); '
                           f'stop that process first') from None
    except Exception as exc:
        raise CommandError(f'{_name(spec)}: cannot open ({type(exc).__name__}'
                           f': {exc})') from None


def _openZodburi(uri, read_only):
    try:
        import zodburi
    except ImportError:
        raise CommandError(f'{uri}: opening URIs needs zodburi; install the '
                           f"zeo extra: pip install 'cybertools_tracking"
                           f"[zeo]'") from None
    if read_only and 'read_only=' not in uri:
        uri += ('&' if '?' in uri else '?') + 'read_only=1'
    factory, _ = zodburi.resolve_uri(uri)
    return factory()


def _undo(storage, spec, created):
    """Leave a destination that was empty empty again after a failure."""
    if created:
        return                      # the file is removed
    zap = getattr(storage, 'zap_all', None)
    if zap is not None:
        zap()


def _removeFileStorage(path):
    for suffix in ('', '.index', '.lock', '.tmp'):
        try:
            os.remove(path + suffix)
        except FileNotFoundError:
            pass


def _same(a, b):
    if isURI(a) or isURI(b):
        return a == b
    return os.path.abspath(a) == os.path.abspath(b)


def _name(spec):
    return postgres.withoutPassword(spec) if isURI(spec) else spec
