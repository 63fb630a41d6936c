"""Fixtures for the uploader tests (registered by tests/conftest.py) and
helpers they import: the HQ stand-in, a port nobody listens on, trackers."""

import socket

import pytest

from hq_standin import HQStandIn


@pytest.fixture
def hq(monkeypatch):
    # A proxy from the environment must not catch requests to 127.0.0.1.
    monkeypatch.setenv('no_proxy', '127.0.0.1,localhost')
    monkeypatch.setenv('NO_PROXY', '127.0.0.1,localhost')
    monkeypatch.delenv('DO_NOT_TRACK', raising=False)
    server = HQStandIn().start()
    yield server
    server.close()


@pytest.fixture
def dead_url():
    """http://127.0.0.1:PORT where the port is bound but not listening, so
    connections are refused (and no other test can take the port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(('127.0.0.1', 0))
    yield f'http://127.0.0.1:{sock.getsockname()[1]}'
    sock.close()


UUID = 'user-1'


@pytest.fixture
def open_tracker(tmp_path):
    """open_tracker(**kw): a real AnonymousUsageTracker on a FileStorage
    in tmp_path (the same file each call, so a second call is a restart);
    every tracker opened is closed at the end."""
    from cybertools_tracking.usage import AnonymousUsageTracker
    opened = []

    def open_(**kw):
        settings = dict(uuid=UUID, filepath=tmp_path / 'data' / 'usage.db',
                        application_name='MyApp', application_version='1.0.0')
        settings.update(kw)
        tracker = AnonymousUsageTracker(**settings)
        opened.append(tracker)
        return tracker

    yield open_
    for tracker in opened:
        tracker.close()


def stored_place(path, uuid=UUID):
    """The uploader's place as stored in the file at path (the tracker must
    be closed): (submissions, watermark, pending key or None)."""
    from cybertools_tracking.db import Session
    from cybertools_tracking.upload.place import readState
    with Session(str(path), read_only=True) as session:
        place = readState(session.storage, uuid)
        return (place.submissions, place.watermark,
                place.pending.key if place.pending else None)
