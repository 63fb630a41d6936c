"""Cross-checking a TrackingStorage: what ``check()`` reports.

Everything the storage keeps beside its tracks (the field indexes, the
user-track table, the task-user table, the track count, the runs' ends
and the current runs) is derived from the tracks; ``checkStorage``
rebuilds what each should hold from the tracks and lists every
difference. It only reads, and it reports a storage it cannot fully read
(a damaged file, a track with values no key can hold) as problems
instead of raising: a check is what one runs on a storage in doubt.
"""

import contextlib
import logging
import math
import threading

from ZODB.utils import oid_repr, u64

from cybertools_tracking import trackkeys
from cybertools_tracking.query import runUserNames

# How many tracks go by between two calls of a progress callback.
PROGRESS_STEP = 1000
# ZODB logs every object it cannot load, with a traceback, before it
# raises; check() reports those objects itself.
ZODB_LOAD_LOGGER = 'ZODB.Connection'


class Unreadable(str):
    """A problem found by ``check()`` that reindexing cannot repair: a
    part of the storage could not be read (a damaged file)."""


def checkStorage(storage, progress=None):
    """See ITrackingStorage.check; progress(done, total) is called every
    PROGRESS_STEP tracks and once at the end (total: the track count the
    storage records, which a damaged storage may get wrong)."""
    with capturedLoadErrors() as failed:
        problems = _check(storage, progress, failed)
    return problems


def _check(storage, progress, failed):
    problems = _Problems(failed)
    total = _safe(problems, 'the track count', storage._count)
    if total is None:
        total = 0
    indexes = _safe(problems, 'the index registry',
                    lambda: list(storage.indexes.items()))
    derived = _Derived(dict(indexes or ()))
    if indexes is None:
        derived.complete = False
    count = _walkTracks(storage, derived, problems, progress, total)
    if derived.complete:
        _compare(storage, derived, problems, count, total)
    else:
        # Every table would differ from what the tracks read so far say.
        problems.append(Unreadable(
            'the indexes and tables were not compared with the tracks: '
            'not all tracks could be read'))
    if progress is not None:
        progress(count, max(total, count))
    return list(problems)


class _Problems(list):
    """The problems found; ``unreadable`` adds one about a part that could
    not be read, naming the object ZODB could not load when it was one."""

    def __init__(self, failed):
        super().__init__()
        self._failed = failed

    def unreadable(self, what, exc):
        text = f'{what}: {describe(exc)}'
        if self._failed:
            className, oid = self._failed.pop()
            self._failed.clear()
            text += f'; object {oid} ({className}) cannot be loaded'
        self.append(Unreadable(text))


def capturedLoadErrors():
    """Collect (class name, oid) of the objects this thread fails to load
    (in the list it yields) instead of letting ZODB log them with a
    traceback: for callers that report the failure themselves."""
    return capturedLogRecords(ZODB_LOAD_LOGGER, "Couldn't load state")


@contextlib.contextmanager
def capturedLogRecords(loggerName, start):
    """Keep the records this thread logs to loggerName with a message
    starting with start from being logged; yield a list that gets each
    one's arguments (as str)."""
    failed = []
    thread = threading.get_ident()

    def capture(record):
        if record.thread != thread or not str(record.msg).startswith(start):
            return True
        failed.append(tuple(str(arg) for arg in record.args))
        return False

    logger = logging.getLogger(loggerName)
    # First in line: a capture inside another gets the records.
    logger.filters.insert(0, capture)
    try:
        yield failed
    finally:
        logger.removeFilter(capture)


def _compare(storage, derived, problems, count, total):
    if count != total:
        problems.append(f'track count says {total}, storage holds {count}')
    _safe(problems, 'the runs', _checkRuns, storage, derived, problems)
    for attr, index in derived.indexes.items():
        found = _safe(problems, f'index {attr!r}', index.check,
                      derived.indexed[attr], derived.unknown)
        problems.extend(found or ())
    _checkUserTracks(storage, derived, problems)
    _checkTaskUsers(storage, derived, problems)
    _checkRunUsers(storage, derived, problems)


class _Derived:
    """What the tables beside the tracks should hold, as the tracks say."""

    def __init__(self, indexes):
        self.indexes = indexes
        self.indexed = {attr: {} for attr in indexes}
        self.keys = {}              # stem -> (number, oid)
        self.taskUsers = {}
        self.runUsers = {}
        self.taskRuns = set()
        self.runEnds = {}
        # Numbers of the tracks whose entries nobody can tell: whatever the
        # tables hold for them passes.
        self.unknown = set()
        self.complete = True        # False when the track tree broke off


def _walkTracks(storage, derived, problems, progress, total):
    count = 0
    num = items = None
    while True:
        try:
            if items is None:
                items = iter(storage._tracks.items())
            num, value = next(items)
        except StopIteration:
            break
        except Exception as exc:
            after = 'its start' if num is None else f'track {num}'
            problems.unreadable(f'the track tree cannot be read after '
                                f'{after}', exc)
            derived.complete = False
            break
        count += 1
        try:
            track = storage._track(num, value)
            track._p_activate()
        except Exception as exc:
            problems.unreadable(f'track {num} cannot be loaded', exc)
            derived.unknown.add(num)
            continue
        try:
            _deriveTrack(storage, num, track, derived, problems)
        except Exception as exc:
            problems.append(f'track {num} cannot be checked: '
                            f'{describe(exc)}')
            derived.unknown.add(num)
        if progress is not None and count % PROGRESS_STEP == 0:
            progress(count, max(total, count))
    return count


def _deriveTrack(storage, num, track, derived, problems):
    derived.taskUsers.setdefault(track.taskId, set()).add(track.userName)
    derived.runUsers.setdefault(track.runId, set()).add(track.userName)
    derived.taskRuns.add((track.taskId, track.userName, track.runId))
    if track.__name__ != storage.idFromNum(num):
        problems.append(f'track {num} is named {track.__name__!r}')
    if track.__parent__ is not storage:
        problems.append(f'track {num} has another parent')
    if track.runId not in storage.runs:
        problems.append(f'track {num} names unknown run {track.runId}')
    else:
        ends = derived.runEnds
        ends[track.runId] = max(track.timeStamp,
                                ends.get(track.runId, -math.inf))
    for attr, value in storage._indexEntries(track).items():
        if attr in derived.indexed and value is not None:
            derived.indexed[attr][num] = value
    try:
        key = trackkeys.trackKey(num, track)
    except (TypeError, ValueError, OverflowError) as exc:
        problems.append(f'track {num} cannot have a user-track table key '
                        f'({exc}); save its values again or remove it')
    else:
        derived.keys[trackkeys.stem(key)] = (num, track._p_oid)


def _checkRuns(storage, derived, problems):
    for runId, newest in sorted(derived.runEnds.items()):
        end = storage.runs[runId].end
        if end < newest:
            problems.append(f'run {runId} ends {end}, before its newest '
                            f'track ({newest})')
    for taskId, runId in storage.currentRuns.items():
        run = storage.runs.get(runId)
        if run is None or run.finished:
            problems.append(f'current run of {taskId!r} is '
                            f'{"finished" if run else "unknown"} run '
                            f'{runId}')


def _checkUserTracks(storage, derived, problems):
    stored = _safe(problems, 'the user-track table', lambda: {
        trackkeys.stem(key): trackkeys.oidOf(key)
        for key in storage._userTracks.keys()})
    if stored is None:
        return
    expected = derived.keys
    for key in sorted(expected.keys() - stored.keys()):
        problems.append(f'user-track table misses '
                        f'{trackkeys.split(key)!r}')
    for key in sorted(stored.keys() - expected.keys()):
        if trackkeys.numOf(key) in derived.unknown:
            continue
        problems.append(f'user-track table holds stale '
                        f'{trackkeys.split(key)!r}')
    for key, (num, oid) in expected.items():
        # 0: saved outside a database, found through the track tree.
        keyOid = stored.get(key)
        if keyOid and (oid is None or keyOid != u64(oid)):
            actual = 'not stored' if oid is None else hex(u64(oid))
            problems.append(f'user-track table points track {num} to oid '
                            f'{keyOid:#x}, the track is {actual}')


def _checkTaskUsers(storage, derived, problems):
    stored = _safe(problems, 'the task-user table', lambda: {
        task: set(users) for task, users in storage.taskUsers.items()})
    if stored is not None:
        _compareSets(stored, derived.taskUsers,
                     lambda task: f'task-user table for {task!r}', problems)
    if storage._taskRuns is None:
        return          # an older generation's
    triples = _safe(problems, 'the task-run table', lambda: {
        trackkeys.splitTaskKey(key) for key in storage._taskRuns})
    if triples is None:
        return
    for taskId, userName, runId in sorted(triples ^ derived.taskRuns):
        what = 'holds' if (taskId, userName, runId) in triples \
            else 'misses'
        problems.append(f'task-run table {what} run {runId} of '
                        f'{taskId!r} for {userName!r}')


def _checkRunUsers(storage, derived, problems):
    if storage.runUsers is None:
        return          # an older generation: its runId index is checked
    stored = _safe(problems, 'the run-user table', lambda: {
        runId: set(runUserNames(users))
        for runId, users in storage.runUsers.items()})
    if stored is not None:
        _compareSets(stored, derived.runUsers,
                     lambda runId: f'run-user table for run {runId}',
                     problems)


def _compareSets(stored, derived, where, problems):
    """A problem for each key whose set in stored (a table, read) is not
    its set in derived (from the tracks); where(key) names the entry."""
    for key in sorted(set(stored) | set(derived)):
        have, want = stored.get(key, set()), derived.get(key, set())
        if have != want:
            problems.append(f'{where(key)} holds {sorted(have)}, tracks '
                            f'say {sorted(want)}')


def _safe(problems, what, function, *args):
    """function(*args), or None with a problem saying what could not be
    read when it raises."""
    try:
        return function(*args)
    except Exception as exc:
        problems.unreadable(f'{what} cannot be read', exc)
        return None


def describe(exc):
    """One line about an error met while reading: its type and message,
    and for an object that could not be loaded its oid and class, as far
    as the error tells."""
    text = f'{type(exc).__name__}: {exc}'.strip().rstrip(':')
    cause = exc.__cause__ or exc.__context__
    if cause is not None and not str(exc):
        text += f' ({type(cause).__name__}: {cause})'
    oid = getattr(exc, 'oid', None)
    if isinstance(oid, bytes) and len(oid) == 8 and oid_repr(oid) not in text:
        text += f' (oid {oid_repr(oid)})'
    return ' '.join(text.split())
