"""The HQ's data: where an upload goes, and the read model the pages use.

Everything lives under one root key (``HQ_KEY``) in plain BTrees, so the
HQ adds no persistent class of its own to the file format::

    root['cybertools_tracking.hq']       OOBTree
      'keys'      key id -> PersistentMapping(kind, group, created, hash)
      'hashes'    sha256 of a key -> key id (keys are stored as hashes only)
      'used'      key id -> epoch seconds last used (written hourly at most)
      'groups'    group -> OOBTree:
        'apps'    application -> OOBTree (an Application below):
          'users'        user -> TrackingStorage: every value kept, as a track
          'numbers'      user -> LLTreeSet of the client track Numbers stored
          'versions'     OOTreeSet of versions seen
          'userCount'    Length
          'lastUpload'   epoch seconds of the last upload (to the minute)
          'done'         (user, Idempotency-Key) -> the reply (JSON)
          'trackables'   name -> PersistentMapping(type, description)
          'latest'       name -> OOBTree user -> (value, version, time, number)
          'holders'      name -> Length: users with a latest value
          'days'         name -> OOBTree (day, version[, state]) -> Length
          'states'       name -> OOBTree state -> Length: users by latest state

Why this shape: concurrent uploads of different users must not collide.
Each user's tracks go into a TrackingStorage of the user's own: an upload
of 500 tracks splits buckets of the track tree and the user-track table,
and a split changes the parent node, which no conflict resolution merges;
in one storage shared by all users, two such uploads at once conflicted
nearly every time. Each user's latest values and stored Numbers are keys
of their own (BTrees merge concurrent inserts of different keys), and
every figure shared by users is a ``BTrees.Length.Length``, whose
conflicts resolve by adding, also for the per-day totals two HQ processes
write at once, each written once per upload, not once per track. What
still conflicts (the first upload of a new application, version, trackable
or day, two uploads of one user at once, a split of a shared tree) is
retried by pyramid_retry.

The read model's Python API is ``ReadModel(conn, group)`` (see
``interfaces.IReadModel``); the JSON API returns what it returns. The
module functions of the same names take the HQ root and the group.
"""

import datetime
import hashlib
import json
import math
import time

from BTrees.Length import Length
from BTrees.LLBTree import LLTreeSet
from BTrees.OOBTree import OOBTree, OOTreeSet
from persistent.mapping import PersistentMapping
from zope.interface import implementer

from cybertools_tracking.btree import TrackingStorage
from cybertools_tracking.hq.exceptions import NotFound
from cybertools_tracking.hq.interfaces import IReadModel
from cybertools_tracking.hq.validate import Entry
from cybertools_tracking.protocol import NUMBER, RUN

HQ_KEY = 'cybertools_tracking.hq'
LAST_UPLOAD_RESOLUTION_S = 60


# the layout

def hqRoot(conn, create=False):
    """The HQ's OOBTree in the connection's root; None when there is none
    and create is false (created in the caller's transaction otherwise)."""
    root = conn.root()
    hq = root.get(HQ_KEY)
    if hq is None and create:
        hq = root[HQ_KEY] = OOBTree()
        hq['keys'] = OOBTree()
        hq['hashes'] = OOBTree()
        hq['used'] = OOBTree()
        hq['groups'] = OOBTree()
    return hq


def ensureGroup(hq, group):
    groups = hq['groups']
    if group not in groups:
        g = groups[group] = OOBTree()
        g['apps'] = OOBTree()
    return groups[group]


def _application(group, name, create=False):
    apps = group['apps']
    app = apps.get(name)
    if app is None and create:
        app = apps[name] = OOBTree()
        app['users'] = OOBTree()
        app['numbers'] = OOBTree()
        app['versions'] = OOTreeSet()
        app['userCount'] = Length()
        app['done'] = OOBTree()
        for part in ('trackables', 'latest', 'holders', 'days', 'states'):
            app[part] = OOBTree()
    return app


def _trackable(app, name, kind, description):
    info = app['trackables'].get(name)
    if info is None:
        app['trackables'][name] = PersistentMapping(
            type=kind, description=description)
        app['latest'][name] = OOBTree()
        app['holders'][name] = Length()
        app['days'][name] = OOBTree()
        app['states'][name] = OOBTree()
    elif info['type'] != kind or (description
                                  and info['description'] != description):
        info['type'] = kind
        if description:
            info['description'] = description


def _plus(a, b):
    """a + b; ±inf where an int too large for a float meets a float (the
    sum of many large values may grow past what a float holds)."""
    try:
        return a + b
    except OverflowError:
        big = a if isinstance(a, int) and abs(a) > abs(b) else b
        return math.copysign(math.inf, big)


def _divide(a, n):
    try:
        return a / n
    except OverflowError:
        return a // n


def _add(tree, key, delta):
    counter = tree.get(key)
    if counter is None:
        counter = tree[key] = Length()
    counter.change(delta)


def day(timeStamp):
    """'YYYY-MM-DD' (UTC) of epoch seconds."""
    return datetime.datetime.fromtimestamp(
        timeStamp, datetime.timezone.utc).strftime('%Y-%m-%d')


# recording an upload

def replyFor(app, user, key):
    """The reply stored for an upload with this Idempotency-Key, or None."""
    if app is None or not key:
        return None
    text = app['done'].get((user, key))
    return json.loads(text) if text is not None else None


def findApplication(hq, group, name):
    g = hq['groups'].get(group)
    return None if g is None else g['apps'].get(name)


def record(hq, group, upload, idempotencyKey=None, now=None):
    """Store a checked Upload (hq.validate) for group in the current
    transaction; return the reply (a dict): stored, skipped (tracks the
    HQ had already), and the trackables named. An upload with an
    Idempotency-Key the HQ has recorded for that user stores nothing and
    gets its first reply again."""
    now = int(time.time() if now is None else now)
    app = findApplication(hq, group, upload.application)
    earlier = replyFor(app, upload.user, idempotencyKey)
    if earlier is not None:
        return earlier
    app = _application(ensureGroup(hq, group), upload.application,
                       create=True)
    if upload.version not in app['versions']:
        app['versions'].add(upload.version)
    # Written at most once a minute: every user's upload would otherwise
    # write this one key, and concurrent writes of a key conflict.
    if now - app.get('lastUpload', 0) >= LAST_UPLOAD_RESOLUTION_S:
        app['lastUpload'] = now
    storage = app['users'].get(upload.user)
    if storage is None:
        storage = app['users'][upload.user] = TrackingStorage()
        app['numbers'][upload.user] = LLTreeSet()
        app['userCount'].change(1)
    numbers = app['numbers'][upload.user]
    stored = skipped = 0
    for item in upload.trackables:
        _trackable(app, item.name, item.type, item.description)
        if item.entries:
            new = [entry for entry in item.entries
                   if entry.number not in numbers]
            skipped += len(item.entries) - len(new)
            numbers.update([entry.number for entry in new])
        else:
            # No history for it in this body (an original client, or a
            # trackable that only Data names): the value is one entry.
            new = [Entry(item.value, now)]
        for entry in new:
            _save(storage, upload, item, entry)
        _aggregate(app, upload, item, new)
        stored += len(new)
    reply = {'status': 'ok', 'stored': stored, 'skipped': skipped,
             'trackables': len(upload.trackables)}
    if idempotencyKey:
        app['done'][upload.user, idempotencyKey] = json.dumps(reply)
    return reply


def _save(storage, upload, item, entry):
    data = dict(entry.extra)
    data['Count' if item.type != 'State' else 'State'] = entry.value
    data['Version'] = upload.version
    if entry.number is not None:
        data[NUMBER] = entry.number
        data[RUN] = entry.run
    storage.saveUserTrack(item.name, 0, upload.user, data,
                          timeStamp=entry.time)


def _aggregate(app, upload, item, entries):
    """Move the read model by entries (new, oldest first): the figures are
    summed here and each counter is written once per upload, not once per
    track."""
    name, user, version = item.name, upload.user, upload.version
    latest = app['latest'][name]
    previous = first = latest.get(user)
    isState = item.type == 'State'
    sums = {}
    for entry in entries:
        if previous is not None and entry.number is not None \
                and previous[3] is not None and previous[3] > entry.number:
            continue    # an older change arriving late: history only
        if isState:
            key = (day(entry.time), version, entry.value)
            sums[key] = sums.get(key, 0) + 1
        else:
            before = previous[0] if previous is not None \
                and not isinstance(previous[0], str) else 0
            key = (day(entry.time), version)
            sums[key] = _plus(sums.get(key, 0), _plus(entry.value, -before))
        previous = (entry.value, version, entry.time, entry.number)
    if previous is first:
        return
    latest[user] = previous
    if first is None:
        app['holders'][name].change(1)
    days = app['days'][name]
    for key, delta in sums.items():
        _add(days, key, delta)
    # A trackable may change its type between uploads (another release
    # declares it otherwise): a value of the other kind counts as none.
    before = first[0] if first is not None and isinstance(first[0], str) \
        else None
    if isState and before != previous[0]:
        states = app['states'][name]
        if before is not None:
            _add(states, before, -1)
        _add(states, previous[0], 1)


# reading

def applications(hq, group):
    """[{'name', 'versions': [...], 'users': n, 'lastUpload': epoch
    seconds or None}] of the group, by name."""
    g = hq['groups'].get(group) if hq is not None else None
    if g is None:
        return []
    return [{'name': name, 'versions': list(app['versions']),
             'users': app['userCount'](),
             'lastUpload': app.get('lastUpload')}
            for name, app in g['apps'].items()]


def _app(hq, group, name):
    app = findApplication(hq, group, name) if hq is not None else None
    if app is None:
        raise NotFound(f'no application {name!r}')
    return app


def trackables(hq, group, application):
    """[{'name', 'type', 'description', 'users': n}] of an application;
    NotFound for an application the group does not have."""
    app = _app(hq, group, application)
    return [{'name': name, 'type': info['type'],
             'description': info['description'],
             'users': app['holders'][name]()}
            for name, info in app['trackables'].items()]


def trackable(hq, group, application, name, version=None, start=None,
              end=None):
    """One trackable: name, type, description, latest ({user: value}),
    series ([{'day', 'value'}], per day: the total change of a number over
    all users, or {state: changes} of a State), and total and mean of the
    latest values (numbers) or states ({state: users}, by latest state).
    version: only that version's (latest values uploaded with it, and its
    days); start, end: 'YYYY-MM-DD' bounds of the series (inclusive)."""
    app = _app(hq, group, application)
    info = app['trackables'].get(name)
    if info is None:
        raise NotFound(f'no trackable {name!r} in {application!r}')
    kind = info['type']
    wanted = str if kind == 'State' else (int, float)
    # Values of the other kind (the trackable changed its type) are left
    # out.
    latest = {user: entry[0] for user, entry in app['latest'][name].items()
              if (version is None or entry[1] == version)
              and isinstance(entry[0], wanted)}
    series = {}
    for key, counter in app['days'][name].items(
            min=None if start is None else (start,),
            max=None if end is None else (end + '\x00',)):
        if version is not None and key[1] != version:
            continue
        # A key of the other kind (the trackable changed its type) is
        # left out.
        if kind == 'State' and len(key) == 3:
            states = series.setdefault(key[0], {})
            states[key[2]] = states.get(key[2], 0) + counter()
        elif kind != 'State' and len(key) == 2:
            series[key[0]] = series.get(key[0], 0) + counter()
    result = {'name': name, 'type': kind,
              'description': info['description'], 'latest': latest,
              'series': [{'day': d, 'value': v}
                         for d, v in sorted(series.items())]}
    if kind == 'State':
        if version is None:
            result['states'] = {state: counter()
                                for state, counter
                                in app['states'][name].items()
                                if counter()}
        else:
            counts = {}
            for value in latest.values():
                counts[value] = counts.get(value, 0) + 1
            result['states'] = dict(sorted(counts.items()))
    else:
        total = 0
        for value in latest.values():
            total = _plus(total, value)
        result['total'] = total
        result['mean'] = _divide(total, len(latest)) if latest else None
    return result


def history(hq, group, application, name, user):
    """[{'time', 'value', 'run', 'number'}] of every value stored for user,
    oldest first (run and number are None for values from Data)."""
    app = _app(hq, group, application)
    info = app['trackables'].get(name)
    if info is None:
        raise NotFound(f'no trackable {name!r} in {application!r}')
    field = 'State' if info['type'] == 'State' else 'Count'
    storage = app['users'].get(user)
    tracks = storage.query(taskId=name) if storage is not None else ()
    entries = [{'time': track.timeStamp, 'value': track.data.get(field),
                'run': track.data.get(RUN), 'number': track.data.get(NUMBER)}
               for track in tracks]
    # The HQ's own track numbers follow the order of arrival, which may
    # differ from the order of recording (a late retry): order by the
    # client's time, then by its Number, which rises per user.
    entries.sort(key=lambda e: (e['time'], e['number'] or 0))
    return entries


def tracksStored(hq, group, application):
    """The number of tracks the HQ holds for the application."""
    return sum(len(storage) for storage
               in _app(hq, group, application)['users'].values())


@implementer(IReadModel)
class ReadModel:
    """See IReadModel. conn: an open ZODB connection (its transaction is
    the caller's); group: the group to read."""

    def __init__(self, conn, group):
        self._hq = hqRoot(conn)
        self.group = group

    def applications(self):
        return applications(self._hq, self.group)

    def trackables(self, application):
        return trackables(self._hq, self.group, application)

    def trackable(self, application, name, version=None, start=None,
                  end=None):
        return trackable(self._hq, self.group, application, name, version,
                         start, end)

    def history(self, application, name, user):
        return history(self._hq, self.group, application, name, user)


def keyHash(key):
    return hashlib.sha256(key.encode('utf-8')).hexdigest()
