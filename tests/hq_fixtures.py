"""Helpers for the HQ tests: a real HQ app on a FileStorage (through
WebTest), keys made as the CLI makes them, and upload bodies."""

import json

import pytest
import transaction
import webtest

from cybertools_tracking import protocol
from cybertools_tracking.hq import keys, makeApp, model
from cybertools_tracking.pyramid import closeDatabase


class HQApp:
    def __init__(self, path):
        self.path = path
        wsgi = makeApp({'tracking.uri': str(path)})
        self.registry = wsgi.registry
        self.app = webtest.TestApp(wsgi)
        self.db = self.registry.tracking_db

    def addKey(self, group, kind=keys.UPLOAD):
        tm = transaction.TransactionManager()
        conn = self.db.open(transaction_manager=tm)
        try:
            with tm:
                return keys.addKey(model.hqRoot(conn), group, kind)
        finally:
            conn.close()

    def read(self, work, *args, **kw):
        """work(hq, *args, **kw) on a fresh connection."""
        tm = transaction.TransactionManager()
        conn = self.db.open(transaction_manager=tm)
        try:
            with tm:
                return work(model.hqRoot(conn), *args, **kw)
        finally:
            conn.close()

    def view(self, group, work):
        """work(ReadModel of group) on a fresh connection."""
        tm = transaction.TransactionManager()
        conn = self.db.open(transaction_manager=tm)
        try:
            with tm:
                return work(model.ReadModel(conn, group))
        finally:
            conn.close()

    def post(self, body, status=200, headers=None):
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.app.post(protocol.UPLOAD_PATH, raw,
                             headers=headers or {},
                             content_type='application/json', status=status)

    def get(self, path, key, status=200, **params):
        return self.app.get(path, params=params, status=status,
                            headers={'Authorization': f'Bearer {key}'})

    def close(self):
        closeDatabase(self.registry)


@pytest.fixture
def hqapp(tmp_path):
    app = HQApp(tmp_path / 'hq.fs')
    yield app
    app.close()


def body(key, user='user-1', app='MyApp', version='1.0', data=None,
         tracks=None):
    result = {protocol.API_KEY: key, protocol.USER: user,
              protocol.APPLICATION: app, protocol.VERSION: version,
              protocol.DATA: data if data is not None else {
                  'clicks': {'type': 'Statistic', 'description': 'Clicks',
                             'data': 3}}}
    if tracks is not None:
        result[protocol.TRACKS] = tracks
    return result


def track(number, count, time=1_764_547_200, run=1, **extra):
    return dict({'Number': number, 'Run': run, 'Time': time,
                 'Count': count}, **extra)
