"""The watcher thread, and the switches that keep uploads off."""

import os
import threading
import warnings

import pytest

from hq_standin import Hang

WATCHER = 'cybertools_tracking upload watcher'


def watcher_threads():
    return [t for t in threading.enumerate() if t.name == WATCHER]


def closed_within(tracker, seconds=60):
    """Close tracker in a helper thread; True when it returned in time
    (a generous bound, only there so a hang fails instead of blocking)."""
    closer = threading.Thread(target=tracker.close)
    closer.start()
    closer.join(seconds)
    return not closer.is_alive()


def test_no_hq_no_thread_no_network(open_tracker):
    tracker = open_tracker(check_interval_s=0.05, submit_interval_s=0.05)
    tracker.track_statistic('clicks')
    tracker['clicks'] += 1
    assert tracker.uploader is None and tracker.uploader is None
    assert watcher_threads() == []
    assert tracker.submit_statistics() is False
    assert tracker['clicks'].count == 1


def test_the_watcher_uploads_by_itself(open_tracker, hq):
    tracker = open_tracker(check_interval_s=0.05, submit_interval_s=0.05)
    tracker.track_statistic('clicks')
    tracker['clicks'] += 1
    tracker.setup_hq(hq.url, 'KEY')
    assert tracker.uploader.watcher_alive
    assert hq.wait_for(1)
    tracker['clicks'] += 1
    tracker['clicks'] += 1
    assert hq.wait_for(2)
    uploader = tracker.uploader
    # settle: poll until everything is accepted, then compare
    for _ in range(600):
        if not uploader.pending():
            break
        threading.Event().wait(0.05)
    assert hq.accepted_tracks() == {'clicks': [1, 2, 3]}
    assert closed_within(tracker)
    assert not uploader.watcher_alive
    assert watcher_threads() == []


def test_the_watcher_starts_from_the_constructor(open_tracker, hq):
    tracker = open_tracker(check_interval_s=0.05, submit_interval_s=0.05,
                           host=hq.url, api_key='KEY')
    tracker.track_statistic('clicks')
    tracker['clicks'] += 1
    assert hq.wait_for(1)
    assert hq.uploads[0].json['Data']['clicks']['data'] == 1


def test_the_watcher_waits_for_the_submit_interval(open_tracker, hq):
    tracker = open_tracker(check_interval_s=30000, submit_interval_s=3600)
    tracker.track_statistic('clicks')
    tracker['clicks'] += 1
    tracker.setup_hq(hq.url, 'KEY')
    uploader = tracker.uploader
    tracker.flush()     # what the writer does on its own within a second
    assert uploader.tick() is True       # never uploaded: due
    tracker['clicks'] += 1
    tracker.flush()
    assert uploader.pending()
    assert uploader.tick() is None       # the last success was just now
    assert len(hq.uploads) == 1
    tracker.close()
    # restarts count: the last success is kept in the database
    tracker = open_tracker(check_interval_s=30000, submit_interval_s=3600)
    tracker.setup_hq(hq.url, 'KEY')
    assert tracker.uploader.tick() is None
    assert len(hq.uploads) == 1
    tracker.submit_interval_s = 0.001
    assert tracker.uploader.tick() is True
    assert hq.accepted_tracks() == {'clicks': [1, 2]}


def test_a_tick_with_nothing_new_sends_nothing(open_tracker, hq):
    tracker = open_tracker(check_interval_s=30000, submit_interval_s=0.001)
    tracker.track_statistic('clicks')
    tracker.setup_hq(hq.url, 'KEY')
    assert tracker.uploader.tick() is None
    assert hq.uploads == []


def test_close_stops_an_idle_watcher_at_once(open_tracker, hq):
    tracker = open_tracker(check_interval_s=30000, submit_interval_s=500)
    tracker.setup_hq(hq.url, 'KEY')
    uploader = tracker.uploader
    assert uploader.watcher_alive
    assert closed_within(tracker)
    assert not uploader.watcher_alive
    assert watcher_threads() == []


def test_close_cuts_off_a_request_in_flight(open_tracker, hq):
    tracker = open_tracker(check_interval_s=0.05, submit_interval_s=0.05)
    tracker.HQ_DEFAULT_TIMEOUT = 600
    tracker.track_statistic('clicks')
    tracker['clicks'] += 1
    hq.then(Hang())
    tracker.setup_hq(hq.url, 'KEY')
    assert hq.wait_for(1)        # the watcher is waiting for the reply
    uploader = tracker.uploader
    assert closed_within(tracker)
    assert watcher_threads() == []
    assert uploader.submit() is False


def test_disable_and_enable(open_tracker, hq):
    tracker = open_tracker()
    tracker.track_statistic('clicks')
    tracker.setup_hq(hq.url, 'KEY')
    tracker['clicks'] += 1
    tracker.disable()
    # Disabled means no uploads; local statistics keep working.
    tracker['clicks'] += 1
    assert tracker['clicks'].count == 2
    assert tracker.submit_statistics() is False
    assert tracker.uploader.tick() is None
    assert hq.uploads == []
    tracker.enable()
    assert tracker.submit_statistics() is True
    assert hq.accepted_tracks() == {'clicks': [1, 2]}


@pytest.mark.parametrize('value', ['1', 'true', 'yes'])
def test_do_not_track(open_tracker, hq, monkeypatch, value):
    monkeypatch.setenv('DO_NOT_TRACK', value)
    tracker = open_tracker(check_interval_s=0.05, submit_interval_s=0.05)
    tracker.track_statistic('clicks')
    tracker.setup_hq(hq.url, 'KEY')
    assert not tracker.uploader.watcher_alive
    tracker['clicks'] += 1
    assert tracker.submit_statistics() is False
    assert tracker.uploader.blocked() == 'DO_NOT_TRACK is set'
    assert tracker['clicks'].count == 1      # local statistics keep working
    assert hq.uploads == []
    monkeypatch.setenv('DO_NOT_TRACK', '0')
    assert tracker.submit_statistics() is True


@pytest.mark.parametrize('settings, reason', [
    (dict(application_name=''), 'no application name'),
    (dict(application_version=''), 'no application version'),
])
def test_missing_settings_mean_no_network(open_tracker, hq, settings,
                                          reason):
    tracker = open_tracker(**settings)
    tracker.track_statistic('clicks')
    tracker['clicks'] += 1
    tracker.setup_hq(hq.url, 'KEY')
    assert tracker.submit_statistics() is False
    assert reason in tracker.uploader.blocked()
    assert hq.uploads == []


def test_missing_api_key_means_no_network(open_tracker, hq):
    tracker = open_tracker()
    tracker.track_statistic('clicks')
    tracker['clicks'] += 1
    tracker.setup_hq(hq.url, '')
    assert tracker.submit_statistics() is False
    assert tracker.uploader.blocked() == 'no api key is set'
    assert hq.uploads == []


def test_bad_settings_are_refused_with_a_reason(open_tracker):
    tracker = open_tracker()
    with pytest.raises(ValueError, match='scheme must be http or https'):
        tracker.setup_hq('ftp://example.com', 'KEY')
    with pytest.raises(ValueError, match='api_key must be a str'):
        tracker.setup_hq('example.com', 42)
    assert tracker.uploader is None
    tracker.close()
    with pytest.raises(RuntimeError, match='tracker is closed'):
        tracker.setup_hq('example.com', 'KEY')
    assert watcher_threads() == []


@pytest.mark.skipif(not hasattr(os, 'fork'), reason='needs os.fork')
def test_a_forked_child_has_no_watcher_and_does_not_upload(open_tracker,
                                                            hq):
    tracker = open_tracker(check_interval_s=30000, submit_interval_s=500)
    tracker.track_statistic('clicks')
    tracker['clicks'] += 1
    tracker.setup_hq(hq.url, 'KEY')
    uploader = tracker.uploader
    assert uploader.watcher_alive
    read, write = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DeprecationWarning)
        pid = os.fork()
    if pid == 0:    # the child: report, never return into pytest
        try:
            report = (f'{uploader.watcher_alive} '
                      f'{tracker.submit_statistics()} '
                      f'{uploader.blocked()}')
        except BaseException as exc:
            report = f'error {exc!r}'
        os.write(write, report.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        report = pipe.read()
    os.waitpid(pid, 0)
    assert report == ('False False a forked child process does not '
                      'upload')
    assert hq.uploads == []
    assert uploader.watcher_alive            # the parent's is untouched
    assert tracker.submit_statistics() is True


def test_load_from_configuration_with_an_hq_section(tmp_path, hq):
    from cybertools_tracking.usage import AnonymousUsageTracker
    conf = tmp_path / 'tracker_config.conf'
    conf.write_text(f"""\
[General]
filepath = {tmp_path / 'usage_stats.db'}
application_name = MyApp
application_version = 1.0.0
submit_interval_s = 0.05
check_interval_s = 0.05

[HQ]
host = {hq.url}
api_key = ldfhksg23542kj5g73kk3465j
""")
    tracker = AnonymousUsageTracker.load_from_configuration(conf, 'user-9')
    try:
        watchers = watcher_threads()
        assert len(watchers) == 1 and watchers[0].daemon
        tracker.track_statistic('clicks')
        tracker['clicks'] += 1
        assert hq.wait_for(1)
        body = hq.uploads[0].json
        assert body['API Key'] == 'ldfhksg23542kj5g73kk3465j'
        assert body['User Identifier'] == 'user-9'
    finally:
        assert closed_within(tracker)
    assert watcher_threads() == []
