"""Timer: a statistic whose count is the seconds spent on something."""

import time

from zope.interface import implementer

from cybertools_tracking.usage.interfaces import ITimer
from cybertools_tracking.usage.statistic import Statistic

_UNITS = (('years', 31536000), ('days', 86400), ('hours', 3600),
          ('minutes', 60))


@implementer(ITimer)
class Timer(Statistic):
    """See ITimer. Timing uses a monotonic clock, so changing the
    system time does not change what is measured."""

    type = 'Timer'

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self._started = None      # monotonic time of (re)start, or None
        self._seconds = 0.0       # timed before the last pause
        self.paused = False

    def start_timer(self):
        self._started = time.monotonic()
        self._seconds = 0.0
        self.paused = False

    def pause_timer(self):
        if self._started is None or self.paused:
            return
        self._seconds += time.monotonic() - self._started
        self.paused = True

    def resume_timer(self):
        if self._started is None or not self.paused:
            return
        self._started = time.monotonic()
        self.paused = False

    def stop_timer(self):
        if self._started is None:
            return None
        seconds = self.elapsed_time_s
        self._started = None
        self._seconds = 0.0
        self.paused = False
        self._change(seconds)
        return seconds

    @property
    def elapsed_time_s(self):
        if self._started is None:
            return 0
        if self.paused:
            return self._seconds
        return self._seconds + time.monotonic() - self._started

    def __sub__(self, by):
        raise NotImplementedError(
            f'cannot subtract from timer {self.name!r}: a timer only adds '
            f'the seconds timed; use tracker[{self.name!r}] = seconds to '
            f'set its total')

    __isub__ = __sub__

    def decrement(self, by=1):
        return self.__sub__(by)

    @property
    def total_seconds(self):
        return self.count

    @property
    def total_minutes(self):
        return self.count / 60

    @property
    def total_hours(self):
        return self.count / 3600

    @property
    def total_days(self):
        return self.count / 86400

    @staticmethod
    def format_time(n_seconds, seconds=True, minutes=True, hours=True,
                    days=True, years=True):
        wanted = {'years': years, 'days': days, 'hours': hours,
                  'minutes': minutes}
        parts = []
        rest = n_seconds
        for unit, size in _UNITS:
            if wanted[unit]:
                amount, rest = divmod(rest, size)
                if amount:
                    parts.append('%d %s' % (amount, unit))
        if seconds and int(rest):
            parts.append('%d seconds' % rest)
        return ' '.join(parts)

    def formatted_total_time(self, **kw):
        return self.format_time(self.count, **kw)

    def formatted_average_time(self, **kw):
        return self.format_time(self.get_average(default=0), **kw)

    def strftime(self, format, average=False):
        seconds = self.get_average(default=0) if average else self.count
        return time.strftime(format, time.gmtime(seconds))

    def __repr__(self):
        return f'Timer ({self.name}): Total {self.count} s'
