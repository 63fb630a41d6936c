"""The uploader: batches from the watermark, one request each, and the
reply decides what happens next.

Each batch goes through three short steps, and the network is never
touched while the database is:

1. prepare (database): read the place (``state``), take the tracks after
   the watermark (at most ``batch_tracks``, within ``max_body_bytes``) or
   the batch already being sent, and record a new batch with its
   idempotency key in a transaction of its own;
2. send (network): POST it, with the key as ``Idempotency-Key``;
3. record (database, only after a 2xx): move the watermark and count the
   submission in a transaction of its own.

A failure between 2 and 3 leaves the batch recorded as being sent, so it
goes again under the same key; nothing is ever dropped from the local
database by the uploader.
"""

import importlib.metadata
import logging
import math
import os
import platform
import random
import re
import threading
import time
import uuid as uuidlib
import weakref
from dataclasses import dataclass

import transaction
from zope.interface import implementer

from cybertools_tracking import protocol
from cybertools_tracking.db import DEFAULT_KEY, retry
from cybertools_tracking.names import isInternal
from cybertools_tracking.upload import payload
from cybertools_tracking.upload.interfaces import IUploader
from cybertools_tracking.upload.place import (
    Pending, readState, savePending, saveSuccess)
from cybertools_tracking.upload.policy import (
    Backoff, Verdict, classify, parseRetryAfter)
from cybertools_tracking.upload.transport import (
    HTTPTransport, TransportError, uploadURL)
from cybertools_tracking.upload.watcher import Watcher

logger = logging.getLogger('cybertools_tracking.upload')

HQ_DEFAULT_TIMEOUT = 10
DEFAULT_BATCH_TRACKS = 500
MAX_BODY_BYTES = protocol.MAX_BODY_BYTES
# The watcher sends at most this many batches per check, so a large
# backlog never keeps its thread (or a closing app) busy for long.
MAX_BATCHES_PER_TICK = 20
_DB_ATTEMPTS = 5


def _userAgent():
    try:
        version = importlib.metadata.version('cybertools_tracking')
    except importlib.metadata.PackageNotFoundError:
        version = 'unknown'
    return (f'cybertools_tracking/{version} '
            f'Python/{platform.python_version()}')


USER_AGENT = _userAgent()


def doNotTrack(environ=None):
    """True when the environment says DO_NOT_TRACK (any value but empty,
    0, false, no or off), the console-do-not-track convention."""
    value = (os.environ if environ is None else environ).get(
        'DO_NOT_TRACK', '')
    return value.strip().lower() not in ('', '0', 'false', 'no', 'off')


def checkSettings(host, api_key):
    """(upload URL, api key) for HQ settings; ValueError saying what is
    allowed for a bad host or an api key that is not a str (None and ''
    mean no key: no uploads)."""
    url = uploadURL(host)
    if api_key is None:
        api_key = ''
    if not isinstance(api_key, str):
        raise ValueError(f'api_key must be a str (empty: no uploads), '
                         f'not {type(api_key).__name__}: {api_key!r}')
    return url, api_key.strip()


@dataclass(frozen=True)
class UploadStatus:
    """A snapshot of the uploader's pacing (epoch seconds)."""

    failures: int
    next_attempt: float
    hold_until: float
    stopped: str | None
    last_error: str | None
    last_reply: str | None = None   # the text of the last 2xx reply


@dataclass(frozen=True)
class Batch:
    key: str
    after: int
    through: int
    numbers: tuple
    body: bytes
    trackables: int


class _Closed(Exception):
    pass


_live = weakref.WeakSet()
_forkHook = []


def _afterForkInChild():
    for uploader in list(_live):
        uploader._forgetAfterFork()


def _watchForks():
    # Registered by the first uploader, not at import: importing the
    # package must not change how the host application forks.
    if not _forkHook and hasattr(os, 'register_at_fork'):
        os.register_at_fork(after_in_child=_afterForkInChild)
        _forkHook.append(True)


_KEY_FIELD = re.compile(r'("API[ _]?Key"\s*:\s*")((?:[^"\\]|\\.)*)(")',
                        re.IGNORECASE)
REDACTED = '[api key removed]'


def redact(text, apiKey):
    """text with apiKey removed wherever it appears (also as the start of
    a key cut off at the end of text), and the value of any "API Key" JSON
    field: replies are logged and kept in the status, and an HQ may echo
    the request."""
    text = _KEY_FIELD.sub(lambda m: m.group(1) + REDACTED + m.group(3),
                          text)
    if apiKey:
        text = text.replace(apiKey, REDACTED)
        for cut in range(min(len(apiKey) - 1, len(text)), 3, -1):
            if text.endswith(apiKey[:cut]):
                text = text[:-cut] + REDACTED
                break
    return text


def _positive(value):
    return not isinstance(value, bool) and isinstance(value, (int, float)) \
        and math.isfinite(value) and value > 0


@implementer(IUploader)
class Uploader:
    """See IUploader.

    tracker: an IUploadSource (the usage tracker provides it).
    transport, clock and random are there for tests and embedding.
    """

    def __init__(self, tracker, host, api_key, transport=None,
                 clock=time.time, random=random.random):
        self.tracker = tracker
        self._transport = transport if transport is not None \
            else HTTPTransport()
        self._clock = clock
        self.backoff = Backoff(random=random)
        self.batch_tracks = DEFAULT_BATCH_TRACKS
        self.max_body_bytes = MAX_BODY_BYTES
        self._timeout = None
        self._sendLock = threading.Lock()
        self._dbLock = threading.Lock()
        self._tm = self._conn = None
        self._storageOid = None
        self._watcher = None
        self._closed = self._forked = False
        self.url = self.api_key = None
        self._clearPacing()
        self.configure(host, api_key)
        _watchForks()
        _live.add(self)

    # settings

    @property
    def timeout(self):
        if self._timeout is not None:
            return self._timeout
        # A bad value set on the tracker must not break close() (which
        # waits at most this long): it falls back to the default.
        value = getattr(self.tracker, 'HQ_DEFAULT_TIMEOUT',
                        HQ_DEFAULT_TIMEOUT)
        return value if _positive(value) else HQ_DEFAULT_TIMEOUT

    @timeout.setter
    def timeout(self, value):
        if value is not None and (isinstance(value, bool)
                                  or not isinstance(value, (int, float))
                                  or not value > 0):
            raise ValueError(f'timeout must be a number of seconds > 0 (or '
                             f'None for HQ_DEFAULT_TIMEOUT), not {value!r}')
        self._timeout = value

    def configure(self, host, api_key):
        url, api_key = checkSettings(host, api_key)
        if (url, api_key) != (self.url, self.api_key):
            self.url, self.api_key = url, api_key
            self._clearPacing()

    def _clearPacing(self):
        self.backoff.reset()
        self._nextAttempt = self._holdUntil = 0.0
        self._stopped = self._lastError = self._lastReply = None
        self._failing = False

    @property
    def status(self):
        return UploadStatus(self.backoff.failures, self._nextAttempt,
                            self._holdUntil, self._stopped, self._lastError,
                            self._lastReply)

    def blocked(self):
        if self._forked:
            return 'a forked child process does not upload'
        if self._closed:
            return 'the uploader is closed'
        tracker = self.tracker
        if not getattr(tracker, 'enabled', True):
            return 'the tracker is disabled'
        if doNotTrack():
            return 'DO_NOT_TRACK is set'
        if not self.api_key:
            return 'no api key is set'
        if not getattr(tracker, 'application_name', None):
            return 'no application name is set'
        if not getattr(tracker, 'application_version', None):
            return 'no application version is set'
        if self._stopped:
            return self._stopped
        if self._clock() < self._holdUntil:
            return (f'the HQ asked (Retry-After) not to be contacted before '
                    f'{time.ctime(self._holdUntil)}')
        return None

    # uploading

    def submit(self, maxBatches=None, flush=True):
        try:
            reason = self.blocked()
            if reason:
                logger.debug('not uploading: %s', reason)
                return False
            with self._sendLock:
                reason = self.blocked()     # may have changed meanwhile
                if reason:
                    logger.debug('not uploading: %s', reason)
                    return False
                return self._drain(maxBatches, flush)
        except _Closed:
            return False
        except Exception as exc:
            self._lastError = f'{type(exc).__name__}: {exc}'
            logger.exception('upload to %s failed', self.url)
            return False

    def _drain(self, maxBatches, flush):
        if flush:
            self.tracker.flush()
        sent = 0
        done = 0
        while maxBatches is None or sent < maxBatches:
            batch = self._prepare()
            if batch is None:
                self._recovered()
                return True
            if batch.after < done:
                # Guard against sending forever: an accepted batch must
                # have moved the watermark.
                raise RuntimeError(f'the watermark stayed at {batch.after} '
                                   f'after batch through {done} was accepted')
            verdict, reply, error = self._send(batch)
            if verdict is Verdict.SUCCESS:
                self._lastReply = self._replyText(reply)
                self._record(batch)
                sent += 1
                done = batch.through
                continue
            if verdict is Verdict.SPLIT and self._split(batch):
                continue
            self._failed(verdict, reply, error, batch)
            return False
        self._recovered()
        return True

    def _prepare(self):
        registry = self.tracker.registry()
        self._locate()
        uuid = str(self.tracker.uuid)
        with self._dbLock:
            storage = self._storage()

            def prepare():
                place = readState(storage, uuid)
                batch, new = self._compose(storage, place, uuid, registry)
                if batch is not None and new:
                    savePending(storage, uuid, self._runId(),
                                Pending(batch.key, batch.after,
                                        batch.through))
                return batch

            return retry(self._tm, prepare, attempts=_DB_ATTEMPTS)

    def _compose(self, storage, place, uuid, registry):
        """(batch, new): the batch to send now and whether it is new (its
        key not recorded yet); (None, False) when nothing waits."""
        after = place.watermark
        items = []
        if place.pending is not None:
            items = payload.newTracks(storage, uuid, after,
                                      through=place.pending.through)
        key, new = (place.pending.key, False) if items else (None, True)
        if not items:
            items = payload.newTracks(storage, uuid, after,
                                      limit=self.batch_tracks)
            if not items:
                return None, False
        body = self._body(storage, place, uuid, registry, items)
        while len(body) > self.max_body_bytes and len(items) > 1:
            items = items[:len(items) // 2]
            key, new = None, True
            body = self._body(storage, place, uuid, registry, items)
        batch = Batch(key or uuidlib.uuid4().hex, after, items[-1][0],
                      tuple(num for num, _ in items), body,
                      len({track.taskId for _, track in items}))
        return batch, new

    def _body(self, storage, place, uuid, registry, items):
        extra = {}
        if place.first:
            # "All of them on the first": the trackables without a track in
            # this batch come with their value as of its last track.
            through = items[-1][0]
            inBatch = {track.taskId for _, track in items}
            for name in registry:
                if isInternal(name) or name in inBatch:
                    continue
                track, later = payload.latestUpTo(storage, name, uuid,
                                                  through)
                kind = payload.describe(name, registry)['type']
                if track is not None:
                    extra[name] = payload.valueOf(kind, track.data)
                elif not later:     # never changed: its starting value
                    extra[name] = payload.valueOf(kind, {})
        tracker = self.tracker
        return payload.encode(payload.buildBody(
            self.api_key, uuid, tracker.application_name,
            tracker.application_version, items, registry, extra))

    def _send(self, batch):
        headers = {
            'Content-Type': 'application/json; charset=utf-8',
            'Accept': 'application/json, text/plain, */*',
            'Idempotency-Key': batch.key,
            'User-Agent': USER_AGENT,
        }
        logger.debug('sending tracks %s..%s (%s trackables, %s bytes) to %s '
                     'as batch %s', batch.numbers[0], batch.through,
                     batch.trackables, len(batch.body), self.url, batch.key)
        try:
            reply = self._transport.post(self.url, batch.body, headers,
                                         self.timeout)
        except TransportError as exc:
            return Verdict.RETRY, None, str(exc)
        return classify(reply.status), reply, None

    def _record(self, batch):
        uuid = str(self.tracker.uuid)
        with self._dbLock:
            # Closed meanwhile: the HQ has the batch; the next session
            # resends it under the same key and the HQ drops the copy.
            storage = self._storage()

            def record():
                place = readState(storage, uuid)
                if place.watermark == batch.after:
                    saveSuccess(storage, uuid, self._runId(), place,
                                batch.key, batch.through)

            retry(self._tm, record, attempts=_DB_ATTEMPTS)
        logger.debug('batch %s accepted by %s', batch.key, self.url)

    def _split(self, batch):
        if len(batch.numbers) < 2:
            return False
        half = len(batch.numbers) // 2
        self.batch_tracks = max(1, min(self.batch_tracks, half))
        logger.info('%s answered 413 to %s tracks; sending %s at a time',
                    self.url, len(batch.numbers), self.batch_tracks)
        uuid = str(self.tracker.uuid)
        with self._dbLock:
            storage = self._storage()
            retry(self._tm, savePending, storage, uuid, self._runId(),
                  Pending(uuidlib.uuid4().hex, batch.after,
                          batch.numbers[half - 1]),
                  attempts=_DB_ATTEMPTS)
        return True

    def _failed(self, verdict, reply, error, batch):
        now = self._clock()
        status = reply.status if reply is not None else None
        text = self._replyText(reply) if reply is not None else ''
        detail = error or f'HTTP {status}' + (f': {text}' if text else '')
        self._lastError = detail
        if verdict is Verdict.STOP:
            self._stopped = (f'the HQ refused the api key ({detail}); '
                             f'uploads stop until setup_hq() gets other '
                             f'settings')
            logger.error('upload to %s: %s', self.url, self._stopped)
            return
        if verdict is Verdict.RETRY:
            delay = self.backoff.fail()
        else:   # any other reply, or 413 for a single track
            delay = self.backoff.slowest()
        retryAfter = parseRetryAfter(reply.header('Retry-After'), now) \
            if reply is not None else None
        if retryAfter is not None:
            self._holdUntil = now + retryAfter
            delay = max(delay, retryAfter)
        self._nextAttempt = now + delay
        if verdict is Verdict.RETRY:
            # One warning per streak of failures; the rest at debug level,
            # so an app offline for a week does not fill its log.
            log = logger.debug if self._failing else logger.warning
            log('upload of %s tracks to %s failed (%s); they stay in the '
                'local database, next try in about %.0f s',
                len(batch.numbers), self.url, detail, delay)
        else:
            logger.warning('upload to %s was refused (%s); the tracks stay '
                           'in the local database, next try in %.0f s',
                           self.url, detail, delay)
        self._failing = True

    def _replyText(self, reply):
        # The key is removed before the text is shortened, so no part of
        # it survives the cut.
        return ' '.join(redact(reply.text, self.api_key).split())[:300]

    def _recovered(self):
        if self._failing:
            logger.info('upload to %s works again', self.url)
        self._failing = False
        self.backoff.reset()
        self._nextAttempt = 0.0
        self._lastError = None

    # reading the place

    def _read(self, work):
        uuid = str(self.tracker.uuid)
        self._locate()
        with self._dbLock:
            storage = self._storage()
            with self._tm:
                return work(storage, readState(storage, uuid), uuid)

    @property
    def submissions(self):
        return self._read(lambda storage, place, uuid: place.submissions)

    def pending(self):
        self.tracker.flush()
        return self._waiting()

    def _waiting(self):
        return self._read(
            lambda storage, place, uuid: place.pending is not None
            or bool(payload.newTracks(storage, uuid, place.watermark,
                                      limit=1)))

    def lastSuccess(self):
        """Epoch seconds of the last accepted batch, or None."""
        return self._read(lambda storage, place, uuid: place.lastSuccess)

    # the watcher

    def tick(self):
        if self.blocked() or self._clock() < self._nextAttempt:
            return None
        interval = self.tracker.submit_interval_s
        if not _positive(interval):
            return None
        # No flush from this thread: a tracker writing into its caller's
        # storage would commit the caller's transaction from here. The
        # write-behind writer commits every half second anyway; what it
        # has not committed yet goes at the next check.
        last = self.lastSuccess()
        if last is not None and self._clock() < last + interval:
            return None
        if not self._waiting():
            return None
        return self.submit(maxBatches=MAX_BATCHES_PER_TICK, flush=False)

    @property
    def watcher_alive(self):
        return self._watcher is not None and self._watcher.alive

    def startWatcher(self):
        if self._forked or self._closed or doNotTrack():
            return False
        tracker = self.tracker
        if not (_positive(tracker.check_interval_s)
                and _positive(tracker.submit_interval_s)):
            return False
        if self.watcher_alive:
            return True
        self._watcher = Watcher(
            self._tick,
            lambda: tracker.check_interval_s
            if _positive(tracker.check_interval_s) else 0)
        self._watcher.start()
        return True

    def _tick(self):
        try:
            self.tick()
        except Exception:
            if not (self._closed or self._forked):
                raise       # the watcher logs it and carries on

    # life cycle

    def close(self):
        if self._closed:
            return
        self._closed = True
        self._transport.abort()
        watcher = self._watcher
        if watcher is not None:
            watcher.stop(timeout=self.timeout)
        # The watcher may be past its timeout in a database step: do not
        # wait for it forever, its next step sees the uploader closed.
        if not self._dbLock.acquire(timeout=self.timeout):
            return
        try:
            if self._conn is not None:
                try:
                    self._tm.abort()
                    self._storageIn(self._conn).releaseNumbers()
                except Exception:
                    logger.debug('releasing track numbers failed',
                                 exc_info=True)
                self._tm.abort()
                self._conn.close()
                self._conn = self._tm = None
        finally:
            self._dbLock.release()

    def _forgetAfterFork(self):
        # The child has the parent's memory but not its threads: a watcher
        # here would be half dead, and the database file belongs to the
        # parent. The child does not upload.
        self._forked = True
        self._sendLock = threading.Lock()
        self._dbLock = threading.Lock()
        self._watcher = None
        self._tm = self._conn = None

    # database access

    def _locate(self):
        """Find the tracker's storage once, by the oid the tracker gives
        (it knows a storage under another root key, or one its caller
        opened); without one, the storage under the default root key.
        Called outside the database lock, as the tracker takes locks of
        its own."""
        if self._storageOid is not None:
            return
        self._storageOid = self.tracker.storage_oid()

    def _storage(self):
        if self._closed or self._forked:
            raise _Closed()
        if self._conn is None:
            self._tm = transaction.TransactionManager()
            self._conn = self.tracker.db.open(transaction_manager=self._tm)
        return self._storageIn(self._conn)

    def _storageIn(self, conn):
        if self._storageOid is not None:
            return conn.get(self._storageOid)
        storage = conn.root().get(DEFAULT_KEY)
        if storage is None:
            raise LookupError(f'the tracker database has no tracking '
                              f'storage under {DEFAULT_KEY!r}')
        return storage

    def _runId(self):
        runId = getattr(self.tracker, 'run_id', 0)
        return runId if isinstance(runId, int) and runId > 0 else 0
