"""Bringing an original AnonymousUsage SQLite database along.

The original kept ``__tableinfo__`` (TableName, Type, Description) and one
table per trackable (UUID, Count, Time as ``%d/%m/%Y %H:%M:%S``, plus State
for states) in ``NAME.db``, and rows not yet uploaded in ``NAME.part.db``
beside it. ``importAnonymousUsage`` reads both, checks everything, and only
then writes a new FileStorage: each row becomes a track (taskId = table,
userName = the row's UUID, data = {'Count'[, 'State']}, timeStamp = its
Time) and each table a registry entry, so counts, states and their history
carry over. A file that is not such a database gets one clear error
(ImportFormatError) and nothing is written.
"""

import datetime
import os
import pathlib
import signal
import sqlite3
import threading

import transaction

from cybertools_tracking.db import fileStoragePath, getStorage, openDB
from cybertools_tracking.upload import place
from cybertools_tracking.usage import registry
from cybertools_tracking.usage.exceptions import (
    AnonymousUsageError, ImportFormatError)
from cybertools_tracking.usage.rows import MAX_ROWS_PER_TABLE, TIME_FMT
from cybertools_tracking.usage.tracker import SQLITE_MAGIC

TABLEINFO = '__tableinfo__'
TABLEINFO_COLUMNS = ('TableName', 'Type', 'Description')
ROW_COLUMNS = ('UUID', 'Count', 'Time')
COMMIT_EVERY = 5000
SUBMISSIONS = '__submissions__'


def partPath(path):
    """The original's partial database beside path: NAME.part.db."""
    return os.path.splitext(path)[0] + '.part.db'


def defaultTarget(path):
    """Where the import goes unless told: NAME.fs beside NAME.db."""
    return os.path.splitext(path)[0] + '.fs'


def _quote(identifier):
    # Table names cannot be SQL parameters; they come from sqlite_master
    # and are quoted as identifiers.
    return '"%s"' % identifier.replace('"', '""')


def _connect(path):
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ImportFormatError(f'{path}: no such file')
    try:
        with open(path, 'rb') as f:
            head = f.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise ImportFormatError(f'{path}: cannot read it ({exc})') from None
    if head != SQLITE_MAGIC:
        raise ImportFormatError(
            f'{path}: not an SQLite database, so not an AnonymousUsage '
            f'database')
    uri = pathlib.Path(path).resolve().as_uri() + '?mode=ro'
    try:
        return sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise ImportFormatError(f'{path}: cannot open it ({exc})') from None


class _Source:
    """One SQLite file of the original, read-only."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self.conn = _connect(self.path)
        try:
            self.tables = {row[0] for row in self.conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.Error as exc:
            self.conn.close()
            raise ImportFormatError(
                f'{self.path}: not a readable SQLite database ({exc})') \
                from None

    def columns(self, table):
        return [row[1] for row in self.conn.execute(
            f'PRAGMA table_info({_quote(table)})')]

    def rows(self, table, columns):
        names = ', '.join(_quote(c) for c in columns)
        try:
            return self.conn.execute(
                f'SELECT {names} FROM {_quote(table)} ORDER BY rowid'
            ).fetchall()
        except sqlite3.OperationalError:
            # A table without rowid: its natural order.
            return self.conn.execute(
                f'SELECT {names} FROM {_quote(table)}').fetchall()

    def close(self):
        self.conn.close()


def _readTableInfo(sources):
    info = {}
    for source in reversed(sources):    # the master's entries win
        if TABLEINFO not in source.tables:
            continue
        missing = [c for c in TABLEINFO_COLUMNS
                   if c not in source.columns(TABLEINFO)]
        if missing:
            raise ImportFormatError(
                f'{source.path}: {TABLEINFO} lacks the column(s) '
                f'{", ".join(missing)}; not an AnonymousUsage database')
        for name, type, description in source.rows(TABLEINFO,
                                                   TABLEINFO_COLUMNS):
            if not isinstance(name, str) or not name:
                raise ImportFormatError(
                    f'{source.path}: {TABLEINFO} names a table {name!r}; '
                    f'table names must be text')
            _checkName(source.path, name, type)
            if type not in registry.TYPES:
                raise ImportFormatError(
                    f'{source.path}: table {name!r} has type {type!r}; '
                    f'AnonymousUsage types are {", ".join(registry.TYPES)}')
            info[name] = (type, description or '')
    if not any(TABLEINFO in source.tables for source in sources):
        raise ImportFormatError(
            f'{sources[0].path}: no {TABLEINFO} table, so not an '
            f'AnonymousUsage database')
    return info


def _checkName(path, name, type):
    """Refuse a table named for what the machinery keeps (the registry,
    the upload state): importing it would corrupt them. The original's
    own count of uploads, __submissions__, comes along as a Statistic."""
    if name == SUBMISSIONS:
        if type != 'Statistic':
            raise ImportFormatError(
                f'{path}: {TABLEINFO} gives {SUBMISSIONS} the type '
                f'{type!r}; the original keeps its uploads as a Statistic')
    elif name in registry.RESERVED:
        raise ImportFormatError(
            f'{path}: {TABLEINFO} names a table {name!r}, a name reserved '
            f'for {registry.RESERVED[name]}; not an AnonymousUsage '
            f'database this importer can convert')


def _count(value, type, where):
    number = value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
    if isinstance(number, bool) or not isinstance(number, (int, float)):
        raise ImportFormatError(f'{where}: Count {value!r} is not a number')
    value = number
    if type != 'Timer' and isinstance(value, float) and value.is_integer():
        value = int(value)
    return value


def _timeStamp(text, where):
    try:
        moment = datetime.datetime.strptime(str(text), TIME_FMT)
    except ValueError:
        raise ImportFormatError(
            f'{where}: Time {text!r} is not day/month/year '
            f'hour:minute:second ({TIME_FMT})') from None
    try:
        # Local time, as the original wrote it; the platform's clock
        # cannot place every year (01/01/0001 is before its range).
        return int(moment.timestamp())
    except (ValueError, OverflowError, OSError) as exc:
        raise ImportFormatError(
            f'{where}: Time {text!r} cannot be a time stamp here ({exc}); '
            f'times from 1970 to 9999 import everywhere') from None


def _readRows(source, name, type):
    """[(uuid, data, timeStamp)] of one table of one source."""
    if name not in source.tables:
        return []
    columns = list(ROW_COLUMNS) + (['State'] if type == 'State' else [])
    have = source.columns(name)
    missing = [c for c in columns if c not in have]
    if missing:
        raise ImportFormatError(
            f'{source.path}: table {name!r} ({type}) lacks the column(s) '
            f'{", ".join(missing)}')
    result = []
    for number, row in enumerate(source.rows(name, columns), 1):
        where = f'{source.path}: table {name!r} row {number}'
        uuid = row[0]
        if uuid is None or str(uuid) == '':
            raise ImportFormatError(f'{where}: UUID is empty')
        data = {'Count': _count(row[1], type, where)}
        if type == 'State':
            data['State'] = str(row[3])
        result.append((str(uuid), data, _timeStamp(row[2], where)))
    return result


def readAnonymousUsage(path):
    """Read and check an original database and its part file; return
    ``(sources, {name: (type, description, rowsBySource)})`` where
    rowsBySource holds one list of ``(uuid, data, timeStamp)`` per source,
    master's first. ImportFormatError for anything that is not an
    AnonymousUsage database."""
    paths = [os.fspath(path)]
    if os.path.exists(partPath(paths[0])) and partPath(paths[0]) != paths[0]:
        paths.append(partPath(paths[0]))
    sources = []
    try:
        for p in paths:
            sources.append(_Source(p))
        info = _readTableInfo(sources)
        tables = {}
        for name, (type, description) in sorted(info.items()):
            tables[name] = (type, description,
                            [_readRows(source, name, type)
                             for source in sources])
    except sqlite3.Error as exc:
        raise ImportFormatError(
            f'{paths[0]}: cannot read it as an AnonymousUsage database '
            f'({exc})') from None
    finally:
        for source in sources:
            source.close()
    return paths, tables


# The database file and the files FileStorage makes beside it.
FILESTORAGE_SUFFIXES = ('', '.index', '.lock', '.tmp', '.old', '.pack')


def _existing(path):
    return {suffix for suffix in FILESTORAGE_SUFFIXES
            if os.path.exists(path + suffix)}


def _removeFileStorage(path, keep):
    """Remove what the import made: the files beside path whose suffix
    is not in keep (those were there before it started)."""
    for suffix in FILESTORAGE_SUFFIXES:
        if suffix not in keep:
            try:
                os.remove(path + suffix)
            except FileNotFoundError:
                pass


def _uploaded(tables):
    """{uuid: (submissions, timeStamp)} from the master's __submissions__
    rows: the users whose tracker has uploaded (the last row's Count and
    Time)."""
    entry = tables.get(SUBMISSIONS)
    if entry is None:
        return {}
    done = {}
    for uuid, data, timeStamp in entry[2][0]:
        count = data.get('Count')
        if isinstance(count, (int, float)) and count >= 1:
            done[uuid] = (int(count), timeStamp)
    return done


def _recordUploaded(storage, runId, tables, watermark):
    """Mark the master's rows as uploaded for each user whose tracker has
    uploaded: the original moved rows into NAME.db only after uploading
    them (NAME.part.db holds what was not uploaded yet), so the uploader
    must not send them again."""
    for uuid, (submissions, timeStamp) in sorted(_uploaded(tables).items()):
        place.saveImported(storage, uuid, runId, submissions, watermark,
                           timeStamp)


class _InterruptsBetweenCommits:
    """Ctrl-C held back while the import writes, let through between
    commits. SIGINT inside a FileStorage commit (the import's own, or a
    track-number reservation made inside a save) makes FileStorage close
    the file and log a traceback; held, it arrives as soon as the commit
    is whole, and the import removes its file as for any interrupt.
    Where signals cannot be masked (no pthread_sigmask, or not the main
    thread) it holds nothing."""

    def __init__(self):
        self.held = hasattr(signal, 'pthread_sigmask') and \
            threading.current_thread() is threading.main_thread()
        self.previous = None

    def __enter__(self):
        if self.held:
            self.previous = signal.pthread_sigmask(signal.SIG_BLOCK,
                                                   {signal.SIGINT})
        return self

    def commit(self, tm):
        tm.commit()
        if self.held:
            # A pending Ctrl-C is delivered here, between two commits.
            signal.pthread_sigmask(signal.SIG_SETMASK, self.previous)
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})

    def __exit__(self, *exc):
        if self.held:
            signal.pthread_sigmask(signal.SIG_SETMASK, self.previous)


def _save(storage, name, runId, uuid, data, timeStamp, row):
    """Save one row; a value the storage refuses names the row (row:
    (source path, row number))."""
    try:
        return storage.saveUserTrack(name, runId, uuid, data,
                                     timeStamp=timeStamp)
    except (TypeError, ValueError) as exc:
        source, number = row
        raise ImportFormatError(f'{source}: table {name!r} row {number}: '
                                f'cannot be saved ({exc})') from None


def _targetPath(into):
    """The file into names (a path or a file:// URI); anything else is
    refused, since the import makes a new FileStorage file."""
    target = fileStoragePath(into)
    if not target:
        raise AnonymousUsageError(
            f'{into}: the import writes a new FileStorage file; give a path '
            f'or a file:///PATH URI (not memory://, which keeps nothing, '
            f'nor a server, which may hold data already)')
    return target


def importAnonymousUsage(path, into=None, progress=None):
    """Convert the AnonymousUsage database at path (and NAME.part.db
    beside it) into a new FileStorage at into (NAME.fs by default).

    The master's rows are numbered before the part file's; when the
    master records submissions (``__submissions__``), its rows count as
    uploaded (see ``_recordUploaded``), so an uploader sends only the
    part file's rows and what comes after.

    into: a path or a ``file://`` URI. progress: called as
    ``progress(done, total)`` with the rows written so far and in all.

    Returns a dict: into, sources (the files read), trackables, tracks,
    uuids. ImportFormatError for a file that is not such a database (or
    a row that cannot be saved), AnonymousUsageError when into exists or
    is not a file; in these cases nothing is written. When the import
    fails or is interrupted, it removes what it made and nothing else.
    """
    path = os.fspath(path)
    into = os.fspath(into) if into is not None else defaultTarget(path)
    target = _targetPath(into)
    if os.path.exists(target):
        raise AnonymousUsageError(
            f'{into}: already exists; import into a new file (--into)')
    sources, tables = readAnonymousUsage(path)
    total = sum(len(rows) for _, _, rowsBySource in tables.values()
                for rows in rowsBySource)
    keep = _existing(target)
    if progress is not None:
        progress(0, total)
    db = openDB(into)
    uuids = set()
    tracks = 0
    try:
        tm = transaction.TransactionManager()
        conn = db.open(transaction_manager=tm)
        try:
            with _InterruptsBetweenCommits() as interrupts:
                tracks = _write(tm, getStorage(conn), sources, tables,
                                interrupts, uuids, progress, total)
        finally:
            tm.abort()
            conn.close()
    except BaseException:
        db.close()
        _removeFileStorage(target, keep)
        raise
    db.close()
    if progress is not None:
        progress(tracks, total)
    return {'into': into, 'sources': sources, 'trackables': len(tables),
            'tracks': tracks, 'uuids': sorted(uuids)}


def _write(tm, storage, sources, tables, interrupts, uuids, progress, total):
    """Save every row into storage, committing as it goes; return how
    many were saved (uuids gets the user ids)."""
    tracks = 0
    runId = storage.startRun(None)
    pending = 0
    for name, (type, description, _) in tables.items():
        registry.write(storage, name, registry.makeEntry(
            type, description, None, MAX_ROWS_PER_TABLE))
    # Source by source, so every master row has a lower number than every
    # row of the part file.
    watermark = 0
    for index in range(len(sources)):
        for name, (_, _, rowsBySource) in tables.items():
            for number, (uuid, data, timeStamp) in enumerate(
                    rowsBySource[index], 1):
                trackId = _save(storage, name, runId, uuid, data,
                                timeStamp, (sources[index], number))
                uuids.add(uuid)
                tracks += 1
                pending += 1
                if pending >= COMMIT_EVERY:
                    interrupts.commit(tm)
                    pending = 0
                if progress is not None and not tracks % 1000:
                    progress(tracks, total)
                if index == 0:
                    watermark = int(trackId)
    _recordUploaded(storage, runId, tables, watermark)
    storage.stopRun(None, runId)
    interrupts.commit(tm)
    return tracks
