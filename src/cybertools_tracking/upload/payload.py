"""The upload body: the HQ's fields, built from the tracks after the
watermark.

The HQ's protocol (from AnonymousUsage) is one JSON object::

    {"API Key": ..., "User Identifier": uuid,
     "Application Name": ..., "Application Version": ...,
     "Data": {name: {"type": ..., "description": ..., "data": latest value}}}

``Data`` names the trackables that changed in the batch, each with its
latest value in it (the state for a State, the count for the others).
Beyond the original, ``Tracks`` carries the batch's tracks themselves, so
an HQ can keep the history; an HQ that does not know the key ignores it::

    "Tracks": {name: [{"Number": 12, "Run": 3, "Time": 1700000000,
                       "Count": 5, "State": "Metric"}, ...]}

``Number`` is the track's number in the local database: unique per user
identifier and rising, so an HQ can drop a track it already has.
"""

import json
import math

INTERNAL_PREFIX = '__'
TRACKS_KEY = 'Tracks'
TYPES = ('Statistic', 'State', 'Timer', 'Sequence')
NO_STATE_TEXT = 'No State'   # what the original sent for a State without one
_TRACK_FIELDS = ('Number', 'Run', 'Time')


def isInternal(name):
    """Names starting with '__' (registry, upload state, submissions) are
    the tracker's own, never uploaded as trackables."""
    return isinstance(name, str) and name.startswith(INTERNAL_PREFIX)


def newTracks(storage, uuid, after, limit=None, through=None):
    """The (number, track) pairs of uuid's trackables numbered above after
    (and not above through, if given), ascending, at most limit of them.

    Internal tasks and other users' tracks are skipped, never counted.
    """
    found = []
    for trackId, track in storage.itemsAfter(after):
        num = int(trackId)
        if through is not None and num > through:
            break
        if track.userName != uuid or isInternal(track.taskId):
            continue
        found.append((num, track))
        if limit is not None and len(found) >= limit:
            break
    return found


def latestUpTo(storage, name, uuid, through):
    """(track, later): uuid's newest track of the trackable numbered at
    most through (or None), and whether uuid has any numbered above."""
    later = False
    for num in storage.query(taskId=name, reverse=True).nums:
        track = storage[num]
        if track.userName != uuid:
            continue
        if num > through:
            later = True
            continue
        return track, later
    return None, later


def describe(name, registry, data=None):
    """{'type', 'description'} of a trackable from the registry; a name the
    registry does not know is a State if its track has one, else a
    Statistic."""
    info = registry.get(name) or {}
    kind = info.get('type')
    if kind not in TYPES:
        kind = 'State' if data and 'State' in data else 'Statistic'
    description = info.get('description') or ''
    return {'type': kind, 'description': str(description)}


def valueOf(kind, data):
    """The value the HQ gets in ``data``: the state of a State, the count
    of the others."""
    if kind == 'State':
        state = data.get('State')
        return state if isinstance(state, str) else NO_STATE_TEXT
    return jsonable(data.get('Count', 0))


def jsonable(value):
    """value as plain JSON: non-finite floats and unknown types as str."""
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    return str(value)


def trackEntry(num, track):
    entry = {'Number': num, 'Run': track.runId, 'Time': track.timeStamp}
    for key, value in track.data.items():
        if key not in _TRACK_FIELDS:
            entry[str(key)] = jsonable(value)
    return entry


def buildBody(apiKey, uuid, applicationName, applicationVersion, items,
              registry, extra=None):
    """The upload body (a dict) for the (number, track) pairs in items.

    extra: {name: value} for trackables without a track in items that
    ``Data`` must name anyway (every trackable, on the first upload).
    """
    data = {}
    tracks = {}
    for num, track in items:
        name = track.taskId
        info = describe(name, registry, track.data)
        tracks.setdefault(name, []).append(trackEntry(num, track))
        # items ascend, so the last one seen is the latest value.
        data[name] = dict(info, data=valueOf(info['type'], track.data))
    for name, value in (extra or {}).items():
        if name not in data:
            data[name] = dict(describe(name, registry),
                              data=jsonable(value))
    return {
        'API Key': apiKey,
        'User Identifier': str(uuid),
        'Application Name': applicationName,
        'Application Version': applicationVersion,
        'Data': data,
        TRACKS_KEY: tracks,
    }


def encode(body):
    """The body as compact UTF-8 JSON bytes."""
    return json.dumps(body, ensure_ascii=False, separators=(',', ':'),
                      allow_nan=False).encode('utf-8')
