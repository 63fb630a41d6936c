"""The contract of the HQ's read model: what the JSON API serves and what a
dashboard reads, without walking the tracks."""

from zope.interface import Attribute, Interface


class IReadModel(Interface):
    """One group's view of the figures the HQ keeps as uploads arrive.

    Every method reads what was kept (each user's latest value per
    trackable, per-day totals per trackable and version, users per state);
    none walks the tracks but ``history``, which reads one user's. Values
    are plain data (str, int, float, lists and dicts), ready for JSON.
    """

    group = Attribute("str: the group whose data this reads.")

    def applications():
        """Return [{'name': str, 'versions': [str], 'users': int,
        'lastUpload': int or None}] of the group's applications, by name
        (lastUpload: epoch seconds of the latest upload, to the minute;
        None for data stored before the HQ kept it); [] when the group
        has no uploads (or does not exist)."""

    def trackables(application):
        """Return [{'name', 'type', 'description', 'users': int}] of the
        application's trackables, by name. NotFound (a LookupError) for an
        application the group does not have."""

    def trackable(application, name, version=None, start=None, end=None):
        """Return one trackable's figures: {'name', 'type', 'description',
        'latest': {user: value}, 'series': [{'day': 'YYYY-MM-DD', 'value'}]}
        plus 'total' and 'mean' of the latest values (None for no users)
        for a Statistic, Timer or Sequence, or 'states': {state: users} by
        each user's latest state for a State.

        A day's value is how much the users' values grew that day, or
        {state: changes} for a State. version: only values uploaded with
        that version. start, end: 'YYYY-MM-DD' bounds of the series, both
        inclusive. NotFound for an unknown application or trackable."""

    def history(application, name, user):
        """Return [{'time': epoch seconds, 'value', 'run', 'number'}] of
        every value the HQ stored for user, oldest first, each once; run
        and number are None for values that came without Tracks. [] for a
        user the HQ does not know; NotFound for an unknown application or
        trackable."""
