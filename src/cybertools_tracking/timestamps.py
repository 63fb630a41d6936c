"""Time stamps as the original keeps them: whole seconds since the epoch.

People see local time ('YYYY-MM-DD HH:MM'), as cybertools.tracking showed
it; machines get the integers.
"""

import datetime
import time


def getTimeStamp():
    """Now, in whole seconds since the epoch."""
    return int(time.time())


def timeStamp2ISO(ts):
    """'YYYY-MM-DD HH:MM' in local time, the form the reprs show."""
    return time.strftime('%Y-%m-%d %H:%M', time.localtime(ts))


def toTimeStamp(value, name='timeStamp'):
    """Epoch seconds (int) from an int, a float or a datetime.

    A naive datetime is read as local time, as ``datetime.timestamp`` does.
    """
    if isinstance(value, bool):
        raise TypeError(f'{name} must be epoch seconds (int or float) or a '
                        f'datetime, not a bool')
    if isinstance(value, (int, float)):
        if value != value or value in (float('inf'), float('-inf')):
            raise ValueError(f'{name} must be a finite number, got {value!r}')
        return int(value)
    if isinstance(value, datetime.datetime):
        return int(value.timestamp())
    if isinstance(value, datetime.date):
        return int(datetime.datetime.combine(
            value, datetime.time()).timestamp())
    raise TypeError(f'{name} must be epoch seconds (int or float) or a '
                    f'datetime, not {type(value).__name__}: {value!r}')


def parseTime(text, name='time'):
    """Epoch seconds from text a person types: '1700000000',
    '2026-11-23', '2026-11-23 18:30' or '2026-11-23T18:30:05' (local
    time unless it carries an offset)."""
    text = text.strip()
    if text.lstrip('-').isdigit():
        return int(text)
    try:
        return toTimeStamp(datetime.datetime.fromisoformat(text), name)
    except ValueError:
        raise ValueError(
            f'{name}: cannot read {text!r} as a time; use epoch seconds or '
            f'an ISO date like 2026-11-23 or 2026-11-23 18:30') from None
