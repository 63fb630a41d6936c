"""RelStorage on PostgreSQL, opened from a ``postgresql://`` URI.

``postgresql://user:password@host:port/dbname?keep_history=false`` (or
``postgres://...``) names a database on a PostgreSQL server; the query
parameters are RelStorage options, a few libpq connection settings and
the ``ZODB.DB`` cache and pool sizes. The ``relstorage`` extra installs
what this needs. zodburi's own resolver for ``postgres://`` is not used:
it writes ``user='None'`` and ``port='None'`` into the connection string
when the URI leaves them out (so ``postgresql:///db?host=/run/postgresql``,
a unix socket, cannot be named), quotes no values, does not know the
``postgresql://`` spelling that libpq and SQLAlchemy use, and passes
misspelt parameters on silently.
"""

import sys
from urllib.parse import parse_qsl, unquote, urlsplit

SCHEMES = ('postgresql', 'postgres')


class URIError(ValueError):
    """A postgresql:// URI that cannot be used; the message says why."""


def _boolean(text):
    value = text.strip().lower()
    if value in ('1', 'true', 'yes', 'on'):
        return True
    if value in ('0', 'false', 'no', 'off'):
        return False
    raise ValueError(f'{text!r} is not a boolean (true/false, 1/0, yes/no)')


def _nonNegative(text):
    value = int(text)
    if value < 0:
        raise ValueError(f'{text!r} is negative')
    return value


# RelStorage options a URI may set, with the type of their value.
STORAGE_OPTIONS = {
    'keep_history': _boolean,
    'read_only': _boolean,
    'create_schema': _boolean,
    'pack_gc': _boolean,
    'commit_lock_timeout': _nonNegative,
    'cache_local_mb': _nonNegative,
    'cache_local_object_max': _nonNegative,
    'cache_local_dir': str,
    'blob_dir': str,
    'shared_blob_dir': _boolean,
    'driver': str,
    'name': str,
}
# libpq connection settings beside those in the URI's authority; host
# names a unix socket folder when the URI has no host.
CONNECTION_OPTIONS = {
    'host': str,
    'connect_timeout': _nonNegative,
    'sslmode': str,
    'application_name': str,
}
DB_OPTIONS = {
    'cache_size': _nonNegative,
    'pool_size': _nonNegative,
}


def isPostgresURI(spec):
    """True when spec is a str naming a PostgreSQL database by URI."""
    return isinstance(spec, str) and spec.split('://', 1)[0].lower() \
        in SCHEMES and '://' in spec


def parseURI(uri):
    """Split a postgresql:// URI into (connection, options, dbOptions):
    libpq settings (dict), RelStorage options (dict) and ZODB.DB keyword
    arguments (dict). A URI without a database name, with an unknown
    parameter or a value of the wrong type raises URIError saying what
    is allowed."""
    if not isPostgresURI(uri):
        raise URIError(f'{uri}: not a postgresql:// URI')
    parts = urlsplit(uri)
    try:
        port = parts.port
    except ValueError:
        raise URIError(f'{uri}: the port must be a number') from None
    dbname = unquote(parts.path.lstrip('/'))
    if not dbname or '/' in dbname:
        raise URIError(f'{uri}: name one database after the host, e.g. '
                       f'postgresql://user@127.0.0.1:5432/tracking')
    connection = {'dbname': dbname}
    if parts.hostname:
        connection['host'] = parts.hostname
    if port is not None:
        connection['port'] = port
    if parts.username:
        connection['user'] = unquote(parts.username)
    if parts.password is not None:
        connection['password'] = unquote(parts.password)
    options, dbOptions = {}, {}
    for name, text in parse_qsl(parts.query, keep_blank_values=True):
        for target, kinds in ((options, STORAGE_OPTIONS),
                              (connection, CONNECTION_OPTIONS),
                              (dbOptions, DB_OPTIONS)):
            if name in kinds:
                break
        else:
            allowed = sorted(STORAGE_OPTIONS) + sorted(CONNECTION_OPTIONS) \
                + sorted(DB_OPTIONS)
            raise URIError(f'{withoutPassword(uri)}: unknown parameter {name!r}; '
                           f'allowed are: {", ".join(allowed)}')
        try:
            target[name] = kinds[name](text)
        except ValueError as exc:
            raise URIError(f'{withoutPassword(uri)}: bad value for {name}: '
                           f'{exc}') from None
    return connection, options, dbOptions


def makeDSN(connection):
    """A libpq connection string for the settings, every value quoted."""
    def quote(value):
        text = str(value).replace('\\', '\\\\').replace("'", "\\'")
        return f"'{text}'"
    return ' '.join(f'{key}={quote(value)}'
                    for key, value in connection.items())


class EmptyDatabase(LookupError):
    """The database has no RelStorage tables and may not get them."""


def openStorage(uri, read_only=False, create=True):
    """Return (storage, dbOptions): a RelStorage on the PostgreSQL
    database uri names and the ZODB.DB arguments the URI gives. Its
    tables are made when missing, unless read_only, not create or
    ``create_schema=false``; then a database without them raises
    EmptyDatabase. URIError for a bad URI; ImportError saying what to
    install when RelStorage is not installed; the driver's errors when
    the server cannot be reached."""
    connection, options, dbOptions = parseURI(uri)
    # Imported here, not at the top: RelStorage takes a quarter second to
    # import, which every process using a file or ZEO would pay.
    try:
        import psycopg2  # noqa: F401 (RelStorage's driver)
        from relstorage.adapters.postgresql import PostgreSQLAdapter
        from relstorage.options import Options
        from relstorage.storage import RelStorage
    except ImportError as exc:
        raise ImportError(
            f'{withoutPassword(uri)}: PostgreSQL needs RelStorage and '
            f'psycopg2 ({exc}); install the relstorage extra: '
            f"pip install 'cybertools_tracking[relstorage]'") from None
    if read_only:
        options['read_only'] = True
    if read_only or not create:
        options.setdefault('create_schema', False)
    settings = Options(**options)
    dsn = makeDSN(connection)
    try:
        adapter = PostgreSQLAdapter(dsn=dsn, options=settings)
        return RelStorage(adapter, options=settings), dbOptions
    except Exception:
        if not settings.create_schema and not _hasTables(dsn):
            # RelStorage says "schema mismatch" about a blank database.
            raise EmptyDatabase(
                f'{withoutPassword(uri)}: the database holds no RelStorage '
                f'tables (nothing was ever stored in it)') from None
        raise


def _hasTables(dsn):
    import psycopg2     # loaded already by openStorage
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT to_regclass('object_state')")
            return cursor.fetchone()[0] is not None
    finally:
        conn.close()


def withoutPassword(uri):
    """The URI without its password, for messages."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = parts.netloc.replace(f':{parts.password}@', ':***@', 1)
    return parts._replace(netloc=netloc).geturl()


def transientErrors():
    """The RelStorage exceptions (classes, a tuple) that mean "another
    writer held a lock; try the transaction again" but are not
    TransientErrors, so transaction managers would not retry them: the
    commit lock timing out while other writers commit. Empty while
    RelStorage is not loaded (then none of its errors can happen)."""
    interfaces = sys.modules.get('relstorage.adapters.interfaces')
    if interfaces is None:
        return ()
    return (interfaces.UnableToAcquireCommitLockError,)
