"""The project's own tracker uploading to ``hq serve`` running as a real
process on 127.0.0.1, and two HQ processes sharing one database: on a ZEO
server and on RelStorage (PostgreSQL, history-free and preserving)."""

import json
import threading
import urllib.request

import pytest

from cybertools_tracking.usage import AnonymousUsageTracker

from hq_processes import HQProcess, addKey
from servers import zeoServer


@pytest.fixture(autouse=True)
def _direct(monkeypatch):
    monkeypatch.setenv('no_proxy', '127.0.0.1,localhost')
    monkeypatch.setenv('NO_PROXY', '127.0.0.1,localhost')
    monkeypatch.delenv('DO_NOT_TRACK', raising=False)


def read(url, key, path):
    request = urllib.request.Request(
        url + path, headers={'Authorization': f'Bearer {key}'})
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.load(reply)


def history(url, key, name, user):
    return [(entry['number'], entry['value']) for entry in read(
        url, key, f'/api/applications/Editor/trackables/{name}/history'
                  f'?user={user}')['history']]


def tracker(path, uuid='user-1'):
    return AnonymousUsageTracker(uuid, path, application_name='Editor',
                                 application_version='3.1')


def rows(t, name):
    return [row['Count'] if name != 'mode' else row['State']
            for row in t[name].get_rows()]


@pytest.fixture
def served(tmp_path):
    db = tmp_path / 'hq.fs'
    uploadKey = addKey(db, 'acme')
    readKey = addKey(db, 'acme', read=True)
    hq = HQProcess(db, logDir=tmp_path).start()
    yield hq, uploadKey, readKey
    hq.stop()


def test_the_read_api_returns_what_the_tracker_recorded(served, tmp_path):
    hq, uploadKey, readKey = served
    with tracker(tmp_path / 'usage.fs') as t:
        t.track_statistic('saves')
        t.track_state('mode', 'light')
        for _ in range(3):
            t['saves'] += 1
        t['mode'] = 'dark'
        t.setup_hq(hq.url, uploadKey)
        assert t.submit_statistics()
        assert json.loads(t.uploader.status.last_reply) == {
            'status': 'ok', 'stored': 5, 'skipped': 0, 'trackables': 2}
        got = read(hq.url, readKey,
                   '/api/applications/Editor/trackables/saves')
        assert got['latest'] == {'user-1': 3}
        assert [v for _, v in history(hq.url, readKey, 'saves',
                                      'user-1')] == rows(t, 'saves')
        mode = read(hq.url, readKey,
                    '/api/applications/Editor/trackables/mode')
        assert mode['states'] == {'dark': 1}
        assert [v for _, v in history(hq.url, readKey, 'mode',
                                      'user-1')] == rows(t, 'mode')
        # The second upload sends only what changed: one new track, none
        # the HQ had already (it would have skipped them).
        before = history(hq.url, readKey, 'mode', 'user-1')
        t['saves'] += 1
        assert t.submit_statistics()
        assert json.loads(t.uploader.status.last_reply) == {
            'status': 'ok', 'stored': 1, 'skipped': 0, 'trackables': 1}
        assert history(hq.url, readKey, 'mode', 'user-1') == before
        saves = history(hq.url, readKey, 'saves', 'user-1')
        assert [v for _, v in saves] == rows(t, 'saves') == [1, 2, 3, 4]
        assert len({n for n, _ in saves}) == 4


def test_a_killed_hq_loses_nothing_and_stores_nothing_twice(served,
                                                            tmp_path):
    hq, uploadKey, readKey = served
    path = tmp_path / 'usage.fs'
    with tracker(path) as t:
        t.track_statistic('saves')
        t['saves'] += 1
        t.setup_hq(hq.url, uploadKey)
        assert t.submit_statistics()
        hq.kill()
        t['saves'] += 1
        t['saves'] += 1
        assert not t.submit_statistics()        # nobody listens
        hq.start()
        t.uploader.configure(hq.url, uploadKey)     # clears the backoff
        assert t.submit_statistics()
        hq.kill()
        hq.start()
        t['saves'] += 1
    # A new session of the tracker, after a restart of both.
    with tracker(path) as t:
        t.track_statistic('saves')
        t.setup_hq(hq.url, uploadKey)
        assert t.submit_statistics()
        expected = rows(t, 'saves')
    saves = history(hq.url, readKey, 'saves', 'user-1')
    assert [v for _, v in saves] == expected == [1, 2, 3, 4]
    assert len({n for n, _ in saves}) == len(saves)


@pytest.fixture(params=['zeo', 'pg-history-free', 'pg-history-preserving'])
def shared(request, tmp_path):
    """The URI of a database several processes can open at once."""
    if request.param == 'zeo':
        with zeoServer(tmp_path) as uri:
            yield uri
        return
    new = request.getfixturevalue('new_pg_database')
    yield new(keep_history=request.param == 'pg-history-preserving')


def test_two_hq_processes_on_one_database_store_every_track_once(
        tmp_path, shared):
    uri = shared
    uploadKey = addKey(uri, 'acme')
    readKey = addKey(uri, 'acme', read=True)
    hqs = [HQProcess(uri, logDir=tmp_path).start(),
           HQProcess(uri, logDir=tmp_path).start()]
    try:
        trackers = [tracker(tmp_path / f'u{n}.fs', uuid=f'user-{n}')
                    for n in range(6)]
        for n, t in enumerate(trackers):
            t.track_statistic('saves')
            for _ in range(40 + n):
                t['saves'] += 1
            t.setup_hq(hqs[n % 2].url, uploadKey)
            t.uploader.batch_tracks = 7     # many requests each
        results = {}

        def upload(n, t):
            results[n] = t.submit_statistics()

        threads = [threading.Thread(target=upload, args=(n, t))
                   for n, t in enumerate(trackers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(180)
        assert results == {n: True for n in range(6)}, \
            hqs[0].log + hqs[1].log
        for n, t in enumerate(trackers):
            saves = history(hqs[n % 2].url, readKey, 'saves',
                            f'user-{n}')
            assert [v for _, v in saves] == rows(t, 'saves')
            assert len({number for number, _ in saves}) == len(saves)
        got = read(hqs[0].url, readKey,
                   '/api/applications/Editor/trackables/saves')
        assert got['latest'] == {f'user-{n}': 40 + n for n in range(6)}
        assert got['total'] == sum(40 + n for n in range(6))
        assert sum(day['value'] for day in got['series']) == got['total']
        for t in trackers:
            t.close()
    finally:
        for hq in hqs:
            hq.stop()


def test_hq_serve_refuses_a_large_chunked_body_unread(served):
    import socket
    hq, uploadKey, _ = served
    chunk = b'10000\r\n' + b'x' * 65536 + b'\r\n'       # 64 KiB each
    with socket.create_connection(('127.0.0.1', hq.port), timeout=60) as s:
        s.sendall(b'POST /usagestats/upload HTTP/1.1\r\nHost: hq\r\n'
                  b'Content-Type: application/json\r\n'
                  b'Transfer-Encoding: chunked\r\n\r\n')
        try:
            for _ in range(64):                            # 4 MiB
                s.sendall(chunk)
        except OSError:
            pass        # the server stopped reading: the reply is there
        reply = s.recv(4096)
    assert reply.startswith(b'HTTP/1.1 413'), reply[:200]
