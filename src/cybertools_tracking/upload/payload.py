"""The upload body: the protocol's fields (``cybertools_tracking.protocol``),
built from the tracks after the watermark.

``Data`` names the trackables that changed in the batch, each with its
latest value in it (the state for a State, the count for the others), and
``Tracks`` carries the batch's tracks themselves.
"""

import json

from cybertools_tracking import protocol
from cybertools_tracking.names import TYPES, isInternal


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
    return {protocol.TYPE: kind,
            protocol.DESCRIPTION: protocol.cleanText(str(description))}


def valueOf(kind, data):
    """The value the HQ gets in ``data``: the state of a State, the count
    of the others."""
    if kind == 'State':
        state = data.get('State')
        return protocol.cleanText(state) if isinstance(state, str) \
            else protocol.NO_STATE_TEXT
    return protocol.jsonable(data.get('Count', 0))


def trackEntry(num, track):
    entry = {protocol.NUMBER: num, protocol.RUN: track.runId,
             protocol.TIME: track.timeStamp}
    for key, value in track.data.items():
        if key not in protocol.TRACK_FIELDS:
            entry[protocol.cleanText(str(key))] = protocol.jsonable(value)
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
        name = protocol.cleanText(track.taskId)
        info = describe(track.taskId, registry, track.data)
        tracks.setdefault(name, []).append(trackEntry(num, track))
        # items ascend, so the last one seen is the latest value.
        data[name] = dict(info, **{protocol.VALUE: valueOf(
            info[protocol.TYPE], track.data)})
    for name, value in (extra or {}).items():
        clean = protocol.cleanText(name)
        if clean not in data:
            data[clean] = dict(describe(name, registry),
                               **{protocol.VALUE: protocol.jsonable(value)})
    return {
        protocol.API_KEY: apiKey,
        protocol.USER: protocol.cleanText(str(uuid)),
        # As text whatever they were given as (a version 1.2 is "1.2").
        protocol.APPLICATION: protocol.cleanText(str(applicationName)),
        protocol.VERSION: protocol.cleanText(str(applicationVersion)),
        protocol.DATA: data,
        protocol.TRACKS: tracks,
    }


def encode(body):
    """The body as compact UTF-8 JSON bytes (body made by buildBody, so
    every value is JSON already)."""
    return json.dumps(body, ensure_ascii=False, separators=(',', ':'),
                      allow_nan=False).encode('utf-8')
