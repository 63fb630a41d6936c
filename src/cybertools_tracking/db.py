"""Opening a database and the storage in it.

One call opens a ZODB from a file path (FileStorage, directories created),
``memory://``, or any zodburi URI (``zeo://host:port``, ``file://...``)
when the ``zeo`` extra is installed. Another gets or creates a
TrackingStorage under a root key. Units of work retry on ConflictError.
"""

import os
import time

import transaction
import ZODB
import ZODB.FileStorage
from ZODB.POSException import ConflictError

from cybertools_tracking.btree import TrackingStorage

DEFAULT_KEY = 'tracking'
DEFAULT_ATTEMPTS = 5


class DatabaseError(Exception):
    """A database could not be opened; the message says why and what to do."""


def isURI(spec):
    return isinstance(spec, str) and '://' in spec


def openDB(spec, read_only=False, create=True, **dbOptions):
    """Open a ZODB database and return the ``ZODB.DB``.

    spec: a file path (a FileStorage; missing directories are created
    unless read_only or not create), ``memory://`` (in memory), or another
    URI that zodburi resolves (``zeo://host:port``, ``file:///path``...),
    which needs the ``zeo`` extra. With create false a missing file is a
    DatabaseError instead of a new file. dbOptions go to ``ZODB.DB``.
    """
    if isinstance(spec, os.PathLike):
        spec = os.fspath(spec)
    if not isinstance(spec, str) or not spec:
        raise DatabaseError(f'database must be a file path or a URI, '
                            f'not {spec!r}')
    if spec in ('memory://', 'memory:'):
        return ZODB.DB(None, **dbOptions)
    if isURI(spec):
        return _openURI(spec, read_only, dbOptions)
    path = os.path.abspath(spec)
    if os.path.isdir(path):
        raise DatabaseError(f'{spec}: is a directory; give the path of a '
                            f'FileStorage file, e.g. {os.path.join(spec, "tracking.fs")}')
    if not os.path.exists(path):
        if read_only or not create:
            raise DatabaseError(f'{spec}: no such database file')
        os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        storage = ZODB.FileStorage.FileStorage(path, read_only=read_only)
    except Exception as exc:
        raise DatabaseError(f'{spec}: cannot open as a FileStorage '
                            f'({type(exc).__name__}: {exc})') from exc
    return ZODB.DB(storage, **dbOptions)


def _openURI(uri, read_only, dbOptions):
    # zodburi takes read-only from the URI's own parameters.
    try:
        import zodburi
    except ImportError:
        raise DatabaseError(
            f'{uri}: opening URIs needs zodburi; install the zeo extra: '
            f"pip install 'cybertools_tracking[zeo]'") from None
    try:
        factory, dbkw = zodburi.resolve_uri(uri)
    except KeyError:
        raise DatabaseError(f'{uri}: unknown URI scheme; use a file path, '
                            f'memory://, file://, zeo:// or another '
                            f'zodburi scheme') from None
    except Exception as exc:
        raise DatabaseError(f'{uri}: bad URI ({exc})') from exc
    try:
        storage = factory()
    except Exception as exc:
        raise DatabaseError(f'{uri}: cannot open ({type(exc).__name__}: '
                            f'{exc})') from exc
    options = dict(dbkw)
    options.update(dbOptions)
    return ZODB.DB(storage, **options)


def getStorage(conn, key=DEFAULT_KEY, trackFactory=None, create=True):
    """Return the TrackingStorage at root[key] of the connection.

    If there is none and create is true, one is made (with trackFactory)
    and committed in the connection's transaction manager; with create
    false a missing storage is a KeyError.
    """
    root = conn.root()
    storage = root.get(key)
    if storage is not None:
        return storage
    if not create:
        raise KeyError(f'no tracking storage under root key {key!r}')
    tm = conn.transaction_manager
    for attempt in tm.attempts(DEFAULT_ATTEMPTS):
        with attempt:
            storage = root.get(key)
            if storage is None:
                storage = root[key] = TrackingStorage(trackFactory=trackFactory)
    return storage


def retry(tm, work, attempts=DEFAULT_ATTEMPTS, *args, **kw):
    """Run work(*args, **kw) as a unit of work in transaction manager tm,
    retrying on ConflictError up to attempts times; return its result."""
    for attempt in tm.attempts(attempts):
        with attempt:
            result = work(*args, **kw)
    return result


def pack(db, days=0):
    """Pack the database, dropping history older than days days."""
    db.pack(time.time() - days * 86400)


class Session:
    """A database, one connection and its storage, for scripts and the CLI.

    >>> with Session('memory://') as s:   # doctest: +SKIP
    ...     s.storage.saveUserTrack('t', 0, 'u', {})
    """

    def __init__(self, spec, key=DEFAULT_KEY, read_only=False, create=True,
                 trackFactory=None):
        self.db = openDB(spec, read_only=read_only, create=create)
        self.tm = transaction.TransactionManager()
        self.conn = self.db.open(transaction_manager=self.tm)
        try:
            self.storage = getStorage(self.conn, key, trackFactory,
                                      create=create and not read_only)
        except BaseException:
            self.close()
            raise

    def run(self, work, *args, attempts=DEFAULT_ATTEMPTS, **kw):
        """Run work(storage, *args, **kw) in a transaction, with retries."""
        return retry(self.tm, lambda: work(self.storage, *args, **kw),
                     attempts)

    def close(self):
        storage = getattr(self, 'storage', None)
        if storage is not None and storage._p_jar is not None \
                and not self.db.storage.isReadOnly():
            self.tm.abort()
            storage.releaseNumbers()
        self.tm.abort()
        self.conn.close()
        self.db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


__all__ = ['openDB', 'getStorage', 'retry', 'pack', 'Session',
           'DatabaseError', 'ConflictError', 'DEFAULT_KEY']
