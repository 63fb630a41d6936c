"""Opening databases (cybertools_tracking.db): paths, memory://, zodburi
URIs, a real ZEO server, the missing extra, getStorage, retry, pack.
"""

import os
import socket
import sys

import pytest
import transaction
import ZEO
import ZODB.FileStorage
from persistent import Persistent
from persistent.mapping import PersistentMapping
from ZODB.MappingStorage import MappingStorage
from ZODB.POSException import ConflictError

from cybertools_tracking.btree import Track, TrackingStorage
from cybertools_tracking.db import (
    DEFAULT_KEY, DatabaseError, Session, ensureStorage, getStorage, openDB,
    pack, retry)


class Counter(Persistent):
    """A plain persistent object: concurrent changes really conflict."""

    value = 0


class Tagged(Track):
    index_attributes = Track.index_attributes + ('tag',)


def files(path):
    return sorted(os.listdir(path))


def saveOne(db, data=None):
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    with tm:
        trackId = getStorage(conn).saveUserTrack('t', 0, 'u', data or {})
    conn.close()
    return trackId


# file paths

def test_path_opens_a_filestorage_and_creates_directories(tmp_path):
    path = tmp_path / 'a' / 'b' / 'tracking.fs'
    db = openDB(str(path))
    try:
        assert isinstance(db.storage, ZODB.FileStorage.FileStorage)
        assert saveOne(db) == '0000001'
    finally:
        db.close()
    assert path.exists()
    db = openDB(path)                       # a PathLike works too
    try:
        assert saveOne(db) == '0000002'
    finally:
        db.close()


def test_missing_file_without_create_is_an_error_and_creates_nothing(
        tmp_path):
    for kw in ({'create': False}, {'read_only': True}):
        with pytest.raises(DatabaseError, match='no such database file'):
            openDB(str(tmp_path / 'sub' / 'missing.fs'), **kw)
    assert files(tmp_path) == []


def test_read_only_path(tmp_path):
    path = str(tmp_path / 'ro.fs')
    db = openDB(path)
    saveOne(db)
    db.close()
    db = openDB(path, read_only=True)
    try:
        assert db.storage.isReadOnly()
        assert len(getStorage(db.open(), create=False)) == 1
    finally:
        db.close()


@pytest.mark.parametrize('spec,message', [
    ('', 'must be a file path or a URI'),
    (None, 'must be a file path or a URI'),
    (42, 'must be a file path or a URI'),
])
def test_bad_specs(spec, message):
    with pytest.raises(DatabaseError, match=message):
        openDB(spec)


def test_directory_and_non_database_files_are_errors(tmp_path):
    with pytest.raises(DatabaseError, match='is a directory.*tracking.fs'):
        openDB(str(tmp_path))
    junk = tmp_path / 'junk.fs'
    junk.write_text('not a database')
    with pytest.raises(DatabaseError, match='not a FileStorage file'):
        openDB(str(junk))
    assert junk.read_text() == 'not a database'
    assert files(tmp_path) == ['junk.fs']


# Opening for writing must not create, grow or litter anything on an error.

@pytest.mark.parametrize('uri', [False, True])
@pytest.mark.parametrize('content,kw,message', [
    (b'', {'create': False}, 'an empty file, not a database'),
    (b'', {'read_only': True}, 'an empty file, not a database'),
    (b'notes\n', {}, "not a FileStorage file .*b'note'"),
    (b'notes\n', {'create': False}, 'not a FileStorage file'),
    (b'notes\n', {'read_only': True}, 'not a FileStorage file'),
])
def test_refused_files_are_left_as_they_were(tmp_path, content, kw, message,
                                             uri):
    path = tmp_path / 'x.fs'
    path.write_bytes(content)
    spec = f'file://{path}' if uri else str(path)
    with pytest.raises(DatabaseError, match=message):
        openDB(spec, **kw)
    assert path.read_bytes() == content
    assert files(tmp_path) == ['x.fs']


def test_an_empty_file_becomes_a_new_database_when_creating(tmp_path):
    path = tmp_path / 'new.fs'
    path.write_bytes(b'')
    db = openDB(str(path))
    try:
        assert saveOne(db) == '0000001'
    finally:
        db.close()


def test_file_uri_without_a_path_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for uri in ('file://', 'file://?read_only=1'):
        with pytest.raises(DatabaseError, match='names no file; use file:///'):
            openDB(uri)
    assert files(tmp_path) == []


def test_a_folder_that_cannot_be_made_is_a_database_error(tmp_path):
    (tmp_path / 'file.txt').write_text('x')
    for spec in (str(tmp_path / 'file.txt' / 'x.fs'),
                 f'file://{tmp_path}/file.txt/sub/x.fs'):
        with pytest.raises(DatabaseError,
                           match='cannot make its folder .*file is in the '
                                 'way'):
            openDB(spec)
    if os.geteuid() == 0:
        # root writes anywhere the permission bits forbid; sysfs refuses
        # even root a new folder.
        spec = '/sys/cybertools-tracking-test/sub/x.fs'
    else:
        readOnly = tmp_path / 'rodir'
        readOnly.mkdir()
        readOnly.chmod(0o555)
        spec = str(readOnly / 'sub' / 'x.fs')
    with pytest.raises(DatabaseError, match='cannot make its folder'):
        openDB(spec)
    assert files(tmp_path) == ['file.txt'] + (
        [] if os.geteuid() == 0 else ['rodir'])


# memory:// and zodburi URIs

def test_a_refused_zeo_connection_is_said_at_once():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]       # free, and nobody listens there
    with pytest.raises(DatabaseError,
                       match=f'no ZEO server at 127.0.0.1:{port} '
                             f'\\(Connection refused\\)'):
        openDB(f'zeo://127.0.0.1:{port}')


def test_a_silent_zeo_port_times_out_with_a_clear_message():
    # Something listens but never speaks ZEO.
    with socket.socket() as listener:
        listener.bind(('127.0.0.1', 0))
        listener.listen(5)
        port = listener.getsockname()[1]
        with pytest.raises(DatabaseError,
                           match='did not answer within 1 seconds.*'
                                 'wait_timeout=N'):
            openDB(f'zeo://127.0.0.1:{port}?wait_timeout=1')

def test_memory_uri(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db = openDB('memory://')
    try:
        assert isinstance(db.storage, MappingStorage)
        assert saveOne(db) == '0000001'
    finally:
        db.close()
    assert files(tmp_path) == []


def test_file_uri_creates_directories_and_passes_db_options(tmp_path):
    path = tmp_path / 'x' / 'y.fs'
    uri = f'file://{path}?connection_cache_size=123'
    db = openDB(uri)
    try:
        assert isinstance(db.storage, ZODB.FileStorage.FileStorage)
        assert db.getCacheSize() == 123
        assert saveOne(db) == '0000001'
    finally:
        db.close()
    assert path.exists()
    db = openDB(f'file://{path}', read_only=True)
    try:
        assert db.storage.isReadOnly()
        assert len(getStorage(db.open(), create=False)) == 1
    finally:
        db.close()


def test_missing_file_uri_without_create_creates_nothing(tmp_path):
    for kw in ({'create': False}, {'read_only': True}):
        with pytest.raises(DatabaseError, match='no such database file'):
            openDB(f'file://{tmp_path}/sub/missing.fs', **kw)
    assert files(tmp_path) == []


def test_other_zodburi_uris_go_through_zodburi():
    db = openDB('memory://named?database_name=tracks')
    try:
        assert db.storage.getName() == 'named'
        assert db.database_name == 'tracks'
    finally:
        db.close()


@pytest.mark.parametrize('uri,message', [
    ('bogus://x', "unknown URI scheme 'bogus'; use a file path, memory://"),
    ('zeo://127.0.0.1:1?wait_timeout=soon', 'bad URI'),
    ('memory://?no_such_option=1', 'bad URI'),
])
def test_bad_uris(tmp_path, monkeypatch, uri, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DatabaseError, match=message):
        openDB(uri)
    assert files(tmp_path) == []


def test_uri_without_zodburi_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, 'zodburi', None)   # import fails
    with pytest.raises(ImportError):
        __import__('zodburi')
    for uri in ('zeo://127.0.0.1:9100', f'file://{tmp_path}/t.fs'):
        with pytest.raises(DatabaseError) as info:
            openDB(uri)
        assert 'zeo extra' in str(info.value)
        assert "pip install 'cybertools_tracking[zeo]'" in str(info.value)
    assert files(tmp_path) == []
    # paths and memory:// need nothing beyond the core
    for spec in ('memory://', str(tmp_path / 'plain.fs')):
        db = openDB(spec)
        assert saveOne(db) == '0000001'
        db.close()


def test_zeo_uri_against_a_real_server(tmp_path):
    address, stop = ZEO.server(path=str(tmp_path / 'server.fs'))
    try:
        host, port = address
        assert host == '127.0.0.1'
        uri = f'zeo://{host}:{port}?wait_timeout=10'
        db = openDB(uri)
        try:
            assert saveOne(db, {'via': 'zeo'}) == '0000001'
        finally:
            db.close()
        with Session(uri, create=False) as session:
            assert session.storage['0000001'].data == {'via': 'zeo'}
        db = openDB(uri, read_only=True)
        try:
            assert db.storage.isReadOnly()
        finally:
            db.close()
    finally:
        stop()


# getStorage

def test_ensure_storage_creates_and_commits_on_its_own_connection(tmp_path):
    db = openDB(str(tmp_path / 't.fs'))
    try:
        tm = transaction.TransactionManager()
        conn = db.open(transaction_manager=tm)
        conn.root()['mine'] = 1             # the caller's uncommitted change
        oid = ensureStorage(db)
        assert conn.root()['mine'] == 1     # untouched
        assert conn.root()._p_changed       # and still pending
        other = db.open(transaction_manager=transaction.TransactionManager())
        assert other.root()[DEFAULT_KEY]._p_oid == oid      # committed
        assert ensureStorage(db) == oid     # once only
        taggedOid = ensureStorage(db, key='tagged', trackFactory=Tagged)
        other.transaction_manager.begin()   # see what committed since
        tagged = other.get(taggedOid)
        assert tagged.trackFactory is Tagged
        assert 'tag' in tagged.indexAttributes
        other.close()
        tm.abort()
        conn.close()
    finally:
        db.close()


def test_something_else_under_the_key_is_refused_and_left_alone(tmp_path):
    path = tmp_path / 't.fs'
    db = openDB(str(path))
    try:
        with db.transaction() as conn:
            conn.root()[DEFAULT_KEY] = PersistentMapping()
        size = os.path.getsize(path)
        message = (f"root key '{DEFAULT_KEY}' holds a persistent.mapping."
                   f"PersistentMapping, not a TrackingStorage")
        with pytest.raises(TypeError, match=message):
            ensureStorage(db)
        tm = transaction.TransactionManager()
        conn = db.open(transaction_manager=tm)
        with pytest.raises(TypeError, match=message):
            getStorage(conn)
        tm.abort()
        conn.close()
        assert os.path.getsize(path) == size      # nothing written
    finally:
        db.close()


def test_get_storage_never_commits(tmp_path):
    db = openDB(str(tmp_path / 't.fs'))
    try:
        tm = transaction.TransactionManager()
        conn = db.open(transaction_manager=tm)
        storage = getStorage(conn)
        assert isinstance(storage, TrackingStorage)
        assert getStorage(conn) is storage
        other = db.open(transaction_manager=transaction.TransactionManager())
        assert DEFAULT_KEY not in other.root()     # not committed
        tm.commit()                                # the caller's commit
        other.transaction_manager.begin()
        assert isinstance(other.root()[DEFAULT_KEY], TrackingStorage)
        with pytest.raises(KeyError, match="'elsewhere'"):
            getStorage(conn, key='elsewhere', create=False)
        assert 'elsewhere' not in conn.root()
        other.close()
        conn.close()
    finally:
        db.close()


def test_get_storage_joins_an_explicit_transaction(tmp_path):
    # pyramid_tm's manager is explicit: a commit inside would raise.
    db = openDB(str(tmp_path / 't.fs'))
    try:
        tm = transaction.TransactionManager(explicit=True)
        conn = db.open(transaction_manager=tm)
        with tm:
            getStorage(conn).saveUserTrack('t', 0, 'u', {})
        with tm:
            assert len(getStorage(conn, create=False)) == 1
        conn.close()
    finally:
        db.close()


# retry

def test_retry_reruns_work_on_a_real_conflict(tmp_path):
    db = openDB(str(tmp_path / 't.fs'))
    try:
        tm1, tm2 = transaction.TransactionManager(), \
            transaction.TransactionManager()
        conn1 = db.open(transaction_manager=tm1)
        with tm1:
            conn1.root()['counter'] = Counter()
        conn2 = db.open(transaction_manager=tm2)
        attempts = []

        def work(step, label='work'):
            counter = conn2.root()['counter']
            counter.value += step
            if not attempts:
                # Another connection changes the same object and commits
                # first: committing this attempt must conflict.
                with tm1:
                    conn1.root()['counter'].value += 10
            attempts.append(counter.value)
            return label

        assert retry(tm2, work, 1, label='done') == 'done'
        assert attempts == [1, 11]
        conn1.close()
        conn2.close()
        conn3 = db.open()
        assert conn3.root()['counter'].value == 11
        conn3.close()
    finally:
        db.close()


def test_retry_gives_up_after_its_attempts(tmp_path):
    db = openDB(str(tmp_path / 't.fs'))
    try:
        tm1, tm2 = transaction.TransactionManager(), \
            transaction.TransactionManager()
        conn1 = db.open(transaction_manager=tm1)
        with tm1:
            conn1.root()['counter'] = Counter()
        conn2 = db.open(transaction_manager=tm2)
        calls = []

        def alwaysConflicting():
            calls.append(1)
            conn2.root()['counter'].value += 1
            with tm1:
                conn1.root()['counter'].value += 10

        with pytest.raises(ConflictError):
            retry(tm2, alwaysConflicting, attempts=3)
        assert len(calls) == 3
        conn1.close()
        conn2.close()
    finally:
        db.close()


def test_retry_aborts_and_raises_other_errors(tmp_path):
    db = openDB(str(tmp_path / 't.fs'))
    try:
        oid = ensureStorage(db)
        tm = transaction.TransactionManager()
        conn = db.open(transaction_manager=tm)
        storage = conn.get(oid)
        calls = []

        def failing():
            calls.append(1)
            storage.saveUserTrack('t', 0, 'u', {})
            raise RuntimeError('boom')

        with pytest.raises(RuntimeError, match='boom'):
            retry(tm, failing)
        assert calls == [1]
        assert len(storage) == 0            # aborted
        conn.close()
    finally:
        db.close()


def test_session_run_commits_with_retries(tmp_path):
    path = str(tmp_path / 's.fs')
    with Session(path) as session:
        assert session.run(lambda storage, task, user='u':
                           storage.saveUserTrack(task, 0, user, {}),
                           'a', user='v') == '0000001'
    with Session(path, read_only=True, create=False) as session:
        assert session.storage['0000001'].userName == 'v'


# pack

def test_pack_drops_old_history(tmp_path):
    path = tmp_path / 'p.fs'
    db = openDB(str(path))
    try:
        tm = transaction.TransactionManager()
        conn = db.open(transaction_manager=tm)
        with tm:
            conn.root()['counter'] = counter = Counter()
        for i in range(20):
            with tm:
                counter.value = i
        oid = counter._p_oid
        assert len(db.history(oid, size=100)) == 21
        pack(db, days=1)                    # keeps the last day's history
        assert len(db.history(oid, size=100)) == 21
        size = path.stat().st_size
        pack(db)
        assert len(db.history(oid, size=100)) == 1
        assert path.stat().st_size < size
        assert conn.root()['counter'].value == 19
        conn.close()
    finally:
        db.close()


def test_a_locked_file_says_so_and_opens_read_only(tmp_path):
    path = str(tmp_path / 'busy.fs')
    db = openDB(path)                   # holds the lock, like a tracker
    try:
        saveOne(db)
        with pytest.raises(DatabaseError, match='in use by another process'):
            openDB(path)
        reader = openDB(path, read_only=True)
        assert len(getStorage(reader.open(), create=False)) == 1
        reader.close()
    finally:
        db.close()
