"""What a group keeps for its dashboard: aliases and saved plots.

In the group's OOBTree (see ``model``), created at the first write::

    group['aliases']  user identifier -> alias (str), for the whole group
    group['plots']    (application, plot name) -> tuple of trackable names

Plain values in BTrees: no persistent class of its own, and two people
naming different users or plots at once touch different keys.
"""

from BTrees.OOBTree import OOBTree

from cybertools_tracking.hq.exceptions import NotFound
from cybertools_tracking.hq.model import findApplication

MAX_TEXT = 200
MAX_PLOT_TRACKABLES = 20


def _group(hq, group):
    return hq['groups'].get(group) if hq is not None else None


def _part(hq, group, name, create=False):
    g = _group(hq, group)
    if g is None:
        return None
    if name not in g and create:
        g[name] = OOBTree()
    return g.get(name)


def _text(value, what):
    if not isinstance(value, str) or not value.strip() \
            or len(value) > MAX_TEXT:
        raise ValueError(f'{what} must be non-empty text of at most '
                         f'{MAX_TEXT} characters, not {value!r}')
    return value.strip()


def aliases(hq, group):
    """{user identifier: alias} of the group."""
    tree = _part(hq, group, 'aliases')
    return {} if tree is None else dict(tree.items())


def setAlias(hq, group, user, alias):
    """Name user in group (an empty alias removes the name). ValueError
    for an empty user identifier or a name longer than MAX_TEXT;
    NotFound for a group without data."""
    user = _text(user, 'the user identifier')
    if _group(hq, group) is None:
        raise NotFound(f'no group {group!r}')
    tree = _part(hq, group, 'aliases', create=True)
    if alias is None or not alias.strip():
        if user in tree:
            del tree[user]
        return
    tree[user] = _text(alias, 'the alias')


def plots(hq, group, application):
    """[(plot name, [trackable names])] of an application, by name."""
    tree = _part(hq, group, 'plots')
    if tree is None:
        return []
    return [(key[1], list(names)) for key, names in tree.items(
        min=(application,), max=(application, '\U0010ffff' * 2))
        if key[0] == application]


def savePlot(hq, group, application, name, trackables):
    """Keep the plot name of the application's trackables (a list of
    names it has, 1 to MAX_PLOT_TRACKABLES; a plot of that name is
    replaced). NotFound for an unknown application; ValueError for an
    empty name, no trackables, too many or unknown ones."""
    app = findApplication(hq, group, application) if hq is not None \
        else None
    if app is None:
        raise NotFound(f'no application {application!r}')
    name = _text(name, 'the plot name')
    chosen = list(dict.fromkeys(trackables))
    if not 1 <= len(chosen) <= MAX_PLOT_TRACKABLES:
        raise ValueError(f'pick 1 to {MAX_PLOT_TRACKABLES} statistics, '
                         f'not {len(chosen)}')
    for trackable in chosen:
        info = app['trackables'].get(trackable)
        if info is None or info['type'] == 'State':
            raise ValueError(f'{trackable!r} is not a statistic, timer or '
                             f'sequence of {application!r}')
    _part(hq, group, 'plots', create=True)[application, name] = \
        tuple(chosen)


def deletePlot(hq, group, application, name):
    """Forget a saved plot; KeyError when there is none of that name."""
    tree = _part(hq, group, 'plots')
    if tree is None or (application, name) not in tree:
        raise KeyError(name)
    del tree[application, name]
