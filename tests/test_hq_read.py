"""The HQ's read API and its Python model, through WebTest: what the
aggregates say after uploads, and who may read what."""

import time

import pytest

from cybertools_tracking.hq import keys, model

from hq_fixtures import body, track

DAY1 = 1_764_547_200            # 2025-12-01 00:00 UTC
DAY2 = DAY1 + 86400


def stat(value, kind='Statistic'):
    return {'type': kind, 'description': 'Clicks', 'data': value}


def state(value):
    return {'type': 'State', 'description': 'Mode', 'data': value}


@pytest.fixture
def uploaded(hqapp):
    _, up = hqapp.addKey('acme')
    _, reader = hqapp.addKey('acme', keys.READ)
    hqapp.post(body(up, user='ann', version='1.0',
                    data={'clicks': stat(5), 'mode': state('dark')},
                    tracks={'clicks': [track(1, 2, DAY1), track(2, 5, DAY2)],
                            'mode': [dict(Number=3, Run=1, Time=DAY1,
                                          State='dark')]}))
    hqapp.post(body(up, user='bob', version='2.0',
                    data={'clicks': stat(4), 'mode': state('light')},
                    tracks={'clicks': [track(1, 4, DAY2)],
                            'mode': [dict(Number=2, Run=1, Time=DAY2,
                                          State='light')]}))
    return hqapp, up, reader


def test_applications(uploaded):
    hqapp, _, reader = uploaded
    before = int(time.time())
    got = hqapp.get('/api/applications', reader).json
    # The last upload is kept to the minute (the fixture uploaded just
    # now).
    assert before - 120 <= got['applications'][0].pop('lastUpload') \
        <= before
    assert got == {
        'applications': [{'name': 'MyApp', 'versions': ['1.0', '2.0'],
                          'users': 2}]}


def test_a_group_without_uploads_has_no_applications(hqapp):
    _, reader = hqapp.addKey('empty', keys.READ)
    assert hqapp.get('/api/applications', reader).json == {
        'applications': []}


def test_trackables(uploaded):
    hqapp, _, reader = uploaded
    assert hqapp.get('/api/applications/MyApp/trackables', reader).json == {
        'trackables': [
            {'name': 'clicks', 'type': 'Statistic', 'description': 'Clicks',
             'users': 2},
            {'name': 'mode', 'type': 'State', 'description': 'Mode',
             'users': 2}]}


def test_a_number_trackable(uploaded):
    hqapp, _, reader = uploaded
    got = hqapp.get('/api/applications/MyApp/trackables/clicks',
                    reader).json
    assert got['latest'] == {'ann': 5, 'bob': 4}
    assert (got['total'], got['mean']) == (9, 4.5)
    # Per day, how much the values grew over all users.
    assert got['series'] == [{'day': '2025-12-01', 'value': 2},
                             {'day': '2025-12-02', 'value': 3 + 4}]


def test_filters_by_version_and_days(uploaded):
    hqapp, _, reader = uploaded
    got = hqapp.get('/api/applications/MyApp/trackables/clicks', reader,
                    version='1.0').json
    assert got['latest'] == {'ann': 5} and got['total'] == 5
    assert got['series'] == [{'day': '2025-12-01', 'value': 2},
                             {'day': '2025-12-02', 'value': 3}]
    got = hqapp.get('/api/applications/MyApp/trackables/clicks', reader,
                    **{'from': '2025-12-02', 'to': '2025-12-02'}).json
    assert got['series'] == [{'day': '2025-12-02', 'value': 7}]
    bad = hqapp.get('/api/applications/MyApp/trackables/clicks', reader,
                    status=400, **{'from': 'yesterday'})
    assert 'ISO date' in bad.json['error']


def test_a_state_trackable_counts_users_by_latest_state(uploaded):
    hqapp, up, reader = uploaded
    hqapp.post(body(up, user='bob', data={'mode': state('dark')},
                    tracks={'mode': [dict(Number=9, Run=2, Time=DAY2,
                                          State='dark')]}))
    got = hqapp.get('/api/applications/MyApp/trackables/mode', reader).json
    assert got['states'] == {'dark': 2}
    assert got['latest'] == {'ann': 'dark', 'bob': 'dark'}
    assert got['series'] == [
        {'day': '2025-12-01', 'value': {'dark': 1}},
        {'day': '2025-12-02', 'value': {'dark': 1, 'light': 1}}]


def test_history_is_every_value_once_oldest_first(uploaded):
    hqapp, up, reader = uploaded
    # The same tracks again (a lost reply): nothing twice.
    hqapp.post(body(up, user='ann', data={'clicks': stat(5)},
                    tracks={'clicks': [track(2, 5, DAY2)]}))
    got = hqapp.get('/api/applications/MyApp/trackables/clicks/history',
                    reader, user='ann').json
    assert got == {'history': [
        {'time': DAY1, 'value': 2, 'run': 1, 'number': 1},
        {'time': DAY2, 'value': 5, 'run': 1, 'number': 2}]}
    hqapp.get('/api/applications/MyApp/trackables/clicks/history', reader,
              status=400)


def test_an_upload_key_cannot_read(uploaded):
    hqapp, up, _ = uploaded
    hqapp.get('/api/applications', up, status=403)
    hqapp.app.get('/api/applications', status=403)


def test_another_groups_application_is_404(uploaded):
    hqapp, _, _ = uploaded
    _, otherReader = hqapp.addKey('other', keys.READ)
    assert hqapp.get('/api/applications', otherReader).json == {
        'applications': []}
    for path in ('/api/applications/MyApp/trackables',
                 '/api/applications/MyApp/trackables/clicks',
                 '/api/applications/MyApp/trackables/clicks/history'):
        hqapp.get(path, otherReader, status=404, user='ann')


def test_the_python_api_returns_what_the_json_api_does(uploaded):
    hqapp, _, reader = uploaded
    assert hqapp.read(model.trackable, 'acme', 'MyApp', 'clicks') == \
        hqapp.get('/api/applications/MyApp/trackables/clicks', reader).json
    assert hqapp.read(model.applications, 'acme') == \
        hqapp.get('/api/applications', reader).json['applications']
    with pytest.raises(model.NotFound):
        hqapp.read(model.trackables, 'acme', 'NoSuchApp')


def test_a_trackable_name_with_a_slash(hqapp):
    _, up = hqapp.addKey('acme')
    _, reader = hqapp.addKey('acme', keys.READ)
    hqapp.post(body(up, user='ann', data={'files/opened': stat(2)},
                    tracks={'files/opened': [track(1, 2, DAY1)]}))
    base = '/api/applications/MyApp/trackables/files%2Fopened'
    assert hqapp.get(base, reader).json['latest'] == {'ann': 2}
    assert hqapp.get(base + '/history', reader, user='ann').json == {
        'history': [{'time': DAY1, 'value': 2, 'run': 1, 'number': 1}]}


def test_the_read_model_class(uploaded):
    import transaction
    from zope.interface.verify import verifyObject
    from cybertools_tracking.hq.interfaces import IReadModel
    hqapp, _, reader = uploaded
    tm = transaction.TransactionManager()
    conn = hqapp.db.open(transaction_manager=tm)
    try:
        with tm:
            view = model.ReadModel(conn, 'acme')
            assert verifyObject(IReadModel, view)
            assert view.applications() == hqapp.get(
                '/api/applications', reader).json['applications']
            assert view.history('MyApp', 'clicks', 'nobody') == []
            with pytest.raises(model.NotFound):
                view.trackable('MyApp', 'nothing')
            assert model.ReadModel(conn, 'other').applications() == []
    finally:
        conn.close()
