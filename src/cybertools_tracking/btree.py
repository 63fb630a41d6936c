"""The tracking storage: tracks and runs in BTrees, with field indexes.

The model is cybertools.tracking's (``cybertools/tracking/btree.py``); the
layout below is what lets many writers share it without conflicts:

* tracks live in a 64-bit integer BTree keyed by track number, so ids
  (``'%07i'``) iterate in numeric order past 9,999,999;
* numbers come from per-connection blocks (see ``tracknumbers``), the
  track count is a ``Length``, and the storage object itself is never
  written after it is created, so concurrent savers only touch BTree
  buckets whose conflicts resolve;
* a run's ``end`` resolves concurrent changes to the latest;
* a sorted set of ``(userName, runId, taskId, timeStamp, number)`` keys
  (one str each, see ``trackkeys``) answers ``getLastUserTrack``,
  ``getUserTracks`` and a query for one task and one user in a few
  lookups.
"""

import math
from collections.abc import Mapping

from BTrees.Length import Length
from BTrees.LLBTree import LLTreeSet, intersection, multiunion
from BTrees.LOBTree import LOBTree
from BTrees.OOBTree import OOBTree, OOTreeSet
from persistent import Persistent
from ZODB.POSException import ConflictError
from ZODB.utils import p64, u64
from zope.interface import implementer

from cybertools_tracking import trackkeys, tracknumbers
from cybertools_tracking.index import FieldIndex
from cybertools_tracking.interfaces import IRun, ITrack, ITrackingStorage
from cybertools_tracking.results import TrackList
from cybertools_tracking.timestamps import (
    getTimeStamp, timeStamp2ISO, toTimeStamp)

TIME_CRITERIA = ('timeFrom', 'timeTo', 'timeFromTo')
# Answered from the user-track table, which has every track's userName
# first in its key: a field index beside it would rewrite the last bucket
# of one number set per user in every commit (with users spread over a
# batch, most of them), for what the table already knows.
TABLE_ATTRIBUTES = ('userName',)
# Set when a track is made and changed by the storage alone.
OWN_ATTRIBUTES = ('taskId', 'runId', 'userName', 'timeStamp')
RESULT_OPTIONS = ('limit', 'reverse')
_missing = object()


@implementer(ITrack)
class Track(Persistent):
    """See ITrack."""

    metadata_attributes = ('taskId', 'runId', 'userName', 'timeStamp')
    index_attributes = metadata_attributes
    typeName = 'Track'

    __name__ = __parent__ = None

    def __init__(self, taskId, runId, userName, data=None):
        self.taskId = taskId
        self.runId = runId
        self.userName = userName
        self.timeStamp = getTimeStamp()
        self.data = dict(data) if data is not None else {}

    @property
    def metadata(self):
        return {attr: getattr(self, attr) for attr in self.metadata_attributes}

    @property
    def indexdata(self):
        return self.indexValues(self.data)

    def indexValues(self, data):
        """The index values this track would have with ``data``."""
        return {attr: (getattr(self, attr) if attr in self.metadata_attributes
                       else data.get(attr))
                for attr in self.index_attributes}

    def update(self, newData, overwrite=False):
        _checkData(newData)
        self.timeStamp = getTimeStamp()
        if overwrite:
            self.data = dict(newData)
        else:
            data = dict(self.data)
            data.update(newData)
            self.data = data    # a new dict, so the change is stored

    def __repr__(self):
        md = self.metadata
        md['timeStamp'] = timeStamp2ISO(md['timeStamp'])
        return '<%s %s: %s>' % (
            self.typeName, [md[a] for a in self.metadata_attributes],
            self.data)

    # The stored state is a tuple of values, not the attribute dict: over
    # millions of tracks the attribute names cost a third of the pickling
    # and unpickling. Attributes a subclass adds follow in a dict; a dict
    # state (as persistent writes it) still loads.
    _stateAttributes = ('taskId', 'runId', 'userName', 'timeStamp', 'data',
                        '__name__', '__parent__')

    def __getstate__(self):
        state = super().__getstate__()
        values = tuple([state.pop(name, None)
                        for name in self._stateAttributes])
        return (values, state) if state else (values,)

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) in (1, 2) \
                and isinstance(state[0], tuple):
            values = dict(zip(self._stateAttributes, state[0]))
            if len(state) == 2:
                values.update(state[1])
            state = values
        super().__setstate__(state)


@implementer(IRun)
class Run(Persistent):
    """See IRun.

    Unlike the original's plain objects, runs are persistent, so a changed
    ``end`` or ``finished`` is stored; concurrent changes merge.
    """

    def __init__(self, id, taskId=None):
        self.id = id
        self.taskId = taskId
        self.start = self.end = getTimeStamp()
        self.finished = False

    def _p_resolveConflict(self, oldState, savedState, newState):
        # Concurrent savers all move ``end`` forward: keep the latest. Any
        # other attribute merges when only one side changed it.
        merged = {}
        for key in set(oldState) | set(savedState) | set(newState):
            old = oldState.get(key, _missing)
            saved = savedState.get(key, _missing)
            new = newState.get(key, _missing)
            if saved == new or saved == old:
                value = new
            elif new == old:
                value = saved
            elif key == 'end':
                value = max(saved, new)
            else:
                raise ConflictError('concurrent change of run attribute '
                                    f'{key!r}')
            if value is not _missing:
                merged[key] = value
        return merged

    def __repr__(self):
        return '<Run %i, %s, %s, %s>' % (
            self.id, timeStamp2ISO(self.start), timeStamp2ISO(self.end),
            self.finished)


def _checkName(what, value):
    if not isinstance(value, str):
        raise TypeError(f'{what} must be a non-empty str, not '
                        f'{type(value).__name__}: {value!r}')
    if not value:
        raise ValueError(f'{what} must be a non-empty str, got {value!r}')


def _checkRunId(runId):
    """The run id as an int (None read as 0, the current run)."""
    if runId is None:
        return 0
    if isinstance(runId, bool) or not isinstance(runId, int) or runId < 0:
        raise TypeError(f'runId must be an int >= 0 (0: the current run), '
                        f'not {runId!r}')
    return runId


def _checkData(data):
    if not isinstance(data, Mapping):
        raise TypeError(f'track data must be a mapping (e.g. a dict), not '
                        f'{type(data).__name__}: {data!r}')


def _numFromId(trackId):
    # Only the canonical id names a track ('0000001', not '1' or '01'),
    # as in a container keyed by those strings; a plain int is the number.
    if isinstance(trackId, str):
        if not (trackId.isascii() and trackId.isdigit()) \
                or trackId != '%07i' % int(trackId):
            return None
        trackId = int(trackId)
    if isinstance(trackId, int) and not isinstance(trackId, bool) \
            and 0 < trackId < 2 ** 63:
        return trackId
    return None


class TrackTree(LOBTree):
    """Track number -> track.

    Concurrent writers all append here; every bucket split changes the
    parent node and makes the writers that went through it conflict.
    Buckets twice the default size halve that; bigger ones would make
    reading one track cold (its bucket and a ghost of each neighbour)
    dearer.
    """
    max_leaf_size = 120


@implementer(ITrackingStorage)
class TrackingStorage(Persistent):
    """See ITrackingStorage."""

    trackFactory = Track

    def __init__(self, trackFactory=None):
        if trackFactory is not None:
            self.trackFactory = trackFactory
        self._tracks = TrackTree()
        self._count = Length()
        self._numbers = tracknumbers.NumberAllocator()
        self.runs = LOBTree()
        self.currentRuns = OOBTree()
        self.taskUsers = OOBTree()
        self._lastTracks = trackkeys.KeyTable()
        self.indexes = OOBTree()
        for attr in self.trackFactory.index_attributes:
            if attr not in TABLE_ATTRIBUTES:
                self.indexes[attr] = self._newIndex(attr)

    # container protocol

    def idFromNum(self, num):
        return '%07i' % num

    def __len__(self):
        return self._count()

    def __getitem__(self, trackId):
        num = _numFromId(trackId)
        if num is None:
            raise KeyError(trackId)
        return self._tracks[num]

    def get(self, trackId, default=None):
        num = _numFromId(trackId)
        if num is None:
            return default
        return self._tracks.get(num, default)

    def __contains__(self, trackId):
        num = _numFromId(trackId)
        return num is not None and num in self._tracks

    def __iter__(self):
        return (self.idFromNum(num) for num in self._tracks.keys())

    def keys(self):
        return list(self)

    def values(self):
        return iter(self._tracks.values())

    def items(self):
        return ((self.idFromNum(num), track)
                for num, track in self._tracks.items())

    def itemsAfter(self, trackId):
        num = 0 if trackId == 0 and not isinstance(trackId, bool) \
            else _numFromId(trackId)
        if num is None:
            raise TypeError(f'itemsAfter takes a track id or number (0 for '
                            f'all tracks), not {trackId!r}')
        return ((self.idFromNum(n), track)
                for n, track in self._tracks.items(num + 1))

    @property
    def indexAttributes(self):
        return tuple(sorted(set(self.indexes.keys()) | set(TABLE_ATTRIBUTES)))

    # runs

    def startRun(self, taskId=None):
        # Runs are rare next to tracks: a new id is the highest plus one,
        # and two concurrent starts conflict and retry, which keeps ids
        # unique without a counter on the storage.
        runId = self.runs.maxKey() + 1 if self.runs else 1
        self.runs[runId] = Run(runId, taskId)
        if taskId is not None:
            self.currentRuns[taskId] = runId
        return runId

    def stopRun(self, taskId=None, runId=0, finish=True):
        runId = _checkRunId(runId)
        if not runId and taskId is not None:
            runId = self.currentRuns.get(taskId, 0)
        run = self.runs.get(runId) if runId else None
        if run is None:
            return 0
        now = getTimeStamp()
        if now > run.end:
            run.end = now
        # As the original: a stopped run is nobody's current run any more,
        # and ``finished`` records whether it was finished or just stopped.
        if run.finished != bool(finish):
            run.finished = bool(finish)
        for task in {taskId, run.taskId}:
            if task is not None and self.currentRuns.get(task) == runId:
                del self.currentRuns[task]
        return runId

    def getRun(self, taskId=None, runId=0):
        runId = _checkRunId(runId)
        if not runId:
            if taskId is None:
                return None
            runId = self.currentRuns.get(taskId)
            if not runId:
                return None
        return self.runs.get(runId)

    def getRuns(self, taskId=None):
        return [run for run in self.runs.values()
                if taskId is None or run.taskId == taskId]

    # saving

    def saveUserTrack(self, taskId, runId, userName, data, update=False,
                      timeStamp=None, overwrite=False):
        _checkName('taskId', taskId)
        _checkName('userName', userName)
        runId = _checkRunId(runId)
        _checkData(data)
        if timeStamp is not None:
            timeStamp = toTimeStamp(timeStamp)
        if runId:
            if runId not in self.runs:
                raise ValueError(f'invalid run: {runId}; runs known: '
                                 f'{self._runRange()}')
        else:
            runId = self.currentRuns.get(taskId, 0)
        if update and runId:
            track = self.getLastUserTrack(taskId, runId, userName)
            if track is not None:
                return self.updateTrack(track, data, overwrite,
                                        timeStamp=timeStamp)
        track = self.trackFactory(taskId, runId, userName, data)
        if timeStamp is not None:
            track.timeStamp = timeStamp
        values = self._indexValues(track)
        self._checkIndexable(values)
        # Everything that can fail has been checked; now change things.
        if not runId:
            track.runId = runId = self.startRun(taskId)
            if 'runId' in values:
                values['runId'] = runId
        num = tracknumbers.nextNumber(self._numbers, self._cursor())
        jar = self._p_jar
        if jar is not None:
            jar.add(track)      # its oid goes into the user-track table
        trackId = self.idFromNum(num)
        track.__name__, track.__parent__ = trackId, self
        if not self._tracks.insert(num, track):
            # Never overwrite: that would lose a committed track silently.
            raise RuntimeError(f'track number {num} was handed out twice; '
                               f'the number allocator is broken')
        self._count.change(1)
        self._indexTrack(num, track, values)
        self._moveRunEnd(runId, track.timeStamp)
        return trackId

    def updateTrack(self, track, data, overwrite=False, timeStamp=None):
        num = self._numOf(track)
        _checkData(data)
        if timeStamp is not None:
            timeStamp = toTimeStamp(timeStamp)
        if overwrite:
            newData = dict(data)
        else:
            newData = dict(track.data)
            newData.update(data)
        self._checkIndexable(self._indexValues(track, newData))
        # Everything that can fail has been checked; now change things.
        old = self._indexValues(track)
        self._removeKey(num, track)
        track.update(data, overwrite)
        if timeStamp is not None:
            track.timeStamp = timeStamp
        self._indexTrack(num, track, old=old)
        self._moveRunEnd(track.runId, track.timeStamp)
        return track.__name__

    def setTrackData(self, track, data):
        num = self._numOf(track)
        _checkData(data)
        self._checkIndexable(self._indexValues(track, data))
        old = self._indexValues(track)
        track.data = dict(data)
        # Data is not in the track's key: only the field indexes change.
        self._indexFields(num, self._indexValues(track), old)
        return track.__name__

    def removeTrack(self, track):
        num = self._numOf(track)
        old = self._indexValues(track)
        for attr, index in self.indexes.items():
            index.unindex(num, old.get(attr))
        self._removeKey(num, track)
        del self._tracks[num]
        self._count.change(-1)
        self._dropTaskUser(track.taskId, track.userName)

    def releaseNumbers(self):
        """Give back this connection's unused reserved track numbers (call
        before closing a long-lived connection); returns how many."""
        return tracknumbers.release(self._numbers, self._cursor())

    # indexing

    def reindexTracks(self):
        indexes = OOBTree()
        for attr in self.indexes.keys():
            if attr not in TABLE_ATTRIBUTES:
                indexes[attr] = self._newIndex(attr)
        self.indexes = indexes
        self._lastTracks = trackkeys.KeyTable()
        self.taskUsers = OOBTree()
        count = 0
        for num, track in self._tracks.items():
            self._indexTrack(num, track)
            count += 1
        if self._count() != count:
            self._count.set(count)

    def setupIndexes(self):
        for attr in self.trackFactory.index_attributes:
            if attr not in self.indexes and attr not in TABLE_ATTRIBUTES:
                self.indexes[attr] = self._newIndex(attr)
        self.reindexTracks()

    @staticmethod
    def _newIndex(attr):
        # A track's own attributes change only through this storage, which
        # passes their old values; values from data need a reverse map.
        return FieldIndex(attr, reverse=attr not in OWN_ATTRIBUTES)

    def _indexTrack(self, num, track, values=None, old=None):
        """Index track number num under values (default: what the track
        has now) and key it in the user-track table; old: what it was
        indexed under, None for a new track."""
        self._indexFields(num, self._indexValues(track)
                          if values is None else values, old)
        self._lastTracks.insert(self._lastKey(num, track))
        users = self.taskUsers.get(track.taskId)
        if users is None:
            users = self.taskUsers[track.taskId] = OOTreeSet()
        if track.userName not in users:
            users.insert(track.userName)

    def _indexFields(self, num, values, old=None):
        indexes = self.indexes
        for attr, value in values.items():
            index = indexes.get(attr)
            if index is not None:
                index.index(num, value, None if old is None
                            else old.get(attr))

    def _indexValues(self, track, data=None):
        """{attr: value} the track has (or would have with data) for the
        storage's indexes: its own indexdata, and for an index its class
        does not declare (the trackFactory changed after it was saved) the
        metadata attribute or, as for any other index attribute, the value
        in its data."""
        if data is None:
            values, data = dict(track.indexdata), track.data
        else:
            values = dict(track.indexValues(data))
        for attr in self.indexes.keys():
            if attr not in values:
                values[attr] = (getattr(track, attr, None)
                                if attr in track.metadata_attributes
                                else data.get(attr))
        return values

    def _checkIndexable(self, indexdata):
        indexes = self.indexes
        for attr, value in indexdata.items():
            index = indexes.get(attr)
            if index is not None:
                index.checkValue(value)

    def _dropTaskUser(self, taskId, userName):
        if self._taskUserPairs(taskId, userName, first=True):
            return
        users = self.taskUsers.get(taskId)
        if users is not None and userName in users:
            users.remove(userName)
            if not users:
                del self.taskUsers[taskId]

    def _anyTrack(self, **criteria):
        return len(self._select(criteria)) > 0

    def _moveRunEnd(self, runId, timeStamp):
        run = self.runs.get(runId)
        if run is not None and timeStamp > run.end:
            run.end = timeStamp

    @staticmethod
    def _lastKey(num, track):
        oid = track._p_oid
        return trackkeys.makeKey(track.userName, track.runId, track.taskId,
                                 track.timeStamp, num,
                                 0 if oid is None else u64(oid))

    def _removeKey(self, num, track):
        stem = trackkeys.stem(self._lastKey(num, track))
        key = trackkeys.find(self._lastTracks, stem)
        if key is None:
            raise KeyError(f'the user-track table has no key for track '
                           f'{num} ({track!r}); run check() or '
                           f"'cybertools-tracking check --repair'")
        self._lastTracks.remove(key)

    def _trackAt(self, num, oid):
        """Track number num, loaded by its oid when the key had one."""
        jar = self._p_jar
        if oid and jar is not None:
            try:
                track = jar.get(p64(oid))
                if track.__name__ == self.idFromNum(num):
                    return track
            except (KeyError, AttributeError):
                pass
            # A key pointing elsewhere is damage check() reports; the
            # track tree still has the right answer.
        return self._tracks[num]

    def _numOf(self, track):
        num = _numFromId(getattr(track, '__name__', None))
        if num is None or self._tracks.get(num) is not track:
            raise KeyError(f'{track!r} is not a track of this storage')
        return num

    def _cursor(self):
        # Volatile: each connection has its own copy of this object, so
        # each holds its own block of numbers.
        cursor = getattr(self, '_v_numbers', None)
        if cursor is None:
            cursor = self._v_numbers = tracknumbers.BlockCursor()
        return cursor

    def _runRange(self):
        if not self.runs:
            return 'none'
        return f'{self.runs.minKey()}..{self.runs.maxKey()}'

    # queries

    def query(self, **criteria):
        limit = criteria.pop('limit', None)
        reverse = criteria.pop('reverse', False)
        if limit is not None and (isinstance(limit, bool)
                                  or not isinstance(limit, int) or limit < 0):
            raise ValueError(f'limit must be an int >= 0 or None, '
                             f'not {limit!r}')
        oids = {}
        nums = self._select(criteria, oids)
        if oids:
            def fetch(num, oids=oids, trackAt=self._trackAt):
                return trackAt(num, oids.get(num))
        else:
            fetch = self._tracks.__getitem__
        return TrackList(fetch, nums, limit, bool(reverse), jar=self._p_jar,
                         oids=oids)

    def _select(self, criteria, oids=None):
        """The sorted track numbers (a tree set, or the track tree itself
        when there are no criteria) matching criteria; where the user-track
        table answered, oids (a dict) gets {number: oid}."""
        valid = self.indexAttributes + TIME_CRITERIA
        unknown = [name for name in criteria if name not in valid]
        if unknown:
            raise ValueError(
                f'unknown query criteria: {", ".join(sorted(unknown))}; '
                f'valid are: {", ".join(valid + RESULT_OPTIONS)}')
        sets = []
        pair = self._taskUserPair(criteria)
        if pair:
            # One task and one user: the user-track table has them in a few
            # ranges; intersecting the two indexes would read all of a
            # popular task's numbers.
            pairs = self._taskUserPairs(*pair)
            if oids is not None:
                oids.update(pairs)
            sets.append(LLTreeSet([num for num, oid in pairs]))
        for name, value in criteria.items():
            if name in TIME_CRITERIA or value is None \
                    or (pair and name in ('taskId', 'userName')):
                continue
            if name in TABLE_ATTRIBUTES:
                sets.append(self._userNums(value, oids))
            else:
                sets.append(self._lookup(self.indexes[name], value))
        timeRange = self._timeRange(criteria)
        if timeRange is not None:
            if 'timeStamp' not in self.indexes:
                raise ValueError('time criteria need a timeStamp index')
            sets.append(self.indexes['timeStamp'].lookupRange(*timeRange))
        if not sets:
            return self._tracks
        result = sets[0]
        for other in sets[1:]:
            if not result:
                break
            result = intersection(result, other)
        if not isinstance(result, LLTreeSet):
            result = LLTreeSet(result)
        return result

    def _userNums(self, value, oids=None):
        """The sorted numbers of the tracks of a user name (a list or tuple
        of names: any of them; 'prefix*': names starting so), from the
        user-track table; oids as for ``_select``."""
        if isinstance(value, (list, tuple, set, frozenset)):
            return multiunion([self._userNums(v, oids) for v in value])
        if not isinstance(value, str):
            raise TypeError(f"query on 'userName': {value!r} "
                            f'({type(value).__name__}) cannot be compared '
                            f'with the indexed values (str)')
        table = self._lastTracks
        if value.endswith('*'):
            pairs = trackkeys.pairsOfNamePrefix(table, value[:-1])
        elif value:
            pairs = trackkeys.pairsOf(table, trackkeys.prefix(value))
        else:
            pairs = []
        if oids is not None:
            oids.update(pairs)
        return LLTreeSet([num for num, oid in pairs])

    def _taskUserPair(self, criteria):
        """(taskId, userName) when the criteria name one of each, plainly
        (no list, no prefix), as the track's own attributes; else None."""
        taskId, userName = criteria.get('taskId'), criteria.get('userName')
        metadata = self.trackFactory.metadata_attributes
        if isinstance(taskId, str) and isinstance(userName, str) \
                and taskId and userName \
                and not taskId.endswith('*') and not userName.endswith('*') \
                and 'taskId' in metadata and 'userName' in metadata:
            return taskId, userName
        return None

    @staticmethod
    def _lookup(index, value):
        if isinstance(value, (list, tuple, set, frozenset)):
            return multiunion([TrackingStorage._lookup(index, v)
                               for v in value])
        if isinstance(value, str) and value.endswith('*'):
            return index.lookupPrefix(value[:-1])
        return index.lookup(value)

    @staticmethod
    def _timeRange(criteria):
        """(low, high) in whole seconds, both inclusive, None for an open
        end; None when no time criterion is given. Given together, the
        criteria all apply: the latest start and the earliest end win."""
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

    def getUserTracks(self, taskId, runId, userName):
        start = self._userPrefix(taskId, runId, userName)
        if start is None:
            return []
        return [self._trackAt(num, oid) for num, oid in sorted(
            trackkeys.pairsOf(self._lastTracks, start))]

    def getLastUserTrack(self, taskId, runId, userName):
        start = self._userPrefix(taskId, runId, userName)
        if start is None:
            return None
        # Keys sort by time, then number: the greatest is the newest.
        key = trackkeys.lastWith(self._lastTracks, start)
        return None if key is None else self._trackAt(
            trackkeys.numOf(key), trackkeys.oidOf(key))

    def _userPrefix(self, taskId, runId, userName):
        _checkName('taskId', taskId)
        _checkName('userName', userName)
        runId = _checkRunId(runId)
        if not runId:
            runId = self.currentRuns.get(taskId)
            if not runId:
                return None
        return trackkeys.prefix(userName, runId, taskId)

    def _taskUserPairs(self, taskId, userName, first=False):
        """(number, oid) of the user's tracks for the task (unsorted), from
        one range of the user-track table per run of the user; with first,
        stop at the first run that has any."""
        table, pairs = self._lastTracks, []
        for runId in trackkeys.runsOf(table, userName):
            pairs.extend(trackkeys.pairsOf(
                table, trackkeys.prefix(userName, runId, taskId)))
            if first and pairs:
                break
        return pairs

    def getUserNames(self, taskId):
        return list(self.taskUsers.get(taskId, ()))

    def getTaskIds(self):
        return list(self.taskUsers.keys())

    # upkeep

    def check(self):
        problems = []
        expected = {attr: {} for attr in self.indexes.keys()}
        lastKeys = {}           # stem -> (number, oid)
        taskUsers = {}
        runEnds = {}
        count = 0
        for num, track in self._tracks.items():
            count += 1
            if track.__name__ != self.idFromNum(num):
                problems.append(f'track {num} is named {track.__name__!r}')
            if track.__parent__ is not self:
                problems.append(f'track {num} has another parent')
            if track.runId not in self.runs:
                problems.append(f'track {num} names unknown run '
                                f'{track.runId}')
            else:
                runEnds[track.runId] = max(track.timeStamp,
                                           runEnds.get(track.runId, -math.inf))
            for attr, value in self._indexValues(track).items():
                if attr in expected and value is not None:
                    expected[attr][num] = value
            lastKeys[trackkeys.stem(self._lastKey(num, track))] = (
                num, track._p_oid)
            taskUsers.setdefault(track.taskId, set()).add(track.userName)
        if self._count() != count:
            problems.append(f'track count says {self._count()}, '
                            f'storage holds {count}')
        for runId, newest in sorted(runEnds.items()):
            end = self.runs[runId].end
            if end < newest:
                problems.append(f'run {runId} ends {end}, before its newest '
                                f'track ({newest})')
        for taskId, runId in self.currentRuns.items():
            run = self.runs.get(runId)
            if run is None or run.finished:
                problems.append(f'current run of {taskId!r} is '
                                f'{"finished" if run else "unknown"} run '
                                f'{runId}')
        for attr, index in self.indexes.items():
            problems.extend(index.check(expected[attr]))
        stored = {trackkeys.stem(key): trackkeys.oidOf(key)
                  for key in self._lastTracks.keys()}
        for key in sorted(lastKeys.keys() - stored.keys()):
            problems.append(f'last-track table misses '
                            f'{trackkeys.split(key)!r}')
        for key in sorted(stored.keys() - lastKeys.keys()):
            problems.append(f'last-track table holds stale '
                            f'{trackkeys.split(key)!r}')
        for key, (num, oid) in lastKeys.items():
            # 0: saved outside a database, found through the track tree.
            keyOid = stored.get(key)
            if keyOid and (oid is None or keyOid != u64(oid)):
                problems.append(f'last-track table points track {num} to '
                                f'oid {keyOid:#x}, the track is '
                                f'{"not stored" if oid is None else hex(u64(oid))}')
        storedUsers = {task: set(users)
                       for task, users in self.taskUsers.items()}
        if storedUsers != taskUsers:
            for task in sorted(set(storedUsers) | set(taskUsers)):
                have = storedUsers.get(task, set())
                want = taskUsers.get(task, set())
                if have != want:
                    problems.append(
                        f'task-user table for {task!r} holds '
                        f'{sorted(have)}, tracks say {sorted(want)}')
        return problems
