"""Property-based bodies against the HQ: whatever arrives, the reply is
never a 500, and a body that is refused stores nothing."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cybertools_tracking import protocol
from cybertools_tracking.hq import model

from hq_fixtures import body, track

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats()
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12)

FIELDS = [protocol.API_KEY, protocol.USER, protocol.APPLICATION,
          protocol.VERSION, protocol.DATA, protocol.TRACKS]


def stored(hqapp):
    # Every key these tests make is of the group 'acme'.
    def work(hq):
        return sum(model.tracksStored(hq, 'acme', app['name'])
                   for app in model.applications(hq, 'acme'))
    return hqapp.read(work)


def check(hqapp, raw):
    before = stored(hqapp)
    reply = hqapp.app.post(protocol.UPLOAD_PATH, raw, status='*',
                           content_type='application/json')
    assert reply.status_int in (200, 400, 403, 413), reply
    if reply.status_int != 200:
        assert stored(hqapp) == before, reply.json
    return reply


SLOW = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


@SLOW
@given(raw=st.binary(max_size=200))
def test_random_bytes(hqapp, raw):
    check(hqapp, raw)


@SLOW
@given(field=st.sampled_from(FIELDS), value=json_values)
def test_a_valid_body_with_one_field_replaced(hqapp, field, value):
    key = getattr(hqapp, 'uploadKey', None)
    if key is None:
        key = hqapp.uploadKey = hqapp.addKey('acme')[1]
    upload = body(key, tracks={'clicks': [track(1, 3)]})
    upload[field] = value
    check(hqapp, json.dumps(upload).encode('utf-8', 'surrogatepass'))


@SLOW
@given(entry=st.dictionaries(
    st.sampled_from(['Number', 'Run', 'Time', 'Count', 'State', 'x']),
    json_values, max_size=6),
    data=st.dictionaries(st.sampled_from(['type', 'description', 'data']),
                         json_values | st.sampled_from(
                             ['Statistic', 'State', 'Timer', 'Sequence']),
                         max_size=3))
def test_odd_tracks_and_data_entries(hqapp, entry, data):
    key = getattr(hqapp, 'uploadKey', None)
    if key is None:
        key = hqapp.uploadKey = hqapp.addKey('acme')[1]
    upload = body(key, data={'clicks': data}, tracks={'clicks': [entry]})
    reply = check(hqapp, json.dumps(upload).encode('utf-8',
                                                    'surrogatepass'))
    if reply.status_int == 200:
        # What was accepted reads back through the read model.
        hqapp.read(model.trackable, 'acme', 'MyApp', 'clicks')


# What the tracker can record, the HQ accepts: a body the uploader builds
# is never refused (a refused batch would stop the uploads behind it).

names = st.text(min_size=1, max_size=30).filter(lambda n: n.strip()
                                                and not n.startswith('__'))
anyText = st.text(max_size=40) | st.sampled_from(['file-\udcff', '\ud800'])
numbers = st.integers(min_value=1 - 10 ** 308, max_value=10 ** 308 - 1) \
    | st.floats(min_value=-9.9e307, max_value=9.9e307)


@st.composite
def recorded(draw):
    trackables = draw(st.dictionaries(
        names, st.sampled_from(['Statistic', 'State', 'Timer', 'Sequence']),
        min_size=1, max_size=4))
    changes = []
    for name, kind in trackables.items():
        for _ in range(draw(st.integers(1, 3))):
            if kind == 'State':
                changes.append((name, {'Count': 1, 'State': draw(anyText)}))
            else:
                changes.append((name, {'Count': draw(numbers)}))
    return trackables, changes


@SLOW
@given(recorded=recorded(), user=anyText.filter(bool),
       application=anyText.filter(bool),
       version=anyText.filter(bool) | st.floats(0.1, 9.9),
       description=anyText)
def test_what_the_uploader_builds_is_accepted(hqapp, recorded, user,
                                              application, version,
                                              description):
    from cybertools_tracking.btree import TrackingStorage
    from cybertools_tracking.upload import payload
    key = getattr(hqapp, 'uploadKey', None)
    if key is None:
        key = hqapp.uploadKey = hqapp.addKey('acme')[1]
    trackables, changes = recorded
    storage = TrackingStorage()
    start = getattr(hqapp, 'numbersUsed', 0)
    for name, data in changes:
        storage.saveUserTrack(name, 0, 'u', data)
    items = [(num + start, track) for num, track in
             ((int(i), t) for i, t in storage.itemsAfter(0))]
    hqapp.numbersUsed = start + len(items)
    registry = {name: {'type': kind, 'description': description}
                for name, kind in trackables.items()}
    raw = payload.encode(payload.buildBody(key, user, application, version,
                                           items, registry))
    reply = check(hqapp, raw)
    assert reply.status_int == 200, reply.json
    assert reply.json['stored'] == len(items)
    # And it reads back: every trackable's figures and the user's history.
    from cybertools_tracking.protocol import cleanText, jsonable
    for name in trackables:
        got = hqapp.read(model.trackable, 'acme', cleanText(application),
                         cleanText(name))
        json.dumps(jsonable(got), allow_nan=False)
        history = hqapp.read(model.history, 'acme', cleanText(application),
                             cleanText(name), cleanText(user))
        assert len(history) >= 1
