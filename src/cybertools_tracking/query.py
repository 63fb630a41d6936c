"""Query planning: which tracks match, read from the field indexes and the
user-track table.

Nothing here writes. ``TrackingStorage.query``, ``getUserTracks`` and
``getLastUserTrack`` (their contracts are in ``ITrackingStorage``) hand
their arguments to the functions below, which gather sorted track numbers
first and load tracks only as the caller reads them (``TrackList``).
"""

from functools import partial

from BTrees.LLBTree import LLTreeSet, intersection, multiunion
from ZODB.utils import p64

from cybertools_tracking import trackkeys
from cybertools_tracking.records import bucketsHolding
from cybertools_tracking.results import TrackList
from cybertools_tracking.timestamps import toTimeStamp
from cybertools_tracking.validation import (
    checkCount, checkName, checkRunId, isInt)

TIME_CRITERIA = ('timeFrom', 'timeTo', 'timeFromTo')
RESULT_OPTIONS = ('limit', 'reverse')
MULTIPLE = (list, tuple, set, frozenset)


def query(storage, criteria):
    """The TrackList for ``storage.query(**criteria)``."""
    criteria = dict(criteria)
    limit = checkCount(criteria.pop('limit', None), 'limit')
    reverse = bool(criteria.pop('reverse', False))
    oids = {}
    nums = select(storage, criteria, oids)
    if oids:
        # Keys of tracks an older generation saved as objects name them.
        def fetch(num):
            return trackAt(storage, num, oids.get(num))
        fetchMany = None
    else:
        fetch, fetchMany = storage._trackAt, storage._tracksAt
    jar = storage._p_jar
    # Batches are worth gathering only where prefetch saves round trips
    # (ZEO, RelStorage; a FileStorage has none); finding the buckets a
    # batch lies in costs a walk of the tree's inner nodes.
    if jar is None or not hasattr(jar.db().storage, 'prefetch'):
        return TrackList(fetch, nums, limit, reverse, fetchMany=fetchMany)
    return TrackList(fetch, nums, limit, reverse, jar=jar, oids=oids,
                     holders=partial(bucketsHolding, storage._tracks))


def select(storage, criteria, oids=None):
    """The sorted track numbers (a tree set, or the track tree itself when
    there are no criteria) matching criteria; where the user-track table
    answered for tracks saved as objects of their own, oids (a dict) gets
    {number: oid}."""
    valid = storage.indexAttributes + TIME_CRITERIA
    unknown = [name for name in criteria if name not in valid]
    if unknown:
        raise ValueError(
            f'unknown query criteria: {", ".join(sorted(unknown))}; '
            f'valid are: {", ".join(valid + RESULT_OPTIONS)}')
    sets = []
    pair = taskUserPair(storage, criteria)
    if pair:
        # One task and one user: the user-track table has them in a few
        # ranges; intersecting the two indexes would read all of a popular
        # task's numbers.
        pairs = taskUserPairs(storage, *pair)
        keepOids(oids, pairs)
        sets.append(LLTreeSet([num for num, oid in pairs]))
    for name, value in criteria.items():
        if name in TIME_CRITERIA or value is None \
                or (pair and name in ('taskId', 'userName')):
            continue
        if name == 'userName':
            sets.append(userNums(storage, value, oids))
        elif name == 'runId' and name not in storage.indexes:
            sets.append(runNums(storage, value, oids))
        else:
            sets.append(lookup(storage.indexes[name], value))
    bounds = timeRange(criteria)
    if bounds is not None:
        if 'timeStamp' not in storage.indexes:
            raise ValueError('time criteria need a timeStamp index')
        sets.append(storage.indexes['timeStamp'].lookupRange(*bounds))
    if not sets:
        return storage._tracks
    result = sets[0]
    for other in sets[1:]:
        if not result:
            break
        result = intersection(result, other)
    if not isinstance(result, LLTreeSet):
        result = LLTreeSet(result)
    return result


def keepOids(oids, pairs):
    """Add to oids (a dict, or None) the (number, oid) pairs that name an
    oid: those of tracks an older generation saved as objects (a record's
    key says 0)."""
    if oids is not None:
        oids.update(pair for pair in pairs if pair[1])


def userNums(storage, value, oids=None):
    """The sorted numbers of the tracks of a user name (a list or tuple of
    names: any of them; 'prefix*': names starting so), from the user-track
    table; oids as for ``select``."""
    if isinstance(value, MULTIPLE):
        return multiunion([userNums(storage, v, oids) for v in value])
    if not isinstance(value, str):
        raise TypeError(f"query on 'userName': {value!r} "
                        f'({type(value).__name__}) cannot be compared '
                        f'with the indexed values (str)')
    table = storage._userTracks
    if value.endswith('*'):
        pairs = trackkeys.pairsOfNamePrefix(table, value[:-1])
    elif value:
        pairs = trackkeys.pairsOf(table, trackkeys.prefix(value))
    else:
        pairs = []
    keepOids(oids, pairs)
    return LLTreeSet([num for num, oid in pairs])


def runNums(storage, value, oids=None):
    """The sorted numbers of the tracks of a run id (a list or tuple of
    ids: any of them), from the users of the run and their ranges of the
    user-track table; oids as for ``select``."""
    if isinstance(value, MULTIPLE):
        return multiunion([runNums(storage, v, oids) for v in value])
    if not isInt(value):
        raise TypeError(f"query on 'runId': {value!r} "
                        f'({type(value).__name__}) cannot be compared '
                        f'with the indexed values (int)')
    table, pairs = storage._userTracks, []
    users = storage.getRunUserNames(value) if 0 < value < 2 ** 63 else None
    for userName in users or ():
        pairs.extend(trackkeys.pairsOf(
            table, trackkeys.prefix(userName, value)))
    keepOids(oids, pairs)
    return LLTreeSet([num for num, oid in pairs])


def runUserNames(users):
    """The user names a value of the run-user table holds: a set of them,
    or one name alone (a run's only user), or None."""
    if users is None:
        return []
    if type(users) is str:
        return [users]
    return list(users)


def taskUserPair(storage, criteria):
    """(taskId, userName) when the criteria name one of each, plainly (no
    list, no prefix), as the track's own attributes; else None."""
    taskId, userName = criteria.get('taskId'), criteria.get('userName')
    metadata = storage.trackFactory.metadata_attributes
    if isinstance(taskId, str) and isinstance(userName, str) \
            and taskId and userName \
            and not taskId.endswith('*') and not userName.endswith('*') \
            and 'taskId' in metadata and 'userName' in metadata:
        return taskId, userName
    return None


def taskUserPairs(storage, taskId, userName):
    """(number, oid) of the user's tracks for the task (unsorted), from one
    range of the user-track table per run of the user that has tracks of
    the task (the task-run table names them; in a storage of an older
    generation, every run of the user)."""
    table, pairs = storage._userTracks, []
    for runId in _taskUserRuns(storage, taskId, userName):
        pairs.extend(trackkeys.pairsOf(
            table, trackkeys.prefix(userName, runId, taskId)))
    return pairs


def hasTaskUserTracks(storage, taskId, userName):
    """Whether the user has tracks of the task: a lookup per run, however
    many tracks each run has."""
    table = storage._userTracks
    return any(trackkeys.lastWith(table, trackkeys.prefix(
        userName, runId, taskId)) is not None
        for runId in _taskUserRuns(storage, taskId, userName))


def _taskUserRuns(storage, taskId, userName):
    if storage._taskRuns is not None:
        return trackkeys.runsOfTaskUser(storage._taskRuns, taskId, userName)
    return trackkeys.runsOf(storage._userTracks, userName)


def lookup(index, value):
    """The numbers a field index holds under value: a list or tuple of
    values means any of them, 'prefix*' every str value so starting."""
    if isinstance(value, MULTIPLE):
        return multiunion([lookup(index, v) for v in value])
    if isinstance(value, str) and value.endswith('*'):
        return index.lookupPrefix(value[:-1])
    return index.lookup(value)


def timeRange(criteria):
    """(low, high) in whole seconds, both inclusive, None for an open end;
    None when no time criterion is given. Given together, the criteria all
    apply: the latest start and the earliest end win."""
    lows = [('timeFrom', criteria.get('timeFrom'))]
    highs = [('timeTo', criteria.get('timeTo'))]
    both = criteria.get('timeFromTo')
    if both is not None:
        if not (isinstance(both, (list, tuple)) and len(both) == 2):
            raise ValueError('timeFromTo must be a (start, end) pair, '
                             f'not {both!r}')
        lows.append(('timeFromTo', both[0]))
        highs.append(('timeFromTo', both[1]))
    # A start at 10.5 s admits tracks from second 11 on.
    low = max((toTimeStamp(value, name, roundUp=True)
               for name, value in lows if value is not None),
              default=None)
    high = min((toTimeStamp(value, name)
                for name, value in highs if value is not None),
               default=None)
    if low is None and high is None:
        return None
    return low, high


def userTracks(storage, taskId, runId, userName):
    """See ITrackingStorage.getUserTracks."""
    start = userPrefix(storage, taskId, runId, userName)
    if start is None:
        return []
    return [trackAt(storage, num, oid) for num, oid in sorted(
        trackkeys.pairsOf(storage._userTracks, start))]


def lastUserTrack(storage, taskId, runId, userName):
    """See ITrackingStorage.getLastUserTrack."""
    start = userPrefix(storage, taskId, runId, userName)
    if start is None:
        return None
    # Keys sort by time, then number: the greatest is the newest.
    key = trackkeys.lastWith(storage._userTracks, start)
    return None if key is None else trackAt(
        storage, trackkeys.numOf(key), trackkeys.oidOf(key))


def userPrefix(storage, taskId, runId, userName):
    """The user-track table prefix of a user's tracks for a task in a run
    (runId 0: the task's current run); None when there is no such run."""
    checkName('taskId', taskId)
    checkName('userName', userName)
    runId = checkRunId(runId)
    if not runId:
        runId = storage.currentRuns.get(taskId)
        if not runId:
            return None
    return trackkeys.prefix(userName, runId, taskId)


def trackAt(storage, num, oid):
    """Track number num, loaded by its oid when the key had one."""
    jar = storage._p_jar
    if oid and jar is not None:
        try:
            track = jar.get(p64(oid))
            if track.__name__ == storage.idFromNum(num):
                return track
        except (KeyError, AttributeError):
            pass
        # A key pointing elsewhere is damage check() reports; the track
        # tree still has the right answer.
    return storage._trackAt(num)
