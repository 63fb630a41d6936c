"""The HQ's upload endpoint through WebTest on a FileStorage: what it
stores, what it skips, and every reply."""

import json

import pytest

from cybertools_tracking import protocol
from cybertools_tracking.hq import keys, model

from hq_fixtures import body, track


def tracksOf(hqapp, group, app='MyApp'):
    """[(trackable, user, number, value)] the HQ stored, read through the
    read model: by trackable, user, then oldest first."""
    def work(view):
        if app not in [a['name'] for a in view.applications()]:
            return []
        found = []
        for info in view.trackables(app):
            name = info['name']
            for user in sorted(view.trackable(app, name)['latest']):
                found.extend((name, user, entry['number'], entry['value'])
                             for entry in view.history(app, name, user))
        return found
    return hqapp.view(group, work)


def test_an_upload_with_tracks_stores_each_track(hqapp):
    _, key = hqapp.addKey('acme')
    reply = hqapp.post(body(key, tracks={'clicks': [track(1, 1),
                                                    track(2, 3)]}))
    assert reply.json == {'status': 'ok', 'stored': 2, 'skipped': 0,
                          'trackables': 1}
    assert tracksOf(hqapp, 'acme') == [('clicks', 'user-1', 1, 1),
                                       ('clicks', 'user-1', 2, 3)]


def test_a_track_the_hq_has_is_not_stored_twice(hqapp):
    _, key = hqapp.addKey('acme')
    hqapp.post(body(key, tracks={'clicks': [track(1, 1), track(2, 3)]}))
    reply = hqapp.post(body(key, tracks={'clicks': [track(2, 3),
                                                    track(3, 4)]}))
    assert (reply.json['stored'], reply.json['skipped']) == (1, 1)
    assert [n for _, _, n, _ in tracksOf(hqapp, 'acme')] == [1, 2, 3]
    # Another user's Number 1 is another track.
    hqapp.post(body(key, user='user-2', tracks={'clicks': [track(1, 7)]}))
    assert len(tracksOf(hqapp, 'acme')) == 4


def test_the_same_idempotency_key_stores_nothing_new(hqapp):
    _, key = hqapp.addKey('acme')
    headers = {protocol.IDEMPOTENCY_HEADER: 'batch-1'}
    # Data only: without the key each upload would be a new entry.
    first = hqapp.post(body(key), headers=headers)
    again = hqapp.post(body(key), headers=headers)
    assert again.status_int == first.status_int == 200
    assert again.json == first.json == {'status': 'ok', 'stored': 1,
                                        'skipped': 0, 'trackables': 1}
    assert len(tracksOf(hqapp, 'acme')) == 1
    hqapp.post(body(key), headers={protocol.IDEMPOTENCY_HEADER: 'batch-2'})
    assert len(tracksOf(hqapp, 'acme')) == 2


def test_an_original_client_body_is_accepted(hqapp):
    # As AnonymousUsage sends it: no Tracks, no Idempotency-Key, a State
    # without a state as 'No State', a Timer as a float.
    _, key = hqapp.addKey('acme')
    original = {
        'API Key': key, 'User Identifier': '6c8d1a52-4e5b-4f4a-9c1e',
        'Application Name': 'Legacy', 'Application Version': '0.9',
        'Data': {
            'runs': {'type': 'Statistic', 'description': 'Runs', 'data': 4},
            'mode': {'type': 'State', 'description': 'Mode',
                     'data': 'No State'},
            'uptime': {'type': 'Timer', 'description': '', 'data': 12.5},
            'wizard': {'type': 'Sequence', 'description': 'Wizard',
                       'data': 1}}}
    assert hqapp.post(original).json['stored'] == 4
    assert sorted((task, value) for task, _, _, value in
                  tracksOf(hqapp, 'acme', 'Legacy')) == [
        ('mode', 'No State'), ('runs', 4), ('uptime', 12.5), ('wizard', 1)]


def test_groups_are_kept_apart(hqapp):
    _, acme = hqapp.addKey('acme')
    _, other = hqapp.addKey('other')
    hqapp.post(body(acme, tracks={'clicks': [track(1, 1)]}))
    hqapp.post(body(other, tracks={'clicks': [track(1, 5)]}))
    assert [v for *_, v in tracksOf(hqapp, 'acme')] == [1]
    assert [v for *_, v in tracksOf(hqapp, 'other')] == [5]


@pytest.mark.parametrize('apiKey', [None, '', 'ctu_unknown', 42])
def test_a_missing_or_unknown_key_is_403(hqapp, apiKey):
    hqapp.addKey('acme')
    upload = body(apiKey)
    if apiKey is None:
        del upload[protocol.API_KEY]
    reply = hqapp.post(upload, status=403)
    assert 'API Key' in reply.json['error']
    assert tracksOf(hqapp, 'acme') == []


def test_a_revoked_key_and_a_read_key_cannot_upload(hqapp):
    keyId, key = hqapp.addKey('acme')
    _, readKey = hqapp.addKey('acme', keys.READ)
    hqapp.post(body(readKey), status=403)
    hqapp.post(body(key))
    hqapp.read(keys.revokeKey, keyId)
    hqapp.post(body(key), status=403)
    assert len(tracksOf(hqapp, 'acme')) == 1


def test_the_key_is_stored_as_a_hash_only(hqapp):
    _, key = hqapp.addKey('acme')
    hqapp.post(body(key))
    hqapp.close()
    assert key.encode() not in hqapp.path.read_bytes()
    assert model.keyHash(key).encode() in hqapp.path.read_bytes()


BAD = [
    (b'\xff\xfe{}', 'not UTF-8'),
    (b'{"API Key": ', 'not JSON'),
    (b'[1, 2]', 'must be a JSON object, not a list'),
    (b'{"a": NaN}', 'NaN'),
]


@pytest.mark.parametrize('raw, message', BAD)
def test_a_body_that_is_not_json_is_400(hqapp, raw, message):
    reply = hqapp.post(raw, status=400)
    assert message in reply.json['error']


def nested(depth):
    value = []
    for _ in range(depth):
        value = [value]
    return value


def _without(field):
    def change(upload):
        del upload[field]
    return change


def _set(path, value):
    def change(upload):
        target = upload
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
    return change


PROBLEMS = [
    (_without('User Identifier'), '"User Identifier" is missing'),
    (_without('Data'), '"Data" is missing'),
    (_set(['User Identifier'], ''), 'non-empty string'),
    (_set(['Application Name'], 3), 'non-empty string, not the number 3'),
    (_set(['Data'], []), '"Data" must be an object'),
    (_set(['Data', ''], {'type': 'Statistic', 'data': 1}),
     'empty trackable name'),
    (_set(['Data', 'clicks', 'type'], 'Counter'), 'must be one of'),
    (_set(['Data', 'clicks', 'data'], 'many'), 'must be a finite number'),
    (_set(['Data', 'clicks', 'data'], True), 'must be a finite number'),
    (_set(['Data', 'clicks', 'data'], 1e400),
     'finite number, not the number Infinity'),
    (_set(['Data', 'clicks', 'data'], 10 ** 308), 'at most 308 digits'),
    (_set(['Data', 'clicks', 'description'], 5), 'must be a string'),
    (_set(['Tracks'], []), '"Tracks" must be an object'),
    (_set(['Tracks'], {'clicks': {}}), 'must be a list of tracks'),
    (_set(['Tracks'], {'clicks': [{'Number': 0, 'Run': 1, 'Time': 1}]}),
     '"Number" must be an integer from 1'),
    (_set(['Tracks'], {'clicks': [{'Number': 1, 'Run': 1, 'Time': 'x'}]}),
     '"Time" must be epoch seconds'),
    (_set(['Tracks'], {'clicks': [track(1, 'x')]}), 'finite number'),
    (_set(['Tracks'], {'other': [track(1, 1)]}), 'which Data does not'),
    (_set(['Tracks'], {'clicks': [track(1, 1), track(1, 2)]}),
     'comes twice'),
    (_set(['Tracks'], {'clicks': [track(1, 1, x=nested(500))]}),
     'deeper than 32 levels'),
]


@pytest.mark.parametrize('change, message', PROBLEMS)
def test_a_body_that_breaks_the_protocol_is_400_and_stores_nothing(
        hqapp, change, message):
    _, key = hqapp.addKey('acme')
    upload = body(key, tracks={'clicks': [track(1, 3)]})
    change(upload)
    raw = json.dumps(upload).replace('Infinity', '1e400').encode()
    reply = hqapp.post(raw, status=400)
    assert message in reply.json['error']
    assert tracksOf(hqapp, 'acme') == []


def test_a_lone_surrogate_is_400(hqapp):
    _, key = hqapp.addKey('acme')
    raw = json.dumps(body(key, user='\ud800')).encode()
    assert 'lone surrogate' in hqapp.post(raw, status=400).json['error']


def test_over_a_mebibyte_is_413(hqapp):
    _, key = hqapp.addKey('acme')
    upload = body(key, data={'clicks': {'type': 'Statistic', 'data': 1,
                                        'description': 'x' * (1 << 20)}})
    hqapp.post(upload, status=413)
    assert tracksOf(hqapp, 'acme') == []


def test_another_method_is_405(hqapp):
    reply = hqapp.app.get(protocol.UPLOAD_PATH, status=405)
    assert reply.headers['Allow'] == 'POST'
    hqapp.app.put(protocol.UPLOAD_PATH, b'{}', status=405)
