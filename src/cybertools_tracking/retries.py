"""Running a unit of work again when another writer got in the way.

``transaction``'s ``attempts()`` retries at once. On FileStorage that is
enough; on RelStorage a commit that finds an object it read locked by
another writer's commit fails at once (``lock_not_available``, a
ReadConflictError) and stays failing until that commit is over, so
retries without a pause use themselves up inside one such commit. Here
each retry waits a random time that grows with the attempt number, so
the writer retries after the other one committed and writers that
collided do not collide again in step.
"""

import random
import time

from transaction.interfaces import TransientError

from cybertools_tracking import postgres

# The first retry waits up to FIRST_PAUSE seconds (at least half of
# that), each next one up to GROWTH times as long, none more than
# MAX_PAUSE: over the default five attempts a writer keeps trying for 2.3
# to 4.7 seconds, longer than PostgreSQL takes to find and break a
# deadlock between two commits (deadlock_timeout, 1 s by default) and to
# finish the commits queued behind them, during which every commit that
# read what they lock fails.
FIRST_PAUSE = 0.03
GROWTH = 5
MAX_PAUSE = 4.0


def isTransient(exc):
    """True when exc means "the same work may succeed if run again": a
    TransientError (ConflictError and RelStorage's row lock errors are
    ones) or RelStorage's commit lock timing out."""
    return isinstance(exc, (TransientError,) + postgres.transientErrors())


def pause(number):
    """Sleep before retry number (1 for the first retry)."""
    limit = min(FIRST_PAUSE * GROWTH ** (number - 1), MAX_PAUSE)
    time.sleep(random.uniform(limit / 2, limit))


def run(tm, work, *args, attempts, **kw):
    """Run work(*args, **kw) in a new transaction of tm and commit it;
    on a transient error abort, pause and run it again, up to attempts
    times in all. Return work's result; the last transient error, or any
    other error at once, aborts and propagates."""
    if attempts < 1:
        raise ValueError(f'attempts must be 1 or more, not {attempts!r}')
    for number in range(attempts):
        if number:
            pause(number)
        tm.begin()
        try:
            result = work(*args, **kw)
            tm.commit()
        except BaseException as exc:
            tm.abort()
            if number + 1 == attempts or not isTransient(exc):
                raise
            continue
        return result
