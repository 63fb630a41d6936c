"""The uploader against what a hostile HQ or odd values do: a reply that
drips, values JSON cannot carry, an HQ that echoes the key."""

import logging
import subprocess
import sys

import pytest

from hq_standin import Drip, Respond

DRIP = (b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n'
        b'Content-Length: 16\r\n\r\n{"status": "ok"}')


STATUS_END = DRIP.index(b'\r\n') + 2
HEADERS_END = DRIP.index(b'\r\n\r\n') + 4


@pytest.mark.parametrize('start, end', [(0, STATUS_END),
                                        (STATUS_END, HEADERS_END),
                                        (HEADERS_END, len(DRIP))],
                         ids=['status line', 'headers', 'body'])
def test_the_timeout_is_a_deadline_for_the_whole_exchange(open_tracker, hq,
                                                          start, end):
    # Each byte comes well within the timeout, so a per-read timeout
    # would wait for the whole reply; the deadline cuts it off.
    t = open_tracker(host=hq.url, api_key='KEY')
    t.track_statistic('n')
    t['n'] += 1
    t.uploader.timeout = 1
    behaviours = []
    hq.rule = lambda upload: behaviours.append(
        Drip(DRIP, interval=0.2, start=start)) or behaviours[-1]
    assert t.submit_statistics() is False
    assert t.uploader.status.last_error == \
        'no complete reply within the timeout of 1 s'
    behaviours[0].done.wait(60)
    # The uploader hung up while that part was still dripping.
    assert start <= behaviours[0].sent < end
    # Nothing was confirmed, so the tracks wait for the next upload.
    hq.rule = None
    t.uploader.configure(hq.url, 'OTHER')   # clears the backoff
    assert t.submit_statistics()
    assert hq.accepted_tracks() == {'n': [1]}


def test_text_that_is_not_unicode_travels_replaced(open_tracker, hq):
    t = open_tracker(host=hq.url, api_key='KEY')
    t.track_state('file', 'none')
    t['file'] = 'file-\udcff'       # as os.listdir gives undecodable names
    assert t.submit_statistics()
    assert hq.accepted_tracks() == {'file': ['none', 'file-\ufffd']}
    # The local value is kept as it was recorded.
    assert t['file'].state == 'file-\udcff'


@pytest.mark.parametrize('value', [10 ** 5000, float('inf'), float('nan')],
                         ids=['huge int', 'inf', 'nan'])
def test_a_number_json_cannot_carry_is_refused_when_recorded(
        open_tracker, hq, value):
    t = open_tracker(host=hq.url, api_key='KEY')
    t.track_statistic('n')
    t['n'] += 1
    with pytest.raises(ValueError, match='finite number of at most'):
        t['n'] = value
    with pytest.raises(ValueError, match='finite number of at most'):
        t['n'] += value
    assert t['n'].count == 1
    t['n'] += 2
    # The backlog keeps moving.
    assert t.submit_statistics()
    assert hq.accepted_tracks() == {'n': [1, 3]}


def test_old_odd_values_are_sent_in_their_documented_form():
    from cybertools_tracking.protocol import jsonable
    assert jsonable(10 ** 5000) == hex(10 ** 5000)
    assert jsonable(-(10 ** 5000)) == hex(-(10 ** 5000))
    assert jsonable(float('nan')) == 'nan'
    assert jsonable({'a\udcff': ['b\udcff']}) == {'a\ufffd': ['b\ufffd']}
    assert jsonable(10 ** 3000) == 10 ** 3000


def test_the_key_never_reaches_the_log_or_the_status(open_tracker, hq,
                                                     caplog):
    key = 'secret-key-1234567890'
    hq.rule = lambda upload: Respond(
        400, body=b'bad request: ' + upload.body + b' and again ' +
        key.encode())
    t = open_tracker(host=hq.url, api_key=key)
    t.track_statistic('n')
    t['n'] += 1
    with caplog.at_level(logging.DEBUG, logger='cybertools_tracking'):
        assert t.submit_statistics() is False
    error = t.uploader.status.last_error
    assert error.startswith('HTTP 400: bad request:')
    assert key not in error and key[:8] not in error
    assert '[api key removed]' in error
    assert key not in caplog.text and 'secret-k' not in caplog.text


def test_a_key_cut_off_at_the_end_of_the_reply_is_removed_too():
    from cybertools_tracking.upload import redact
    assert redact('echo: secret-key-12', 'secret-key-1234') == \
        'echo: [api key removed]'
    assert redact('{"API Key": "whatever"}', 'other') == \
        '{"API Key": "[api key removed]"}'


def test_importing_the_package_registers_no_exit_or_fork_hooks():
    script = (
        'import atexit, os, sys\n'
        'calls = []\n'
        'def hook(*a, **k):\n'
        '    caller = sys._getframe(1).f_globals.get("__name__", "")\n'
        '    if caller.startswith("cybertools_tracking"):\n'
        '        calls.append(caller)\n'
        'atexit.register = os.register_at_fork = hook\n'
        'import cybertools_tracking.btree, cybertools_tracking.db\n'
        'import cybertools_tracking.usage, cybertools_tracking.upload\n'
        'import cybertools_tracking.pyramid, cybertools_tracking.hq\n'
        'import cybertools_tracking.hq.views, cybertools_tracking.cli\n'
        'print(calls)\n')
    done = subprocess.run([sys.executable, '-c', script],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == '[]'
