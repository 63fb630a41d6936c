"""State: which value a setting has, over time."""

from zope.interface import implementer

from cybertools_tracking.usage.interfaces import IState
from cybertools_tracking.usage.trackable import Trackable


class _NoState:
    """The marker for "no state yet" (``state is NO_STATE``)."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self):
        return False

    def __repr__(self):
        return 'NO_STATE'

    def __reduce__(self):
        return (_NoState, ())


NO_STATE = _NoState()


@implementer(IState)
class State(Trackable):
    """See IState. States are kept as text, as the original's State
    column was, so a value reads back the same after a restart."""

    type = 'State'
    withState = True

    def __init__(self, name, tracker, description='', max_rows=None,
                 keep_redundant=False):
        super().__init__(name, tracker, description, max_rows)
        self.keep_redundant = keep_redundant
        self._state = NO_STATE

    def _setFrom(self, last):
        super()._setFrom(last)
        state = last[0].get('State') if last else None
        self._state = NO_STATE if state is None else state

    @property
    def state(self):
        return self._state

    @state.setter
    def state(self, value):
        self.insert(value)

    @property
    def current_value(self):
        return self._state

    def set(self, value):
        self.insert(value)
        return self._state

    def insert(self, value):
        text = str(value)
        tracker = self._tracker
        tracker._writer.admit()
        with tracker._lock:
            if text == self._state and not self.keep_redundant:
                return self
            count = self.count + 1
            self._save({'Count': count, 'State': text})
            self.count, self._state = count, text
        return self

    def __repr__(self):
        state = 'No State' if self._state is NO_STATE else self._state
        return f'State ({self.name}): {state}'
