"""How chart values read: plain numbers, or seconds in time units.

Durations read as the original AnonymousUsage's formatted times
(``Timer.format_time``: '2 hours 5 minutes'), cut to the two largest
units so an axis label stays short; the exact seconds stay in the
element's ``data-value``.
"""

import math

from cybertools_tracking.usage.timer import Timer

# The steps a duration axis may take: whole seconds, minutes, hours,
# days, then years, so tick labels come out as round times.
_MINUTE, _HOUR, _DAY, _YEAR = 60, 3600, 86400, 31536000
DURATION_STEPS = (
    1, 2, 5, 10, 15, 30,
    _MINUTE, 2 * _MINUTE, 5 * _MINUTE, 10 * _MINUTE, 15 * _MINUTE,
    30 * _MINUTE,
    _HOUR, 2 * _HOUR, 3 * _HOUR, 6 * _HOUR, 12 * _HOUR,
    _DAY, 2 * _DAY, 7 * _DAY, 14 * _DAY, 30 * _DAY, 91 * _DAY, 182 * _DAY,
    _YEAR)


def formatNumber(value):
    """A count or total as people read it: '1,234', '0.25', '12.35',
    '3.5e+15'."""
    if abs(value) >= 1e15:
        return f'{value:.3g}'
    if isinstance(value, int) or float(value).is_integer() \
            or abs(value) >= 1000:
        return f'{value:,.0f}'
    return f'{value:.4g}' if abs(value) >= 1 else f'{value:.3g}'


def formatDuration(seconds, units=2):
    """seconds as the original's formatted time, at most ``units`` units:
    '1 hours 30 minutes', '45 seconds', '0.5 seconds', '0 seconds'."""
    if seconds < 0:
        return '-' + formatDuration(-seconds, units)
    if seconds < 1:
        return f'{seconds:.2g} seconds' if seconds else '0 seconds'
    words = Timer.format_time(seconds).split()
    if not words:
        return '0 seconds'
    return ' '.join(words[:2 * units])


def formatterFor(kind):
    """The formatter of a trackable kind: durations for 'Timer', numbers
    for everything else."""
    return formatDuration if kind == 'Timer' else formatNumber


def _step125(rough):
    magnitude = 10 ** _floor_log10(rough)
    for factor in (1, 2, 2.5, 5, 10):
        if factor * magnitude >= rough:
            return factor * magnitude
    return 10 * magnitude


def _floor_log10(value):
    exponent = 0
    while value >= 10:
        value /= 10
        exponent += 1
    while value < 1:
        value *= 10
        exponent -= 1
    return exponent


def _durationStep(rough):
    for step in DURATION_STEPS:
        if step >= rough:
            return step
    return _step125(rough / _YEAR) * _YEAR


def niceTicks(low, high, count=5, durations=False, integers=False):
    """Round tick values covering [low, high], about count of them
    (steps of 1, 2, 2.5 or 5 times a power of ten; with durations, of
    round seconds, minutes, hours, days or years; with integers, at
    least 1). The first tick is <= low and the last >= high; equal
    bounds widen to a step above."""
    if high < low:
        low, high = high, low
    span = high - low
    if span == 0:
        span = abs(high) or 1
    rough = span / max(count - 1, 1)
    step = _durationStep(rough) if durations and rough >= 1 \
        else _step125(rough)
    if integers and step % 1:
        step = _step125(math.ceil(step))
    first = (low // step) * step
    ticks = [first]
    while ticks[-1] < high or len(ticks) < 2:
        ticks.append(first + len(ticks) * step)
    if all(float(t).is_integer() for t in ticks):
        ticks = [int(t) for t in ticks]
    else:
        # Multiples of 0.1 and the like: round away the float noise.
        digits = max(0, -_floor_log10(step) + 2)
        ticks = [round(t, digits) for t in ticks]
    return ticks
