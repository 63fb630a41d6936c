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
import zc.lockfile
from ZODB.POSException import ConflictError

from cybertools_tracking.btree import TrackingStorage

DEFAULT_KEY = 'tracking'
DEFAULT_ATTEMPTS = 5
# Objects each connection keeps in memory (ZODB's own default is 400).
# A lookup walks a few BTree nodes and buckets before it reaches a track;
# with 400 they are read from the file again on nearly every call, and a
# batch of saves re-reads the buckets it appends to. zodburi URIs bring
# their own default (10,000) unless they say cache_size=.
DEFAULT_CACHE_SIZE = 50_000


class DatabaseError(Exception):
    """A database could not be opened; the message says why and what to do."""


def isURI(spec):
    return isinstance(spec, str) and '://' in spec


def openDB(spec, read_only=False, create=True, **dbOptions):
    """Open a ZODB database and return the ``ZODB.DB``.

    spec: a file path (a FileStorage; missing directories are created
    unless read_only or not create), ``memory://`` (in memory), or another
    URI that zodburi resolves (``zeo://host:port``, ``file:///path``...),
    which needs the ``zeo`` extra. With create false (or read_only) a
    missing file, also one named by a ``file://`` URI, is a DatabaseError
    instead of a new file. read_only opens files and ZEO servers read-only.
    dbOptions go to ``ZODB.DB`` (cache_size defaults to
    DEFAULT_CACHE_SIZE for files and memory://). Every failure is a
    DatabaseError whose message names the database and says what to do.
    """
    if not isURI(spec):
        dbOptions.setdefault('cache_size', DEFAULT_CACHE_SIZE)
    if isinstance(spec, os.PathLike):
        spec = os.fspath(spec)
    if not isinstance(spec, str) or not spec:
        raise DatabaseError(f'database must be a file path or a URI, '
                            f'not {spec!r}')
    if spec in ('memory://', 'memory:'):
        return ZODB.DB(None, **dbOptions)
    if isURI(spec):
        return _openURI(spec, read_only, create, dbOptions)
    path = os.path.abspath(spec)
    if os.path.isdir(path):
        example = os.path.join(spec, 'tracking.fs')
        raise DatabaseError(f'{spec}: is a directory; give the path of a '
                            f'FileStorage file, e.g. {example}')
    if not os.path.exists(path):
        if read_only or not create:
            raise DatabaseError(f'{spec}: no such database file')
        os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        storage = ZODB.FileStorage.FileStorage(path, read_only=read_only)
    except zc.lockfile.LockError:
        raise DatabaseError(
            f'{spec}: in use by another process (locked); open it read-only, '
            f'stop that process, or serve the file with ZEO') from None
    except Exception as exc:
        raise DatabaseError(f'{spec}: cannot open as a FileStorage '
                            f'({type(exc).__name__}: {exc})') from exc
    return _openDB(spec, storage, dbOptions)


def _openDB(spec, storage, dbOptions):
    try:
        return ZODB.DB(storage, **dbOptions)
    except Exception as exc:
        # e.g. an empty file opened read-only: there is no root to read.
        storage.close()
        raise DatabaseError(f'{spec}: cannot open the database '
                            f'({type(exc).__name__}: {exc})') from exc


def _openURI(uri, read_only, create, dbOptions):
    try:
        import zodburi
    except ImportError:
        raise DatabaseError(
            f'{uri}: opening URIs needs zodburi; install the zeo extra: '
            f"pip install 'cybertools_tracking[zeo]'") from None
    scheme = uri.split('://', 1)[0]
    resolved = uri
    if read_only and scheme in ('file', 'zeo') and 'read_only=' not in uri:
        # zodburi takes read-only from the URI's own parameters.
        resolved += ('&' if '?' in uri else '?') + 'read_only=1'
    try:
        factory, dbkw = zodburi.resolve_uri(resolved)
    except getattr(zodburi, 'NoResolverForScheme', LookupError):
        raise DatabaseError(f'{uri}: unknown URI scheme {scheme!r}; use a '
                            f'file path, memory://, file://, zeo:// or '
                            f'another zodburi scheme') from None
    except Exception as exc:
        raise DatabaseError(f'{uri}: bad URI ({exc})') from exc
    if scheme == 'file':
        _prepareFile(uri, read_only, create)
    try:
        storage = factory()
    except Exception as exc:
        raise DatabaseError(f'{uri}: cannot open ({type(exc).__name__}: '
                            f'{exc})') from exc
    options = dict(dbkw)
    options.update(dbOptions)
    return _openDB(uri, storage, options)


def _prepareFile(uri, read_only, create):
    """Refuse a missing file:// file unless creating; make its folder."""
    # Parsed as zodburi does (no urlsplit: Windows paths).
    path = os.path.normpath(uri.split('file://', 1)[1].split('?', 1)[0])
    if os.path.exists(path):
        return
    if read_only or not create:
        raise DatabaseError(f'{uri}: no such database file ({path})')
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)


def getStorage(conn, key=DEFAULT_KEY, trackFactory=None, create=True):
    """Return the TrackingStorage at root[key] of the connection.

    It never commits, so it is safe inside a unit of work somebody else
    commits (a web request under pyramid_tm). If there is none and create
    is true, one is made (with trackFactory) and put under root[key] in
    the connection's current transaction: the caller's commit stores it.
    With create false a missing storage is a KeyError. Create it at
    startup with ``ensureStorage`` to keep requests from doing so.
    """
    root = conn.root()
    storage = root.get(key)
    if storage is not None:
        return storage
    if not create:
        raise KeyError(f'no tracking storage under root key {key!r}')
    storage = TrackingStorage(trackFactory=trackFactory)
    root[key] = storage
    return storage


def ensureStorage(db, key=DEFAULT_KEY, trackFactory=None,
                  attempts=DEFAULT_ATTEMPTS):
    """Make sure db holds a storage under root[key]: create it (with
    trackFactory) and commit, on a connection and transaction manager of
    its own, so no caller's transaction is touched. Call it at startup.
    Returns the _p_oid of what is under root[key] (which may be something
    other than a TrackingStorage if the database says so; the caller
    checks). Retries on conflicts (another process creating it too)."""
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    try:
        for attempt in tm.attempts(attempts):
            with attempt:
                root = conn.root()
                found = root.get(key)
                if found is None:
                    found = TrackingStorage(trackFactory=trackFactory)
                    root[key] = found
        return found._p_oid
    finally:
        tm.abort()
        conn.close()


def retry(tm, work, *args, attempts=DEFAULT_ATTEMPTS, **kw):
    """Run work(*args, **kw) as a unit of work in transaction manager tm
    and commit it, retrying on ConflictError (and other transient errors)
    up to attempts times in all; return its result. Any other error
    aborts the transaction and propagates."""
    for attempt in tm.attempts(attempts):
        with attempt:
            result = work(*args, **kw)
    return result


def pack(db, days=0):
    """Pack the database, dropping history older than days days."""
    db.pack(time.time() - days * 86400)


class OpenStorage:
    """A database, one connection and its storage, for scripts and the CLI.

    (Named for what it holds; "session" means a run in this project.)

    >>> with OpenStorage('memory://') as s:   # doctest: +SKIP
    ...     s.run(lambda storage: storage.saveUserTrack('t', 0, 'u', {}))
    """

    def __init__(self, spec, key=DEFAULT_KEY, read_only=False, create=True,
                 trackFactory=None):
        self.db = openDB(spec, read_only=read_only, create=create)
        try:
            if create and not read_only:
                ensureStorage(self.db, key, trackFactory)
        except BaseException:
            self.db.close()
            raise
        self.tm = transaction.TransactionManager()
        self.conn = self.db.open(transaction_manager=self.tm)
        try:
            self.storage = getStorage(self.conn, key, trackFactory,
                                      create=False)
        except BaseException:
            self.close()
            raise

    def run(self, work, *args, attempts=DEFAULT_ATTEMPTS, **kw):
        """Run work(storage, *args, **kw) in a transaction, with retries."""
        return retry(self.tm, work, self.storage, *args, attempts=attempts,
                     **kw)

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


# The old name, kept for code written against it.
Session = OpenStorage

__all__ = ['openDB', 'getStorage', 'ensureStorage', 'retry', 'pack',
           'OpenStorage', 'Session', 'DatabaseError', 'ConflictError',
           'DEFAULT_KEY']
