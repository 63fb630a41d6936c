"""The upload protocol between a tracker's uploader and an HQ, in one place.

Both sides import it: ``cybertools_tracking.upload`` builds requests from
it and ``cybertools_tracking.hq`` checks them against it.

A request is ``POST {host}/usagestats/upload`` with a JSON object::

    {"API Key": ..., "User Identifier": uuid,
     "Application Name": ..., "Application Version": ...,
     "Data": {name: {"type": ..., "description": ..., "data": value}},
     "Tracks": {name: [{"Number": 12, "Run": 3, "Time": 1700000000,
                        "Count": 5, "State": "Metric"}, ...]}}

``Data`` names each trackable that changed with its latest value: the
state (a str; ``"No State"`` when there is none) for a State, a number
(the count, or seconds for a Timer) for the others. ``Tracks`` is this
project's addition (the original AnonymousUsage client never sends it):
the changes themselves, so an HQ can keep the history. ``Number`` is the
track's number in the client's database, unique per user identifier and
rising: an HQ drops a track it already has. The ``Idempotency-Key``
header names the batch; a batch sent again after a lost reply carries the
same key and the same tracks.

Values JSON cannot carry as they are travel in a documented form (see
``jsonable``): a str with characters that are not Unicode text (lone
surrogates, as ``os.listdir`` gives for undecodable file names) has those
replaced by U+FFFD; an int of 4,000 decimal digits or more (Python
refuses to write those as decimal text) travels as its hex str
(``"0x1b3..."``), and a float that is not finite as its str (``"inf"``,
``"nan"``). ``jsonable`` never raises, so one odd value can never stop the
uploads behind it. The tracker refuses, when they are recorded, values of
Statistics, Timers and Sequences that are not finite or have more than
``MAX_INT_DIGITS`` digits (an HQ wants a number it can add up there);
these forms are for the free fields of a track and for old databases.
"""

import enum
import math

UPLOAD_PATH = '/usagestats/upload'

API_KEY = 'API Key'
USER = 'User Identifier'
APPLICATION = 'Application Name'
VERSION = 'Application Version'
DATA = 'Data'
TRACKS = 'Tracks'
REQUIRED_FIELDS = (API_KEY, USER, APPLICATION, VERSION, DATA)

# Within each entry of Data.
TYPE = 'type'
DESCRIPTION = 'description'
VALUE = 'data'

# Within each entry of Tracks: the track's number, run and time (epoch
# seconds); the rest is the track's data ("Count", "State", ...).
NUMBER = 'Number'
RUN = 'Run'
TIME = 'Time'
TRACK_FIELDS = (NUMBER, RUN, TIME)

IDEMPOTENCY_HEADER = 'Idempotency-Key'
# What the original sent for a State without one.
NO_STATE_TEXT = 'No State'

MAX_BODY_BYTES = 1024 * 1024
# The numbers a Statistic, Timer or Sequence may hold, and an HQ accepts:
# every one of them converts to a float, so sums mixing ints and floats
# never fail. Longer ints in the free fields of a track go as hex text
# (Python refuses to write ints of more than 4,300 digits as decimals).
MAX_INT_DIGITS = 308
INT_LIMIT = 10 ** MAX_INT_DIGITS
_TEXT_LIMIT = 10 ** 4000


class Reply(enum.Enum):
    """What each reply status means to the client."""

    ACCEPTED = 200        # stored (or already stored): move on
    BAD_REQUEST = 400     # not the protocol's body: the same again won't do
    FORBIDDEN = 403       # missing, unknown or revoked key: wait for new ones
    NOT_ALLOWED = 405     # only POST uploads
    TOO_LARGE = 413       # over MAX_BODY_BYTES: send fewer tracks at a time


def jsonable(value):
    """value as plain JSON data, never raising (see the module docstring):
    dicts, lists, tuples and sets are converted member by member; other
    objects become their str."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return cleanText(value)
    if isinstance(value, int):
        return _int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {cleanText(str(k)): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    try:
        return cleanText(str(value))
    except Exception:
        return f'<unprintable {type(value).__name__}>'


def cleanText(text):
    """text with each lone surrogate (what is not Unicode text) replaced
    by U+FFFD, so it encodes as UTF-8."""
    try:
        text.encode('utf-8')
        return text
    except UnicodeEncodeError:
        return ''.join('\ufffd' if '\ud800' <= ch <= '\udfff' else ch
                       for ch in text)


def _int(value):
    if -_TEXT_LIMIT < value < _TEXT_LIMIT:
        return value
    return hex(value)
