"""Replies decide what happens next, and none of them loses data.

Every failure leaves the watermark; the batch goes again under the same
idempotency key; the next batch gets a new one."""

import email.utils
import logging
import threading
import time

import pytest

from cybertools_tracking.upload import BACKOFF_BASE_S, BACKOFF_MAX_S
from hq_standin import CUT_SHORT, GARBAGE, Hang, Respond
from upload_fixtures import stored_place


def clicks(tracker, n):
    for _ in range(n):
        tracker['clicks'] += 1


def started(open_tracker, hq, **kw):
    tracker = open_tracker(**kw)
    tracker.track_statistic('clicks')
    tracker.setup_hq(hq.url, 'KEY')
    return tracker


def test_500_then_success_loses_nothing(open_tracker, hq, tmp_path):
    tracker = started(open_tracker, hq)
    clicks(tracker, 2)
    hq.then(Respond(500, body=b'db down'))
    assert tracker.submit_statistics() is False
    assert tracker.uploader.submissions == 0
    assert 'HTTP 500: db down' in tracker.uploader.status.last_error
    clicks(tracker, 2)
    assert tracker.submit_statistics() is True
    assert hq.accepted_tracks() == {'clicks': [1, 2, 3, 4]}
    failed, retry, rest = hq.uploads
    # the retry is the failed batch again, under its key; then the rest
    assert retry.key == failed.key and retry.body == failed.body
    assert rest.key != failed.key
    assert [e['Count'] for _, e in rest.tracks] == [3, 4]
    assert tracker.uploader.status.failures == 0
    tracker.close()
    assert stored_place(tmp_path / 'data' / 'usage.db')[0] == 2


@pytest.mark.parametrize('reply', [GARBAGE, CUT_SHORT],
                         ids=['garbage', 'cut-short'])
def test_garbage_or_cut_short_replies_are_failures(open_tracker, hq, reply):
    tracker = started(open_tracker, hq)
    clicks(tracker, 3)
    hq.then(reply)
    # a 200 status line whose body never fully arrives is no success
    assert tracker.submit_statistics() is False
    assert tracker.uploader.submissions == 0
    assert tracker.submit_statistics() is True
    assert hq.uploads[0].key == hq.uploads[1].key
    assert hq.accepted_tracks() == {'clicks': [1, 2, 3]}


def test_refused_connection(open_tracker, hq, dead_url):
    tracker = open_tracker()
    tracker.track_statistic('clicks')
    tracker.setup_hq(dead_url, 'KEY')
    clicks(tracker, 2)
    assert tracker.submit_statistics() is False
    assert 'refused' in tracker.uploader.status.last_error
    assert tracker.uploader.pending()
    tracker.setup_hq(hq.url, 'KEY')
    assert tracker.submit_statistics() is True
    assert hq.accepted_tracks() == {'clicks': [1, 2]}


def test_a_server_slower_than_the_timeout(open_tracker, hq):
    tracker = started(open_tracker, hq)
    tracker.HQ_DEFAULT_TIMEOUT = 0.5
    assert tracker.uploader.timeout == 0.5
    clicks(tracker, 1)
    hq.then(Hang())
    assert tracker.submit_statistics() is False
    assert 'timeout of 0.5 s' in tracker.uploader.status.last_error
    assert tracker.submit_statistics() is True
    assert hq.uploads[0].key == hq.uploads[1].key
    assert hq.accepted_tracks() == {'clicks': [1]}


def test_the_timeout_is_settable_on_the_uploader_too(open_tracker, hq):
    tracker = started(open_tracker, hq)
    assert tracker.uploader.timeout == 10
    tracker.uploader.timeout = 2.5
    assert tracker.uploader.timeout == 2.5
    with pytest.raises(ValueError, match='seconds > 0'):
        tracker.uploader.timeout = 0


def test_what_was_not_uploaded_goes_after_a_restart(open_tracker, hq):
    tracker = started(open_tracker, hq)
    clicks(tracker, 2)
    hq.then(Respond(503))
    assert tracker.submit_statistics() is False
    clicks(tracker, 1)
    tracker.close()
    # never submitted before closing
    tracker = started(open_tracker, hq)
    tracker['clicks'] += 1
    tracker.close()

    tracker = started(open_tracker, hq)
    assert tracker['clicks'].count == 4
    assert tracker.submit_statistics() is True
    assert hq.accepted_tracks() == {'clicks': [1, 2, 3, 4]}
    # the batch recorded before the restart went again under its key
    assert hq.uploads[1].key == hq.uploads[0].key


def test_a_crash_after_sending_may_repeat_a_batch_but_keeps_its_key(
        open_tracker, hq):
    """The HQ got the batch but the tracker never learned (it closed while
    waiting for the reply, as a crash would): the batch goes again after
    the restart, under the same key, so the HQ can drop the copy."""
    tracker = started(open_tracker, hq)
    tracker.HQ_DEFAULT_TIMEOUT = 600
    clicks(tracker, 2)
    hq.then(Hang())
    result = []
    sender = threading.Thread(
        target=lambda: result.append(tracker.submit_statistics()))
    sender.start()
    assert hq.wait_for(1)
    tracker.close()         # cuts the request off; nothing recorded
    sender.join(60)
    assert result == [False]

    tracker = started(open_tracker, hq)
    assert tracker.submit_statistics() is True
    first, again = hq.uploads
    assert again.key == first.key and again.body == first.body


@pytest.mark.parametrize('status', [200, 201, 202, 204])
def test_any_2xx_is_success(open_tracker, hq, status):
    tracker = started(open_tracker, hq)
    clicks(tracker, 1)
    hq.then(Respond(status, body=b''))
    assert tracker.submit_statistics() is True
    assert tracker.uploader.submissions == 1
    clicks(tracker, 1)
    assert tracker.submit_statistics() is True
    assert hq.accepted_tracks() == {'clicks': [1, 2]}


def test_408_and_429_are_retried(open_tracker, hq):
    tracker = started(open_tracker, hq)
    clicks(tracker, 1)
    hq.then(Respond(408), Respond(429))
    assert tracker.submit_statistics() is False
    assert tracker.submit_statistics() is False
    assert tracker.uploader.status.failures == 2
    assert tracker.submit_statistics() is True
    assert len({u.key for u in hq.uploads}) == 1


def test_413_splits_the_batch(open_tracker, hq):
    def too_large(upload):
        return Respond(413) if len(upload.tracks) > 2 else None
    hq.rule = too_large
    tracker = started(open_tracker, hq)
    clicks(tracker, 7)
    assert tracker.submit_statistics() is True
    assert hq.accepted_tracks() == {'clicks': list(range(1, 8))}
    assert all(len(u.tracks) <= 2 for u in hq.accepted)
    refused = [u for u in hq.uploads if u.status == 413]
    assert [len(u.tracks) for u in refused] == [7, 3]
    assert len({u.key for u in hq.uploads}) == len(hq.uploads)
    assert tracker.uploader.batch_tracks <= 2


def test_413_for_a_single_track_keeps_it_and_slows_down(open_tracker, hq):
    hq.rule = lambda upload: Respond(413)
    tracker = started(open_tracker, hq)
    clicks(tracker, 1)
    before = time.time()
    assert tracker.submit_statistics() is False
    status = tracker.uploader.status
    assert status.next_attempt >= before + BACKOFF_MAX_S
    assert tracker.uploader.pending()


def test_401_stops_until_the_settings_change(open_tracker, hq, caplog):
    tracker = started(open_tracker, hq)
    clicks(tracker, 2)
    hq.then(Respond(401, body=b'unknown key'))
    with caplog.at_level(logging.DEBUG, 'cybertools_tracking.upload'):
        assert tracker.submit_statistics() is False
        assert tracker.submit_statistics() is False
        tracker.setup_hq(hq.url, 'KEY')     # the same settings
        assert tracker.submit_statistics() is False
    assert len(hq.uploads) == 1
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert 'refused the api key' in errors[0].getMessage()
    assert 'HTTP 401' in tracker.uploader.status.stopped
    tracker.setup_hq(hq.url, 'NEW-KEY')
    assert tracker.uploader.status.stopped is None
    assert tracker.submit_statistics() is True
    assert hq.uploads[-1].json['API Key'] == 'NEW-KEY'
    assert hq.accepted_tracks() == {'clicks': [1, 2]}


def test_403_stops_too(open_tracker, hq):
    tracker = started(open_tracker, hq)
    clicks(tracker, 1)
    hq.then(Respond(403))
    assert tracker.submit_statistics() is False
    assert tracker.submit_statistics() is False
    assert len(hq.uploads) == 1


def test_retry_after_seconds_sets_the_next_attempt(open_tracker, hq):
    tracker = started(open_tracker, hq)
    clicks(tracker, 1)
    hq.then(Respond(429, {'Retry-After': '7200'}))
    before = time.time()
    assert tracker.submit_statistics() is False
    after = time.time()
    status = tracker.uploader.status
    # 7200 s is beyond the backoff's hour: the HQ's wish decides
    assert before + 7200 <= status.hold_until <= after + 7200
    assert status.next_attempt == status.hold_until
    # until then nobody asks the HQ, not even the application
    assert tracker.submit_statistics() is False
    assert tracker.uploader.tick() is None
    assert len(hq.uploads) == 1
    assert 'Retry-After' in tracker.uploader.blocked()


def test_retry_after_date(open_tracker, hq):
    tracker = started(open_tracker, hq)
    clicks(tracker, 1)
    when = int(time.time()) + 3 * 3600
    hq.then(Respond(503, {'Retry-After': email.utils.formatdate(
        when, usegmt=True)}))
    assert tracker.submit_statistics() is False
    status = tracker.uploader.status
    assert status.hold_until == pytest.approx(when)
    assert status.next_attempt == pytest.approx(when)


def test_5xx_without_retry_after_backs_off_with_jitter(open_tracker, hq):
    tracker = started(open_tracker, hq)
    clicks(tracker, 1)
    hq.rule = lambda upload: Respond(502)
    uploader = tracker.uploader
    ceiling = BACKOFF_BASE_S
    for failures in (1, 2, 3):
        before = time.time()
        assert tracker.submit_statistics() is False
        after = time.time()
        status = uploader.status
        assert status.failures == failures
        assert before + ceiling / 2 <= status.next_attempt <= after + ceiling
        assert status.hold_until == 0       # the app may still ask
        ceiling *= 2
    # the watcher waits for next_attempt
    assert uploader.tick() is None
    assert len(hq.uploads) == 3


def test_other_4xx_is_logged_and_retried_at_the_slowest_pace(
        open_tracker, hq, caplog):
    tracker = started(open_tracker, hq)
    clicks(tracker, 1)
    hq.then(Respond(422, body=b'field "Data" is malformed'))
    before = time.time()
    with caplog.at_level(logging.WARNING, 'cybertools_tracking.upload'):
        assert tracker.submit_statistics() is False
    assert 'field "Data" is malformed' in caplog.text
    assert tracker.uploader.status.next_attempt >= before + BACKOFF_MAX_S
    assert tracker.uploader.tick() is None
    # the application may still ask, and nothing was lost
    assert tracker.submit_statistics() is True
    assert hq.accepted_tracks() == {'clicks': [1]}


def test_never_raises_into_the_host(open_tracker, hq, caplog, monkeypatch):
    tracker = started(open_tracker, hq)
    clicks(tracker, 1)

    def broken():
        raise RuntimeError('disk on fire')
    monkeypatch.setattr(tracker, 'flush', broken)
    with caplog.at_level(logging.ERROR, 'cybertools_tracking.upload'):
        assert tracker.submit_statistics() is False
    assert 'disk on fire' in caplog.text
    assert 'disk on fire' in tracker.uploader.status.last_error
    monkeypatch.undo()
    assert tracker.submit_statistics() is True
    tracker.close()
    assert tracker.submit_statistics() is False
