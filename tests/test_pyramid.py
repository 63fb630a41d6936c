"""cybertools_tracking.pyramid in a real Pyramid app, through WebTest:
request.tracking in the request's transaction (committed, aborted,
retried on a conflict), the storage made at startup, pyramid_zodbconn."""

from pathlib import Path

import transaction
import pytest
import webtest
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError

from cybertools_tracking.btree import TrackingStorage
from cybertools_tracking.db import openDB
from cybertools_tracking.pyramid import closeDatabase


def makeApp(settings, views):
    config = Configurator(settings=settings)
    config.include('cybertools_tracking.pyramid')
    for name, view in views.items():
        config.add_route(name, '/' + name)
        config.add_view(view, route_name=name, renderer='json')
    app = config.make_wsgi_app()
    return webtest.TestApp(app), config.registry


def stored(path, key='tracking'):
    db = openDB(str(path), read_only=True)
    try:
        conn = db.open()
        storage = conn.root()[key]
        return [(t.taskId, t.userName, dict(t.data))
                for t in storage.query()]
    finally:
        db.close()


def save(request):
    user = request.params.get('user', 'anonymous')
    request.tracking.saveUserTrack(request.matched_route.name, 0, user,
                                   {'n': 1})
    return {'tracks': len(request.tracking)}


def fail(request):
    request.tracking.saveUserTrack('fail', 0, 'u', {})
    raise RuntimeError('the view failed')


def test_the_storage_is_made_at_startup_on_an_empty_database(tmp_path):
    path = tmp_path / 'app.fs'
    app, registry = makeApp({'tracking.uri': str(path),
                             'tracking.root_key': 'views'}, {'save': save})
    assert isinstance(registry.tracking_db.open().root()['views'],
                      TrackingStorage)
    closeDatabase(registry)


def test_a_view_that_returns_is_committed(dbspec):
    path = dbspec           # a FileStorage path, then postgresql:// URIs
    app, registry = makeApp({'tracking.uri': str(path)}, {'save': save})
    assert app.get('/save?user=ann').json == {'tracks': 1}
    assert app.get('/save?user=bob').json == {'tracks': 2}
    closeDatabase(registry)
    assert stored(path) == [('save', 'ann', {'n': 1}),
                            ('save', 'bob', {'n': 1})]


def test_a_view_that_raises_is_aborted(dbspec):
    path = dbspec
    app, registry = makeApp({'tracking.uri': str(path)},
                            {'save': save, 'fail': fail})
    app.get('/save')
    with pytest.raises(RuntimeError, match='the view failed'):
        app.get('/fail')
    closeDatabase(registry)
    assert [task for task, _, _ in stored(path)] == ['save']


def test_a_conflict_is_retried(tmp_path):
    path = tmp_path / 'app.fs'
    attempts = []

    def contended(request):
        storage = request.tracking
        attempts.append(request.tm)
        storage.saveUserTrack('contended', 0, 'u', {'try': len(attempts)})
        if len(attempts) == 1:
            # Another writer commits a track first: this request's
            # commit conflicts (the run end and the count) and is run
            # again by pyramid_retry.
            tm = transaction.TransactionManager()
            conn = request.registry.tracking_db.open(transaction_manager=tm)
            with tm:
                conn.root()['tracking'].saveUserTrack(
                    'contended', 0, 'other', {})
                conn.root()['tracking'].title = 'changed meanwhile'
            conn.close()
            storage.title = 'changed by the request'
        return {'attempt': len(attempts)}

    app, registry = makeApp({'tracking.uri': str(path)},
                            {'contended': contended})
    assert app.get('/contended').json == {'attempt': 2}
    assert len(attempts) == 2
    closeDatabase(registry)
    assert sorted((user, data) for _, user, data in
                  [(t, u, tuple(d.items())) for t, u, d in stored(path)]) \
        == [('other', ()), ('u', (('try', 2),))]


def test_each_request_gets_an_explicit_transaction_manager(tmp_path):
    managers = []

    def view(request):
        managers.append(request.tm)
        return {'explicit': request.tm.explicit}

    app, registry = makeApp({'tracking.uri': str(tmp_path / 'a.fs')},
                            {'view': view})
    assert app.get('/view').json == {'explicit': True}
    app.get('/view')
    assert managers[0] is not managers[1]
    assert registry.settings['retry.attempts'] == 3
    closeDatabase(registry)


def test_without_a_database_setting_the_include_says_what_to_set():
    config = Configurator(settings={})
    with pytest.raises(ConfigurationError, match='tracking.uri'):
        config.include('cybertools_tracking.pyramid')


def test_a_bad_uri_is_a_configuration_error(tmp_path):
    config = Configurator(settings={'tracking.uri': 'nosuch://x'})
    with pytest.raises(ConfigurationError, match='unknown URI scheme'):
        config.include('cybertools_tracking.pyramid')


def test_the_connection_of_pyramid_zodbconn_is_used(tmp_path):
    path = tmp_path / 'zodbconn.fs'
    config = Configurator(settings={'zodbconn.uri': f'file://{path}'})
    config.include('pyramid_zodbconn')
    config.include('cybertools_tracking.pyramid')
    seen = []

    def view(request):
        from pyramid_zodbconn import get_connection
        seen.append(request.tracking._p_jar is get_connection(request))
        return save(request)

    config.add_route('save', '/save')
    config.add_view(view, route_name='save', renderer='json')
    app = webtest.TestApp(config.make_wsgi_app())
    assert app.get('/save').json == {'tracks': 1}
    assert seen == [True]
    config.registry._zodb_databases[''].close()
    assert [task for task, _, _ in stored(path)] == ['save']


def readmeExample():
    text = (Path(__file__).parent.parent / 'README.txt').read_text()
    start = text.index('An app that records page views')
    block = text[start:text.index('\nThe HQ\n', start)]
    lines = block.split('::\n', 1)[1].splitlines()
    return '\n'.join(line[2:] for line in lines)


def test_the_readme_page_view_app(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    source = readmeExample()
    assert len(source.strip().splitlines()) <= 22
    served = []
    namespace = {}
    source = source.replace('from waitress import serve\n', '')
    exec(compile(source, 'README.txt', 'exec'),
         dict(namespace, serve=lambda app, **kw: served.append(app)))
    app = webtest.TestApp(served[0])
    for path in ['/', '/about', '/'] + ['/about'] * 10:
        newest = app.get(path).json
    assert len(newest) == 10
    assert newest[0][0] == 'about'
    visitors = {user for _, user, _ in newest}
    assert len(visitors) == 1        # one session cookie, one visitor
    other = webtest.TestApp(served[0]).get('/').json
    assert other[0][0] == 'home' and other[0][1] not in visitors
    closeDatabase(served[0].registry)
    assert len(stored(tmp_path / 'pageviews.fs')) == 14
