"""Checking an upload body against the protocol before anything is written.

``parseBody(raw)`` turns the bytes of a request into the JSON object or
raises ``BadUpload``; ``checkUpload(body)`` checks every field and returns
an ``Upload`` whose values the model can store without another check. A
body either passes whole or nothing of it is stored.
"""

import datetime
import json
import math
from dataclasses import dataclass, field

from cybertools_tracking import protocol
from cybertools_tracking.hq.exceptions import BadUpload
from cybertools_tracking.names import TYPES

__all__ = ['BadUpload', 'Entry', 'Trackable', 'Upload', 'parseBody',
           'apiKeyOf', 'checkUpload']

# Times the HQ accepts for a track: from 1970 up to the end of year 9999,
# so every time has a calendar day.
MAX_TIME = 253402300800
MAX_NUMBER = 2 ** 63 - 1     # track numbers and run ids
# Lists and objects in the free fields of a track may nest this deep:
# deeper ones could not be pickled (Python's recursion limit).
MAX_DEPTH = 32


@dataclass(frozen=True)
class Entry:
    """One trackable's change: from a track of Tracks (number and run
    set) or from Data (both None)."""

    value: object               # a finite number, or the state (str)
    time: int | None            # epoch seconds; None: the time of upload
    number: int | None = None
    run: int | None = None
    extra: dict = field(default_factory=dict)   # the track's other fields


@dataclass(frozen=True)
class Trackable:
    name: str
    type: str
    description: str
    value: object               # the latest value, from Data
    entries: tuple              # Entry, oldest first


@dataclass(frozen=True)
class Upload:
    apiKey: str
    user: str
    application: str
    version: str
    trackables: tuple           # Trackable, by name
    withTracks: bool            # the body carried a Tracks field


def _refuseConstant(name):
    raise BadUpload(f'the body holds {name}, which is not a JSON number; '
                    f'send finite numbers only')


def parseBody(raw):
    """The JSON object in raw (bytes); BadUpload for anything else."""
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError as exc:
        raise BadUpload(f'the body is not UTF-8 text (byte {exc.start})') \
            from None
    try:
        body = json.loads(text, parse_constant=_refuseConstant)
    except BadUpload:
        raise
    except (ValueError, RecursionError) as exc:
        raise BadUpload(f'the body is not JSON ({_short(exc)})') from None
    if not isinstance(body, dict):
        raise BadUpload(f'the body must be a JSON object, not '
                        f'{_jsonType(body)}')
    return body


def apiKeyOf(body):
    """The body's API Key if it is a non-empty str, else None."""
    key = body.get(protocol.API_KEY)
    return key if isinstance(key, str) and key else None


def checkUpload(body):
    """An Upload from a parsed body; BadUpload naming the first problem."""
    user = _text(body, protocol.USER)
    application = _text(body, protocol.APPLICATION)
    version = _text(body, protocol.VERSION)
    data = body.get(protocol.DATA)
    if not isinstance(data, dict):
        raise BadUpload(_wrong(protocol.DATA, 'an object', data, body))
    tracks = body.get(protocol.TRACKS)
    withTracks = protocol.TRACKS in body
    if withTracks and not isinstance(tracks, dict):
        raise BadUpload(_wrong(protocol.TRACKS, 'an object of lists',
                               tracks, body))
    tracks = tracks or {}
    for name in tracks:
        if name not in data:
            raise BadUpload(f'{protocol.TRACKS} names {name!r}, which '
                            f'{protocol.DATA} does not; every trackable '
                            f'with tracks needs its entry in '
                            f'{protocol.DATA}')
    trackables = []
    for name in sorted(data):
        kind, description, value = _dataEntry(name, data[name])
        entries = tuple(_trackEntries(name, kind, tracks[name])) \
            if name in tracks else ()
        trackables.append(Trackable(name, kind, description, value,
                                    entries))
    return Upload(body[protocol.API_KEY], user, application, version,
                  tuple(trackables), withTracks)


def _dataEntry(name, entry):
    where = f'{protocol.DATA}[{name!r}]'
    _checkText(name, f'a trackable name in {protocol.DATA}')
    if not name.strip():
        raise BadUpload(f'{protocol.DATA} holds an empty trackable name')
    if not isinstance(entry, dict):
        raise BadUpload(f'{where} must be an object with "type" and '
                        f'"data", not {_jsonType(entry)}')
    kind = entry.get(protocol.TYPE)
    if kind not in TYPES:
        raise BadUpload(f'{where}: "type" must be one of '
                        f'{", ".join(TYPES)}, not {_show(kind)}')
    description = entry.get(protocol.DESCRIPTION, '')
    if description is None:
        description = ''
    if not isinstance(description, str):
        raise BadUpload(f'{where}: "description" must be a string, not '
                        f'{_jsonType(description)}')
    _checkText(description, f'{where}: "description"')
    if protocol.VALUE not in entry:
        raise BadUpload(f'{where} has no "{protocol.VALUE}" (its value)')
    value = _value(kind, entry[protocol.VALUE], f'{where}: "data"')
    return kind, description, value


def _value(kind, value, where):
    if kind == 'State':
        if value is None:
            return protocol.NO_STATE_TEXT
        if not isinstance(value, str):
            raise BadUpload(f'{where} of a State must be a string (or '
                            f'null for no state), not {_jsonType(value)}')
        _checkText(value, where)
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or (isinstance(value, float) and not math.isfinite(value)):
        raise BadUpload(f'{where} of a {kind} must be a finite number, not '
                        f'{_jsonType(value)}')
    if not -protocol.INT_LIMIT < value < protocol.INT_LIMIT:
        raise BadUpload(f'{where} of a {kind} must have at most '
                        f'{protocol.MAX_INT_DIGITS} digits')
    return value


def _trackEntries(name, kind, entries):
    where = f'{protocol.TRACKS}[{name!r}]'
    if not isinstance(entries, list):
        raise BadUpload(f'{where} must be a list of tracks, not '
                        f'{_jsonType(entries)}')
    seen = set()
    for index, entry in enumerate(entries):
        at = f'{where}[{index}]'
        if not isinstance(entry, dict):
            raise BadUpload(f'{at} must be an object, not '
                            f'{_jsonType(entry)}')
        number = _int(entry, protocol.NUMBER, at, 1, MAX_NUMBER)
        run = _int(entry, protocol.RUN, at, 0, MAX_NUMBER)
        time = entry.get(protocol.TIME)
        if isinstance(time, bool) or not isinstance(time, (int, float)) \
                or not 0 <= time < MAX_TIME:
            raise BadUpload(f'{at}: "{protocol.TIME}" must be epoch seconds '
                            f'from 0 to {MAX_TIME - 1}, not {_show(time)}')
        if number in seen:
            raise BadUpload(f'{at}: "{protocol.NUMBER}" {number} comes '
                            f'twice in {where}')
        seen.add(number)
        field = 'State' if kind == 'State' else 'Count'
        if field in entry:
            value = _value(kind, entry[field], f'{at}: "{field}"')
        else:
            value = protocol.NO_STATE_TEXT if kind == 'State' else 0
        extra = {}
        for key, item in entry.items():
            if key in protocol.TRACK_FIELDS or key == field:
                continue
            _checkTexts(key, f'{at}: a field name')
            _checkTexts(item, f'{at}: {key!r}')
            extra[key] = item
        yield Entry(value, int(time), number, run, extra)


def _int(entry, key, at, low, high):
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, int) \
            or not low <= value <= high:
        raise BadUpload(f'{at}: "{key}" must be an integer from {low} to '
                        f'{high}, not {_show(value)}')
    return value


def _text(body, key):
    if key not in body:
        raise BadUpload(f'the field "{key}" is missing; an upload has '
                        f'{", ".join(map(repr, protocol.REQUIRED_FIELDS))}')
    value = body[key]
    # Any text the tracker may be given: whitespace is text too.
    if not isinstance(value, str) or not value:
        raise BadUpload(_wrong(key, 'a non-empty string', value, body))
    _checkText(value, f'"{key}"')
    return value


def _checkText(text, where):
    try:
        text.encode('utf-8')
    except UnicodeEncodeError:
        raise BadUpload(f'{where} holds an escaped lone surrogate, which is '
                        f'not Unicode text') from None


def _checkTexts(value, where, depth=0):
    # The free fields of a track are stored as they come; their text must
    # be text too.
    if isinstance(value, str):
        _checkText(value, where)
    elif isinstance(value, float) and not math.isfinite(value):
        raise BadUpload(f'{where} holds a number that is not finite')
    elif isinstance(value, (list, dict)):
        if depth >= MAX_DEPTH:
            raise BadUpload(f'{where} nests lists or objects deeper than '
                            f'{MAX_DEPTH} levels')
        if isinstance(value, list):
            for item in value:
                _checkTexts(item, where, depth + 1)
        else:
            for key, item in value.items():
                _checkText(key, where)
                _checkTexts(item, where, depth + 1)


def _wrong(key, what, value, body):
    if key not in body:
        return f'the field "{key}" is missing'
    return f'"{key}" must be {what}, not {_jsonType(value)}'


def _jsonType(value):
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'a boolean'
    if isinstance(value, (int, float)):
        return f'the number {_show(value)}'
    if isinstance(value, str):
        return f'the string {_show(value)}'
    if isinstance(value, list):
        return 'a list'
    return 'an object'


def _show(value):
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = type(value).__name__
    return text if len(text) <= 60 else text[:57] + '...'


def _short(exc):
    text = str(exc)
    return text if len(text) <= 120 else text[:117] + '...'


def isoDay(value, name):
    """The day value names ('YYYY-MM-DD'), None for none given; a
    ValueError naming the parameter name otherwise. The read API and the
    dashboard take their date filters through it."""
    if value is None or value == '':
        return None
    try:
        return datetime.date.fromisoformat(value).isoformat()
    except (TypeError, ValueError):
        raise ValueError(f'{name} must be a date in ISO date form '
                         f'(YYYY-MM-DD), not {value!r}') from None
