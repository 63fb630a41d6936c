"""Track records: a track saved as a tuple inside a bucket of the track
tree, not as a persistent object of its own.

ZODB's cost per object it saves (a pickler and its hook, a store call,
an oid, a cache entry) outweighs a track's few values: a record per track
made a track's own commit cost more than SQLite's whole row with five
indexes. Since schema generation 3 a track is saved as the tuple
``(taskId, runId, userName, timeStamp, data)`` (a Track subclass adds its
class and the attributes it adds) and the track tree's buckets save their
records together, pickled and compressed in one value: a batch of 1,000
tracks writes about ten bucket records instead of 1,000 objects.

Reading a track makes a Track object from its record (``materialise``):
it has the track's values, its ``__name__`` and the storage as its
``__parent__``, and no database connection of its own. It is a copy (its
data a new dict, whose values it shares with the record: change data by
giving the storage a new mapping, never a nested value in place):
changing it changes nothing stored, which is what the storage's
``updateTrack``, ``setTrackData`` and ``removeTrack`` are for (they write
the record and every index together, as before). Tracks saved as
persistent objects by an older generation are read as they are, beside
records, until ``check --repair`` stores them as records.
"""

import io
import pickle
from bisect import bisect_right

from BTrees.LOBTree import LOBTree
from persistent import Persistent

from cybertools_tracking.buckets import _compress, _decompress

# The track's own values, in the order a record holds them.
FIELDS = ('taskId', 'runId', 'userName', 'timeStamp', 'data')
PLAIN = 5           # the length of a plain Track's record
PROTOCOL = 5        # pickle's; readable by every Python this project runs


def recordOf(track, plainType):
    """The record of a track (a tuple), or None for an object that cannot
    be one (not a Track): it is then saved as a persistent object, as
    before. plainType is the class whose tracks need no class in their
    record."""
    if type(track) is plainType:
        return (track.taskId, track.runId, track.userName, track.timeStamp,
                track.data)
    if not isinstance(track, plainType):
        return None
    state = track.__getstate__()
    extra = state[1] if len(state) == 2 else None
    return (track.taskId, track.runId, track.userName, track.timeStamp,
            track.data, type(track), extra)


def materialise(record, num, parent, plainType):
    """The Track of a record: track number num of the storage parent."""
    for track in materialiseAll(((num, record),), parent, plainType):
        return track


def materialiseAll(items, parent, plainType):
    """The Tracks of (number, record) pairs of the storage parent, one
    after the other (a loop, not a call each: most of the cost of reading
    tracks already in memory is calls); a value that is no record (a
    Track object an older generation saved) comes as it is. A track's
    data is a dict of its own: a change to the copy must not reach the
    record, which the bucket's next save would store."""
    new = plainType.__new__
    for num, record in items:
        if type(record) is not tuple:
            yield record
            continue
        if len(record) == PLAIN:
            # Straight into its dict: a track of no connection records no
            # change, and this is half the cost of setting attributes.
            track = new(plainType)
            values = track.__dict__
            (values['taskId'], values['runId'], values['userName'],
             values['timeStamp'], data) = record
            values['data'] = dict(data)
        else:
            cls = record[5]
            track = cls.__new__(cls)
            values = record[:4] + (dict(record[4]), None, None)
            track.__setstate__((values, record[6]) if record[6]
                               else (values,))
        track.__name__ = '%07i' % num
        track.__parent__ = parent
        yield track


class _NotARecord(Exception):
    pass


class _RecordPickler(pickle.Pickler):
    # Called only for objects that are not of the builtin atomic and
    # container types, so the common values cost nothing here. A
    # persistent object must stay a reference ZODB sees (or a pack would
    # remove it): such a bucket is saved in the plain form.
    def reducer_override(self, obj):
        if isinstance(obj, Persistent):
            raise _NotARecord
        return NotImplemented


def packRecords(values):
    """The records of a bucket as one compressed bytes value, or None when
    one of them holds something that must stay visible to ZODB (a
    persistent object, or a value that is no record)."""
    for value in values:
        if type(value) is not tuple:
            return None
    out = io.BytesIO()
    try:
        _RecordPickler(out, PROTOCOL).dump(tuple(values))
    except (_NotARecord, pickle.PicklingError, TypeError, AttributeError):
        # Saved plainly, where ZODB's pickler raises its own error for a
        # value nothing can save.
        return None
    return _compress(out.getvalue())


def unpackRecords(packed):
    return pickle.loads(_decompress(packed))


def bucketsHolding(tree, nums):
    """The buckets of a track tree that hold the numbers nums, in the
    tree's order, each once, as they are (ghosts stay ghosts: the
    point is to ask ZEO or RelStorage for them in one round trip). The
    tree's inner nodes are loaded, as any read of it does; a tree kept in
    one record has no buckets of its own ([])."""
    found = []
    _collect(tree, list(nums), found)
    return found


def _collect(node, nums, found):
    # A BTree's state is ((child, key, child, key, ..., child), first
    # bucket), or ((bucket state,),) when it keeps its one bucket inline.
    state = LOBTree.__getstate__(node)
    if not state or len(state) < 2:
        return
    children, keys = state[0][0::2], state[0][1::2]
    groups = {}
    for num in nums:
        groups.setdefault(bisect_right(keys, num), []).append(num)
    for index in sorted(groups):
        child = children[index]
        if isinstance(child, LOBTree):
            _collect(child, groups[index], found)
        elif not found or found[-1] is not child:
            found.append(child)
