"""Time stamps as the original keeps them: whole seconds since the epoch.

People see local time ('YYYY-MM-DD HH:MM'), as cybertools.tracking showed
it; machines get the integers.
"""

import datetime
import math
import time


def getTimeStamp():
    """Now, in whole seconds since the epoch."""
    return int(time.time())


def timeStamp2ISO(ts):
    """'YYYY-MM-DD HH:MM' in local time, the form the reprs show."""
    return time.strftime('%Y-%m-%d %H:%M', time.localtime(ts))


def timeStamp2Text(ts):
    """'YYYY-MM-DD HH:MM:SS' in local time, for tables."""
    return time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(ts))


def timeStamp2ISO8601(ts):
    """ISO 8601 local time with its UTC offset, for JSON output."""
    return datetime.datetime.fromtimestamp(ts).astimezone().isoformat()


def toTimeStamp(value, name='timeStamp', roundUp=False):
    """Epoch seconds (int) from an int, a float, a datetime or a date.

    A naive datetime (or a date: its midnight) is read as local time, as
    ``datetime.timestamp`` does. Fractions of a second are cut off, or,
    with roundUp (for the start of an inclusive range), rounded up.
    name is what error messages call the value.
    """
    if isinstance(value, bool):
        raise TypeError(f'{name} must be epoch seconds (int or float) or a '
                        f'datetime, not a bool')
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f'{name} must be a finite number, got {value!r}')
        return math.ceil(value) if roundUp else math.floor(value)
    if isinstance(value, datetime.datetime):
        return toTimeStamp(value.timestamp(), name, roundUp)
    if isinstance(value, datetime.date):
        return int(datetime.datetime.combine(
            value, datetime.time()).timestamp())
    raise TypeError(f'{name} must be epoch seconds (int or float) or a '
                    f'datetime, not {type(value).__name__}: {value!r}')


def parseTime(text, name='time', endOfDay=False):
    """Epoch seconds from text a person types: '1700000000',
    '2026-11-23', '2026-11-23 18:30' or '2026-11-23T18:30:05' (local
    time unless it carries an offset). A bare date is its first second,
    or with endOfDay (for the end of an inclusive range) its last."""
    text = text.strip()
    if text.lstrip('-').isdigit():
        return int(text)
    try:
        if endOfDay and len(text) == 10:
            day = datetime.date.fromisoformat(text)
            return toTimeStamp(day + datetime.timedelta(days=1), name) - 1
        return toTimeStamp(datetime.datetime.fromisoformat(text), name)
    except ValueError:
        raise ValueError(
            f'{name}: cannot read {text!r} as a time; use epoch seconds or '
            f'an ISO date like 2026-11-23 or 2026-11-23 18:30') from None
