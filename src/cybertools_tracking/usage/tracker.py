"""The AnonymousUsageTracker: the original API on a TrackingStorage.

A tracker is one user's (``uuid``) set of trackables. It either opens a
FileStorage of its own (``filepath``) and writes behind, through a
``BatchWriter``, or writes synchronously into a TrackingStorage its caller
already opened (``storage=``), through a ``DirectWriter``.

Uploading (``setup_hq``, ``submit_statistics``, the watcher) is done by
an ``Uploader`` of ``cybertools_tracking.upload`` that the tracker holds
once ``setup_hq`` is called; the tracker offers it what
``IUploadSource`` names.
"""

import atexit
import logging
import os
import threading

from zope.interface import implementer

from cybertools_tracking.db import DEFAULT_KEY, openDB
from cybertools_tracking.names import RESERVED, isInternal
from cybertools_tracking.upload.interfaces import IHQClient, IUploadSource
from cybertools_tracking.upload.uploader import (
    HQ_DEFAULT_TIMEOUT, Uploader, checkSettings)
from cybertools_tracking.usage import config, registry, reports
from cybertools_tracking.usage.exceptions import (
    AnonymousUsageError, TableConflictError, TableNameError,
    TrackerClosedError, UnknownTrackableError)
from cybertools_tracking.usage.interfaces import IUsageTracker
from cybertools_tracking.usage.rows import (
    DELETE_LAST, MAX_ROWS_PER_TABLE, REGISTER, view)
from cybertools_tracking.usage.sequence import Sequence, checkCheckpoints
from cybertools_tracking.usage.state import NO_STATE, State
from cybertools_tracking.usage.statistic import Statistic
from cybertools_tracking.usage.timer import Timer
from cybertools_tracking.usage.writer import (
    FLUSH_INTERVAL_S, BatchWriter, DirectWriter)
from cybertools_tracking.validation import isInt

logger = logging.getLogger('cybertools_tracking.usage')

SQLITE_MAGIC = b'SQLite format 3\x00'


# Trackers still open at interpreter exit are closed (flushed) then. The
# hook is registered by the first tracker that opens a file, not at import.
_openTrackers = set()
_openLock = threading.Lock()
_exitHook = []


def _keepOpen(tracker):
    with _openLock:
        if not _exitHook:
            atexit.register(_closeAtExit)
            _exitHook.append(True)
        _openTrackers.add(tracker)


def _closeAtExit():
    with _openLock:
        trackers = list(_openTrackers)
    for tracker in trackers:
        try:
            tracker.close()
        except Exception:
            logger.exception('closing %r at exit failed', tracker)


def isSQLite(path):
    """True if path is a readable SQLite database file (the original
    AnonymousUsage format); False if it is anything else or unreadable."""
    try:
        with open(path, 'rb') as f:
            return f.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def _checkNotSQLite(path):
    if isSQLite(path):
        raise AnonymousUsageError(
            f'{path} is an SQLite database (the original AnonymousUsage '
            f'format); convert it with "cybertools-tracking '
            f'import-anonymoususage {path} --into NEW.fs" and pass '
            f'filepath=NEW.fs')


@implementer(IUsageTracker, IHQClient, IUploadSource)
class AnonymousUsageTracker:
    """See IUsageTracker.

    ``AnonymousUsageTracker(uuid, filepath, ...)`` opens (or creates) a
    FileStorage at filepath. ``AnonymousUsageTracker(uuid, storage=ts)``
    writes into the TrackingStorage ``ts`` of a connection the caller
    owns: changes go into the caller's current transaction (the caller
    commits; ``flush()`` commits ``transaction_manager`` when given), and
    ``run_id`` names an existing run to use instead of starting one.
    """

    MAX_ROWS_PER_TABLE = MAX_ROWS_PER_TABLE
    _ownDb = False
    _db = None
    HQ_DEFAULT_TIMEOUT = HQ_DEFAULT_TIMEOUT
    _uploader = None
    _writer = None
    _closed = False

    def __init__(self, uuid, filepath=None, submit_interval_s=0,
                 check_interval_s=0, enabled=True, application_name='',
                 application_version='', debug=False, *, storage=None,
                 transaction_manager=None, run_id=None,
                 flush_interval_s=FLUSH_INTERVAL_S, key=DEFAULT_KEY,
                 host=None, api_key=None):
        if uuid is None or not str(uuid):
            raise ValueError(f'uuid must identify the user (e.g. '
                             f'uuid.uuid4()), not {uuid!r}')
        if (filepath is None) == (storage is None):
            raise ValueError(
                'give either filepath (the database file the tracker opens) '
                'or storage (a TrackingStorage you opened), not '
                + ('both' if filepath is not None else 'neither'))
        hq = host is not None or api_key is not None
        if hq:
            # Bad HQ settings fail here, before anything is opened.
            checkSettings(host, api_key)
        self.uuid = str(uuid)
        self.submit_interval_s = submit_interval_s
        self.check_interval_s = check_interval_s
        flush_interval_s = config.seconds(flush_interval_s,
                                          'flush_interval_s')
        self.application_name = application_name
        self.application_version = application_version
        self.debug = debug
        if debug:
            logger.setLevel(logging.DEBUG)
        self.enabled = bool(enabled)
        self._trackables = {}
        self._maxRows = {}
        self._lock = threading.RLock()
        if storage is not None:
            self.filepath = None
            self._ownDb = False
            self._writer = DirectWriter(storage, self.uuid, self._lock,
                                        self._maxRows, runId=run_id,
                                        transactionManager=transaction_manager)
        else:
            self.filepath = os.fspath(filepath)
            _checkNotSQLite(self.filepath)
            self._db = openDB(self.filepath)
            self._ownDb = True
            try:
                self._writer = BatchWriter(
                    self.db, self.uuid, self._lock, self._maxRows, key=key,
                    interval=flush_interval_s, name=self.filepath)
            except BaseException:
                self.db.close()
                raise
            _keepOpen(self)
        self.run_id = self._writer.runId
        if hq:
            try:
                self.setup_hq(host, api_key)
            except BaseException:
                # Nothing may stay open (file lock, writer thread) when
                # the constructor fails.
                self.close()
                raise

    @property
    def db(self):
        """The ZODB.DB the tracker writes into (for a storage the caller
        opened, its connection's, once the storage is in one)."""
        return self._db if self._ownDb else self._writer.db

    # intervals: checked when set, so the uploader reads plain seconds

    @property
    def submit_interval_s(self):
        return self._submitInterval

    @submit_interval_s.setter
    def submit_interval_s(self, value):
        self._submitInterval = config.seconds(value, 'submit_interval_s')

    @property
    def check_interval_s(self):
        return self._checkInterval

    @check_interval_s.setter
    def check_interval_s(self, value):
        self._checkInterval = config.seconds(value, 'check_interval_s')

    # uploading (IHQClient)

    @property
    def uploader(self):
        return self._uploader

    def setup_hq(self, host, api_key):
        if self._closed:
            raise TrackerClosedError('the tracker is closed; open a new one '
                                     'to upload')
        uploader = self._uploader
        if uploader is None:
            uploader = Uploader(self, host, api_key)
            self._uploader = uploader
        else:
            uploader.configure(host, api_key)
        uploader.startWatcher()

    def submit_statistics(self):
        uploader = self._uploader
        if uploader is None:
            logger.debug('not uploading: no HQ is set up (setup_hq)')
            return False
        return uploader.submit()

    def storage_oid(self):
        """See IUploadSource."""
        with self._writer.reading() as storage:
            return storage._p_oid

    @classmethod
    def load_from_configuration(cls, path, uuid, **kwargs):
        """A tracker from a configuration file ([General], [HQ]); keyword
        arguments override the file. ConfigurationError (a ValueError)
        naming the file and key for a missing file, a missing filepath or
        a value of the wrong kind."""
        return cls(uuid, **config.loadConfiguration(path, **kwargs))

    # declaring

    def track_statistic(self, name, description='', max_rows=None):
        self._declare(Statistic, name, description, max_rows)

    def track_time(self, name, description='', max_rows=None):
        self._declare(Timer, name, description, max_rows)

    def track_state(self, name, initial_state, description='',
                    max_rows=None, keep_redundant=False):
        state = self._declare(State, name, description, max_rows,
                              keep_redundant=keep_redundant)
        if state.state is NO_STATE and initial_state is not NO_STATE:
            state.insert(initial_state)

    def track_sequence(self, name, checkpoints, description='',
                       max_rows=None):
        checkpoints = checkCheckpoints(checkpoints)
        self._declare(Sequence, name, description, max_rows,
                      checkpoints=checkpoints)

    def _declare(self, factory, name, description, max_rows,
                 checkpoints=None, **kw):
        self._checkName(name)
        if description is None:
            description = ''
        if not isinstance(description, str):
            raise TypeError(f'description must be a str, not '
                            f'{type(description).__name__}: {description!r}')
        if max_rows is not None:
            max_rows = self._checkMaxRows(max_rows)
        if checkpoints is not None:
            kw['checkpoints'] = checkpoints
        writer = self._writer
        with writer.reading() as storage:
            with self._lock:
                if name in self._trackables:
                    raise TableConflictError(name)
                stored = writer.pendingRegistrations().get(name) \
                    or registry.lookup(storage, name)
                if stored is not None:
                    if not registry.compatible(stored['type'], factory.type):
                        raise TableConflictError(name, reason=(
                            f'{name!r} is stored as a {stored["type"]} in '
                            f'this database; declare it as one, or use '
                            f'another name for a {factory.type}'))
                    # What the declaration leaves out, the registry keeps.
                    description = description or stored.get('description')\
                        or ''
                    if max_rows is None and stored.get('max_rows'):
                        max_rows = stored['max_rows']
                if max_rows is None:
                    max_rows = self.MAX_ROWS_PER_TABLE
                trackable = factory(name, self, description=description,
                                    max_rows=max_rows, **kw)
                trackable._restore(self._lastRow(storage, name, max_rows))
                entry = registry.makeEntry(factory.type, description,
                                           checkpoints, max_rows)
                self._maxRows[name] = max_rows
                if stored != entry:
                    writer.record((REGISTER, name, entry))
                self._trackables[name] = trackable
        return trackable

    @staticmethod
    def _checkName(name):
        if not isinstance(name, str) or not name.strip():
            raise TableNameError(name)
        if name in RESERVED:
            raise TableNameError(name, reason=(
                f'{name!r} is reserved for {RESERVED[name]}; '
                f'choose another name'))

    def _checkMaxRows(self, max_rows):
        if max_rows is None:
            return self.MAX_ROWS_PER_TABLE
        if not isInt(max_rows) \
                or max_rows < 1:
            raise ValueError(f'max_rows must be an int >= 1 (or None for '
                             f'{self.MAX_ROWS_PER_TABLE}), not {max_rows!r}')
        return max_rows

    # access

    def __getitem__(self, name):
        return self._trackables.get(name)

    def __setitem__(self, name, value):
        trackable = self._trackables.get(name)
        if trackable is None:
            raise UnknownTrackableError(name)
        if value is trackable:
            # tracker[name] += n: the trackable already changed itself.
            return
        trackable.insert(value)

    def __contains__(self, name):
        return name in self._trackables

    def _listed(self, cls):
        return [t for name, t in sorted(self._trackables.items())
                if type(t) is cls and not isInternal(name)]

    @property
    def states(self):
        return self._listed(State)

    @property
    def statistics(self):
        return self._listed(Statistic)

    @property
    def timers(self):
        return self._listed(Timer)

    @property
    def sequences(self):
        return self._listed(Sequence)

    def registry(self, internal=False):
        writer = self._writer
        with writer.reading() as storage:
            entries = registry.read(storage, internal=True)
            entries.update(writer.pendingRegistrations())
        return {name: dict(entry) for name, entry in sorted(entries.items())
                if internal or not isInternal(name)}

    def get_table_info(self, field=None):
        entries = self.registry()
        if field is None:
            return {name: {'type': e['type'], 'description': e['description']}
                    for name, e in entries.items()}
        key = field.lower() if isinstance(field, str) else field
        if key not in ('type', 'description'):
            raise ValueError(f"field must be 'type', 'description' or None, "
                             f"not {field!r}")
        return {name: e[key] for name, e in entries.items()}

    def get_row_count(self):
        return {name: {'nrows': t.get_number_of_rows()}
                for name, t in sorted(self._trackables.items())
                if not isInternal(name)}

    # As in the original, enabled is the permission to upload: local
    # statistics keep working while disabled.

    def enable(self):
        self.enabled = True
        return 'Uploading of statistics has been enabled'

    def disable(self):
        self.enabled = False
        return 'Uploading of statistics has been disabled'

    # rows, read through the writer (stored tracks + pending changes)

    def _storedRows(self, storage, name, last=None, first=None):
        if first is not None:
            tracks = storage.query(taskId=name, userName=self.uuid,
                                   limit=first)
            return [(t.data, t.timeStamp) for t in tracks]
        if last is None:
            tracks = storage.query(taskId=name, userName=self.uuid)
            return [(t.data, t.timeStamp) for t in tracks]
        tracks = storage.query(taskId=name, userName=self.uuid, limit=last,
                               reverse=True)
        return [(t.data, t.timeStamp) for t in reversed(list(tracks))]

    def _lastRow(self, storage, name, maxRows):
        ops = self._writer.pendingFor(name)
        if ops:
            rows = view(self._storedRows(storage, name), ops, maxRows)
        else:
            rows = self._storedRows(storage, name, last=1)
        return rows[-1] if rows else None

    def _rowsOf(self, trackable, last=None, first=None):
        # Without pending changes only the rows asked for are loaded.
        name = trackable.name
        writer = self._writer
        with writer.reading() as storage:
            ops = writer.pendingFor(name)
            if ops:
                rows = view(self._storedRows(storage, name), ops,
                            trackable.max_rows)
                if last is not None:
                    rows = rows[-last:]
                if first is not None:
                    rows = rows[:first]
            else:
                rows = self._storedRows(storage, name, last, first)
            return [trackable._row(data, ts) for data, ts in rows]

    def _numberOfRows(self, trackable):
        name = trackable.name
        writer = self._writer
        with writer.reading() as storage:
            ops = writer.pendingFor(name)
            if not ops:
                # Counted from the indexes, no track loaded.
                return len(storage.query(taskId=name, userName=self.uuid))
            return len(view(self._storedRows(storage, name), ops,
                            trackable.max_rows))

    def _deleteRow(self, trackable, kind):
        name = trackable.name
        writer = self._writer
        with writer.reading() as storage:
            with self._lock:
                rows = view(self._storedRows(storage, name),
                            writer.pendingFor(name), trackable.max_rows)
                if not rows:
                    return
                writer.record((kind, name))
                if kind == DELETE_LAST:
                    trackable._setFrom(rows[-2] if len(rows) > 1 else None)

    # reports

    def summary(self):
        """A list of dicts (name, type, value, rows, average, description,
        checkpoints), one per registered trackable, by name."""
        writer = self._writer
        with writer.reading() as storage:
            entries = registry.read(storage)
            entries.update((name, entry) for name, entry
                           in writer.pendingRegistrations().items()
                           if not isInternal(name))
            return reports.summarize(storage, entries, uuid=self.uuid,
                                     pendingFor=writer.pendingFor)

    def database_to_csv(self, path, orderby='type'):
        reports.writeCSV(self.summary(), path, orderby)

    def to_file(self, path, precision='%.2g'):
        reports.writeReport(self.summary(), path, precision)

    # the end

    def flush(self):
        self._writer.flush()

    def close(self):
        if self._closed:
            return
        self._closed = True
        try:
            if self._uploader is not None:
                self._uploader.close()
        finally:
            try:
                if self._writer is not None:
                    self._writer.close()
            finally:
                with _openLock:
                    _openTrackers.discard(self)
                if self._ownDb:
                    self.db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        where = self.filepath or 'a given storage'
        return f'<AnonymousUsageTracker {self.uuid} at {where}>'
