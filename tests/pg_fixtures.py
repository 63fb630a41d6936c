"""Fixtures for tests on RelStorage + PostgreSQL (registered by
tests/conftest.py).

``pg_cluster`` starts one throw-away PostgreSQL server for the session
(see pgcluster.py). Without the server binaries the tests that need it
skip saying why, except under CI (``CI=true``), where they fail: there
the server must be installed (.ci/run does that).

``dbspec`` is what a test opens with ``openDB``/``Session``: a new empty
database, once per engine (a FileStorage file, RelStorage history-free,
RelStorage history-preserving). A test that takes it runs on each.
"""

import itertools
import os

import pytest

from pgcluster import ClusterUnavailable, TempCluster

ENGINES = ('file', 'pg-history-free', 'pg-history-preserving')
PG_ENGINES = ENGINES[1:]
_names = itertools.count(1)


def inCI():
    return os.environ.get('CI', '').lower() in ('true', '1', 'yes')


def unavailable(reason):
    """Skip (fail under CI) a test that needs PostgreSQL."""
    if inCI():
        pytest.fail(f'CI=true and PostgreSQL is unavailable: {reason}',
                    pytrace=False)
    pytest.skip(f'PostgreSQL unavailable: {reason}')


@pytest.fixture(scope='session')
def pg_cluster():
    try:
        import psycopg2  # noqa: F401 (the relstorage extra)
        import relstorage  # noqa: F401
    except ImportError as exc:
        unavailable(f'{exc}; install the relstorage extra')
    try:
        cluster = TempCluster().start()
    except ClusterUnavailable as exc:
        unavailable(str(exc))
    yield cluster
    cluster.stop()


@pytest.fixture
def new_pg_database(pg_cluster):
    """new_pg_database(keep_history=True): the postgresql:// URI of a new,
    empty database on the session's server."""
    def new(keep_history=True):
        mode = 'hp' if keep_history else 'hf'
        return pg_cluster.createDatabase(
            f'test_{mode}_{next(_names)}',
            keep_history=str(bool(keep_history)).lower())
    return new


@pytest.fixture(params=ENGINES)
def dbspec(request, tmp_path):
    """A new empty database: a FileStorage path, or a postgresql:// URI
    (history-free or history-preserving)."""
    if request.param == 'file':
        return str(tmp_path / 'data' / 'tracking.fs')
    new = request.getfixturevalue('new_pg_database')
    return new(keep_history=request.param == 'pg-history-preserving')


@pytest.fixture(params=PG_ENGINES)
def pgspec(request):
    """A new empty RelStorage database, history-free and preserving."""
    new = request.getfixturevalue('new_pg_database')
    return new(keep_history=request.param == 'pg-history-preserving')
