"""The watcher: a daemon thread that calls a check every interval.

It sleeps on an Event, not in time.sleep, so ``stop()`` wakes it at once
however long the interval (the README's example checks every 30000 s).
Being a daemon it never keeps an application from exiting.
"""

import logging
import threading

logger = logging.getLogger('cybertools_tracking.upload')

# The first check comes soon after start (when the interval is longer),
# so a backlog left by the last session does not wait a whole interval.
FIRST_CHECK_S = 60


class Watcher:
    """Calls check() every interval() seconds until stopped or until
    interval() returns 0."""

    def __init__(self, check, interval, firstCheck=FIRST_CHECK_S):
        self._check = check
        self._interval = interval
        self._firstCheck = firstCheck
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name='cybertools_tracking upload watcher',
            daemon=True)

    def start(self):
        self._thread.start()

    @property
    def alive(self):
        return self._thread.is_alive() and not self._stop.is_set()

    def stop(self, timeout=None):
        """Ask the thread to end and wait up to timeout seconds for it;
        return True if it has ended."""
        self._stop.set()
        if self._thread is not threading.current_thread() \
                and self._thread.ident is not None:
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self):
        wait = min(self._interval(), self._firstCheck)
        while wait and not self._stop.wait(wait):
            try:
                self._check()
            except Exception:
                logger.exception('upload watcher: a check failed')
            wait = self._interval()
