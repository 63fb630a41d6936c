"""Track records (``records``): tracks saved as tuples inside the track
tree's buckets, on every engine. Two connections changing tracks of one
bucket merge, as two tracks saved as objects of their own did; what the
record form cannot hold is saved plainly, where ZODB sees it."""

import pickle

import pytest
import transaction
from persistent.mapping import PersistentMapping
from ZODB.POSException import ConflictError

from cybertools_tracking import records
from cybertools_tracking.db import getStorage, openDB, pack

from storage_fixtures import T0, Db, StateTrack, changeStored


@pytest.fixture
def two(dbspec):
    """Two connections to one database, each with its transaction
    manager; a committed storage with ten tracks in one bucket."""
    db = openDB(dbspec)
    tms = [transaction.TransactionManager() for _ in range(2)]
    conns = [db.open(transaction_manager=tm) for tm in tms]
    first = getStorage(conns[0])
    for i in range(10):
        first.saveUserTrack('t', 0, f'u{i % 2}', {'i': i}, timeStamp=T0 + i)
    tms[0].commit()
    conns[1].sync()
    yield db, tms, [getStorage(conn) for conn in conns]
    for tm, conn in zip(tms, conns):
        tm.abort()
        conn.close()
    db.close()


def test_saves_of_two_connections_into_one_bucket_merge(two):
    db, tms, (one, other) = two
    # Twelve tracks: the tree keeps its one bucket in its own record.
    a = one.saveUserTrack('t', 0, 'u0', {'from': 'one'}, timeStamp=T0 + 20)
    b = other.saveUserTrack('t', 0, 'u1', {'from': 'other'},
                            timeStamp=T0 + 21)
    assert a != b
    tms[0].commit()
    tms[1].commit()          # merged by conflict resolution, not refused
    tms[0].begin()
    assert [one[a].data, one[b].data] == [{'from': 'one'},
                                          {'from': 'other'}]
    assert len(one) == 12
    assert one.check() == []


def test_updates_of_two_tracks_of_one_bucket_merge(two):
    db, tms, (one, other) = two
    one.updateTrack(one['0000002'], {'by': 'one'}, timeStamp=T0 + 50)
    other.updateTrack(other['0000003'], {'by': 'other'}, timeStamp=T0 + 51)
    tms[0].commit()
    tms[1].commit()
    tms[0].begin()
    assert one['0000002'].data == {'i': 1, 'by': 'one'}
    assert one['0000003'].data == {'i': 2, 'by': 'other'}
    assert one.getLastUserTrack('t', 1, 'u1').data == {'i': 1, 'by': 'one'}
    assert one.check() == []


def test_updates_of_one_track_by_two_connections_conflict(two):
    db, tms, (one, other) = two
    one.updateTrack(one['0000004'], {'by': 'one'}, timeStamp=T0 + 50)
    other.updateTrack(other['0000004'], {'by': 'other'}, timeStamp=T0 + 51)
    tms[0].commit()
    with pytest.raises(ConflictError):
        tms[1].commit()
    tms[1].abort()
    tms[0].begin()
    assert one['0000004'].data == {'i': 3, 'by': 'one'}
    assert one.check() == []


def test_a_track_holding_a_persistent_object_keeps_it_through_a_pack(
        tmp_path):
    # The record form would hide the reference from ZODB (and its pack):
    # such a bucket is saved plainly.
    path = tmp_path / 'refs.fs'
    opened = Db(path)
    note = PersistentMapping({'text': 'kept'})
    trackId = opened.storage.saveUserTrack('t', 0, 'u', {'note': note})
    opened.storage.saveUserTrack('t', 0, 'u', {'plain': 1})
    opened.commit()
    noteOid = note._p_oid
    assert noteOid is not None
    pack(opened.db)
    opened.close()
    opened = Db(path)
    try:
        stored = opened.storage
        # The same object, loaded by its reference, not a copy inside the
        # bucket's record.
        assert stored[trackId].data['note']._p_oid == noteOid
        assert stored[trackId].data['note']['text'] == 'kept'
        assert stored.check() == []
    finally:
        opened.close()


def test_packing_refuses_what_must_stay_a_reference_and_keeps_plain_data():
    plain = [('t', 1, 'u', T0, {'n': 1, 'when': (1, 2.5), 'b': b'x'})]
    assert records.unpackRecords(records.packRecords(plain)) == tuple(plain)
    assert records.packRecords(
        [('t', 1, 'u', T0, {'ref': PersistentMapping()})]) is None
    # Not a record at all (a track an older generation saved as an
    # object sits beside records): the bucket is saved plainly.
    assert records.packRecords([plain[0], PersistentMapping()]) is None


def test_a_value_nothing_can_save_is_refused_at_commit_and_nothing_kept(
        db):
    storage = db.storage
    storage.saveUserTrack('t', 0, 'u', {'ok': 1})
    db.commit()
    storage.saveUserTrack('t', 0, 'u', {'lock': pickle})   # a module
    with pytest.raises(Exception):
        db.commit()
    db.tm.abort()
    assert [t.data for t in storage.values()] == [{'ok': 1}]
    assert storage.check() == []


def test_a_track_subclass_comes_back_with_its_class_and_attributes(
        tmp_path):
    path = tmp_path / 'sub.fs'
    opened = Db(path, trackFactory=StateTrack)
    storage = opened.storage
    trackId = storage.saveUserTrack('n', 0, 'u', {'state': 'new'},
                                    timeStamp=T0)
    changeStored(storage, int(trackId),
                 note='an attribute the subclass adds')
    opened.commit()
    opened.close()
    opened = Db(path)
    try:
        stored = opened.storage
        track = stored[trackId]
        assert type(track) is StateTrack
        assert (track.taskId, track.userName, track.timeStamp, track.data,
                track.note) == ('n', 'u', T0, {'state': 'new'},
                                'an attribute the subclass adds')
        assert repr(track).startswith("<Notification ['n', 1, 'u', ")
        assert stored.query(state='new') == [track]
    finally:
        opened.close()


def test_changing_a_copy_never_reaches_the_record(two):
    # The bucket is saved again by the next save into it: a copy sharing
    # the record's data dict would have its change stored behind the
    # storage's back (and behind its indexes).
    db, tms, (one, other) = two
    copy = one['0000001']
    copy.data['i'] = 'changed in place'
    copy.data.update(extra=True)
    one.saveUserTrack('t', 0, 'u0', {'i': 10}, timeStamp=T0 + 10)
    tms[0].commit()
    other._p_jar.sync()
    assert other['0000001'].data == {'i': 0}
    assert one['0000001'].data == {'i': 0}
    one.updateTrack(copy, {'j': 1}, timeStamp=T0 + 30)
    # The update merged into the stored data, not the changed copy's.
    assert copy.data == {'i': 0, 'j': 1}
    copy.data['j'] = 2
    assert one['0000001'].data == {'i': 0, 'j': 1}
    tms[0].commit()
    assert one.check() == []
