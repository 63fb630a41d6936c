"""Sequence: how often a user passes checkpoints in their order."""

from collections import deque

from zope.interface import implementer

from cybertools_tracking.usage.exceptions import InvalidCheckpointError
from cybertools_tracking.usage.interfaces import ISequence
from cybertools_tracking.usage.trackable import Trackable


def checkCheckpoints(checkpoints):
    """The checkpoints as a list; InvalidCheckpointError unless they are a
    non-empty list or tuple."""
    if not isinstance(checkpoints, (list, tuple)) or not checkpoints:
        raise InvalidCheckpointError(
            checkpoints, reason=f'checkpoints must be a non-empty list or '
                                f'tuple, not {checkpoints!r}')
    return list(checkpoints)


@implementer(ISequence)
class Sequence(Trackable):
    """See ISequence. The window lives in memory: a restart keeps the
    count and starts with an empty window."""

    type = 'Sequence'

    def __init__(self, name, tracker, checkpoints, description='',
                 max_rows=None):
        super().__init__(name, tracker, description, max_rows)
        self._checkpoints = checkCheckpoints(checkpoints)
        self._window = deque(maxlen=len(self._checkpoints))

    def _check(self, checkpoint):
        if checkpoint not in self._checkpoints:
            raise InvalidCheckpointError(checkpoint, self._checkpoints)

    def insert(self, checkpoint):
        self._check(checkpoint)
        tracker = self._tracker
        tracker._writer.admit()
        with tracker._lock:
            window = self._window
            window.append(checkpoint)
            if len(window) == len(self._checkpoints) \
                    and list(window) == self._checkpoints:
                count = self.count + 1
                self._save({'Count': count})
                self.count = count
                window.clear()
        return self

    set = insert

    @property
    def checkpoint(self):
        return self._window[-1] if self._window else None

    @checkpoint.setter
    def checkpoint(self, checkpoint):
        self.insert(checkpoint)

    @property
    def sequence(self):
        return tuple(self._window)

    @property
    def checkpoints(self):
        return list(self._checkpoints)

    def get_checkpoints(self, checkpoint=None):
        # The original's get_checkpoints() returned a copy of the
        # checkpoints (the window is ``sequence``); the README's
        # get_checkpoints('C') "returns A, B, C", the ones up to C.
        if checkpoint is None:
            return list(self._checkpoints)
        self._check(checkpoint)
        return self._checkpoints[:self._checkpoints.index(checkpoint) + 1]

    def remove_checkpoint(self):
        with self._tracker._lock:
            return self._window.pop() if self._window else None

    def clear_checkpoints(self):
        with self._tracker._lock:
            self._window.clear()

    def advance_to_checkpoint(self, checkpoint):
        self._check(checkpoint)
        for cp in self._checkpoints:
            self.insert(cp)
            if cp == checkpoint:
                return cp
