"""A status line for long work: what is done, of how much, rate, time left.

``Progress`` is a callable ``progress(done, total)``: the shape the import,
export, pack and the storage's check take, so the work itself knows
nothing of terminals. It writes to stderr only when stderr is a terminal;
in scripts, CI and pipes it writes nothing, so captured output stays
clean. A few lines of our own rather than tqdm or rich: one status line
is all the commands need, and the core stays ZODB and its own parts.
"""

import sys
import threading
import time

# Seconds between two redraws: often enough to look alive, rarely enough
# to cost nothing next to the work.
REDRAW_INTERVAL = 0.2


class Progress:
    """``Progress('importing', 'rows')``; call it as ``progress(done,
    total)`` as the work goes on (total None when unknown), and
    ``close()`` (or leave its ``with`` block) at the end, which leaves
    the last state on its line.

    stream: where the line goes (default: sys.stderr, looked up when
    made); it is drawn only if stream.isatty(). unit 'bytes' shows sizes
    in KB/MB/GB.
    """

    def __init__(self, what, unit='tracks', stream=None, clock=time.monotonic):
        self.what = what
        self.unit = unit
        self.stream = sys.stderr if stream is None else stream
        self.clock = clock
        isatty = getattr(self.stream, 'isatty', None)
        self.enabled = bool(isatty is not None and isatty())
        self.done = 0
        self.total = None
        self._start = None
        self._drawn = None
        self._width = 0

    def __call__(self, done, total=None):
        self.done, self.total = done, total
        if not self.enabled:
            return
        now = self.clock()
        if self._start is None:
            self._start = now
        if self._drawn is not None and now - self._drawn < REDRAW_INTERVAL \
                and done != total:
            return
        self._draw(now)

    def line(self, now=None):
        """The status line for the current state (without end of line)."""
        now = self.clock() if now is None else now
        elapsed = now - self._start if self._start is not None else 0.0
        unit = '' if self.unit == 'bytes' else f' {self.unit}'
        text = f'{self.what}: {self._amount(self.done)}'
        if self.total is not None:
            text += f' of {self._amount(self.total)}{unit}'
            if self.total:
                text += f' ({100 * self.done / self.total:.0f}%)'
        else:
            text += unit
        if elapsed > 0 and self.done:
            rate = self.done / elapsed
            text += f', {self._amount(rate)}{unit}/s'
            if self.total is not None and self.done < self.total:
                text += f', {_clock((self.total - self.done) / rate)} left'
            elif self.total is not None:
                text += f', done in {_clock(elapsed)}'
        return text

    def _draw(self, now):
        text = self.line(now)
        # Pad with spaces over a longer previous line (no terminal codes).
        padded = text.ljust(self._width)
        self._width = len(text)
        try:
            self.stream.write('\r' + padded)
            self.stream.flush()
        except (OSError, ValueError):
            self.enabled = False    # the terminal went away
        self._drawn = now

    def _amount(self, value):
        if self.unit == 'bytes':
            for size, suffix in ((1 << 30, 'GB'), (1 << 20, 'MB'),
                                 (1 << 10, 'KB')):
                if value >= size:
                    return f'{value / size:.1f} {suffix}'
            return f'{value:.0f} B'
        return f'{value:,.0f}'

    def close(self):
        """Draw the last state and end its line (if anything was drawn)."""
        if self.enabled and self._drawn is not None:
            self._draw(self.clock())
            try:
                self.stream.write('\n')
                self.stream.flush()
            except (OSError, ValueError):
                pass
        self.enabled = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def runWatched(work, measure, total, progress, interval=REDRAW_INTERVAL):
    """Return work(), calling ``progress(measure(), total)`` every interval
    seconds while it runs in a thread of its own: for work that reports
    nothing itself but leaves a trace one can measure (a file growing).
    Its error is raised here. With progress not shown, just work()."""
    if not progress.enabled:
        return work()
    outcome = {}

    def target():
        try:
            outcome['result'] = work()
        except BaseException as exc:
            outcome['error'] = exc

    # A daemon, so Ctrl-C ends the command as it would without the line.
    thread = threading.Thread(target=target, name='watched work',
                              daemon=True)
    thread.start()
    while thread.is_alive():
        progress(measure(), total)
        thread.join(interval)
    if 'error' in outcome:
        raise outcome['error']
    progress(total, total)
    return outcome.get('result')


def _clock(seconds):
    seconds = int(seconds + 0.5)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f'{hours}:{minutes:02d}:{seconds:02d}'
    return f'{minutes}:{seconds:02d}'
