"""Subcommands of the HQ: hq add-key, list-keys, revoke-key, add-user,
serve.

``hq add-key --db DB --group NAME [--read]`` prints a new key alone on
the last line (an upload key, or a read key with --read); the database
keeps its hash only. ``hq list-keys`` shows key id, kind, group, created
and last used, never a key. ``hq revoke-key KEYID`` revokes one.
``hq add-user --db DB --group NAME USER`` makes a dashboard account (the
password from a prompt, or stdin when it is not a terminal).
``hq serve --db DB [--host] [--port]`` serves the HQ with waitress.
"""

import contextlib
import datetime
import getpass
import os
import sys

import transaction

from cybertools_tracking.cli.common import CommandError
from cybertools_tracking.db import DatabaseError, isURI, openDB
from cybertools_tracking.protocol import MAX_BODY_BYTES

DEFAULT_HOST = '127.0.0.1'
DEFAULT_PORT = 8080


def register(subparsers):
    parser = subparsers.add_parser(
        'hq', help='the HQ that receives uploads: keys and serving',
        description='Run the HQ (a Pyramid app receiving the trackers\' '
                    'uploads) and manage its API keys.')
    commands = parser.add_subparsers(dest='hq_command', metavar='COMMAND')
    commands.required = True

    add = commands.add_parser(
        'add-key', help='make an upload key (or a read key with --read)',
        description='Make a key for a group and print it on the last line. '
                    'It is shown this once: the database keeps its hash.')
    _db(add)
    add.add_argument('--group', required=True,
                     help="the group the key uploads into or reads")
    add.add_argument('--read', action='store_true',
                     help='a read key (reads the group, cannot upload)')
    add.set_defaults(handler=addKey)

    lister = commands.add_parser(
        'list-keys', help='list the keys (never the keys themselves)')
    _db(lister)
    lister.set_defaults(handler=listKeys)

    revoke = commands.add_parser('revoke-key', help='revoke a key by its id')
    _db(revoke)
    revoke.add_argument('keyId', metavar='KEYID',
                        help='the key id list-keys shows')
    revoke.set_defaults(handler=revokeKey)

    user = commands.add_parser(
        'add-user', help='make a dashboard account (or set its password)',
        description='Make an account that logs in to the dashboard and '
                    'sees the group\'s data, or give an existing one a new '
                    'password and group. The password is asked for (or '
                    'read from the first line of stdin when it is not a '
                    'terminal); the database keeps a scrypt hash of it.')
    _db(user)
    user.add_argument('--group', required=True,
                      help="the group whose data the account sees")
    user.add_argument('user', metavar='USER', help='the user name')
    user.set_defaults(handler=addUser)

    serve = commands.add_parser(
        'serve', help='serve the HQ with waitress',
        description='Serve the HQ: POST /usagestats/upload and the read '
                    'API under /api.')
    _db(serve)
    serve.add_argument('--host', default=DEFAULT_HOST,
                       help='address to listen on (default: %(default)s)')
    serve.add_argument('--port', type=int, default=DEFAULT_PORT,
                       help='port to listen on (default: %(default)s)')
    serve.add_argument('--threads', type=int, default=4,
                       help='waitress worker threads (default: %(default)s)')
    serve.set_defaults(handler=serveHQ)


def _db(parser):
    parser.add_argument(
        '--db', required=True, metavar='PATH|URI',
        help='a FileStorage file or a URI such as zeo://127.0.0.1:8100')


def _needHQ():
    """The HQ's keys and model modules. The HQ is an optional extra
    (Pyramid and its friends), so it is imported when a command needs it,
    and its absence is one line naming the extra."""
    try:
        from cybertools_tracking.hq import accounts, keys, model
    except ImportError as exc:
        raise CommandError(f'the HQ needs the hq extra ({exc}); pip install '
                           f"'cybertools_tracking[hq]'") from None
    return keys, model, accounts


@contextlib.contextmanager
def _hq(args, write):
    hqRoot = _needHQ()[1].hqRoot
    spec = args.db
    if not isURI(spec) and not write and not os.path.exists(spec):
        raise CommandError(f'{spec}: no such database file')
    try:
        db = openDB(spec, read_only=not write and not isURI(spec),
                    create=write)
    except DatabaseError as exc:
        raise CommandError(str(exc)) from None
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    try:
        with tm:
            yield hqRoot(conn, create=write)
    finally:
        tm.abort()
        conn.close()
        db.close()


def addKey(args):
    keys = _needHQ()[0]
    if not args.group.strip():
        raise CommandError('--group must be a non-empty name')
    with _hq(args, write=True) as hq:
        keyId, key = keys.addKey(hq, args.group,
                                 keys.READ if args.read else keys.UPLOAD)
    kind = 'read' if args.read else 'upload'
    print(f'{kind} key {keyId} for group {args.group!r} (shown this once):')
    print(key)
    return 0


def _password():
    """The new password: asked twice on a terminal, else the first line
    of stdin (for scripts)."""
    if sys.stdin is not None and sys.stdin.isatty():
        try:
            first = getpass.getpass('Password: ')
            again = getpass.getpass('Password again: ')
        except (EOFError, KeyboardInterrupt):
            raise CommandError('no password given') from None
        if first != again:
            raise CommandError('the two passwords differ')
        return first
    line = sys.stdin.readline() if sys.stdin is not None else ''
    return line.rstrip('\r\n')


def addUser(args):
    accounts = _needHQ()[2]
    for value, what in ((args.group, '--group'), (args.user, 'USER')):
        try:
            accounts.checkName(value, what)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
    password = _password()
    if not password:
        raise CommandError('the password must not be empty')
    if len(password) > accounts.MAX_PASSWORD:
        raise CommandError(f'the password must be at most '
                           f'{accounts.MAX_PASSWORD} characters')
    with _hq(args, write=True) as hq:
        new = accounts.addUser(hq, args.group, args.user, password)
    print(f'{"added" if new else "changed"} user {args.user!r} in group '
          f'{args.group!r}')
    return 0


def _when(seconds):
    if seconds is None:
        return 'never'
    return datetime.datetime.fromtimestamp(
        seconds, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%MZ')


def listKeys(args):
    keys = _needHQ()[0]
    with _hq(args, write=False) as hq:
        rows = keys.listKeys(hq)
    # One line per key, starting with its id (no header: scripts read
    # it); created and last used in UTC.
    lines = [(r['id'], r['kind'], r['group'], 'created ' +
              _when(r['created']), 'last used ' + _when(r['used']))
             for r in rows]
    widths = [max((len(line[i]) for line in lines), default=0)
              for i in range(5)]
    for line in lines:
        print('  '.join(cell.ljust(width) for cell, width
                        in zip(line, widths)).rstrip())
    return 0


def revokeKey(args):
    keys = _needHQ()[0]
    unknown = CommandError(f'no key with id {args.keyId!r}; list-keys '
                           f'shows the ids')
    # Looked up read-only first: an unknown id opens nothing for writing.
    with _hq(args, write=False) as hq:
        if args.keyId not in {row['id'] for row in keys.listKeys(hq)}:
            raise unknown
    try:
        with _hq(args, write=True) as hq:
            keys.revokeKey(hq, args.keyId)
    except KeyError:
        raise unknown from None
    print(f'revoked key {args.keyId}')
    return 0


def serveHQ(args):
    _needHQ()
    import waitress
    from cybertools_tracking.hq import makeApp
    if not 0 < args.port < 65536:
        raise CommandError(f'--port must be 1 to 65535, not {args.port}')
    try:
        app = makeApp({'tracking.uri': args.db})
    except Exception as exc:
        raise CommandError(f'cannot start the HQ on {args.db}: '
                           f'{type(exc).__name__}: {exc}') from None
    print(f'serving the HQ on http://{args.host}:{args.port}', flush=True)
    # waitress refuses larger bodies itself (413) before reading them
    # whole; retried requests keep their body in memory.
    waitress.serve(app, host=args.host, port=args.port,
                   threads=args.threads, _quiet=True,
                   max_request_body_size=MAX_BODY_BYTES + 1)
    return 0


__all__ = ['register']
