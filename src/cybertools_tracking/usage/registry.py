"""The registry of trackables, kept in the TrackingStorage itself.

Each trackable has one track of the internal task ``__registry__`` whose
``userName`` is the trackable's name and whose data is its entry:
``{'type', 'description', 'checkpoints', 'max_rows'}``. Keeping it in the
storage (not beside it under another root key) means a tracker writing
into a storage somebody else opened carries its registry along, and an
upload or a copy of the storage is self-describing.
"""

from cybertools_tracking.names import (
    REGISTRY_TASK, RESERVED, TYPES, isInternal)

# The names' own module is cybertools_tracking.names; they stay importable
# from here for the importer and older code.
__all__ = ['REGISTRY_TASK', 'RESERVED', 'TYPES', 'isInternal', 'makeEntry',
           'compatible', 'read', 'lookup', 'write']

# Kinds whose rows mean the same (a count), so a name may move between them.
_COMPATIBLE = {'Statistic': 'count', 'Timer': 'count',
               'State': 'state', 'Sequence': 'sequence'}


def makeEntry(type, description='', checkpoints=None, max_rows=1000):
    """A registry entry (a plain dict, as stored)."""
    return {'type': type, 'description': description,
            'checkpoints': None if checkpoints is None else list(checkpoints),
            'max_rows': max_rows}


def compatible(storedType, newType):
    """True if a trackable stored as storedType may be declared as
    newType (the same kind, or Statistic and Timer, which both count)."""
    return _COMPATIBLE.get(storedType) == _COMPATIBLE.get(newType)


def read(storage, internal=False):
    """{name: entry} of every registered trackable, sorted by name; with
    internal false, names starting with '__' are left out."""
    entries = {}
    for track in storage.query(taskId=REGISTRY_TASK):
        if internal or not isInternal(track.userName):
            entries[track.userName] = dict(track.data)
    return dict(sorted(entries.items()))


def lookup(storage, name):
    """The entry registered for name, or None."""
    tracks = storage.query(taskId=REGISTRY_TASK, userName=name, limit=1,
                           reverse=True)
    return dict(tracks[0].data) if tracks else None


def write(storage, name, entry):
    """Register name with entry, replacing an older entry; nothing is
    written when the stored entry is already the same."""
    tracks = storage.query(taskId=REGISTRY_TASK, userName=name, limit=1,
                           reverse=True)
    if not tracks:
        storage.saveUserTrack(REGISTRY_TASK, 0, name, entry)
    elif dict(tracks[0].data) != entry:
        storage.updateTrack(tracks[0], entry, overwrite=True)
