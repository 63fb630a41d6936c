"""The tracking storage: tracks and runs in BTrees, with field indexes.

This module holds the classes ZODB saves and the write path (a track,
its index entries, its user-track table key and its run's end change in
one transaction). Reading is planned in ``query``, cross-checking done
in ``check``, input checks shared in ``validation``; the layout's
generation and its evolve steps are in ``generations``.

The model is cybertools.tracking's (``cybertools/tracking/btree.py``); the
layout below is what lets many writers share it without conflicts:

* tracks live in a 64-bit integer BTree keyed by track number, so ids
  (``'%07i'``) iterate in numeric order past 9,999,999;
* numbers come from per-connection blocks (see ``tracknumbers``), the
  track count is a ``Length``, and the storage object itself is never
  written after it is created, so concurrent savers only touch BTree
  buckets whose conflicts resolve;
* a run's ``end`` resolves concurrent changes to the latest;
* the user-track table, a sorted set of ``(userName, runId, taskId,
  timeStamp, number)`` keys (one str each, see ``trackkeys``), answers
  ``getLastUserTrack``, ``getUserTracks`` and a query for one task and
  one user in a few lookups;
* what a commit writes is kept small: the users of each run
  (``runUsers``) and the (user, task, run) keys of the task-run table
  change only when a user first saves into a run or a task, where an index
  over runIds rewrote a bucket per run in every batch, and every table's
  buckets are saved packed (see ``buckets``).
"""

from BTrees.Length import Length
from BTrees.LOBTree import LOBTree, LOBucket
from BTrees.OOBTree import OOBTree, OOSet, OOTreeSet
from persistent import Persistent
from ZODB.POSException import ConflictError
from ZODB.utils import u64
from zope.interface import implementer

from cybertools_tracking import (
    generations, query, records, trackkeys, tracknumbers)
from cybertools_tracking.buckets import PackedIntKeys, PackedStrSet, PackedTree
from cybertools_tracking.check import PROGRESS_STEP, checkStorage
from cybertools_tracking.index import FieldIndex
from cybertools_tracking.interfaces import IRun, ITrack, ITrackingStorage
from cybertools_tracking.query import TIME_CRITERIA  # noqa: F401 (old home)
from cybertools_tracking.timestamps import (
    getTimeStamp, timeStamp2ISO, timeStamp2LocalMinute, toTimeStamp)
from cybertools_tracking.trackkeys import TABLE_ATTRIBUTES
from cybertools_tracking.validation import (
    checkData, checkName, checkRunId, checkTaskId, isInt)

# Set when a track is made and changed by the storage alone.
OWN_ATTRIBUTES = ('taskId', 'runId', 'userName', 'timeStamp')
_missing = object()

__all__ = ['Track', 'Run', 'TrackTree', 'TrackingStorage', 'timeStamp2ISO']


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
        return self.indexdataFor(self.data)

    def indexdataFor(self, data):
        return {attr: (getattr(self, attr) if attr in self.metadata_attributes
                       else data.get(attr))
                for attr in self.index_attributes}

    def update(self, newData, overwrite=False):
        checkData(newData)
        self.timeStamp = getTimeStamp()
        if overwrite:
            self.data = dict(newData)
        else:
            data = dict(self.data)
            data.update(newData)
            self.data = data    # a new dict, so the change is stored

    # Tracks read from records are copies (see ``records``): two of the
    # same track are equal, as are two rows of one table row.
    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return self.__name__ == other.__name__ \
            and self.__parent__ is other.__parent__ \
            and self.metadata == other.metadata and self.data == other.data

    def __hash__(self):
        return hash((type(self), self.__name__))

    def __repr__(self):
        md = self.metadata
        md['timeStamp'] = timeStamp2LocalMinute(md['timeStamp'])
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
            self.id, timeStamp2LocalMinute(self.start),
            timeStamp2LocalMinute(self.end),
            self.finished)


def _numFromId(trackId):
    # Only the canonical id names a track ('0000001', not '1' or '01'),
    # as in a container keyed by those strings; a plain int is the number.
    if isinstance(trackId, str):
        if not (trackId.isascii() and trackId.isdigit()) \
                or trackId != '%07i' % int(trackId):
            return None
        trackId = int(trackId)
    if isInt(trackId) and 0 < trackId < 2 ** 63:
        return trackId
    return None


class TrackBucket(PackedIntKeys, LOBucket):
    """A bucket of the track tree: its numbers are saved as one value (see
    ``buckets``), its track records as another (see ``records``); tracks
    an older generation saved as objects of their own stay references."""

    @staticmethod
    def _encode(items):
        packed = PackedIntKeys._encode(items)
        if packed is not None:
            values = records.packRecords(packed[1])
            if values is not None:
                packed = (packed[0], values)
        return packed

    @staticmethod
    def _decode(packed):
        keys, values = packed
        if isinstance(values, bytes):
            values = records.unpackRecords(values)
        return PackedIntKeys._decode((keys, values))


class TrackTree(PackedTree, LOBTree):
    """Track number -> track record (see ``records``; a Track object where
    an older generation saved one).

    Concurrent writers all append here; every bucket split changes the
    parent node and makes the writers that went through it conflict.
    Buckets twice the default size halve that; bigger ones would make
    reading one track cold (its bucket and a ghost of each neighbour)
    dearer.
    """
    max_leaf_size = 120
    _bucket_type = TrackBucket


class UserBucket(PackedStrSet, OOSet):
    """A bucket of a task's user names, saved as one value."""


class UserNames(PackedTree, OOTreeSet):
    """The user names that have tracks of one task (``taskUsers``) or of
    one run (``runUsers``).

    A new user of a run rewrites one bucket: with users scattered over a
    batch, a bucket per user. Larger buckets (a run's first 250 users
    are one record) make fewer of them; packed, their size costs little.
    """
    max_leaf_size = 250
    _bucket_type = UserBucket


@implementer(ITrackingStorage)
class TrackingStorage(Persistent):
    """See ITrackingStorage."""

    trackFactory = Track
    # Run id -> the names of the users with tracks in the run; None in a
    # storage of generation 1 or older until it is evolved (it has a
    # runId index instead).
    runUsers = None
    # The task-run table (see ``trackkeys.taskKey``); None in a storage of
    # generation 1 or older until it is evolved.
    _taskRuns = None

    def __init__(self, trackFactory=None):
        if trackFactory is not None:
            self.trackFactory = trackFactory
        self._generation = generations.GENERATION
        self._tracks = TrackTree()
        self._count = Length()
        self._numbers = tracknumbers.NumberAllocator()
        self.runs = LOBTree()
        self.currentRuns = OOBTree()
        self.taskUsers = OOBTree()
        self._taskRuns = trackkeys.TaskRunTable()
        self.runUsers = LOBTree()
        self._userTracks = trackkeys.KeyTable()
        self.indexes = OOBTree()
        for attr in self.trackFactory.index_attributes:
            if attr not in TABLE_ATTRIBUTES:
                self.indexes[attr] = self._newIndex(attr)

    def __setstate__(self, state):
        # An older generation's state (one saved before generations were
        # recorded is generation 0) is evolved as it is loaded; a newer
        # one raises SchemaError before anything of it is set, so such a
        # storage is never half-read.
        stored = generations.generationOf(state)
        state = generations.evolveState(state)
        super().__setstate__(state)
        self._v_storedGeneration = stored

    # container protocol

    def idFromNum(self, num):
        return '%07i' % num

    def __len__(self):
        return self._count()

    def __getitem__(self, trackId):
        num = _numFromId(trackId)
        if num is None:
            raise KeyError(trackId)
        return self._trackAt(num)

    def get(self, trackId, default=None):
        num = _numFromId(trackId)
        if num is None:
            return default
        value = self._tracks.get(num)
        return default if value is None else self._track(num, value)

    def __contains__(self, trackId):
        num = _numFromId(trackId)
        return num is not None and num in self._tracks

    def __iter__(self):
        return (self.idFromNum(num) for num in self._tracks.keys())

    def keys(self):
        return list(self)

    def values(self):
        track = self._track
        return (track(num, value) for num, value in self._tracks.items())

    def items(self):
        track = self._track
        return ((self.idFromNum(num), track(num, value))
                for num, value in self._tracks.items())

    def itemsAfter(self, trackId):
        num = 0 if trackId == 0 and isInt(trackId) else _numFromId(trackId)
        if num is None:
            raise TypeError(f'itemsAfter takes a track id or number (0 for '
                            f'all tracks), not {trackId!r}')
        track = self._track
        return ((self.idFromNum(n), track(n, value))
                for n, value in self._tracks.items(num + 1))

    @property
    def indexAttributes(self):
        return tuple(sorted(set(self.indexes.keys()) | set(TABLE_ATTRIBUTES)))

    # runs

    def startRun(self, taskId=None):
        checkTaskId(taskId)
        return self._startRun(taskId)

    def _startRun(self, taskId):
        # Runs are rare next to tracks: a new id is the highest plus one,
        # and two concurrent starts conflict and retry, which keeps ids
        # unique without a counter on the storage.
        runId = self.runs.maxKey() + 1 if self.runs else 1
        self.runs[runId] = Run(runId, taskId)
        if taskId is not None:
            self.currentRuns[taskId] = runId
        return runId

    def stopRun(self, taskId=None, runId=0, finish=True):
        checkTaskId(taskId)
        runId = checkRunId(runId)
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
        checkTaskId(taskId)
        runId = checkRunId(runId)
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

    # saving: every value is checked before the first change, so a caller
    # that catches the error and commits has stored nothing of the call.

    def saveUserTrack(self, taskId, runId, userName, data, update=False,
                      timeStamp=None, overwrite=False):
        checkName('taskId', taskId)
        checkName('userName', userName)
        runId = checkRunId(runId)
        checkData(data)
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
        if self.trackFactory is Track and 'runId' not in self.indexes:
            return self._savePlain(taskId, runId, userName, data, timeStamp)
        track = self.trackFactory(taskId, runId, userName, data)
        if timeStamp is not None:
            track.timeStamp = timeStamp
        # A factory's own time stamp or a runId of the new run to come
        # must fit a user-track table key as well.
        toTimeStamp(track.timeStamp)
        values = self._indexEntries(track)
        self._checkIndexable(values)
        num = self._newNumber()
        # Everything that can fail has been checked; now change things.
        if not runId:
            track.runId = runId = self._startRun(taskId)
            if 'runId' in values:
                values['runId'] = runId
        trackId = self.idFromNum(num)
        track.__name__, track.__parent__ = trackId, self
        self._tracks[num] = self._recordOf(track)
        self._count.change(1)
        self._indexTrack(num, track, values)
        self._moveRunEnd(runId, track.timeStamp)
        return trackId

    # A track read from a record is a copy: the three methods below work
    # on the stored values (``_numOf``'s current track), write the record
    # back and bring the caller's copy up to date.

    def _savePlain(self, taskId, runId, userName, data, timeStamp):
        """saveUserTrack for the plain Track, its arguments checked: the
        record is made without a Track object, its index values without
        dicts (the same entries as the general way, which an index over
        runIds, of a generation 1 storage, still takes)."""
        if timeStamp is None:
            timeStamp = getTimeStamp()
        data = dict(data)
        entries = []
        for attr, index in self.indexes.items():
            if attr == 'taskId':
                value = taskId
            elif attr == 'timeStamp':
                value = timeStamp
            else:
                value = data.get(attr)
            index.checkValue(value)
            entries.append((index, value))
        num = self._newNumber()
        # Everything that can fail has been checked; now change things.
        if not runId:
            runId = self._startRun(taskId)
        self._tracks[num] = (taskId, runId, userName, timeStamp, data)
        self._count.change(1)
        for index, value in entries:
            index.index(num, value)
        self._keyTrack(num, taskId, runId, userName, timeStamp, 0)
        self._moveRunEnd(runId, timeStamp)
        return '%07i' % num

    def updateTrack(self, track, data, overwrite=False, timeStamp=None):
        num, current = self._numOf(track)
        checkData(data)
        timeStamp = toTimeStamp(getTimeStamp() if timeStamp is None
                                else timeStamp)
        if overwrite:
            newData = dict(data)
        else:
            newData = dict(current.data)
            newData.update(data)
        self._checkIndexable(self._indexEntries(current, newData))
        key = self._keyOf(num, current)
        # Everything that can fail has been checked; now change things.
        old = self._indexEntries(current)
        if key is not None:
            self._userTracks.remove(key)
        current.update(data, overwrite)
        current.timeStamp = timeStamp
        self._store(num, current, track)
        self._indexTrack(num, current, old=old)
        self._moveRunEnd(current.runId, current.timeStamp)
        return current.__name__

    def setTrackData(self, track, data):
        num, current = self._numOf(track)
        checkData(data)
        self._checkIndexable(self._indexEntries(current, data))
        old = self._indexEntries(current)
        current.data = dict(data)
        self._store(num, current, track)
        # Data is not in the track's key: only the field indexes change.
        self._indexFields(num, self._indexEntries(current), old)
        return current.__name__

    def removeTrack(self, track):
        num, track = self._numOf(track)
        key = self._keyOf(num, track)
        # Everything that can fail has been checked; now change things.
        old = self._indexEntries(track)
        for attr, index in self.indexes.items():
            index.unindex(num, old.get(attr))
        if key is not None:
            self._userTracks.remove(key)
        del self._tracks[num]
        self._count.change(-1)
        self._dropTaskUser(track.taskId, track.userName, track.runId)
        self._dropRunUser(track.runId, track.userName)

    def releaseNumbers(self):
        """Give back this connection's unused reserved track numbers (call
        before closing a long-lived connection); returns how many."""
        return tracknumbers.release(self._numbers, self._cursor())

    # indexing

    def reindexTracks(self, progress=None):
        """See ITrackingStorage; progress(done, total), when given, is
        called every ``check.PROGRESS_STEP`` tracks and once at the end."""
        tables = (self.indexes, self._userTracks, self._taskRuns,
                  self.taskUsers, self.runUsers)
        indexes = OOBTree()
        for attr in self.indexes.keys():
            if attr not in TABLE_ATTRIBUTES:
                indexes[attr] = self._newIndex(attr)
        self.indexes = indexes
        self._userTracks = trackkeys.KeyTable()
        self.taskUsers = OOBTree()
        self._taskRuns = trackkeys.TaskRunTable()
        self.runUsers = LOBTree()
        total = self._count()
        count = 0
        for num, value in self._tracks.items():
            try:
                self._indexTrack(num, self._track(num, value))
            except (TypeError, ValueError, OverflowError) as exc:
                # The old tables come back: a failed reindex changes none.
                (self.indexes, self._userTracks, self._taskRuns,
                 self.taskUsers, self.runUsers) = tables
                raise ValueError(
                    f'track {num} cannot be indexed ({exc}); update it with '
                    f'values in range or remove it, then reindex') from None
            count += 1
            if progress is not None and count % PROGRESS_STEP == 0:
                progress(count, max(total, count))
        if total != count:
            self._count.set(count)
        if progress is not None:
            progress(count, count)

    def setupIndexes(self, progress=None):
        for attr in self.trackFactory.index_attributes:
            if attr not in self.indexes and attr not in TABLE_ATTRIBUTES:
                self.indexes[attr] = self._newIndex(attr)
        self.reindexTracks(progress)

    @staticmethod
    def _newIndex(attr):
        # A track's own attributes change only through this storage, which
        # passes their old values; values from data need a reverse map.
        return FieldIndex(attr, reverse=attr not in OWN_ATTRIBUTES)

    def _indexTrack(self, num, track, values=None, old=None):
        """Index track number num under values (default: what the track
        has now) and key it in the user-track table; old: what it was
        indexed under, None for a new track."""
        self._indexFields(num, self._indexEntries(track)
                          if values is None else values, old)
        oid = track._p_oid
        self._keyTrack(num, track.taskId, track.runId, track.userName,
                       track.timeStamp, 0 if oid is None else u64(oid))

    def _keyTrack(self, num, taskId, runId, userName, timeStamp, oid):
        """Key track number num in the user-track table and the task-user,
        task-run and run-user tables."""
        table = self._userTracks
        seen = trackkeys.lastWith(table, trackkeys.prefix(
            userName, runId, taskId)) is not None
        table.insert(trackkeys.makeKey(
            userName, runId, taskId, timeStamp, num, oid))
        if seen:
            # The user has tracks of the task in this run: the other tables
            # know the three already (check() holds them to that).
            return
        users = self.taskUsers.get(taskId)
        if users is None:
            users = self.taskUsers[taskId] = UserNames()
        if userName not in users:
            users.insert(userName)
        taskRuns = self._taskRuns
        if taskRuns is not None:
            taskRuns.insert(trackkeys.taskKey(taskId, userName, runId))
        runUsers = self.runUsers
        if runUsers is not None:
            users = runUsers.get(runId)
            if users is None:
                # Most runs have one user (a session): the name alone,
                # in the table's bucket, saves writing a set per new run.
                runUsers[runId] = userName
            elif type(users) is str:
                if users != userName:
                    runUsers[runId] = UserNames((users, userName))
            elif userName not in users:
                users.insert(userName)

    def _indexFields(self, num, values, old=None):
        # A loop over the few indexes, not a tree lookup per value.
        for attr, index in self.indexes.items():
            if attr in values:
                index.index(num, values[attr], None if old is None
                            else old.get(attr))

    def _indexEntries(self, track, data=None):
        """{attr: value} the storage's indexes hold (or would hold with
        data) for the track: its indexdata, and for an index its class
        does not declare (the trackFactory changed after it was saved) the
        metadata attribute or, as for any other index attribute, the value
        in its data."""
        if type(track) is Track:
            # The plain track indexes its metadata: no dicts to build and
            # copy (a third of a save's own bookkeeping).
            values = {'taskId': track.taskId, 'runId': track.runId,
                      'userName': track.userName,
                      'timeStamp': track.timeStamp}
            if data is None:
                data = track.data
        elif data is None:
            values, data = dict(track.indexdata), track.data
        else:
            values = dict(track.indexdataFor(data))
        for attr in self.indexes.keys():
            if attr not in values:
                values[attr] = (getattr(track, attr, None)
                                if attr in track.metadata_attributes
                                else data.get(attr))
        return values

    def _checkIndexable(self, entries):
        indexes = self.indexes
        for attr, value in entries.items():
            index = indexes.get(attr)
            if index is not None:
                index.checkValue(value)

    def _dropTaskUser(self, taskId, userName, runId):
        if trackkeys.lastWith(self._userTracks, trackkeys.prefix(
                userName, runId, taskId)) is not None:
            return      # the user has more of the task in this run
        taskRuns = self._taskRuns
        if taskRuns is not None:
            key = trackkeys.taskKey(taskId, userName, runId)
            if key in taskRuns:
                taskRuns.remove(key)
        if query.hasTaskUserTracks(self, taskId, userName):
            return
        users = self.taskUsers.get(taskId)
        if users is not None and userName in users:
            users.remove(userName)
            if not users:
                del self.taskUsers[taskId]

    def _dropRunUser(self, runId, userName):
        runUsers = self.runUsers
        if runUsers is None or trackkeys.lastWith(
                self._userTracks, trackkeys.prefix(userName, runId)):
            return
        users = runUsers.get(runId)
        if users == userName:
            del runUsers[runId]
        elif users is not None and type(users) is not str \
                and userName in users:
            users.remove(userName)
            if not users:
                del runUsers[runId]

    # records

    def _recordOf(self, track):
        """What the track tree holds for a track: its record, or the track
        itself for an object that cannot be one (it then gets its oid now,
        as the user-track table's key holds it)."""
        record = records.recordOf(track, Track)
        if record is not None:
            return record
        jar = self._p_jar
        if jar is not None:
            jar.add(track)
        return track

    def _track(self, num, value):
        """The track of what the track tree holds under num."""
        if type(value) is tuple:
            return records.materialise(value, num, self, Track)
        return value

    def _trackAt(self, num):
        return self._track(num, self._tracks[num])

    def _tracksAt(self, nums):
        """The tracks numbered nums, one after the other."""
        tracks = self._tracks
        return records.materialiseAll(
            ((num, tracks[num]) for num in nums), self, Track)

    def _store(self, num, current, track):
        """Save a changed track (current, as ``_numOf`` gave it) and make
        the caller's copy (track) say the same."""
        if current is not track:
            self._tracks[num] = self._recordOf(current)
            for name in records.FIELDS:
                setattr(track, name, getattr(current, name))
            # The record holds current's data dict: the copy gets its own.
            track.data = dict(current.data)

    def _moveRunEnd(self, runId, timeStamp):
        run = self.runs.get(runId)
        if run is not None and timeStamp > run.end:
            run.end = timeStamp

    def _keyOf(self, num, track):
        """The user-track table key of track number num as stored (the
        oid it was saved with need not be the track's); None for a track
        whose values no key can hold (it was never keyed: saved by a
        release that checked less, or changed behind the storage's back),
        so that updating or removing it mends the storage; KeyError when
        the table has no key for a track that should have one."""
        try:
            stem = trackkeys.stem(trackkeys.trackKey(num, track))
        except (TypeError, ValueError, OverflowError):
            return None
        key = trackkeys.find(self._userTracks, stem)
        if key is None:
            raise KeyError(f'the user-track table has no key for track '
                           f'{num} ({track!r}); run check() or '
                           f"'cybertools-tracking check --repair'")
        return key

    def _numOf(self, track):
        """(number, the track as stored) of a track of this storage: a
        track object an older generation saved is itself; a copy made
        from a record (which the caller may hold since before another
        change) is made again from the record."""
        num = _numFromId(getattr(track, '__name__', None))
        value = None if num is None else self._tracks.get(num)
        if value is track:
            return num, track
        if type(value) is tuple and isinstance(track, Track) \
                and getattr(track, '__parent__', None) is self:
            return num, self._track(num, value)
        raise KeyError(f'{track!r} is not a track of this storage')

    def _newNumber(self):
        """The number for a new track, from this connection's block."""
        num = tracknumbers.nextNumber(self._numbers, self._cursor())
        if num in self._tracks:
            # Never overwrite: that would lose a committed track silently.
            raise RuntimeError(f'track number {num} was handed out twice; '
                               f'the number allocator is broken')
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

    # queries (planned in the query module, which only reads)

    def query(self, **criteria):
        return query.query(self, criteria)

    def getUserTracks(self, taskId, runId, userName):
        return query.userTracks(self, taskId, runId, userName)

    def getLastUserTrack(self, taskId, runId, userName):
        return query.lastUserTrack(self, taskId, runId, userName)

    def getRunUserNames(self, runId):
        """The names of the users with tracks in run runId, sorted; None
        in a storage of generation 1 or older (it has no run-user
        table until it is evolved)."""
        if self.runUsers is None:
            return None
        return query.runUserNames(self.runUsers.get(runId))

    def getUserNames(self, taskId):
        return list(self.taskUsers.get(taskId, ()))

    def getTaskIds(self):
        return list(self.taskUsers.keys())

    # upkeep

    def check(self, progress=None):
        return checkStorage(self, progress)
