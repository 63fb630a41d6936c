"""Three writer processes share one TrackingStorage through a real ZEO
server (``runzeo`` with a config file, as the README shows) on 127.0.0.1;
the usage tracker and the command line point at the same server with
``zeo://host:port``.
"""

import json
import os
import subprocess
import sys

import pytest

from cybertools_tracking.db import Session

import servers
from commandline import cli

WRITERS = 3
TRACKS = 30       # per writer, a commit each

# A writer process: saves tracks through zeo://, a commit each, retrying on
# conflicts, and prints what it saved as one JSON line.
WRITER = """\
import json, sys
from cybertools_tracking.db import Session
uri, writer, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
saved, retries = [], 0
with Session(uri) as session:
    for i in range(count):
        tries = 0
        for attempt in session.tm.attempts(50):
            with attempt:
                tries += 1
                trackId = session.storage.saveUserTrack(
                    'task%d' % (i % 4), 0, 'user%d' % writer,
                    {'writer': writer, 'i': i})
        retries += tries - 1
        saved.append(trackId)
print(json.dumps({'saved': saved, 'retries': retries}))
"""


@pytest.fixture(scope='module')
def zeoServer(tmp_path_factory):
    with servers.zeoServer(tmp_path_factory.mktemp('zeo')) as uri:
        yield uri


def test_three_processes_write_through_zeo(zeoServer, tmp_path):
    with Session(zeoServer) as session:       # one storage, one run
        runId = session.run(lambda storage: storage.startRun('task0'))
        before = len(session.storage)
    script = tmp_path / 'writer.py'
    script.write_text(WRITER)
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    writers = [subprocess.Popen(
        [sys.executable, str(script), zeoServer, str(n), str(TRACKS)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for n in range(WRITERS)]
    results = []
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    ids = [trackId for result in results for trackId in result['saved']]
    assert len(ids) == WRITERS * TRACKS
    assert len(set(ids)) == len(ids), 'track ids must be unique'
    retries = sum(result['retries'] for result in results)
    assert retries / len(ids) < 0.25, f'{retries} retries for {len(ids)}'
    with Session(zeoServer) as session:
        storage = session.storage
        assert len(storage) == before + len(ids)
        for n, result in enumerate(results):
            for i, trackId in enumerate(result['saved']):
                assert storage[trackId].data == {'writer': n, 'i': i}
        assert storage.check() == []
        # Every writer saved into the task's current run.
        assert len(storage.query(taskId='task0', runId=runId)) \
            == WRITERS * len(range(0, TRACKS, 4))
        assert sorted(storage.getUserNames('task1')) \
            == [f'user{n}' for n in range(WRITERS)]


def test_tracker_and_command_line_through_zeo(zeoServer):
    from cybertools_tracking.usage import AnonymousUsageTracker
    tracker = AnonymousUsageTracker(uuid='zeo-user', filepath=zeoServer)
    try:
        tracker.track_statistic('clicks')
        for _ in range(5):
            tracker['clicks'] += 1
        tracker.flush()
    finally:
        tracker.close()
    with Session(zeoServer) as session:
        tracks = session.storage.query(taskId='clicks', userName='zeo-user')
        assert [t.data['Count'] for t in tracks] == [1, 2, 3, 4, 5]
    result = cli('tasks', '--db', zeoServer)
    assert result.returncode == 0, result.stderr
    assert 'clicks' in result.stdout
    result = cli('check', '--db', zeoServer)
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'agree' in result.stdout
    result = cli('pack', '--db', zeoServer)
    assert result.returncode == 0, result.stderr
    assert 'packed' in result.stdout
