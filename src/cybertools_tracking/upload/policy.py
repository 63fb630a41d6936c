"""What a reply means for the next attempt, and how long to wait.

No reply loses data: the backlog stays in the local database whatever
comes back; the verdict only decides when (and whether) to try again.
"""

import datetime
import email.utils
import enum
import math
import random

from cybertools_tracking.protocol import Reply

# The watcher's waits after failures: 30 s, 1, 2, 4 ... minutes, capped
# at an hour, each drawn from the upper half of its range so many
# installations that failed together do not come back together.
BACKOFF_BASE_S = 30
BACKOFF_MAX_S = 3600
# A Retry-After further away than this is read as this (a misconfigured
# HQ must not silence its clients for months).
RETRY_AFTER_MAX_S = 86400


class Verdict(enum.Enum):
    SUCCESS = 'success'   # 2xx: the batch is delivered
    RETRY = 'retry'       # 5xx, 408, 429, no complete reply: back off
    SPLIT = 'split'       # 413: send half as much
    STOP = 'stop'         # 401, 403: the key is refused; wait for new settings
    SLOW = 'slow'         # any other reply: retry at the slowest pace


def classify(status):
    """The verdict for an HTTP status (None: no complete reply)."""
    if status is None:
        return Verdict.RETRY
    if 200 <= status < 300:
        return Verdict.SUCCESS
    if status == Reply.TOO_LARGE.value:
        return Verdict.SPLIT
    if status in (401, Reply.FORBIDDEN.value):
        return Verdict.STOP
    if status in (408, 429) or 500 <= status < 600:
        return Verdict.RETRY
    return Verdict.SLOW


def parseRetryAfter(value, now):
    """Seconds to wait from a Retry-After header: delay-seconds ('120') or
    an HTTP date; now is epoch seconds. None when absent or unreadable;
    never negative, at most RETRY_AFTER_MAX_S."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    if text.isdigit():
        seconds = float(text)
    else:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:     # HTTP dates are GMT
            when = when.replace(tzinfo=datetime.timezone.utc)
        seconds = when.timestamp() - now
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), RETRY_AFTER_MAX_S)


class Backoff:
    """Exponential backoff with jitter over consecutive failures."""

    def __init__(self, base=BACKOFF_BASE_S, maximum=BACKOFF_MAX_S,
                 random=random.random):
        if not (base > 0 and maximum >= base):
            raise ValueError(f'backoff needs 0 < base <= maximum, got '
                             f'base={base!r}, maximum={maximum!r}')
        self.base = base
        self.maximum = maximum
        self.failures = 0
        self._random = random

    def fail(self):
        """Count a failure and return the seconds to wait before the next
        attempt: base * 2**(failures-1), capped, jittered into
        [half of it, all of it]."""
        self.failures += 1
        ceiling = min(self.maximum,
                      self.base * 2 ** min(self.failures - 1, 62))
        return ceiling / 2 + self._random() * ceiling / 2

    def slowest(self):
        """Count a failure and return the longest wait (the maximum)."""
        self.failures += 1
        return self.maximum

    def reset(self):
        self.failures = 0
