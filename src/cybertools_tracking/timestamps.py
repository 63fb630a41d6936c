"""Time stamps as the original keeps them: whole seconds since the epoch.

People see local time ('YYYY-MM-DD HH:MM'), as cybertools.tracking showed
it; machines get the integers.
"""

import datetime
import math
import time

# The time stamps a track may carry: every one of them is a date of years
# 1 to 9999 in any time zone, so each can be shown, keyed and compared.
TIME_MIN = -62_135_510_400      # 0001-01-02 00:00:00 UTC
TIME_MAX = 253_402_214_399      # 9999-12-30 23:59:59 UTC
TIME_RANGE = '0001-01-02 to 9999-12-30 (epoch seconds %d to %d)' % (
    TIME_MIN, TIME_MAX)


def getTimeStamp():
    """Now, in whole seconds since the epoch."""
    return int(time.time())


def timeStamp2LocalMinute(ts):
    """'YYYY-MM-DD HH:MM' in local time, the form the reprs show."""
    return time.strftime('%Y-%m-%d %H:%M', time.localtime(ts))


# The original's name (cybertools.tracking.btree.timeStamp2ISO), though
# the text is not ISO 8601.
timeStamp2ISO = timeStamp2LocalMinute


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
    name is what error messages call the value. A time outside TIME_MIN
    to TIME_MAX is a ValueError naming that range.
    """
    # The common case first: a plain int in range is its own answer.
    if type(value) is int and TIME_MIN <= value <= TIME_MAX:
        return value
    try:
        seconds = _toSeconds(value, name, roundUp)
    except (OverflowError, ValueError) as exc:
        if 'finite' in str(exc):
            raise
        seconds = None
    if seconds is None or not TIME_MIN <= seconds <= TIME_MAX:
        raise ValueError(f'{name} must be a time from {TIME_RANGE}, '
                         f'not {value!r}')
    return seconds


def _toSeconds(value, name, roundUp):
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
        return _toSeconds(value.timestamp(), name, roundUp)
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
    try:
        if text.lstrip('-').isdigit():
            value = int(text)
        elif endOfDay and len(text) == 10:
            value = datetime.date.fromisoformat(text)
        else:
            value = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f'{name}: cannot read {text!r} as a time; use epoch seconds or '
            f'an ISO date like 2026-11-23 or 2026-11-23 18:30') from None
    try:
        if not (endOfDay and type(value) is datetime.date):
            return toTimeStamp(value, name)
        # The day's last second: the next day's first, less one.
        nextDay = datetime.datetime.combine(
            value + datetime.timedelta(days=1), datetime.time())
        return toTimeStamp(int(nextDay.timestamp()) - 1, name)
    except (OverflowError, ValueError):
        raise ValueError(f'{name} must be a time from {TIME_RANGE}, '
                         f'not {text!r}') from None
