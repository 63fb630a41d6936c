"""Statistic: a number that goes up, down or is set."""

from zope.interface import implementer

from cybertools_tracking.protocol import INT_LIMIT, MAX_INT_DIGITS
from cybertools_tracking.usage.interfaces import IStatistic
from cybertools_tracking.usage.trackable import Trackable, checkNumber


@implementer(IStatistic)
class Statistic(Trackable):
    """See IStatistic."""

    type = 'Statistic'
    startup_value = 0

    def _restore(self, last):
        super()._restore(last)
        self.startup_value = self.count

    def _change(self, by, absolute=False):
        # The hot path of ``tracker[name] += 1``: no disk, one lock.
        cls = by.__class__
        if cls is not int and cls is not float:
            by = checkNumber(by)
        tracker = self._tracker
        writer = tracker._writer
        writer.admit()
        with tracker._lock:
            count = by if absolute else self.count + by
            # One comparison refuses inf, nan (every comparison with it is
            # false) and ints too long to be written as decimal text: an
            # HQ needs a finite number, and a count it can never be sent
            # would stop every upload behind it.
            if not -INT_LIMIT < count < INT_LIMIT:
                raise ValueError(
                    f'{self.name!r}: a {self.type} must stay a finite '
                    f'number of at most {MAX_INT_DIGITS} digits; '
                    f'{"setting" if absolute else "adding"} {_short(by)} '
                    f'would make it {_short(count)}')
            self._save({'Count': count})
            self.count = count

    def __add__(self, by):
        self._change(by)
        return self

    __iadd__ = __add__

    def __sub__(self, by):
        self._change(-checkNumber(by))
        return self

    __isub__ = __sub__

    def set(self, value):
        self._change(value, absolute=True)
        return self.count

    insert = set

    def increment(self, by=1):
        self._change(by)
        return self.count

    def decrement(self, by=1):
        self -= by
        return self.count

    @property
    def difference_from_startup(self):
        return self.count - self.startup_value

    def get_average(self, default=None):
        rows = self.get_number_of_rows()
        return self.count / rows if rows else default


def _short(number):
    if isinstance(number, int) and not -INT_LIMIT < number < INT_LIMIT:
        digits = int(abs(number).bit_length() * 0.30103)
        return f'an int of about {digits} digits'
    return repr(number)
