"""Getting a tracker's changes into its TrackingStorage.

Two writers with one interface (IChangeWriter):

* ``BatchWriter`` (write behind), for a tracker that opened its own file.
  The caller's thread only appends an op to a list under the tracker's
  lock; a writer thread with its own connection and transaction manager
  commits what has gathered every ``interval`` seconds, on ``flush()``,
  on ``close()`` (and so at interpreter exit). A commit costs an fsync, so
  committing each change, as the original did with SQLite, would cap a
  caller near a thousand changes a second and make every increment wait
  for the disk.
* ``DirectWriter`` (synchronous), for a tracker writing into a storage
  its caller opened: changes go into the caller's storage at once, in the
  caller's transaction.

Readers go through ``reading()``, which holds the commit lock, so what
they see stored and what is still pending never overlap.
"""

import contextlib
import logging
import threading
import time

import transaction
from zope.interface import implementer

from cybertools_tracking.db import (
    DEFAULT_KEY, ensureStorage, getStorage, retry)
from cybertools_tracking.validation import checkTrackingStorage
from cybertools_tracking.usage import registry
from cybertools_tracking.usage.exceptions import (
    AnonymousUsageError, TrackerClosedError, WriteError)
from cybertools_tracking.usage.interfaces import IChangeWriter
from cybertools_tracking.usage.rows import (
    MAX_ROWS_PER_TABLE, REGISTER, SAVE, replay)

logger = logging.getLogger('cybertools_tracking.usage')

ATTEMPTS = 5
FLUSH_INTERVAL_S = 0.5
# A kill loses what is not committed. Batches start every interval, and a
# caller waits once more is uncommitted than the writer commits in this
# long (measured as it goes): a change is on disk within interval +
# DRAIN_TARGET_S (0.9 s) even when the caller outpaces the disk. The
# writer starts early when half of that has gathered.
DRAIN_TARGET_S = 0.4
MIN_PENDING = 1000
MAX_PENDING = 50_000
# Batches this small are dominated by the fsync, not by the ops.
_MEASURE_FROM = 200


def applyOps(storage, uuid, runId, ops, maxRows, storedCounts):
    """Apply ops to storage in the current transaction.

    maxRows: name -> rows to keep; storedCounts: name -> rows known to be
    stored (counted when missing). Returns the new stored row count of each
    trackable the ops touched; the caller records them once committed.
    """
    byName = {}
    for op in ops:
        if op[0] == REGISTER:
            registry.write(storage, op[1], op[2])
        else:
            byName.setdefault(op[1], []).append(op)
    counts = {}
    for name, nameOps in byName.items():
        stored = storedCounts.get(name)
        if stored is None:
            stored = len(storage.query(taskId=name, userName=uuid))
        dropFront, dropBack, saves = replay(
            stored, nameOps, maxRows.get(name, MAX_ROWS_PER_TABLE))
        if dropFront:
            for track in list(storage.query(taskId=name, userName=uuid,
                                            limit=dropFront)):
                storage.removeTrack(track)
        if dropBack:
            for track in list(storage.query(taskId=name, userName=uuid,
                                            limit=dropBack, reverse=True)):
                storage.removeTrack(track)
        for op in saves:
            if op[0] == SAVE:
                storage.saveUserTrack(name, runId, uuid, op[2],
                                      timeStamp=op[3])
        counts[name] = stored - dropFront - dropBack + len(saves)
    return counts


def checkStorage(storage, where):
    """storage, if it is a TrackingStorage; else the tracker's error
    saying what where holds."""
    try:
        return checkTrackingStorage(storage, where)
    except TypeError as exc:
        raise _notAStorage(exc) from None


def _notAStorage(exc):
    return AnonymousUsageError(f'{exc}; use another file or root key')


@implementer(IChangeWriter)
class BatchWriter:
    """See IChangeWriter. Write behind, into a database the tracker owns."""

    def __init__(self, db, uuid, lock, maxRows, key=DEFAULT_KEY,
                 interval=FLUSH_INTERVAL_S, name=''):
        self.db = db
        self.uuid = uuid
        self.key = key
        self.lock = lock
        self.maxRows = maxRows
        self.interval = interval
        self._cond = threading.Condition(lock)
        self._commitLock = threading.RLock()
        self._wake = threading.Event()
        self._pending = []
        self._recorded = self._committed = 0
        self._storedCounts = {}
        self._error = None
        self._attempts = 0        # commit attempts made, failed or not
        self._closed = self._stopping = False
        self._secondsPerOp = 50e-6
        self.maxPending = self._maxPendingFor(self._secondsPerOp)
        try:
            ensureStorage(db, key)
        except TypeError as exc:
            # ensureStorage refuses what is not a storage, as checkStorage.
            raise _notAStorage(f'{name}: {exc}') from None
        self._tm = transaction.TransactionManager()
        self._conn = db.open(transaction_manager=self._tm)
        try:
            self._storage = getStorage(self._conn, key, create=False)
            storage = self._storage
            self.runId = retry(self._tm, lambda: storage.startRun(None),
                               attempts=ATTEMPTS)
            self._readTm = transaction.TransactionManager()
            self._readConn = db.open(transaction_manager=self._readTm)
        except BaseException:
            self._tm.abort()
            self._conn.close()
            raise
        self._thread = threading.Thread(
            target=self._run, name=f'usage-writer {uuid}', daemon=True)
        self._thread.start()

    @property
    def maxPending(self):
        return self._maxPending

    @maxPending.setter
    def maxPending(self, value):
        self._maxPending = value
        self._wakeAt = value // 2

    # the caller's side

    def admit(self):
        # Unlocked reads: a stale value only shifts the wait by one change.
        uncommitted = self._recorded - self._committed
        if uncommitted < self._wakeAt:
            return
        if not self._wake.is_set():
            self._wake.set()
        if uncommitted < self.maxPending:
            return
        with self._cond:
            self._wake.set()
            while (self._recorded - self._committed >= self.maxPending
                   and self._error is None and not self._closed
                   and self._thread.is_alive()):
                self._cond.wait(1.0)

    def record(self, op):
        if self._closed:
            raise TrackerClosedError(
                'the tracker is closed; open a new one to record changes')
        self._pending.append(op)
        self._recorded += 1

    def pendingFor(self, name):
        with self.lock:
            return [op for op in self._pending
                    if op[1] == name and op[0] != REGISTER]

    def pendingRegistrations(self):
        with self.lock:
            return {op[1]: op[2] for op in self._pending
                    if op[0] == REGISTER}

    @contextlib.contextmanager
    def reading(self):
        with self._commitLock:
            if self._closed:
                raise TrackerClosedError(
                    'the tracker is closed; reopen the file to read it')
            # A new transaction sees every commit up to now; holding the
            # commit lock keeps the writer from committing until we are done.
            self._readTm.abort()
            try:
                yield self._readConn.root()[self.key]
            finally:
                self._readTm.abort()

    def flush(self):
        with self._cond:
            target = self._recorded
            if self._closed or self._committed >= target:
                return
            tried = self._attempts
            self._wake.set()
            while self._committed < target and self._thread.is_alive():
                # Only an attempt made after this call started counts.
                if self._attempts > tried and self._error is not None:
                    raise WriteError(
                        f'could not write to the usage database: '
                        f'{type(self._error).__name__}: {self._error}; '
                        f'the changes are kept and retried')
                self._cond.wait(0.5)
        if self._committed < target:
            # The writer thread is gone (closing): commit here.
            self._commitPending()

    @property
    def uncommitted(self):
        return self._recorded - self._committed

    def close(self, stopRun=True):
        if self._closed:
            return
        self._stopping = True
        self._wake.set()
        self._thread.join()
        error = None
        try:
            self._commitPending(final=True)
            error = self._error
            with self._commitLock:
                storage = self._storage
                if stopRun:
                    retry(self._tm,
                          lambda: storage.stopRun(None, self.runId),
                          attempts=ATTEMPTS)
                self._tm.abort()
                storage.releaseNumbers()
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()
            self._tm.abort()
            self._conn.close()
            self._readTm.abort()
            self._readConn.close()
        if error is not None:
            raise WriteError(
                f'{self.uncommitted} changes could not be written to the '
                f'usage database: {type(error).__name__}: {error}')

    # the writer's side

    def _run(self):
        # Batches start at a steady pace (not an interval after the last
        # one ended), so a long commit does not push the next one back.
        due = time.monotonic() + self.interval
        while not self._stopping:
            self._wake.wait(max(due - time.monotonic(), 0))
            self._wake.clear()
            if self._stopping:
                break
            due = time.monotonic() + self.interval
            try:
                self._commitPending()
            except Exception:
                # Never let the thread die: the next round retries.
                logger.exception('usage writer: commit failed')

    def _commitPending(self, final=False):
        with self._commitLock:
            with self.lock:
                batch, self._pending = self._pending, []
                upto = self._recorded
                if final:
                    self._closed = True
            if not batch:
                return
            started = time.perf_counter()
            try:
                counts = retry(self._tm, lambda: applyOps(
                    self._storage, self.uuid, self.runId, batch,
                    self.maxRows, self._storedCounts), attempts=ATTEMPTS)
            except Exception as exc:
                self._tm.abort()
                with self._cond:
                    self._pending[:0] = batch
                    self._error = exc
                    self._attempts += 1
                    self._cond.notify_all()
                logger.error('usage writer: %d changes not written, kept '
                             'for the next try: %s: %s', len(batch),
                             type(exc).__name__, exc)
                return
            elapsed = time.perf_counter() - started
            self._storedCounts.update(counts)
            if len(batch) >= _MEASURE_FROM:
                self._secondsPerOp = (0.7 * self._secondsPerOp
                                      + 0.3 * elapsed / len(batch))
                self.maxPending = self._maxPendingFor(self._secondsPerOp)
            logger.debug('usage writer: committed %d changes in %.1f ms',
                         len(batch), elapsed * 1000)
            with self._cond:
                self._committed = upto
                self._error = None
                self._attempts += 1
                self._cond.notify_all()

    @staticmethod
    def _maxPendingFor(secondsPerOp):
        return int(min(max(DRAIN_TARGET_S / secondsPerOp, MIN_PENDING),
                       MAX_PENDING))


@implementer(IChangeWriter)
class DirectWriter:
    """See IChangeWriter. Synchronous, into a storage the caller owns.

    Changes join the caller's current transaction; the caller commits
    them, or ``flush()`` does when a transaction manager was given.
    """

    maxPending = 0
    uncommitted = 0

    def __init__(self, storage, uuid, lock, maxRows, runId=None,
                 transactionManager=None):
        self._storage = checkStorage(storage, 'storage')
        self.uuid = uuid
        self.lock = lock
        self.maxRows = maxRows
        self._tm = transactionManager
        self._storedCounts = {}
        self._closed = False
        self._ownRun = runId is None
        if runId is None:
            runId = storage.startRun(None)
        elif storage.getRun(runId=runId) is None:
            raise ValueError(f'run_id {runId!r} is not a run of this '
                             f'storage; pass None to start one')
        self.runId = runId

    @property
    def db(self):
        jar = self._storage._p_jar
        return jar.db() if jar is not None else None

    def admit(self):
        pass

    def record(self, op):
        if self._closed:
            raise TrackerClosedError(
                'the tracker is closed; open a new one to record changes')
        counts = applyOps(self._storage, self.uuid, self.runId, [op],
                          self.maxRows, self._storedCounts)
        self._storedCounts.update(counts)

    def pendingFor(self, name):
        return []

    def pendingRegistrations(self):
        return {}

    @contextlib.contextmanager
    def reading(self):
        if self._closed:
            raise TrackerClosedError('the tracker is closed')
        yield self._storage

    def flush(self):
        if self._tm is not None and not self._closed:
            self._tm.commit()

    def close(self, stopRun=True):
        if self._closed:
            return
        if stopRun and self._ownRun:
            self._storage.stopRun(None, self.runId)
        self.flush()
        self._closed = True
