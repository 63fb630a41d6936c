"""Cross-checking a TrackingStorage: what ``check()`` reports.

Everything the storage keeps beside its tracks (the field indexes, the
user-track table, the task-user table, the track count, the runs' ends
and the current runs) is derived from the tracks; ``checkStorage``
rebuilds what each should hold from the tracks and lists every
difference. It only reads, and it reports a storage it cannot fully read
(a damaged file, a track with values no key can hold) as problems
instead of raising: a check is what one runs on a storage in doubt.
"""

import math

from ZODB.utils import oid_repr, u64

from cybertools_tracking import trackkeys

# How many tracks go by between two calls of a progress callback.
PROGRESS_STEP = 1000


def checkStorage(storage, progress=None):
    """See ITrackingStorage.check; progress(done, total) is called every
    PROGRESS_STEP tracks and once at the end (total: the track count the
    storage records, which a damaged storage may get wrong)."""
    problems = []
    total = _safe(problems, 'the track count', storage._count)
    if total is None:
        total = 0
    derived = _Derived(storage.indexes.keys())
    count = _walkTracks(storage, derived, problems, progress, total)
    if count != total:
        problems.append(f'track count says {total}, storage holds {count}')
    _safe(problems, 'the runs', _checkRuns, storage, derived, problems)
    for attr, index in storage.indexes.items():
        found = _safe(problems, f'index {attr!r}', index.check,
                      derived.indexed[attr])
        problems.extend(found or ())
    _checkUserTracks(storage, derived, problems)
    _checkTaskUsers(storage, derived, problems)
    if progress is not None:
        progress(count, max(total, count))
    return problems


class _Derived:
    """What the tables beside the tracks should hold, as the tracks say."""

    def __init__(self, indexNames):
        self.indexed = {attr: {} for attr in indexNames}
        self.keys = {}              # stem -> (number, oid)
        self.taskUsers = {}
        self.runEnds = {}


def _walkTracks(storage, derived, problems, progress, total):
    count = 0
    num = None
    items = iter(storage._tracks.items())
    while True:
        try:
            num, track = next(items)
        except StopIteration:
            break
        except Exception as exc:
            after = 'its start' if num is None else f'track {num}'
            problems.append(f'the track tree cannot be read after {after}: '
                            f'{describe(exc)}')
            break
        count += 1
        try:
            _deriveTrack(storage, num, track, derived, problems)
        except Exception as exc:
            problems.append(f'track {num}{_oidOf(track)} cannot be '
                            f'checked: {describe(exc)}')
        if progress is not None and count % PROGRESS_STEP == 0:
            progress(count, max(total, count))
    return count


def _deriveTrack(storage, num, track, derived, problems):
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
    derived.taskUsers.setdefault(track.taskId, set()).add(track.userName)


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
    if stored is None or stored == derived.taskUsers:
        return
    for task in sorted(set(stored) | set(derived.taskUsers)):
        have = stored.get(task, set())
        want = derived.taskUsers.get(task, set())
        if have != want:
            problems.append(f'task-user table for {task!r} holds '
                            f'{sorted(have)}, tracks say {sorted(want)}')


def _safe(problems, what, function, *args):
    """function(*args), or None with a problem saying what could not be
    read when it raises."""
    try:
        return function(*args)
    except Exception as exc:
        problems.append(f'{what} cannot be read: {describe(exc)}')
        return None


def _oidOf(obj):
    oid = getattr(obj, '_p_oid', None)
    return '' if oid is None else f' (oid {oid_repr(oid)})'


def describe(exc):
    """One line about an error met while reading: its type and message,
    and for an object that could not be loaded its oid and class, as far
    as the error tells."""
    text = f'{type(exc).__name__}: {exc}'.strip()
    oid = getattr(exc, 'oid', None)
    if isinstance(oid, bytes) and len(oid) == 8 and oid_repr(oid) not in text:
        text += f' (oid {oid_repr(oid)})'
    return ' '.join(text.split())
