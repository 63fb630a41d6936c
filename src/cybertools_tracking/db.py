"""Opening a database and the storage in it.

One call opens a ZODB from a file path (FileStorage, directories created),
``memory://``, or any zodburi URI (``zeo://host:port``, ``file://...``)
when the ``zeo`` extra is installed. Another gets or creates a
TrackingStorage under a root key. Units of work retry on ConflictError.
"""

import os
import socket
import time
import urllib.parse

import transaction
import ZODB
import ZODB.FileStorage
import zc.lockfile
from ZODB.FileStorage.FileStorage import packed_version as FILESTORAGE_MAGIC
from ZODB.POSException import ConflictError

from cybertools_tracking import postgres, retries
from cybertools_tracking.btree import TrackingStorage
from cybertools_tracking.validation import checkTrackingStorage

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


def fileStoragePath(spec):
    """The file a FileStorage spec names: spec itself for a path, the
    path of a ``file://`` URI (None when it names none); None for any
    other URI (memory://, zeo://...)."""
    if isinstance(spec, os.PathLike):
        spec = os.fspath(spec)
    if not isURI(spec):
        return spec
    if not spec.startswith('file://'):
        return None
    # Parsed as zodburi does (no urlsplit: Windows paths).
    path = spec.split('file://', 1)[1].split('?', 1)[0]
    return os.path.normpath(path) if path else None


def openDB(spec, read_only=False, create=True, **dbOptions):
    """Open a ZODB database and return the ``ZODB.DB``.

    spec: a file path (a FileStorage; missing directories are created
    unless read_only or not create), ``memory://`` (in memory), or another
    URI that zodburi resolves (``zeo://host:port``, ``file:///path``...),
    which needs the ``zeo`` extra, or ``postgresql://user@host:port/db``
    (RelStorage; options as query parameters, see the postgres module),
    which needs the ``relstorage`` extra. With create false (or read_only) a
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
    if postgres.isPostgresURI(spec):
        return _openPostgres(spec, read_only, create, dbOptions)
    if isURI(spec):
        return _openURI(spec, read_only, create, dbOptions)
    path = os.path.abspath(spec)
    _checkFile(spec, path, read_only, create)
    made = _sideFiles(path)
    try:
        storage = ZODB.FileStorage.FileStorage(path, read_only=read_only)
    except zc.lockfile.LockError:
        raise DatabaseError(
            f'{spec}: in use by another process (locked); open it read-only, '
            f'stop that process, or serve the file with ZEO') from None
    except Exception as exc:
        _removeNew(path, made)
        raise DatabaseError(f'{spec}: cannot open as a FileStorage '
                            f'({type(exc).__name__}: {exc})') from exc
    try:
        return _openDB(spec, storage, dbOptions)
    except DatabaseError:
        _removeNew(path, made)
        raise


# Files FileStorage makes beside the database file when it opens or
# commits (the lock, the commit buffer, the saved index).
SIDE_SUFFIXES = ('', '.lock', '.tmp', '.index')


def _checkFile(spec, path, read_only, create):
    """Refuse, before anything is opened for writing, what FileStorage
    would change or litter: a directory, a missing or empty file unless
    creating, a file that is not a FileStorage. Make a new file's
    folder."""
    if os.path.isdir(path):
        example = os.path.join(spec, 'tracking.fs')
        raise DatabaseError(f'{spec}: is a directory; give the path of a '
                            f'FileStorage file, e.g. {example}')
    try:
        with open(path, 'rb') as f:
            head = f.read(len(FILESTORAGE_MAGIC))
    except (FileNotFoundError, NotADirectoryError):
        head = None     # a file in the way of the folder: said below
    except OSError as exc:
        raise DatabaseError(f'{spec}: cannot read it ({_reason(exc)})') \
            from None
    if head:
        if head != FILESTORAGE_MAGIC:
            raise DatabaseError(
                f'{spec}: not a FileStorage file (it starts with '
                f'{head!r}, a FileStorage with {FILESTORAGE_MAGIC!r}); '
                f'give a database file or a new path')
        return
    if read_only or not create:
        raise DatabaseError(f'{spec}: no such database file' if head is None
                            else f'{spec}: an empty file, not a database')
    folder = os.path.dirname(path)
    try:
        os.makedirs(folder, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise DatabaseError(f'{spec}: cannot make its folder {folder}: a '
                            f'file is in the way') from None
    except (OSError, ValueError) as exc:
        raise DatabaseError(f'{spec}: cannot make its folder {folder} '
                            f'({_reason(exc)})') from None


def _reason(exc):
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror + (f': {exc.filename}' if exc.filename else '')
    return f'{type(exc).__name__}: {exc}'


def _sideFiles(path):
    """Which of the database file and its side files exist now."""
    return {suffix: os.path.exists(path + suffix)
            for suffix in SIDE_SUFFIXES}


def _removeNew(path, before):
    """Remove the side files a failed open made (never older ones)."""
    for suffix, existed in before.items():
        if not existed:
            try:
                os.remove(path + suffix)
            except OSError:
                pass


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
    path = made = None
    if scheme == 'file':
        path = _prepareFile(uri, read_only, create)
        made = _sideFiles(path)
    elif scheme == 'zeo':
        factory = _zeoFactory(uri, resolved, factory)
    try:
        storage = factory()
    except DatabaseError:
        raise
    except Exception as exc:
        if made is not None:
            _removeNew(path, made)
        raise DatabaseError(f'{uri}: cannot open ({type(exc).__name__}: '
                            f'{exc})') from exc
    options = dict(dbkw)
    options.update(dbOptions)
    try:
        return _openDB(uri, storage, options)
    except DatabaseError:
        if made is not None:
            _removeNew(path, made)
        raise


def _openPostgres(uri, read_only, create, dbOptions):
    """RelStorage on PostgreSQL (see the postgres module)."""
    try:
        storage, options = postgres.openStorage(uri, read_only, create)
    except (postgres.URIError, postgres.EmptyDatabase, ImportError) as exc:
        raise DatabaseError(str(exc)) from None
    except Exception as exc:
        raise DatabaseError(f'{postgres.withoutPassword(uri)}: cannot open '
                            f'({type(exc).__name__}: {exc})') from exc
    options.setdefault('cache_size', DEFAULT_CACHE_SIZE)
    options.update(dbOptions)
    return _openDB(uri, storage, options)


def _prepareFile(uri, read_only, create):
    """The path a file:// URI names, checked as a plain path is (and its
    folder made when creating)."""
    path = fileStoragePath(uri)
    if not path:
        raise DatabaseError(f'{uri}: names no file; use file:///PATH, e.g. '
                            f'file:///var/lib/tracking.fs')
    path = os.path.abspath(path)
    _checkFile(uri, path, read_only, create)
    return path


# How long a ZEO client waits for its server unless the URI says
# wait_timeout= (ZEO's own default is 30 s, long for a command line).
ZEO_WAIT_TIMEOUT = 5


def _zeoFactory(uri, resolved, factory):
    """A factory that first tries the server's TCP port, so a refused
    connection is said at once, and makes the client wait at most
    ZEO_WAIT_TIMEOUT seconds (or the URI's wait_timeout)."""
    import zodburi
    from ZEO.Exceptions import ClientDisconnected

    given = urllib.parse.parse_qs(uri.partition('?')[2]).get('wait_timeout')
    if given:
        wait = given[-1]        # zodburi has checked it is a number
    else:
        wait = ZEO_WAIT_TIMEOUT
        resolved += ('&' if '?' in resolved else '?') + \
            f'wait_timeout={wait}'
        factory, _ = zodburi.resolve_uri(resolved)
    address = _zeoAddress(uri)

    def open():
        if address is not None:
            try:
                socket.create_connection(address, timeout=float(wait)).close()
            except OSError as exc:
                raise DatabaseError(
                    f'{uri}: no ZEO server at {address[0]}:{address[1]} '
                    f'({_reason(exc)}); start it (runzeo) or fix the '
                    f'address') from None
        try:
            return factory()
        except ClientDisconnected as exc:
            raise DatabaseError(
                f'{uri}: the ZEO server did not answer within '
                f'{wait} seconds ({exc}); is it a ZEO server? '
                f'add ?wait_timeout=N to wait longer') from None
    return open


def _zeoAddress(uri):
    """(host, port) of a zeo://host:port URI; None for a unix socket."""
    netloc = uri.split('://', 1)[1].split('?', 1)[0].split('/', 1)[0]
    if not netloc:
        return None
    host, _, port = netloc.rpartition(':')
    if not host:
        return netloc, 9991     # zodburi's default port
    try:
        return host.strip('[]'), int(port)
    except ValueError:
        return None


def getStorage(conn, key=DEFAULT_KEY, trackFactory=None, create=True):
    """Return the TrackingStorage at root[key] of the connection.

    It never commits, so it is safe inside a unit of work somebody else
    commits (a web request under pyramid_tm). If there is none and create
    is true, one is made (with trackFactory) and put under root[key] in
    the connection's current transaction: the caller's commit stores it.
    With create false a missing storage is a KeyError; anything else under
    the key is a TypeError saying what it is. Create it at startup with
    ``ensureStorage`` to keep requests from doing so.
    """
    root = conn.root()
    storage = root.get(key)
    if storage is not None:
        return checkTrackingStorage(storage, f'root key {key!r}')
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
    Returns the storage's _p_oid; something else under root[key] is a
    TypeError saying what it is, and nothing is written. Retries on
    conflicts (another process creating it too)."""
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
                checkTrackingStorage(found, f'root key {key!r}')
        return found._p_oid
    finally:
        tm.abort()
        conn.close()


def retry(tm, work, *args, attempts=DEFAULT_ATTEMPTS, **kw):
    """Run work(*args, **kw) as a unit of work in transaction manager tm
    and commit it, retrying on ConflictError (and other transient errors,
    RelStorage's lock errors among them) up to attempts times in all,
    with a growing random pause between tries; return its result. Any
    other error aborts the transaction and propagates."""
    return retries.run(tm, work, *args, attempts=attempts, **kw)


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
