"""The AnonymousUsageTracker: construction, names, access, listings,
registry, enable/disable, closing, the uploader hooks."""

import datetime
import uuid as uuidlib

import pytest
from zope.interface.verify import verifyObject

from cybertools_tracking.btree import TrackingStorage
from cybertools_tracking.usage import (
    MAX_ROWS_PER_TABLE, NO_STATE, AnonymousUsageError, AnonymousUsageTracker,
    IntervalError, TableConflictError, TableNameError, TrackerClosedError,
    UnknownTrackableError)
from cybertools_tracking.usage.interfaces import (
    IChangeWriter, ISequence, IState, IStatistic, ITimer, IUsageTracker)
from cybertools_tracking.usage.writer import BatchWriter, DirectWriter


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / 'data' / 'usage.db')


@pytest.fixture
def tracker(path):
    t = AnonymousUsageTracker('user-1', path)
    yield t
    t.close()


def test_interfaces(tracker):
    assert verifyObject(IUsageTracker, tracker)
    tracker.track_statistic('s')
    tracker.track_state('st', 'a')
    tracker.track_time('t')
    tracker.track_sequence('q', ['a', 'b'])
    assert verifyObject(IStatistic, tracker['s'])
    assert verifyObject(IState, tracker['st'])
    assert verifyObject(ITimer, tracker['t'])
    assert verifyObject(ISequence, tracker['q'])
    assert isinstance(tracker._writer, BatchWriter)
    assert verifyObject(IChangeWriter, tracker._writer)


def test_exports():
    import cybertools_tracking.usage as usage
    for name in ('AnonymousUsageTracker', 'NO_STATE', 'MAX_ROWS_PER_TABLE',
                 'AnonymousUsageError', 'IntervalError', 'TableNameError',
                 'TableConflictError', 'InvalidCheckpointError'):
        assert name in usage.__all__
        assert hasattr(usage, name)
    assert MAX_ROWS_PER_TABLE == 1000
    for exc in (IntervalError, TableNameError, TableConflictError):
        assert issubclass(exc, AnonymousUsageError)


def test_contract_attributes(tracker, path):
    assert tracker.uuid == 'user-1'
    assert tracker.filepath == path
    # The database the tracker writes into holds its storage.
    conn = tracker.db.open()
    try:
        assert conn.root()['tracking']._p_oid == tracker.storage_oid()
    finally:
        conn.close()
    assert isinstance(tracker.run_id, int) and tracker.run_id > 0
    assert tracker.application_name == ''
    assert tracker.application_version == ''
    assert tracker.enabled is True
    assert tracker.uploader is None


def test_file_and_directories_created(tmp_path):
    path = tmp_path / 'a' / 'b' / 'usage.db'
    with AnonymousUsageTracker(uuidlib.uuid4(), str(path)) as t:
        assert path.exists()
        assert len(t.uuid) == 36


def test_run_started_and_stopped(path):
    t = AnonymousUsageTracker('u', path)
    runId = t.run_id
    t.close()
    t2 = AnonymousUsageTracker('u', path)
    assert t2.run_id > runId
    conn = t2.db.open()
    try:
        run = conn.root()['tracking'].getRun(runId=runId)
        assert run.finished
        assert not conn.root()['tracking'].getRun(runId=t2.run_id).finished
    finally:
        conn.close()
        t2.close()


@pytest.mark.parametrize('kw, message', [
    ({}, 'neither'),
    ({'filepath': 'x.db', 'storage': TrackingStorage()}, 'both'),
])
def test_filepath_or_storage(kw, message):
    with pytest.raises(ValueError, match=message):
        AnonymousUsageTracker('u', **kw)


@pytest.mark.parametrize('bad', [None, ''])
def test_bad_uuid(path, bad):
    with pytest.raises(ValueError, match='uuid must identify'):
        AnonymousUsageTracker(bad, path)


@pytest.mark.parametrize('name', ['submit_interval_s', 'check_interval_s'])
@pytest.mark.parametrize('bad', [-1, 'often', None, float('nan')])
def test_bad_intervals(path, name, bad):
    with pytest.raises(IntervalError, match=name):
        AnonymousUsageTracker('u', path, **{name: bad})


def test_timedelta_intervals(path):
    with AnonymousUsageTracker('u', path, check_interval_s=
                               datetime.timedelta(minutes=5)) as t:
        assert t.check_interval_s == 300


def test_sqlite_file_refused(tmp_path):
    import sqlite3
    old = tmp_path / 'usage.db'
    sqlite3.connect(old).execute('CREATE TABLE x (a)').connection.close()
    with pytest.raises(AnonymousUsageError, match='import-anonymoususage'):
        AnonymousUsageTracker('u', str(old))


@pytest.mark.parametrize('name', ['', '   ', None, 5, b'x'])
def test_bad_names(tracker, name):
    with pytest.raises(TableNameError, match='non-empty str'):
        tracker.track_statistic(name)
    assert tracker.registry() == {}


@pytest.mark.parametrize('name', ['__registry__', '__submissions__',
                                  '__upload__'])
def test_reserved_name(tracker, name):
    """The tasks the registry and the uploader write cannot be declared
    (the original, too, tracked '__submissions__' itself)."""
    with pytest.raises(TableNameError, match='reserved for'):
        tracker.track_statistic(name)
    assert tracker[name] is None


def test_reserved_names_cover_the_uploaders_tasks():
    from cybertools_tracking.upload.place import SUBMISSIONS_TASK, UPLOAD_TASK
    from cybertools_tracking.usage.registry import REGISTRY_TASK, RESERVED
    assert set(RESERVED) == {REGISTRY_TASK, SUBMISSIONS_TASK, UPLOAD_TASK}


def test_names_with_spaces(tracker):
    tracker.track_state('Unit System', 'Metric')
    assert tracker['Unit System'].state == 'Metric'


def test_conflict(tracker):
    tracker.track_statistic('x')
    for declare in (lambda: tracker.track_statistic('x'),
                    lambda: tracker.track_state('x', 'a'),
                    lambda: tracker.track_time('x'),
                    lambda: tracker.track_sequence('x', [1])):
        with pytest.raises(TableConflictError, match="'x' is already"):
            declare()


def test_conflict_with_stored_kind(path):
    with AnonymousUsageTracker('u', path) as t:
        t.track_state('x', 'a')
    with AnonymousUsageTracker('u', path) as t:
        with pytest.raises(TableConflictError, match='stored as a State'):
            t.track_statistic('x')
        assert t['x'] is None


def test_statistic_may_become_timer(path):
    with AnonymousUsageTracker('u', path) as t:
        t.track_statistic('x')
        t['x'] += 30
    with AnonymousUsageTracker('u', path) as t:
        t.track_time('x')
        assert t['x'].total_seconds == 30
        assert t.registry()['x']['type'] == 'Timer'


def test_bad_max_rows(tracker):
    for bad in (0, -1, 1.5, True, '10'):
        with pytest.raises(ValueError, match='max_rows must be an int'):
            tracker.track_statistic('x', max_rows=bad)


def test_bad_description(tracker):
    with pytest.raises(TypeError, match='description must be a str'):
        tracker.track_statistic('x', description=5)


def test_getitem_setitem(tracker):
    assert tracker['nothing'] is None
    with pytest.raises(UnknownTrackableError, match="no trackable named"):
        tracker['nothing'] = 1
    with pytest.raises(KeyError):
        tracker['nothing'] = 1
    tracker.track_statistic('n')
    tracker['n'] = 5
    tracker['n'] += 2
    assert 'n' in tracker and 'm' not in tracker
    assert tracker['n'].count == 7


def test_listings(tracker):
    tracker.track_statistic('b')
    tracker.track_statistic('a')
    tracker.track_statistic('__internal__')
    tracker.track_time('t')
    tracker.track_state('s', NO_STATE)
    tracker.track_sequence('q', ['x'])
    assert [t.name for t in tracker.statistics] == ['a', 'b']
    assert [t.name for t in tracker.timers] == ['t']
    assert [t.name for t in tracker.states] == ['s']
    assert [t.name for t in tracker.sequences] == ['q']
    # Internal names are usable, but never listed.
    tracker['__internal__'] += 1
    assert tracker['__internal__'].count == 1
    assert '__internal__' not in tracker.registry()
    assert '__internal__' in tracker.registry(internal=True)
    assert '__internal__' not in tracker.get_table_info()
    assert '__internal__' not in tracker.get_row_count()


def test_registry_and_table_info(path):
    with AnonymousUsageTracker('u', path) as t:
        t.track_statistic('s', 'a statistic', max_rows=7)
        t.track_sequence('q', ['a', 'b'], description='a sequence')
        # Pending registrations are read at once ...
        assert t.registry()['q'] == {'type': 'Sequence',
                                     'description': 'a sequence',
                                     'checkpoints': ['a', 'b'],
                                     'max_rows': 1000}
    # ... and kept: a later session sees what it did not declare.
    with AnonymousUsageTracker('u', path) as t:
        assert t.registry() == {
            'q': {'type': 'Sequence', 'description': 'a sequence',
                  'checkpoints': ['a', 'b'], 'max_rows': 1000},
            's': {'type': 'Statistic', 'description': 'a statistic',
                  'checkpoints': None, 'max_rows': 7}}
        assert t.get_table_info() == {
            'q': {'type': 'Sequence', 'description': 'a sequence'},
            's': {'type': 'Statistic', 'description': 'a statistic'}}
        assert t.get_table_info('Type') == {'q': 'Sequence',
                                            's': 'Statistic'}
        assert t.get_table_info('description')['s'] == 'a statistic'
        with pytest.raises(ValueError, match="field must be 'type'"):
            t.get_table_info('count')
        # Declaring again with other settings updates the entry.
        t.track_statistic('s', 'counts things', max_rows=3)
        assert t.registry()['s']['max_rows'] == 3
    with AnonymousUsageTracker('u', path) as t:
        assert t.registry()['s']['description'] == 'counts things'


def test_get_row_count(tracker):
    tracker.track_statistic('a')
    tracker.track_state('b', 'x')
    tracker['a'] += 1
    tracker['a'] += 1
    assert tracker.get_row_count() == {'a': {'nrows': 2}, 'b': {'nrows': 1}}


def test_enable_disable(tracker):
    """As in the original, enabled is the permission to upload (issue 4):
    local statistics keep working while the tracker is disabled."""
    tracker.track_statistic('a')
    tracker.track_state('s', 'x')
    tracker.track_sequence('q', ['1'])
    assert tracker.disable() == 'Uploading of statistics has been disabled'
    assert tracker.enabled is False
    tracker['a'] += 1
    tracker['s'] = 'y'
    tracker['q'] = '1'
    assert (tracker['a'].count, tracker['s'].state, tracker['q'].count) \
        == (1, 'y', 1)
    assert tracker['a'].get_number_of_rows() == 1
    assert tracker.enable() == 'Uploading of statistics has been enabled'
    assert tracker.enabled is True
    tracker['a'] += 1
    assert tracker['a'].count == 2


def test_disabled_from_the_start(path):
    with AnonymousUsageTracker('u', path, enabled=False) as t:
        assert t.enabled is False
        t.track_state('s', 'x')
        t.track_statistic('n')
        t['n'] += 3
        assert t['s'].state == 'x'
        assert t['s'].get_number_of_rows() == 1
    with AnonymousUsageTracker('u', path) as t:
        t.track_state('s', 'other')
        t.track_statistic('n')
        assert (t['s'].state, t['n'].count) == ('x', 3)


def test_close_and_context_manager(path):
    with AnonymousUsageTracker('u', path) as t:
        t.track_statistic('a')
        t['a'] += 1
    t.close()     # idempotent
    with pytest.raises(TrackerClosedError):
        t['a'] += 1
    with pytest.raises(TrackerClosedError):
        t['a'].get_rows()
    with AnonymousUsageTracker('u', path) as t:
        t.track_statistic('a')
        assert t['a'].count == 1


def test_close_closes_uploader_first(path, hq, caplog):
    # The uploader gives its reserved track numbers back through its own
    # connection when it closes, so the database must still be open then.
    tracker = AnonymousUsageTracker('u', path, application_name='A',
                                    application_version='1')
    tracker.track_statistic('a')
    tracker['a'] += 1
    tracker.setup_hq(hq.url, 'KEY')
    assert tracker.submit_statistics()
    with caplog.at_level('DEBUG', logger='cybertools_tracking.upload'):
        tracker.close()
    assert tracker.uploader.blocked() == 'the uploader is closed'
    assert 'releasing track numbers failed' not in caplog.text


def test_setup_hq_hook(path, tmp_path):
    calls = []

    class WithUploader(AnonymousUsageTracker):
        def setup_hq(self, host, api_key):
            calls.append((host, api_key, self.run_id))

    with WithUploader('u', path, host='hq.example', api_key='k') as t:
        assert calls == [('hq.example', 'k', t.run_id)]
    conf = tmp_path / 'c.conf'
    conf.write_text(f'[General]\nfilepath = {path}\n'
                    '[HQ]\nhost = h2\napi_key = k2\n')
    with WithUploader.load_from_configuration(str(conf), 'u'):
        assert calls[-1][:2] == ('h2', 'k2')


def writer_threads():
    import threading
    return [t for t in threading.enumerate()
            if t.name.startswith('usage-writer')]


@pytest.mark.parametrize('host, api_key, message', [
    ('ftp://hq.example', 'k', 'scheme must be http or https'),
    (None, 'k', 'HQ host must be a non-empty str'),
    ('hq.example', 42, 'api_key must be a str'),
])
def test_bad_hq_settings_open_nothing(path, host, api_key, message):
    before = writer_threads()
    with pytest.raises(ValueError, match=message):
        AnonymousUsageTracker('u', path, host=host, api_key=api_key)
    assert writer_threads() == before
    # Refused before the database was opened: no file, no lock.
    import os
    assert not os.path.exists(path)
    with AnonymousUsageTracker('u', path) as t:
        assert t.run_id == 1


def test_a_failing_setup_hq_closes_what_the_constructor_opened(path):
    class Failing(AnonymousUsageTracker):
        def setup_hq(self, host, api_key):
            raise RuntimeError('no HQ today')

    before = writer_threads()
    with pytest.raises(RuntimeError, match='no HQ today'):
        Failing('u', path, host='hq.example', api_key='k')
    assert writer_threads() == before
    # The file is not locked any more: it opens again at once.
    with AnonymousUsageTracker('u', path) as t:
        t.track_statistic('a')


def test_max_rows_class_attribute(path, monkeypatch):
    # The original's scripts set AnonymousUsageTracker.MAX_ROWS_PER_TABLE.
    monkeypatch.setattr(AnonymousUsageTracker, 'MAX_ROWS_PER_TABLE', 5)
    with AnonymousUsageTracker('u', path) as t:
        t.track_statistic('a')
        assert t['a'].max_rows == 5
        for _ in range(8):
            t['a'] += 1
        assert [r['Count'] for r in t['a'].get_rows()] == [4, 5, 6, 7, 8]


def test_storage_writer_interface():
    storage = TrackingStorage()
    t = AnonymousUsageTracker('u', storage=storage)
    assert isinstance(t._writer, DirectWriter)
    assert verifyObject(IChangeWriter, t._writer)
    assert verifyObject(IUsageTracker, t)
    t.close()


def test_redeclaring_keeps_what_it_leaves_out(path):
    with AnonymousUsageTracker('u', path) as t:
        t.track_statistic('s', 'counts clicks', max_rows=4)
    with AnonymousUsageTracker('u', path) as t:
        t.track_statistic('s')
        assert (t['s'].description, t['s'].max_rows) == ('counts clicks', 4)
        assert t.registry()['s'] == {'type': 'Statistic',
                                     'description': 'counts clicks',
                                     'checkpoints': None, 'max_rows': 4}


def test_file_in_use(tracker, path):
    from cybertools_tracking.db import DatabaseError
    with pytest.raises(DatabaseError, match='in use'):
        AnonymousUsageTracker('user-2', path)
    tracker.track_statistic('still')
    tracker['still'] += 1
    assert tracker['still'].count == 1
