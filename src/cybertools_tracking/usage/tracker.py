"""The AnonymousUsageTracker: the original API on a TrackingStorage.

A tracker is one user's (``uuid``) set of trackables. It either opens a
FileStorage of its own (``filepath``) and writes behind, through a
``BatchWriter``, or writes synchronously into a TrackingStorage its caller
already opened (``storage=``), through a ``DirectWriter``.

Uploading (``setup_hq``, ``submit_statistics``, the watcher) comes from
``cybertools_tracking.upload``: when that module is installed and defines
``UploadMixin``, the tracker class includes it. That module must not import
``cybertools_tracking.usage`` at module level (only inside functions), or
importing it first would be circular.
"""

import atexit
import importlib
import logging
import os
import threading

from zope.interface import implementer

from cybertools_tracking.db import DEFAULT_KEY, openDB
from cybertools_tracking.usage import config, registry, reports
from cybertools_tracking.usage.exceptions import (
    AnonymousUsageError, TableConflictError, TableNameError,
    UnknownTrackableError)
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


class _NoUploadMixin:
    """Stands in for the uploader's methods until issue 4's
    ``cybertools_tracking.upload.UploadMixin`` is installed."""


def _uploadMixin():
    try:
        module = importlib.import_module('cybertools_tracking.upload')
    except ModuleNotFoundError as exc:
        if exc.name != 'cybertools_tracking.upload':
            raise
        return _NoUploadMixin
    if getattr(getattr(module, '__spec__', None), '_initializing', False):
        raise ImportError(
            'cybertools_tracking.upload imports cybertools_tracking.usage '
            'while being imported; import the usage layer inside its '
            'functions instead')
    return getattr(module, 'UploadMixin', _NoUploadMixin)


UploadMixin = _uploadMixin()

# Trackers still open at interpreter exit are closed (flushed) then.
_openTrackers = set()
_openLock = threading.Lock()


@atexit.register
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


@implementer(IUsageTracker)
class AnonymousUsageTracker(UploadMixin):
    """See IUsageTracker.

    ``AnonymousUsageTracker(uuid, filepath, ...)`` opens (or creates) a
    FileStorage at filepath. ``AnonymousUsageTracker(uuid, storage=ts)``
    writes into the TrackingStorage ``ts`` of a connection the caller
    owns: changes go into the caller's current transaction (the caller
    commits; ``flush()`` commits ``transaction_manager`` when given), and
    ``run_id`` names an existing run to use instead of starting one.
    """

    MAX_ROWS_PER_TABLE = MAX_ROWS_PER_TABLE
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
            check = getattr(self, '_checkHQ', None)
            if check is not None:
                check(host, api_key)
        self.uuid = str(uuid)
        self.submit_interval_s = config.seconds(submit_interval_s,
                                                'submit_interval_s')
        self.check_interval_s = config.seconds(check_interval_s,
                                               'check_interval_s')
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
            self.db = self._writer.db
        else:
            self.filepath = os.fspath(filepath)
            _checkNotSQLite(self.filepath)
            self.db = openDB(self.filepath)
            self._ownDb = True
            try:
                self._writer = BatchWriter(
                    self.db, self.uuid, self._lock, self._maxRows, key=key,
                    interval=flush_interval_s, name=self.filepath)
            except BaseException:
                self.db.close()
                raise
            with _openLock:
                _openTrackers.add(self)
        self.run_id = self._writer.runId
        if hq:
            try:
                self._setupHQ(host, api_key)
            except BaseException:
                # Nothing may stay open (file lock, writer thread) when
                # the constructor fails.
                self.close()
                raise

    def _setupHQ(self, host, api_key):
        setup = getattr(self, 'setup_hq', None)
        if setup is not None:
            setup(host, api_key)
        else:
            # No uploader installed: keep the settings for whoever asks.
            self.hq_settings = {'host': host, 'api_key': api_key}
            logger.debug('no uploader installed; HQ settings kept only')

    @classmethod
    def load_from_configuration(cls, path, uuid, **kwargs):
        """A tracker from a configuration file ([General], [HQ]); keyword
        arguments override the file. ConfigurationError (a ValueError)
        naming the file and key for a missing file, a missing filepath or
        a value of the wrong kind."""
        return cls(uuid, **config.loadConfiguration(
            path, checkHQ=getattr(cls, '_checkHQ', None), **kwargs))

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
        if name in registry.RESERVED:
            raise TableNameError(name, reason=(
                f'{name!r} is reserved for {registry.RESERVED[name]}; '
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
                if type(t) is cls and not registry.isInternal(name)]

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
                if internal or not registry.isInternal(name)}

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
                if not registry.isInternal(name)}

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
                           if not registry.isInternal(name))
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
