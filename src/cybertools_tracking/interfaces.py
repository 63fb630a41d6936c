"""The contracts of the storage layer.

Every public method of `Track`, `Run` and `TrackingStorage` is described here,
once; the classes only say which interface they implement.
"""

from zope.interface import Attribute, Interface


class ITrack(Interface):
    """Data saved by a user for a task within a run.

    Its metadata (``taskId``, ``runId``, ``userName``, ``timeStamp``) is
    indexed by the storage that holds it. The storage saves a track as a
    record in a bucket of its track tree: a track read from it is a copy
    of that record (equal to any other copy of it, ``==``), and changing
    the copy changes nothing stored; the storage's ``updateTrack``,
    ``setTrackData`` and ``removeTrack`` change the record and its index
    entries together, and bring the copy passed to them up to date.
    """

    taskId = Attribute("str: the task this track belongs to (non-empty).")
    runId = Attribute("int: the id of the run this track was saved in.")
    userName = Attribute("str: the user that saved the track (non-empty).")
    timeStamp = Attribute(
        "int: when the track was saved or last updated, whole seconds "
        "since the epoch.")
    data = Attribute("dict: the track's data, a plain mapping.")
    typeName = Attribute(
        "str: the name shown in the track's repr ('Track' by default).")
    metadata_attributes = Attribute(
        "tuple of str: the names of the metadata attributes, in the order "
        "the repr shows them.")
    index_attributes = Attribute(
        "tuple of str: the names the storage keeps an index for. Names that "
        "are not metadata attributes are looked up in ``data``.")
    metadata = Attribute(
        "dict: a fresh mapping of each metadata attribute to its value.")
    indexdata = Attribute(
        "dict: a fresh mapping of each index attribute to its value; for "
        "names that are not metadata the value comes from ``data`` and is "
        "None when ``data`` has no such key (the track is then left out of "
        "that index).")
    __name__ = Attribute("str: the track's id in its storage, e.g. '0000001'.")
    __parent__ = Attribute("The storage holding the track, or None.")

    def indexdataFor(data):
        """Return the mapping indexdata would be if the track's data were
        data (a mapping): how the storage checks new data before it
        changes anything."""

    def update(newData, overwrite=False):
        """Change the track's data and set its timeStamp to now.

        newData: a mapping. With overwrite false it is merged into the
        existing data (its keys win); with overwrite true it replaces it.
        Raises TypeError if newData is not a mapping. Changes this object
        only: call the storage's ``updateTrack`` to save the change and
        reindex.
        """


class IRun(Interface):
    """A session of a task: tracks saved while it is current carry its id."""

    id = Attribute("int: the run's id, unique within its storage.")
    taskId = Attribute("str or None: the task the run was started for.")
    start = Attribute("int: when the run was started (epoch seconds).")
    end = Attribute(
        "int: the time of the newest track saved in the run, or when it was "
        "last stopped, whichever is later (epoch seconds).")
    finished = Attribute("bool: True once the run was stopped with finish.")


class ITrackingStorage(Interface):
    """A persistent container of tracks with runs and BTree indexes.

    Tracks are kept under ids that are ``'%07i'`` of a track number; the
    container protocol (``len``, ``[]``, ``in``, ``get``, iteration) works
    on those ids, iterating in numeric order.
    """

    trackFactory = Attribute(
        "The class used to create tracks; it declares index_attributes.")
    indexAttributes = Attribute(
        "tuple of str: the attributes the storage keeps an index for.")

    def __len__():
        """Return the number of tracks, without loading them."""

    def __getitem__(trackId):
        """Return the track with that id; KeyError if there is none.

        trackId: the track's id as ``idFromNum`` makes it ('0000001';
        '1' names no track, as in a container keyed by those strings), or
        the track number as an int."""

    def __contains__(trackId):
        """Return True if a track with that id (or number) exists."""

    def get(trackId, default=None):
        """Return the track with that id, or default."""

    def __iter__():
        """Iterate over the track ids in order of their numbers."""

    def keys():
        """Return a list of the track ids in order of their numbers."""

    def values():
        """Iterate over the tracks in order of their numbers."""

    def items():
        """Iterate over (id, track) pairs in order of their numbers."""

    def itemsAfter(trackId):
        """Iterate over the (id, track) pairs numbered above trackId (an id
        or a track number; 0 for all), in order of their numbers, without
        visiting the tracks before it: what an uploader keeping the highest
        number it has sent (a watermark) reads next. A trackId that is
        neither an id nor an int is a TypeError."""

    def idFromNum(num):
        """Return the track id (a str) for a track number (an int)."""

    def startRun(taskId=None):
        """Start a new run for the task, make it the task's current run and
        return its id (an int, unique in the storage)."""

    def stopRun(taskId=None, runId=0, finish=True):
        """Stop a run and return its id, or 0 if there was nothing to stop.

        runId 0 (or None) stops the task's current run. As in the
        original, a stopped run is no longer the current run of its task
        (the next track saved with runId 0 starts a new run), its end is
        set to now (never earlier than it was) and its ``finished`` flag
        is set to finish. A stopped run stays retrievable with
        ``getRun(runId=...)`` and can still take tracks saved with its id.
        runId must be an int >= 0 (TypeError otherwise).
        """

    def getRun(taskId=None, runId=0):
        """Return the run with id runId, or, when runId is 0 (or None),
        the task's current run; None if there is no such run."""

    def getRuns(taskId=None):
        """Return the runs in id order: those started for taskId, or all
        of them when taskId is None."""

    def saveUserTrack(taskId, runId, userName, data, update=False,
                      timeStamp=None, overwrite=False):
        """Save a track and return its id.

        taskId, userName: non-empty str (TypeError/ValueError otherwise).
        runId: an int >= 0 (TypeError otherwise); 0 means the task's
        current run, a new run being started if the task has none; a run
        id the storage does not know is a ValueError. data: a mapping
        (TypeError otherwise), copied into a plain dict. update: when true
        and a track exists for the same taskId, run and userName, the last
        of them (as ``getLastUserTrack``) is updated instead (data merged,
        or replaced with overwrite true) and reindexed, and its id is
        returned. timeStamp: epoch seconds (int, float or an aware or
        naive-local datetime) from 0001-01-02 to 9999-12-30 (ValueError
        otherwise); now when None. The run's end moves forward
        to the track's time. Bad input raises before anything is changed,
        including an index value that cannot be a BTree key (index values
        must be str, bytes, int, float, Decimal, date/time values or tuples
        of those; None leaves the track out of that index) or whose type
        cannot be ordered against the values already in that index
        (TypeError; NaN is a ValueError).
        """

    def updateTrack(track, data, overwrite=False, timeStamp=None):
        """Update a track's data (merge, or replace with overwrite true), set
        its timeStamp to timeStamp or now, reindex it and return its id.
        The run's end moves forward to the new time. KeyError if the track
        is not in this storage; bad data or a bad timeStamp raises before
        anything changes."""

    def setTrackData(track, data):
        """Replace a track's data without changing its timeStamp, reindex
        it and return its id."""

    def releaseNumbers():
        """Give back the unused track numbers this connection reserved, if
        nobody reserved numbers after them, so the next writer continues
        without a gap; return how many were given back. Call before closing
        a connection that saved tracks (``db.Session`` does)."""

    def removeTrack(track):
        """Remove a track from the container and from every index.
        KeyError if the track is not in this storage."""

    def reindexTracks(progress=None):
        """Rebuild every index, the user-track table and the task-user
        table from the tracks, and set the track count to what they are.
        progress: None, or a callable progress(done, total) called now
        and then with the number of tracks reindexed so far and the
        number expected (both int), and once when all are done. A track
        whose values cannot be indexed (a time stamp no key can hold,
        saved by an older release) is a ValueError naming it, and the
        tables stay as they were."""

    def setupIndexes(progress=None):
        """Add an index for every index attribute of the trackFactory that
        has none yet, then reindex all tracks (progress as for
        reindexTracks)."""

    def query(**criteria):
        """Return the tracks matching every criterion, in track-number order.

        Criteria, any number of them, all of which must match:

        * an index attribute name (``taskId``, ``runId``, ``userName``,
          ``timeStamp`` and any a custom trackFactory declares) with a
          value; a list or tuple (or set) of values, meaning any of them
          (an empty one matches nothing); or a str ending in ``*``, meaning
          every str value with that prefix. None means no restriction
          (``runId=None`` is ignored, as in the original).
        * ``timeFrom``, ``timeTo``: epoch seconds, datetimes or dates,
          inclusive; ``timeFromTo=(start, end)`` is both at once. Given
          together they all apply (the latest start, the earliest end).
        * ``limit``: at most that many tracks (an int from 0 to
          sys.maxsize, ValueError otherwise); ``reverse``: newest (highest
          number) first.

        An unknown criterion is a ValueError naming the valid ones. The
        result is a lazy sequence: tracks are loaded as they are read, so
        ``query(..., limit=10, reverse=True)`` loads ten tracks however many
        match (their numbers come from the indexes, many to a bucket; with
        no criterion only the ten numbers are read), and
        ``result[:10]``, ``result[0]`` and ``bool(result)`` read no more
        than they need. It compares equal to the list of the same tracks.
        """

    def getUserTracks(taskId, runId, userName):
        """Return the list of tracks for the keys, in track-number order.
        runId 0 means the task's current run ([] if it has none)."""

    def getLastUserTrack(taskId, runId, userName):
        """Return the track with the newest timeStamp for the keys (ties go
        to the track saved last), or None. runId 0 means the task's current
        run. Costs a few index lookups however many tracks the user has."""

    def getUserNames(taskId):
        """Return the sorted list of user names that saved tracks for the
        task."""

    def getRunUserNames(runId):
        """Return the sorted list of user names that saved tracks in run
        runId ([] for a run without tracks or an unknown one); None for a
        storage of schema generation 1 or older not yet evolved."""

    def getTaskIds():
        """Return the sorted list of task ids that have tracks."""

    def check(progress=None):
        """Cross-check every index, the task-user table, the user-track
        table, the track count and the runs against the tracks; return a
        list of str, one per difference (empty when all agree). Never
        raises on an inconsistent or partly unreadable storage: what
        cannot be read (a track whose values no key can hold, an object a
        damaged file cannot load) is a difference too, naming the track
        or object. progress: None, or a callable progress(done, total)
        called now and then with the number of tracks checked so far and
        the number the storage counts (both int), and once at the end."""
