"""What an upload carries: the HQ's fields, only what is new, in batches
of bounded size. Real trackers on FileStorage, a real HTTP stand-in."""

import threading

import transaction
from zope.interface.verify import verifyObject

from cybertools_tracking.db import openDB, getStorage
from cybertools_tracking.upload import (
    SUBMISSIONS_TASK, TRACKS_KEY, UPLOAD_PATH, Uploader)
from cybertools_tracking.upload.interfaces import (
    IHQClient, IUploader, IUploadSource)
from cybertools_tracking.usage import AnonymousUsageTracker
from upload_fixtures import UUID, stored_place


def rpg(tracker):
    tracker.track_statistic('quests_complete', 'quests handed in')
    tracker.track_statistic('monsters_killed')
    tracker.track_state('server', 'eu-1', description='server joined')
    tracker.track_time('play_time', 'time in game')
    tracker.track_sequence('tutorial', ['A', 'B'])


def test_interfaces(open_tracker, hq):
    tracker = open_tracker()
    assert verifyObject(IHQClient, tracker)
    assert verifyObject(IUploadSource, tracker)
    assert tracker.storage_oid() is not None
    tracker.setup_hq(hq.url, 'KEY')
    assert isinstance(tracker.uploader, Uploader)
    assert tracker.uploader is tracker.uploader
    assert verifyObject(IUploader, tracker.uploader)


def test_first_upload_carries_every_trackable_and_the_fields(
        open_tracker, hq):
    tracker = open_tracker()
    rpg(tracker)
    tracker['quests_complete'] += 3
    tracker['server'] = 'us-2'
    tracker['tutorial'] = 'A'
    tracker['tutorial'] = 'B'
    tracker.setup_hq(hq.url, 'ldfhksg23542kj5g73kk3465j')
    assert tracker.submit_statistics() is True

    [upload] = hq.uploads
    assert upload.path == UPLOAD_PATH
    assert upload.headers['content-type'].startswith('application/json')
    assert upload.headers['user-agent'].startswith('cybertools_tracking/')
    assert len(upload.key) == 32
    body = upload.json
    assert body['API Key'] == 'ldfhksg23542kj5g73kk3465j'
    assert body['User Identifier'] == UUID
    assert body['Application Name'] == 'MyApp'
    assert body['Application Version'] == '1.0.0'
    assert body['Data'] == {
        'quests_complete': {'type': 'Statistic',
                            'description': 'quests handed in', 'data': 3},
        # never changed: still named on the first upload, with its count
        'monsters_killed': {'type': 'Statistic', 'description': '',
                            'data': 0},
        'server': {'type': 'State', 'description': 'server joined',
                   'data': 'us-2'},
        'play_time': {'type': 'Timer', 'description': 'time in game',
                      'data': 0},
        'tutorial': {'type': 'Sequence', 'description': '', 'data': 1},
    }
    tracks = body[TRACKS_KEY]
    assert [e['State'] for e in tracks['server']] == ['eu-1', 'us-2']
    assert [e['Count'] for e in tracks['quests_complete']] == [3]
    numbers = [e['Number'] for entries in tracks.values() for e in entries]
    assert len(set(numbers)) == len(numbers)
    for entries in tracks.values():
        for entry in entries:
            assert entry['Run'] == tracker.run_id
            assert isinstance(entry['Time'], int)
    assert '__registry__' not in body['Data']
    assert not any(name.startswith('__') for name in tracks)


def test_only_changed_trackables_after_the_first(open_tracker, hq):
    tracker = open_tracker()
    rpg(tracker)
    tracker['monsters_killed'] += 1
    tracker.setup_hq(hq.url, 'KEY')
    assert tracker.submit_statistics()
    tracker['monsters_killed'] += 1
    tracker['monsters_killed'] += 1
    tracker['server'] = 'asia-1'
    assert tracker.submit_statistics()

    second = hq.uploads[1].json
    assert second['Data'] == {
        'monsters_killed': {'type': 'Statistic', 'description': '',
                            'data': 3},
        'server': {'type': 'State', 'description': 'server joined',
                   'data': 'asia-1'},
    }
    assert {name: [e.get('State', e['Count']) for e in entries]
            for name, entries in second[TRACKS_KEY].items()} == {
        'monsters_killed': [2, 3], 'server': ['asia-1']}
    assert hq.uploads[0].key != hq.uploads[1].key


def test_nothing_new_means_no_request_and_success(open_tracker, hq):
    tracker = open_tracker()
    rpg(tracker)
    tracker.setup_hq(hq.url, 'KEY')
    assert tracker.submit_statistics()
    # the uploader's own tracks (__submissions__, __upload__) are not new
    assert tracker.uploader.pending() is False
    assert tracker.submit_statistics() is True
    assert len(hq.uploads) == 1
    tracker['monsters_killed'] += 1
    assert tracker.uploader.pending() is True


def test_submissions_and_watermark_are_stored(open_tracker, hq, tmp_path):
    tracker = open_tracker()
    rpg(tracker)
    tracker.setup_hq(hq.url, 'KEY')
    for _ in range(3):
        tracker['monsters_killed'] += 1
        assert tracker.submit_statistics()
    assert tracker.uploader.submissions == 3
    highest = max(e['Number'] for upload in hq.uploads
                  for _, e in upload.tracks)
    tracker.close()
    assert stored_place(tmp_path / 'data' / 'usage.db') == (3, highest, None)


def test_a_large_backlog_goes_in_bounded_batches(open_tracker, hq):
    tracker = open_tracker()
    tracker.track_statistic('clicks')
    for _ in range(10):
        tracker['clicks'] += 1
    tracker.setup_hq(hq.url, 'KEY')
    tracker.uploader.batch_tracks = 3
    assert tracker.submit_statistics()
    assert [len(u.tracks) for u in hq.uploads] == [3, 3, 3, 1]
    assert len({u.key for u in hq.uploads}) == 4
    assert hq.accepted_tracks() == {'clicks': list(range(1, 11))}
    # each batch names the value as of its last track
    assert [u.json['Data']['clicks']['data'] for u in hq.uploads] == \
        [3, 6, 9, 10]
    assert tracker.uploader.submissions == 4


def test_a_body_over_the_byte_limit_is_split_before_sending(
        open_tracker, hq):
    tracker = open_tracker()
    tracker.track_state('note', 'x' * 300)
    for n in range(6):
        tracker['note'] = f'{n}' * 300
    tracker.setup_hq(hq.url, 'KEY')
    tracker.uploader.max_body_bytes = 1500
    assert tracker.submit_statistics()
    assert len(hq.uploads) > 1
    assert all(len(u.body) <= 1500 for u in hq.uploads)
    assert hq.accepted_tracks()['note'] == \
        ['x' * 300] + [f'{n}' * 300 for n in range(6)]


def test_concurrent_submits_send_each_track_once(open_tracker, hq):
    tracker = open_tracker()
    tracker.track_statistic('clicks')
    for _ in range(20):
        tracker['clicks'] += 1
    tracker.setup_hq(hq.url, 'KEY')
    tracker.uploader.batch_tracks = 2
    results = []
    threads = [threading.Thread(
        target=lambda: results.append(tracker.submit_statistics()))
        for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results == [True] * 4
    numbers = [e['Number'] for u in hq.uploads for _, e in u.tracks]
    assert len(numbers) == 20 == len(set(numbers))


def test_a_tracker_in_a_storage_the_caller_opened(tmp_path, hq):
    # Not under the default root key: the uploader finds it anyway.
    db = openDB(str(tmp_path / 'app.fs'))
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    storage = getStorage(conn, key='app-usage')
    tracker = AnonymousUsageTracker(
        UUID, storage=storage, transaction_manager=tm,
        application_name='Server', application_version='2')
    try:
        tracker.track_statistic('requests')
        tracker['requests'] += 5
        tracker.flush()
        tracker.setup_hq(hq.url, 'KEY')
        assert tracker.submit_statistics()
        assert hq.uploads[0].json['Data']['requests']['data'] == 5
        tm.begin()
        done = storage.query(taskId=SUBMISSIONS_TASK)
        assert [t.data['Count'] for t in done] == [1]
    finally:
        tracker.close()
        tm.abort()
        conn.close()
        db.close()


def test_values_become_plain_json():
    from cybertools_tracking.protocol import jsonable
    from cybertools_tracking.upload.payload import encode
    assert jsonable({'a': float('nan'), 'b': [1, 2.5, None],
                     3: float('inf'), 'c': {1, }}) == \
        {'a': 'nan', 'b': [1, 2.5, None], '3': 'inf', 'c': [1]}
    assert encode({'x': jsonable(float('-inf'))}) == b'{"x":"-inf"}'


def test_a_spent_batch_record_is_not_pending(tmp_path):
    """The record of the batch being sent counts only while it starts at
    the watermark and was not the last one accepted."""
    from cybertools_tracking.db import OpenStorage as Session
    from cybertools_tracking.upload.place import (
        Pending, readState, savePending, saveSuccess)
    with Session(str(tmp_path / 'place.fs')) as session:
        storage = session.storage
        run = session.run(lambda s: s.startRun(None))

        def place():
            session.tm.begin()
            return readState(storage, UUID)

        assert place().first and place().pending is None
        session.run(savePending, UUID, run, Pending('k1', 0, 7))
        assert place().pending == Pending('k1', 0, 7)
        before = place()
        session.run(lambda s: saveSuccess(s, UUID, run, before, 'k1', 7))
        now = place()
        assert (now.watermark, now.submissions, now.lastKey) == (7, 1, 'k1')
        assert now.pending is None and not now.first
        # a record from another place (not starting at the watermark)
        session.run(savePending, UUID, run, Pending('k2', 3, 9))
        assert place().pending is None
        session.run(savePending, UUID, run, Pending('k3', 7, 9))
        assert place().pending == Pending('k3', 7, 9)
        # one record per run, updated in place
        from cybertools_tracking.upload.place import UPLOAD_TASK
        assert len(storage.query(taskId=UPLOAD_TASK)) == 1


def test_items_after_a_track_number(tmp_path):
    """TrackingStorage.itemsAfter, which the uploader reads from."""
    import pytest
    from cybertools_tracking.db import OpenStorage as Session
    with Session(str(tmp_path / 'items.fs')) as session:
        ids = [session.run(lambda s: s.saveUserTrack('t', 0, 'u', {'n': n}))
               for n in range(5)]
        storage = session.storage
        assert [i for i, _ in storage.itemsAfter(0)] == ids
        assert [t.data['n'] for _, t in storage.itemsAfter(ids[2])] == [3, 4]
        assert [i for i, _ in storage.itemsAfter(int(ids[3]))] == ids[4:]
        assert list(storage.itemsAfter(ids[-1])) == []
        for bad in ('abc', '2', None, True, -1):
            with pytest.raises(TypeError, match='track id or number'):
                storage.itemsAfter(bad)
